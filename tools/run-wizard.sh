#!/usr/bin/env bash
# Sets everything up (tools/setup.sh) and runs Migration Wizard.
#
#   tools/run-wizard.sh                       on a demo shop database (created once, at an
#                                             older migration level, in _build/demo/)
#   tools/run-wizard.sh --database PATH ...   on your database; other options are passed on
#
# With a display it opens the wizard window; with none (ssh, CI) it runs the headless
# equivalent: status, then migrate.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${MW_BUILD_DIR:-$top/_build}
"$top/tools/setup.sh"

args=("$@")
have_db=0
for a in "$@"; do
  case "$a" in --database|--database=*|-d) have_db=1 ;; esac
done

if [ $have_db -eq 0 ]; then
  demo_dir="$build/demo"
  demo_db="$demo_dir/pos_system.db"
  mkdir -p "$demo_dir"
  # A new demo shop each time (it is this script's own file), so there is always work.
  rm -f "$demo_db" "$demo_db-wal" "$demo_db-shm" "$demo_db-journal"
  echo "Creating a demo shop database at $demo_db (older migration level, ${MW_DEMO_SIZE:-50M})…"
  "$build/tools/mw-demo-db" --database "$demo_db" --migrations "$top/migrations" \
    --level "${MW_DEMO_LEVEL:-3}" --size "${MW_DEMO_SIZE:-50M}"
  args+=(--database "$demo_db")
fi

have_migrations=0
for a in "$@"; do
  case "$a" in --migrations|--migrations=*|-m) have_migrations=1 ;; esac
done
[ $have_migrations -eq 1 ] || args+=(--migrations "$top/migrations")

wizard="$build/src/migration-wizard"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  # The wizard window: it checks the database and shows what to do.
  exec "$wizard" "${args[@]}"
fi

# No display (ssh, CI): the headless equivalent.
set +e
"$wizard" status "${args[@]}"
echo
"$wizard" migrate "${args[@]}"
status=$?
set -e
echo "migration-wizard migrate exited with $status"
exit $status
