#!/usr/bin/env bash
# Keeping the data through a regenerated baseline: `adopt` carrying a demo shop built
# at the previous release (all of migrations/) into the next release's folder
# (tests/fixtures/regenerated, written by real drizzle-kit), side by side with
#   - the sqlite3 CLI doing the same job by hand: the new database built by the same
#     migrations, then the same INSERT … SELECT statements over the attached original
#     in one transaction (no checks, no report);
#   - the floor: sqlite3 'VACUUM INTO' (one copy of every page, nothing else).
# Peak RSS of each from /usr/bin/time -v. Prints markdown rows.
#
#   bench/adopt.sh        (MW_BENCH_SIZE=200M for a quick look)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${MW_BUILD_DIR:-$top/_build}
size=${MW_BENCH_SIZE:-1G}
runs=${MW_BENCH_APPLY_RUNS:-3}
work="$build/bench"
mkdir -p "$work"
wizard="$build/src/migration-wizard"
migrations="$top/migrations"
regenerated="$top/tests/fixtures/regenerated"
base="$work/demo-$size-level7.db"
run_db="$work/adopt-run.db"
new_db="$work/adopt-new.db"
carry_sql="$work/carry.sql"

if [ ! -f "$base" ]; then
  echo "Creating the $size demo database at the previous release (once)…" >&2
  "$build/tools/mw-demo-db" --database "$base" --migrations "$migrations" --level 7 \
    --size "$size" --journal-mode delete
fi

# The statements by hand: every table the next release has, its columns the original
# has too (businesses.town is city now), rows copied in one transaction.
rm -f "$new_db"
"$wizard" migrate --quiet --database "$new_db" --migrations "$regenerated"
{
  echo "PRAGMA foreign_keys=OFF;"
  echo "ATTACH '$run_db' AS old;"
  echo "BEGIN;"
  sqlite3 "$new_db" "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__drizzle_migrations' ORDER BY name" |
  while read -r table; do
    cols=$(sqlite3 "$new_db" "ATTACH '$base' AS old;
      SELECT group_concat('\"' || n.name || '\"', ', ') FROM pragma_table_info('$table') n
      WHERE n.name IN (SELECT name FROM pragma_table_info('$table', 'old'))")
    [ -n "$cols" ] || continue
    echo "DELETE FROM main.\"$table\" WHERE rowid IN (SELECT rowid FROM old.\"$table\");"
    echo "INSERT INTO main.\"$table\" ($cols) SELECT $cols FROM old.\"$table\";"
  done
  echo "UPDATE main.businesses SET city = (SELECT town FROM old.businesses o WHERE o.id = businesses.id);"
  echo "COMMIT;"
} > "$carry_sql"
rm -f "$new_db"

adopt_json="$work/adopt.json"
hyperfine --runs "$runs" --export-json "$adopt_json" -i \
  --prepare "rm -f $run_db* $new_db* $work/floor.db && cp $base $run_db && sync" \
  -n migration-wizard "$wizard adopt --quiet --map businesses.town=city --database $run_db --migrations $regenerated" \
  -n "sqlite3 CLI" "$wizard migrate --quiet --database $new_db --migrations $regenerated && sqlite3 $new_db < $carry_sql" \
  -n "VACUUM INTO" "sqlite3 $run_db \"VACUUM INTO '$work/floor.db'\"" >&2

rss () {
  rm -f "$run_db"* "$new_db"* "$work/floor.db"; cp "$base" "$run_db"
  { /usr/bin/time -v "$@" 2>&1 >/dev/null || true; } | awk '/Maximum resident set size/ { print $6 }'
}
rss_mw=$(rss "$wizard" adopt --quiet --map businesses.town=city --database "$run_db" --migrations "$regenerated")
rss_cli=$(rss sh -c "$wizard migrate --quiet --database $new_db --migrations $regenerated && sqlite3 $new_db < $carry_sql")
rm -f "$run_db"* "$new_db"* "$work/floor.db"

db_mb=$(( $(stat -c %s "$base") / 1048576 ))
python3 - "$adopt_json" "$db_mb" "$rss_mw" "$rss_cli" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
db_mb, rss_mw, rss_cli = sys.argv[2:5]
mw, cli, floor = r["migration-wizard"], r["sqlite3 CLI"], r["VACUUM INTO"]
print(f"| adopt: every row of a {db_mb} MB shop carried into a regenerated baseline (checks and report included) vs the sqlite3 CLI running the same INSERT … SELECT | {mw:.1f} s | {cli:.1f} s | {mw/cli:.2f}× | ≤ 1.2× | {int(rss_mw)//1024} MiB / {int(rss_cli)//1024} MiB |")
print(f"| adopt vs the floor, sqlite3 `VACUUM INTO` | {mw:.1f} s | {floor:.1f} s | {mw/floor:.2f}× | | |")
PY
