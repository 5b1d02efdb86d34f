#!/usr/bin/env bash
# Benchmarks, side by side with the peers in one run, reported as ratios.
#
#   bench/run.sh                 on a 1 GiB demo database (created once, cached in _build/bench/)
#   MW_BENCH_SIZE=200M bench/run.sh   a smaller one, for a quick look
#
# 1. After an update, nothing to do (database up to date):
#      migration-wizard migrate  vs  drizzle-orm migrate() under node (better-sqlite3,
#      the POS's driver)  vs  the floor: sqlite3 DB 'select count(*) from __drizzle_migrations'
# 2. Applying the pending migrations (including the users table rebuild):
#      migration-wizard migrate --no-backup --no-verify (the engine alone)  vs  the sqlite3
#      CLI running the same SQL in one transaction; peak RSS of each from /usr/bin/time -v;
#      and the whole safe pipeline (backup + apply + integrity check) for reference.
# 3. A verified backup: migration-wizard backup (copy + quick_check + SHA-256)  vs  cp
#      vs  sqlite3 DB '.backup x'.
# Results: a markdown table on stdout and in _build/bench/results.md.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${MW_BUILD_DIR:-$top/_build}
size=${MW_BENCH_SIZE:-1G}
level=${MW_BENCH_LEVEL:-3}
runs=${MW_BENCH_RUNS:-10}
"$top/tools/setup.sh"

work="$build/bench"
mkdir -p "$work"
wizard="$build/src/migration-wizard"
migrations="$top/migrations"
base="$work/demo-$size-level$level.db"
current="$work/demo-$size-current.db"
run_db="$work/run.db"

if [ ! -f "$base" ]; then
  echo "Creating the $size demo database at level $level (once)…" >&2
  "$build/tools/mw-demo-db" --database "$base" --migrations "$migrations" --level "$level" \
    --size "$size" --journal-mode delete
fi
if [ ! -f "$current" ]; then
  cp "$base" "$current"
  "$wizard" migrate --quiet --database "$current" --migrations "$migrations"
fi

# The SQL the pending migrations amount to, for the sqlite3 CLI: the same pieces, in one
# transaction, with the same bookkeeping rows.
pending_sql="$work/pending.sql"
# (status exits 3: "updates pending", which is the point here)
"$wizard" status --json --database "$base" --migrations "$migrations" > "$work/status.json" || true
python3 -c '
import json, sys, os
d = json.load(sys.stdin)
folder = d["migrations_folder"]
out = ["PRAGMA foreign_keys=OFF;", "BEGIN IMMEDIATE;"]
for m in d["migrations"]:
    if m["status"] not in ("pending", "out-of-order"):
        continue
    text = open(os.path.join(folder, m["tag"] + ".sql"), encoding="utf-8").read()
    for piece in text.split("--> statement-breakpoint"):
        piece = piece.strip()
        if piece:
            out.append(piece if piece.endswith(";") else piece + ";")
    out.append("INSERT INTO \"__drizzle_migrations\" (\"hash\", \"created_at\") VALUES(\x27%s\x27, %d);" % (m["hash"], m["when"]))
out.append("PRAGMA foreign_key_check;")
out.append("COMMIT;")
print("\n".join(out))
' < "$work/status.json" > "$pending_sql"

results="$work/results.md"
noop_json="$work/noop.json"
apply_json="$work/apply.json"
peer="$top/tools/drizzle/peer.mjs"

echo "== after-update no-op ==" >&2
hyperfine --warmup 3 --runs "$runs" --export-json "$noop_json" -N \
  -n migration-wizard "$wizard migrate --quiet --database $current --migrations $migrations" \
  -n "drizzle-orm (node)" "node $peer migrate --driver better-sqlite3 --db $current --migrations $migrations" \
  -n "sqlite3 floor" "sqlite3 $current 'select count(*) from __drizzle_migrations'" >&2

echo "== applying the pending migrations ==" >&2
hyperfine --runs "${MW_BENCH_APPLY_RUNS:-3}" --export-json "$apply_json" \
  --prepare "cp $base $run_db && rm -f $run_db-journal $run_db-wal" \
  -n migration-wizard "$wizard migrate --quiet --no-backup --no-verify --database $run_db --migrations $migrations" \
  -n "sqlite3 CLI" "sqlite3 $run_db < $pending_sql > /dev/null" \
  -n "migration-wizard (backup + apply + check)" "$wizard migrate --quiet --backup-dir $work/bk --database $run_db --migrations $migrations" >&2
rm -rf "$work/bk"

echo "== a verified backup ==" >&2
backup_json="$work/backup.json"
hyperfine --runs "${MW_BENCH_APPLY_RUNS:-3}" --export-json "$backup_json" \
  --prepare "rm -rf $work/bk $work/copy.db; sync" \
  -n migration-wizard "$wizard backup --quiet --backup-dir $work/bk --database $base" \
  -n cp "cp $base $work/copy.db" \
  -n "sqlite3 .backup" "sqlite3 $base '.backup $work/copy.db'" >&2
rm -rf "$work/bk" "$work/copy.db"

rss () {
  cp "$base" "$run_db"; rm -f "$run_db-journal" "$run_db-wal"
  /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/ { print $6 }'
}
rss_mw=$(rss "$wizard" migrate --quiet --no-backup --no-verify --database "$run_db" --migrations "$migrations")
rss_cli=$(rss sh -c "sqlite3 $run_db < $pending_sql")
rss_noop_mw=$( /usr/bin/time -v "$wizard" migrate --quiet --database "$current" --migrations "$migrations" 2>&1 >/dev/null | awk '/Maximum resident set size/ { print $6 }')
rss_noop_node=$( /usr/bin/time -v node "$peer" migrate --driver better-sqlite3 --db "$current" --migrations "$migrations" 2>&1 >/dev/null | awk '/Maximum resident set size/ { print $6 }')
rm -f "$run_db" "$run_db-journal" "$run_db-wal"

db_mb=$(( $(stat -c %s "$base") / 1048576 ))
python3 - "$noop_json" "$apply_json" "$db_mb" "$rss_mw" "$rss_cli" "$rss_noop_mw" "$rss_noop_node" "$backup_json" <<'PY' | tee "$results"
import json, sys
noop = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
apply = {r["command"]: r for r in json.load(open(sys.argv[2]))["results"]}
db_mb, rss_mw, rss_cli, rss_noop_mw, rss_noop_node = sys.argv[3:8]
def ms(r): return r["mean"] * 1000
mw = ms(noop["migration-wizard"]); dz = ms(noop["drizzle-orm (node)"]); fl = ms(noop["sqlite3 floor"])
ma = ms(apply["migration-wizard"]); ca = ms(apply["sqlite3 CLI"])
print(f"Database: {db_mb} MB demo shop database.\n")
print("| benchmark | migration-wizard | peer | ratio | target | peak RSS (wizard / peer) |")
print("|---|---|---|---|---|---|")
print(f"| after-update no-op vs drizzle-orm migrate() | {mw:.1f} ms | {dz:.1f} ms | {mw/dz:.3f}× | ≤ 0.1× | {int(rss_noop_mw)//1024} MiB / {int(rss_noop_node)//1024} MiB |")
print(f"| after-update no-op vs sqlite3 floor | {mw:.1f} ms | {fl:.1f} ms | {mw/fl:.2f}× | ≤ 2× | |")
print(f"| apply pending migrations vs sqlite3 CLI | {ma:.0f} ms | {ca:.0f} ms | {ma/ca:.2f}× | ≤ 1.1× | {int(rss_mw)//1024} MiB / {int(rss_cli)//1024} MiB |")
pa = ms(apply["migration-wizard (backup + apply + check)"])
print(f"| whole safe update (backup + apply + integrity check) vs sqlite3 CLI apply | {pa:.0f} ms | {ca:.0f} ms | {pa/ca:.2f}× | — | |")
backup = {r["command"]: r for r in json.load(open(sys.argv[8]))["results"]}
bw = ms(backup["migration-wizard"]); bc = ms(backup["cp"]); bs = ms(backup["sqlite3 .backup"])
print(f"| verified backup vs cp | {bw:.0f} ms | {bc:.0f} ms | {bw/bc:.2f}× | ≤ 2× | |")
print(f"| verified backup vs sqlite3 .backup | {bw:.0f} ms | {bs:.0f} ms | {bw/bs:.2f}× | | |")
PY

# The wizard window: main-loop stalls while migrating, launch to first frame.
echo "== the wizard window ==" >&2
"$top/bench/gui.sh" | tee -a "$results"

# Keeping the data through a regenerated baseline (adopt).
echo "== adopt ==" >&2
"$top/bench/adopt.sh" | tee -a "$results"

# Try Repair on the same database with a few damaged pages.
echo "== repair ==" >&2
"$top/bench/repair.sh" | tee -a "$results"
