#!/bin/sh
# Builds the libFuzzer target for the page reader (clang, ASan + UBSan) and runs it
# briefly on a seed corpus of real database files: any crash, hang (5 s per input) or
# sanitizer report fails the test. MW_FUZZ_SECONDS for a longer run (default 20).
#   fuzz-pager.sh SOURCE_ROOT BUILD_ROOT
set -eu
top=$1
build=$2
clang=$(command -v clang || command -v clang-14 || true)
if [ -z "$clang" ]; then
  echo "clang is not installed: skipping the fuzzer (tools/setup.sh installs it)"
  exit 77
fi
out="$build/fuzz"
mkdir -p "$out/corpus" "$out/crashes"
# shellcheck disable=SC2046
"$clang" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$build" -I"$top/src/engine" $(pkg-config --cflags glib-2.0) \
  "$top/src/engine/mw-pager.c" "$top/tests/fuzz-pager.c" \
  $(pkg-config --libs glib-2.0) -o "$out/fuzz-pager"

# Seeds: small real databases with interior pages, overflow chains and free pages.
if [ ! -f "$out/corpus/seed-1.db" ]; then
  for ps in 512 1024 4096; do
    rm -f "$out/seed.db"
    sqlite3 "$out/seed.db" "PRAGMA page_size=$ps; CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b BLOB, c REAL);
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<300)
      INSERT INTO t SELECT i, printf('row %d', i), randomblob(i*7 % 900), i/3.0 FROM n;
      CREATE INDEX t_a ON t(a); DELETE FROM t WHERE id % 5 = 0;" >/dev/null
    cp "$out/seed.db" "$out/corpus/seed-$ps.db"
  done
  cp "$out/corpus/seed-512.db" "$out/corpus/seed-1.db"
fi

cd "$out"
status=0
ASAN_OPTIONS=detect_leaks=1 "$out/fuzz-pager" -max_total_time="${MW_FUZZ_SECONDS:-20}" \
  -timeout=5 -rss_limit_mb=1024 -artifact_prefix="$out/crashes/" -print_final_stats=1 \
  "$out/corpus" > "$out/fuzz.log" 2>&1 || status=$?
tail -n 40 "$out/fuzz.log"
exit $status
