#!/usr/bin/env bash
# The manual recovery peer for bench/repair.sh: .dump what SQLite can read into a new
# database, under GNU time (peak RSS of the pipeline's larger half).
set -uo pipefail
rm -f "$2"
/usr/bin/time -v bash -c "sqlite3 '$1' .dump 2>/dev/null | sqlite3 '$2' >/dev/null 2>&1"
