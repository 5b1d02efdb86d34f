#!/usr/bin/env bash
# Try Repair on a damage corpus, side by side with its peers, in one run (bench/run.sh
# calls it; it also runs alone):
#
#   migration-wizard repair   the repaired copy (its time includes the byte-exact copy
#                             of the damaged set into the backups, fsynced, and the
#                             final integrity check)
#   sqlite3 .recover          SQLite's own recovery, the sqlite3 CLI built here from the
#                             amalgamation and shell.c that npm's sqlite3 package ships
#                             (pinned in bench/sqlite-recover/package-lock.json), with
#                             SQLITE_ENABLE_DBPAGE_VTAB: `sqlite3 DB .recover | sqlite3 NEW`
#   sqlite3 .dump             the manual way: `sqlite3 DB .dump | sqlite3 NEW`
#
# The corpus is the repair tests' (tests/test-repair.c), on a demo shop at the newest
# level (MW_BENCH_REPAIR_SIZE, default 200M): overwritten leaf pages, a zeroed root and
# interior page, a damaged index, a truncated file, page 1 damaged after its header
# (the schema's other pages left), a destroyed header, a broken free list, a lost parent
# table; plus page 1 lost: random bytes over it, and over every page of the schema.
# For each case and tool: the rows back in their own table exactly as they were (same
# table, rowid and values as in the undamaged database), the rows in lost_and_found,
# rows that were not in the database (wrong table or resurrected), and the time.
# Prints a markdown table on stdout.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${MW_BUILD_DIR:-$top/_build}
size=${MW_BENCH_REPAIR_SIZE:-200M}
work="$build/bench"
peer="$work/sqlite-recover"
wizard="$build/src/migration-wizard"
migrations="$top/migrations"
base="$work/demo-$size-level7.db"

mkdir -p "$work" "$peer"

# SQLite's CLI with .recover: the sources from npm's sqlite3 package, by its lockfile
# (--ignore-scripts: the Node addon is never built), compiled once.
if [ ! -x "$peer/sqlite3" ] || [ "$top/bench/sqlite-recover/package-lock.json" -nt "$peer/sqlite3" ]; then
  cp "$top/bench/sqlite-recover/package.json" "$top/bench/sqlite-recover/package-lock.json" "$peer/"
  (cd "$peer" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  tarball=$(ls "$peer"/node_modules/sqlite3/deps/sqlite-autoconf-*.tar.gz)
  rm -rf "$peer/src" && mkdir -p "$peer/src"
  tar -xzf "$tarball" -C "$peer/src" --strip-components=1
  echo "Building sqlite3 $(cat "$peer/src/VERSION") with .recover (once)…" >&2
  gcc -O2 -DSQLITE_ENABLE_DBPAGE_VTAB -DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_THREADSAFE=0 \
    -DSQLITE_OMIT_LOAD_EXTENSION "$peer/src/shell.c" "$peer/src/sqlite3.c" -lm \
    -o "$peer/sqlite3.tmp"
  mv "$peer/sqlite3.tmp" "$peer/sqlite3"
fi

if [ ! -f "$base" ]; then
  "$build/tools/mw-demo-db" --database "$base" --migrations "$migrations" --size "$size" \
    --journal-mode delete >&2
fi

python3 - "$base" "$work/repair-corpus" "$wizard" "$migrations" "$peer/sqlite3" <<'PY'
import json, os, shutil, sqlite3, subprocess, sys, time

base, work, wizard, migrations, recover_cli = sys.argv[1:]
PAGE = 4096
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

def q(sql, db=base):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()

def write_pages(path, pages, byte=None, seed=7):
    import random
    rnd = random.Random(seed)
    with open(path, "r+b") as f:
        for p in pages:
            f.seek((p - 1) * PAGE)
            f.write(bytes([byte]) * PAGE if byte is not None else rnd.randbytes(PAGE))

def leaves(table):
    return [r[0] for r in q(f"SELECT pageno FROM dbstat WHERE name = '{table}' AND pagetype = 'leaf' "
                            "ORDER BY path")]

# ---- the corpus: (name, what, damage(path) -> None, prepare(path) -> None) ----------------
def overwritten_leaves(path):
    ls = leaves("transaction_items")
    write_pages(path, [ls[len(ls) // 4], ls[len(ls) // 4 + 1], ls[len(ls) // 2], ls[3 * len(ls) // 4]], 0xA5)

def zeroed_root(path):
    write_pages(path, [q("SELECT rootpage FROM sqlite_schema WHERE name = 'transactions'")[0][0]], 0x00)

def zeroed_interior(path):
    pages = q("SELECT pageno FROM dbstat WHERE name = 'transaction_items' AND pagetype = 'internal' "
              "AND path <> '/' ORDER BY path")
    write_pages(path, [pages[len(pages) // 2][0]], 0x00)

def damaged_index(path):
    pages = q("SELECT pageno FROM dbstat WHERE name = 'transactions_created_idx' AND pagetype = 'leaf' "
              "ORDER BY path")
    write_pages(path, [pages[len(pages) // 2][0]], 0x3C)

def truncated(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate((size // PAGE * 9 // 10) * PAGE)

def schema_page_body(path):
    with open(path, "r+b") as f:
        f.seek(100)
        f.write(b"\xee" * (PAGE - 100))

def garbage_header(path):
    with open(path, "r+b") as f:
        f.write(bytes((i * 37 + 11) % 256 for i in range(100)))

def free_pages(path):
    con = sqlite3.connect(path)
    con.execute("DELETE FROM audit_logs WHERE rowid % 20 = 0")
    con.commit()
    con.close()

def broken_free_list(path):
    with open(path, "r+b") as f:
        f.seek(32)
        f.write((3).to_bytes(4, "big"))

def lost_parent(path):
    write_pages(path, [q("SELECT rootpage FROM sqlite_schema WHERE name = 'businesses'")[0][0]], 0x77)

def page_one_random(path):
    write_pages(path, [1])

schema_pages = [r[0] for r in q("SELECT pageno FROM dbstat WHERE name = 'sqlite_schema'")]

def schema_random(path):
    write_pages(path, schema_pages)

def schema_random_header_kept(path):
    with open(path, "rb") as f:
        header = f.read(100)
    write_pages(path, schema_pages)
    with open(path, "r+b") as f:
        f.write(header)

cases = [
    ("overwritten-leaves", "4 leaf pages of transaction_items overwritten", overwritten_leaves, None),
    ("zeroed-root", "the root page of transactions zeroed", zeroed_root, None),
    ("zeroed-interior", "an interior page of transaction_items zeroed", zeroed_interior, None),
    ("damaged-index", "a leaf of an index overwritten", damaged_index, None),
    ("truncated", "the file cut at 90 %", truncated, None),
    ("schema-page", "page 1 overwritten after its header (the schema's other pages left)", schema_page_body, None),
    ("garbage-header", "garbage over the 100-byte header", garbage_header, None),
    ("broken-free-list", "free-list trunk pointing at a page in use (after deleting 5 % of audit_logs)", broken_free_list, free_pages),
    ("lost-parent", "the businesses table's only page overwritten", lost_parent, None),
    ("page-1-random", "page 1 random, header included", page_one_random, None),
    ("schema-random", f"page 1 and every page of the schema ({len(schema_pages)}) random", schema_random, None),
    ("schema-random-header-kept", "the same, the 100-byte header kept", schema_random_header_kept, None),
]

def tables_of(db):
    return [r[0] for r in q("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", db)]

def account(original, result):
    """(rows of @original back in their own table, same rowid and values; rows of
    @original only in lost_and_found; rows in tables that are not @original's)."""
    exact = in_laf = other = 0
    if result is None or not os.path.exists(result):
        return 0, 0, 0
    con = sqlite3.connect(f"file:{result}?mode=ro", uri=True)
    try:
        con.execute("ATTACH ? AS o", (f"file:{original}?mode=ro",))
        names = {r[0] for r in con.execute("SELECT name FROM main.sqlite_schema WHERE type = 'table'")}
    except sqlite3.Error:
        return 0, 0, 0
    laf_columns = set()
    if "lost_and_found" in names:
        laf_columns = {r[1] for r in con.execute("PRAGMA main.table_info(lost_and_found)")}
    for t in tables_of(original):
        info = list(con.execute(f'PRAGMA o.table_info("{t}")'))
        cols = ", ".join(f'"{r[1]}"' for r in info)
        if t in names:
            try:
                n = con.execute(f'SELECT count(*) FROM main."{t}"').fetchone()[0]
                same = con.execute(f'SELECT count(*) FROM (SELECT rowid, {cols} FROM main."{t}" '
                                   f'INTERSECT SELECT rowid, {cols} FROM o."{t}")').fetchone()[0]
            except sqlite3.Error:
                n = same = 0
            exact += same
            other += n - same
        # Its rows kept in lost_and_found (id = rowid, c0… = fields; the rowid alias is
        # stored as NULL), minus those also back in the table.
        if {"id", "nfield", f"c{len(info) - 1}"} <= laf_columns:
            pks = [r for r in info if r[5] > 0]
            alias = info.index(pks[0]) if len(pks) == 1 and pks[0][2].upper() == "INTEGER" else -1
            fields = ", ".join("id" if i == alias else f"c{i}" for i in range(len(info)))
            in_table = (f'SELECT rowid, {cols} FROM main."{t}"' if t in names else
                        f'SELECT rowid, {cols} FROM o."{t}" WHERE 0')
            try:
                in_laf += con.execute(
                    f'SELECT count(*) FROM (SELECT id, {fields} FROM main.lost_and_found '
                    f'WHERE nfield = {len(info)} INTERSECT SELECT rowid, {cols} FROM o."{t}" '
                    f'EXCEPT {in_table})').fetchone()[0]
            except sqlite3.Error:
                pass
    con.close()
    return exact, in_laf, other

def timed(cmd, **kw):
    t0 = time.monotonic()
    r = subprocess.run(cmd, shell=isinstance(cmd, str), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, **kw)
    return time.monotonic() - t0, r

def total_rows(db):
    return sum(q(f'SELECT count(*) FROM "{t}"', db)[0][0] for t in tables_of(db))

def n(v):
    return f"{v:,}".replace(",", " ")

def cell(exact, laf, other, seconds, total):
    text = n(exact) + (" (all)" if exact == total else "")
    if laf:
        text += f" + {n(laf)} only in lost_and_found"
    if other:
        text += f" + {n(other)} not the database's"
    return f"{text}; {seconds:.2f} s"

rows = []
peak_kib = 0
for name, what, damage, prepare in cases:
    d = os.path.join(work, name)
    os.makedirs(d)
    pristine = os.path.join(d, "pristine.db")
    damaged = os.path.join(d, "pos_system.db")
    shutil.copy(base, pristine)
    if prepare:
        prepare(pristine)
    total = total_rows(pristine)
    shutil.copy(pristine, damaged)
    damage(damaged)
    os.sync()

    # migration-wizard repair
    t_mw, r = timed(["/usr/bin/time", "-f", "%M", wizard, "repair", "--json", "--database", damaged,
                     "--migrations", migrations, "--backup-dir", os.path.join(d, "backups")])
    try:
        peak_kib = max(peak_kib, int(r.stderr.decode().strip().splitlines()[-1]))
    except (ValueError, IndexError):
        pass
    repaired = None
    try:
        repaired = json.loads(r.stdout)["report"]["repaired"]
    except (ValueError, KeyError, TypeError):
        pass
    mw = account(pristine, repaired)

    # sqlite3 .recover
    recovered = os.path.join(d, "recovered.db")
    t_rec, _ = timed(f"'{recover_cli}' '{damaged}' .recover 2>/dev/null | '{recover_cli}' '{recovered}' "
                     ">/dev/null 2>&1")
    rec = account(pristine, recovered)

    # sqlite3 .dump
    dumped = os.path.join(d, "dumped.db")
    t_dump, _ = timed(f"'{recover_cli}' '{damaged}' .dump 2>/dev/null | '{recover_cli}' '{dumped}' "
                      ">/dev/null 2>&1")
    dump = account(pristine, dumped)

    rows_met = mw[0] >= rec[0] + rec[1]
    if rec[0] + rec[1] == 0:
        ratio, met = "— (.recover gives nothing)", "rows: yes" if rows_met else "no"
    else:
        ratio = f"{t_mw / t_rec:.2f}×"
        met = "yes" if rows_met and t_mw <= 2 * t_rec else \
              "rows: yes, time: no" if rows_met else "no"
    rows.append(f"| {name}: {what} | {n(total)} | {cell(*mw, t_mw, total)} | {cell(*rec, t_rec, total)} | "
                f"{cell(*dump, t_dump, total)} | {ratio} | {met} |")
    print(f"{name}: wizard {mw} {t_mw:.2f}s, recover {rec} {t_rec:.2f}s, dump {dump} {t_dump:.2f}s",
          file=sys.stderr)
    shutil.rmtree(d)

mb = os.path.getsize(base) // 1048576
print()
version = subprocess.run([recover_cli, "--version"], stdout=subprocess.PIPE, text=True).stdout.split()[0]
print(f"Try Repair on a {mb} MB demo shop ({n(total_rows(base))} rows in {len(tables_of(base))} tables), "
      f"SQLite {version} for .recover and .dump; rows of the undamaged database back in their own "
      "table (same rowid, same values), rows of it only in lost_and_found, and time "
      f"(migration-wizard's peak memory: {peak_kib // 1024} MiB at most):")
print()
print("| case | rows | migration-wizard repair | sqlite3 .recover | sqlite3 .dump | time wizard / "
      ".recover | target met: at least .recover's rows, in their tables, ≤ 2× its time |")
print("|---|---|---|---|---|---|---|")
for row in rows:
    print(row)
PY
