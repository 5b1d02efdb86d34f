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
#      migration-wizard migrate --no-backup --no-verify (the engine alone, with its
#      foreign_key_check before committing)  vs  the sqlite3 CLI running the same SQL in
#      one transaction, bare and with a whole-database foreign_key_check; peak RSS of each.
# 3. The whole safe update (migration-wizard migrate: verified backup, apply, checks)
#      vs  the floor of the same job: sqlite3 '.backup' then the bare apply
#      vs  the original app's sequence: integrity_check + foreign_key_check, a file copy,
#          the apply, integrity_check again (all through the sqlite3 CLI).
# 4. A verified backup: migration-wizard backup (copy through SQLite, fsync, quick_check,
#      SHA-256)  vs  sqlite3 '.backup' alone  vs  the same work with standard tools
#      (sqlite3 '.backup' + sync + quick_check + sha256sum)  vs  cp.
# 5. The wizard window (bench/gui.sh): the main loop's longest stall over 5 runs of the
#    whole safe update, launch to first frame. 6. adopt (bench/adopt.sh). 7. Try Repair
#    (bench/repair.sh).
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
# transaction, with the same bookkeeping rows; apply.sql bare, apply-fk.sql with a
# whole-database foreign_key_check before the commit (what a careful script does).
apply_sql="$work/apply.sql"
apply_fk_sql="$work/apply-fk.sql"
# (status exits 3: "updates pending", which is the point here)
"$wizard" status --json --database "$base" --migrations "$migrations" > "$work/status.json" || true
python3 - "$apply_sql" "$apply_fk_sql" "$work/status.json" <<'PY'
import json, sys, os
d = json.load(open(sys.argv[3]))
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
    out.append("INSERT INTO \"__drizzle_migrations\" (\"hash\", \"created_at\") VALUES('%s', %d);" % (m["hash"], m["when"]))
open(sys.argv[1], "w").write("\n".join(out + ["COMMIT;"]) + "\n")
open(sys.argv[2], "w").write("\n".join(out + ["PRAGMA foreign_key_check;", "COMMIT;"]) + "\n")
PY

results="$work/results.md"
noop_json="$work/noop.json"
apply_json="$work/apply.json"
peer="$top/tools/drizzle/peer.mjs"

echo "== after-update no-op ==" >&2
hyperfine --warmup 3 --runs "$runs" --export-json "$noop_json" -N \
  -n migration-wizard "$wizard migrate --quiet --database $current --migrations $migrations" \
  -n "drizzle-orm (node)" "node $peer migrate --driver better-sqlite3 --db $current --migrations $migrations" \
  -n "sqlite3 floor" "sqlite3 $current 'select count(*) from __drizzle_migrations'" >&2

fresh="cp $base $run_db && rm -rf $run_db-journal $run_db-wal $work/bk $work/copy.db && sync"

echo "== applying the pending migrations ==" >&2
hyperfine --runs "${MW_BENCH_APPLY_RUNS:-3}" --export-json "$apply_json" --prepare "$fresh" \
  -n migration-wizard "$wizard migrate --quiet --no-backup --no-verify --database $run_db --migrations $migrations" \
  -n "sqlite3 CLI" "sqlite3 $run_db < $apply_sql > /dev/null" \
  -n "sqlite3 CLI + foreign_key_check" "sqlite3 $run_db < $apply_fk_sql > /dev/null" >&2

echo "== the whole safe update ==" >&2
safe_json="$work/safe.json"
hyperfine --runs "${MW_BENCH_APPLY_RUNS:-3}" --export-json "$safe_json" --prepare "$fresh" \
  -n migration-wizard "$wizard migrate --quiet --backup-dir $work/bk --database $run_db --migrations $migrations" \
  -n "floor: .backup + apply" "sqlite3 $run_db '.backup $work/copy.db' && sqlite3 $run_db < $apply_sql > /dev/null" \
  -n "original app's sequence" "sqlite3 $run_db 'PRAGMA integrity_check; PRAGMA foreign_key_check' > /dev/null && cp $run_db $work/copy.db && sqlite3 $run_db < $apply_sql > /dev/null && sqlite3 $run_db 'PRAGMA integrity_check' > /dev/null" >&2
rm -rf "$work/bk" "$work/copy.db"

echo "== a verified backup ==" >&2
backup_json="$work/backup.json"
hyperfine --runs "${MW_BENCH_APPLY_RUNS:-3}" --export-json "$backup_json" \
  --prepare "rm -rf $work/bk $work/copy.db; sync" \
  -n migration-wizard "$wizard backup --quiet --backup-dir $work/bk --database $base" \
  -n "sqlite3 .backup" "sqlite3 $base '.backup $work/copy.db'" \
  -n "standard tools" "sqlite3 $base '.backup $work/copy.db' && sync && sqlite3 $work/copy.db 'PRAGMA quick_check' > /dev/null && sha256sum $work/copy.db > /dev/null" \
  -n cp "cp $base $work/copy.db" >&2
rm -rf "$work/bk" "$work/copy.db"

rss () {
  cp "$base" "$run_db"; rm -f "$run_db-journal" "$run_db-wal"
  /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/ { print $6 }'
}
rss_mw=$(rss "$wizard" migrate --quiet --no-backup --no-verify --database "$run_db" --migrations "$migrations")
rss_cli=$(rss sh -c "sqlite3 $run_db < $apply_sql")
rss_noop_mw=$( /usr/bin/time -v "$wizard" migrate --quiet --database "$current" --migrations "$migrations" 2>&1 >/dev/null | awk '/Maximum resident set size/ { print $6 }')
rss_noop_node=$( /usr/bin/time -v node "$peer" migrate --driver better-sqlite3 --db "$current" --migrations "$migrations" 2>&1 >/dev/null | awk '/Maximum resident set size/ { print $6 }')
rm -f "$run_db" "$run_db-journal" "$run_db-wal"

db_mb=$(( $(stat -c %s "$base") / 1048576 ))
python3 - "$noop_json" "$apply_json" "$db_mb" "$rss_mw" "$rss_cli" "$rss_noop_mw" "$rss_noop_node" "$backup_json" "$safe_json" <<'PY' | tee "$results"
import json, sys, datetime, os, platform
def load(path): return {r["command"]: r for r in json.load(open(path))["results"]}
noop, apply = load(sys.argv[1]), load(sys.argv[2])
db_mb, rss_mw, rss_cli, rss_noop_mw, rss_noop_node = sys.argv[3:8]
backup, safe = load(sys.argv[8]), load(sys.argv[9])
def ms(r): return r["mean"] * 1000
def t(x): return f"{x:.0f} ms" if x < 1000 else f"{x / 1000:.2f} s"
def spread(r): return f" ({', '.join(t(v * 1000) for v in r['times'])})" if len(r.get("times", [])) > 1 else ""
mw = ms(noop["migration-wizard"]); dz = ms(noop["drizzle-orm (node)"]); fl = ms(noop["sqlite3 floor"])
ma = ms(apply["migration-wizard"]); ca = ms(apply["sqlite3 CLI"]); cf = ms(apply["sqlite3 CLI + foreign_key_check"])
sw = ms(safe["migration-wizard"]); sf = ms(safe["floor: .backup + apply"]); so = ms(safe["original app's sequence"])
bw = ms(backup["migration-wizard"]); bs = ms(backup["sqlite3 .backup"]); bt = ms(backup["standard tools"]); bc = ms(backup["cp"])
print(f"Database: {db_mb} MB demo shop database; {datetime.date.today()}; {os.cpu_count()} cores; load average before the run {os.getloadavg()[0]:.1f}.\n")
print("| benchmark | migration-wizard | peer | ratio | target | peak RSS (wizard / peer) |")
print("|---|---|---|---|---|---|")
print(f"| after-update no-op vs drizzle-orm migrate() | {mw:.1f} ms | {dz:.1f} ms | {mw/dz:.3f}× | ≤ 0.1× | {int(rss_noop_mw)//1024} MiB / {int(rss_noop_node)//1024} MiB |")
print(f"| after-update no-op vs sqlite3 floor | {mw:.1f} ms | {fl:.1f} ms | {mw/fl:.2f}× | ≤ 2× | |")
print(f"| apply, engine only (with its foreign_key_check) vs the sqlite3 CLI's bare apply | {t(ma)} | {t(ca)} | {ma/ca:.2f}× | | {int(rss_mw)//1024} MiB / {int(rss_cli)//1024} MiB |")
print(f"| apply, engine only vs the sqlite3 CLI's apply + whole-database foreign_key_check | {t(ma)} | {t(cf)} | {ma/cf:.2f}× | ≤ 1.1× | |")
print(f"| whole safe update vs the floor (sqlite3 .backup + bare apply) | {t(sw)}{spread(safe['migration-wizard'])} | {t(sf)} | {sw/sf:.2f}× | ≤ 2.5× | |")
print(f"| whole safe update vs the original app's sequence (integrity + foreign-key check, copy, apply, integrity check) | {t(sw)} | {t(so)} | {sw/so:.2f}× | ≤ 0.25× | |")
print(f"| verified backup vs sqlite3 .backup alone | {t(bw)}{spread(backup['migration-wizard'])} | {t(bs)} | {bw/bs:.2f}× | ≤ 1.5× | |")
print(f"| verified backup vs standard tools (.backup + sync + quick_check + sha256sum) | {t(bw)} | {t(bt)} | {bw/bt:.2f}× | | |")
print(f"| verified backup vs cp (page cache, no fsync) | {t(bw)} | {t(bc)} | {bw/bc:.2f}× | | |")
PY

# The wizard window: main-loop stalls while migrating, launch to first frame.
echo "== the wizard window ==" >&2
MW_BENCH_GUI_RUNS=${MW_BENCH_GUI_RUNS:-5} "$top/bench/gui.sh" | tee -a "$results"

# Keeping the data through a regenerated baseline (adopt).
echo "== adopt ==" >&2
"$top/bench/adopt.sh" | tee -a "$results"

# Try Repair on the same database with a few damaged pages.
echo "== repair ==" >&2
"$top/bench/repair.sh" | tee -a "$results"
