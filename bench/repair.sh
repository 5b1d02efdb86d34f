#!/usr/bin/env bash
# Try Repair on the demo database with a few damaged pages (bench/run.sh calls it; it
# also runs alone): migration-wizard repair (the repaired copy and its report) vs the
# manual way, `sqlite3 DB .dump | sqlite3 new.db`, in one run; time, rows of the
# damaged table each one recovers, and peak RSS. Prints markdown table rows.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${MW_BUILD_DIR:-$top/_build}
size=${MW_BENCH_SIZE:-1G}
level=${MW_BENCH_LEVEL:-3}
work="$build/bench"
wizard="$build/src/migration-wizard"
base="$work/demo-$size-level$level.db"
damaged="$work/damaged.db"
table=${MW_BENCH_REPAIR_TABLE:-transaction_items}

mkdir -p "$work"
if [ ! -f "$base" ]; then
  "$build/tools/mw-demo-db" --database "$base" --migrations "$top/migrations" --level "$level" \
    --size "$size" --journal-mode delete >&2
fi

clean () {
  rm -rf "$work/repair-backups" "$work/dumped.db" "$damaged".repaired-* "$damaged".repair-work* \
    "$damaged".mw-lock
}
clean
cp "$base" "$damaged"
before=$(sqlite3 "$damaged" "SELECT count(*) FROM $table")
# Three leaf pages of the biggest table, spread out, overwritten with garbage.
pages=$(sqlite3 "$damaged" "SELECT pageno FROM dbstat WHERE name = '$table' AND pagetype = 'leaf'
          ORDER BY path LIMIT 3 OFFSET 1000" | tr '\n' ' ')
lost_cells=$(sqlite3 "$damaged" "SELECT sum(ncell) FROM (SELECT ncell FROM dbstat WHERE name = '$table'
          AND pagetype = 'leaf' ORDER BY path LIMIT 3 OFFSET 1000)")
python3 - "$damaged" $pages <<'PY'
import sys
path, pages = sys.argv[1], [int(p) for p in sys.argv[2:]]
with open(path, "r+b") as f:
    for p in pages:
        f.seek((p - 1) * 4096)
        f.write(b"\xa5" * 4096)
PY

t0=$(date +%s.%N)
/usr/bin/time -v "$wizard" repair --json --backup-dir "$work/repair-backups" --database "$damaged" \
  > "$work/repair.json" 2> "$work/repair.time" || true
t1=$(date +%s.%N)
"$top/bench/_dump.sh" "$damaged" "$work/dumped.db" 2> "$work/dump.time" || true
t2=$(date +%s.%N)

python3 - "$work/repair.json" "$work/repair.time" "$work/dump.time" "$work/dumped.db" "$table" \
  "$before" "$lost_cells" "$t0" "$t1" "$t2" "$(( $(stat -c %s "$base") / 1048576 ))" <<'PY'
import json, re, sqlite3, sys
rj, rt, dt, dumped, table, before, lost, t0, t1, t2, mb = sys.argv[1:]
report = json.load(open(rj))["report"]
rows = next(t["recovered"] for t in report["tables"] if t["name"] == table)
def rss(path):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    return int(m.group(1)) // 1024 if m else 0
try:
    dump_rows = sqlite3.connect(dumped).execute(f"SELECT count(*) FROM {table}").fetchone()[0]
except Exception:
    dump_rows = 0
tr, td = float(t1) - float(t0), float(t2) - float(t1)
print(f"| Try Repair, {mb} MB database, 3 damaged leaf pages of {table} ({before} rows, {lost} on those pages): "
      f"migration-wizard repair vs `sqlite3 .dump \\| sqlite3` | {tr:.1f} s, {rows} rows | {td:.1f} s, {dump_rows} rows | "
      f"{tr/td:.2f}× | | {rss(rt)} MiB / {rss(dt)} MiB |")
PY
clean
rm -f "$damaged"
