#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a screen reader hears: the wizard's accessibility tree read through AT-SPI
(what Orca reads), under Xvfb and a D-Bus session, with GTK_A11Y=atspi.

On every page a recovery passes through, the buttons are read and their names must
be what the buttons say ("Try Repair", never "Try _Repair Try Repair"); then the
whole recovery is driven by pressing buttons through AT-SPI, as a screen-reader
user would: a damaged database, Try Repair, the report, Use the Repaired Database,
Close; and an update: Update Now, Close. TAP output."""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import pyatspi

CLI = os.environ["MW_CLI"]
DEMO = os.environ["MW_DEMO_DB"]
MIGRATIONS = os.environ["MW_MIGRATIONS"]

results = []


def ok(cond, what):
    results.append((bool(cond), what))
    print(("ok" if cond else "not ok") + " %d %s" % (len(results), what), flush=True)
    return cond


def make_demo(path, level):
    subprocess.run([DEMO, "-q", "-d", path, "-m", MIGRATIONS, "-l", level, "-s", "2M",
                    "--journal-mode", "delete"], check=True)


def damage_sales_page(path):
    con = sqlite3.connect(path)
    page = con.execute("SELECT pageno FROM dbstat WHERE name = 'transactions' AND "
                       "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 2").fetchone()[0]
    con.close()
    with open(path, "r+b") as f:
        f.seek((page - 1) * 4096)
        f.write(b"\x5c" * 4096)


def walk(acc, out):
    try:
        n = acc.childCount
    except Exception:
        return
    for i in range(n):
        try:
            child = acc.getChildAtIndex(i)
        except Exception:
            continue
        if child is None:
            continue
        out.append(child)
        walk(child, out)


def find_app(pid, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        desktop = pyatspi.Registry.getDesktop(0)
        for i in range(desktop.childCount):
            app = desktop.getChildAtIndex(i)
            try:
                if app is not None and app.get_process_id() == pid:
                    return app
            except Exception:
                pass
        time.sleep(0.2)
    return None


def showing(acc):
    try:
        return acc.getState().contains(pyatspi.STATE_SHOWING)
    except Exception:
        return False


def main_frame(app):
    for i in range(app.childCount):
        frame = app.getChildAtIndex(i)
        if frame is not None and frame.getRole() == pyatspi.ROLE_FRAME and showing(frame) \
           and frame.name != "Technician Details":
            return frame
    return None


def visible_page(app):
    """The wizard's visible page: GTK 4.8 does not say which stack page shows, so
    it is the one holding the window's title (the wizard titles the window after
    its page)."""
    frame = main_frame(app)
    if frame is None:
        return None, None
    nodes = []
    walk(frame, nodes)
    for n in nodes:
        if n.getRole() == pyatspi.ROLE_PANEL and n.name == "GtkStackPage":
            inside = []
            walk(n, inside)
            if any(i.getRole() == pyatspi.ROLE_LABEL and i.name == frame.name for i in inside):
                return frame, inside
    return frame, None


def page(app):
    """The visible page's buttons (and the window's Technician Details) by name, and
    its texts; nothing while the page is being rebuilt (objects go away as they are
    read), so that the caller reads again."""
    try:
        return read_page(app)
    except Exception:
        return [], []


def read_page(app):
    frame, inside = visible_page(app)
    if inside is None:
        return [], []
    buttons = [n.name for n in inside if n.getRole() == pyatspi.ROLE_PUSH_BUTTON]
    texts = [n.name for n in inside if n.getRole() == pyatspi.ROLE_LABEL]
    everything = []
    walk(frame, everything)
    buttons += [n.name for n in everything if n.getRole() == pyatspi.ROLE_PUSH_BUTTON
                and n.name.startswith("Technician")]
    return buttons, texts


def wait_for_text(app, text, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        buttons, texts = page(app)
        if any(text == t for t in texts):
            # Read once more once the page has settled (its old buttons go at idle).
            time.sleep(0.5)
            buttons, texts = page(app)
            if any(text == t for t in texts):
                return buttons
        time.sleep(0.3)
    return None


def press(app, name):
    frame, inside = visible_page(app)
    for n in inside or []:
        if n.getRole() == pyatspi.ROLE_PUSH_BUTTON and n.name == name:
            action = n.queryAction()
            for i in range(action.nActions):
                if action.getName(i) in ("click", "press", "activate"):
                    return action.doAction(i)
            return action.doAction(0)
    raise AssertionError("no button %r on the page" % name)


def names_are_what_buttons_say(where, buttons, expected):
    def doubled(name):
        words = name.split()
        half = len(words) // 2
        return len(words) % 2 == 0 and half > 0 and words[:half] == words[half:]

    ok(all("_" not in b and not doubled(b) for b in buttons),
       "%s: every button is named once, as it reads, without its mnemonic underline (%s)"
       % (where, buttons))
    ok(all(e in buttons for e in expected), "%s: the buttons are named %s (got %s)"
       % (where, expected, buttons))


def start(db, *extra):
    env = dict(os.environ, GTK_A11Y="atspi")
    return subprocess.Popen([CLI, "--database", db, "--migrations", MIGRATIONS] + list(extra),
                            env=env)


def recovery(tmp):
    db = os.path.join(tmp, "Kasse Müller", "pos_system.db")
    os.makedirs(os.path.dirname(db))
    make_demo(db, "7")
    damage_sales_page(db)
    proc = start(db)
    app = find_app(proc.pid)
    if not ok(app is not None, "the wizard is in the accessibility tree"):
        proc.kill()
        return
    buttons = wait_for_text(app, "Database Corruption Detected")
    ok(buttons is not None, "the damaged database's page is read")
    names_are_what_buttons_say("corrupt", buttons or [],
                               ["Cancel", "Backup & Start Fresh", "Try Repair",
                                "Technician Details"])
    press(app, "Try Repair")
    buttons = wait_for_text(app, "Repair Finished")
    ok(buttons is not None, "the repair report is read")
    names_are_what_buttons_say("repair report", buttons or [],
                               ["Keep the Damaged Database", "Use the Repaired Database"])
    press(app, "Use the Repaired Database")
    buttons = wait_for_text(app, "The repaired database is in use")
    ok(buttons is not None, "the done page is read")
    names_are_what_buttons_say("done", buttons or [], ["Check Again", "Close"])
    press(app, "Close")
    try:
        status = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        status = None
    ok(status == 0, "closing ends the wizard with 0: the database is ready (%s)" % status)
    con = sqlite3.connect(db)
    ok(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok",
       "the repaired database is sound")
    con.close()


def update(tmp):
    db = os.path.join(tmp, "update", "pos_system.db")
    os.makedirs(os.path.dirname(db))
    make_demo(db, "3")
    proc = start(db)
    app = find_app(proc.pid)
    if not ok(app is not None, "the wizard is in the accessibility tree (update)"):
        proc.kill()
        return
    buttons = wait_for_text(app, "Updates are ready")
    names_are_what_buttons_say("ready", buttons or [], ["Cancel", "Update Now"])
    press(app, "Update Now")
    buttons = wait_for_text(app, "The database is up to date")
    names_are_what_buttons_say("updated", buttons or [], ["Check Again", "Close"])
    press(app, "Close")
    try:
        status = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        status = None
    ok(status == 0, "the update, driven through AT-SPI, ends with 0 (%s)" % status)


def main():
    tmp = tempfile.mkdtemp(prefix="mw-a11y-")
    try:
        recovery(tmp)
        update(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % len(results))
    return 0 if all(r for r, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
