#!/usr/bin/env bash
# Sets everything up (tools/setup.sh) and runs every test: the normal build, then the
# engine and CLI tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Ends with one line "N passed, N failed"; exits non-zero if anything failed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

tools/setup.sh || exit 1

asan_dir=$top/_build-asan
if [ ! -f "$asan_dir/build.ninja" ]; then
  meson setup "$asan_dir" "$top" --werror -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug >/dev/null || exit 1
fi
ninja -C "$asan_dir" >/dev/null || exit 1

status=0
meson test -C "$top/_build" --print-errorlogs --num-processes 2 || status=1

ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:exitcode=98 \
LSAN_OPTIONS=exitcode=98:suppressions=$top/tests/lsan.supp \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C "$asan_dir" --print-errorlogs --num-processes 2 --suite engine --suite cli \
  || status=1

python3 - "$top/_build/meson-logs/testlog.json" "$asan_dir/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
