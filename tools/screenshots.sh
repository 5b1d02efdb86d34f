#!/usr/bin/env bash
# Renders every page and dialog of the wizard to docs/screenshots/*.png, by running
# the GTK tests (each brings the wizard to its page with a prepared database) with
# MW_SCREENSHOTS set. Under Xvfb at 1024×768, like a small remote-desktop screen.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${MW_BUILD_DIR:-$top/_build}
"$top/tools/setup.sh"

out="$top/docs/screenshots"
mkdir -p "$out"
MW_SCREENSHOTS="$out" \
MW_CLI="$build/src/migration-wizard" \
MW_DEMO_DB="$build/tools/mw-demo-db" \
MW_MIGRATIONS="$top/migrations" \
MW_REGENERATED="$top/tests/fixtures/regenerated" \
MW_LOCALEDIR="$build/tests/locale" \
GSETTINGS_BACKEND=memory GTK_A11Y=none \
  dbus-run-session -- xvfb-run -a -s "-screen 0 1024x768x24" "$build/tests/test-gui" >/dev/null
ls "$out"
