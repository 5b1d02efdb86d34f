#!/usr/bin/env bash
# Installs what Migration Wizard needs to build, run and test on Debian 12, then builds.
# Idempotent: packages already there are not touched, and a second run takes seconds.
#
#   tools/setup.sh            build dependencies, the Drizzle peer (npm ci) and the build
#   MW_BUILD_DIR=dir          build directory (default: _build)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${MW_BUILD_DIR:-$top/_build}

# Debian packages: compiler tool chain and libraries, the sqlite3 CLI (tests and
# benchmarks compare against it), hyperfine and GNU time (benchmarks), Xvfb and friends
# (the GTK tests and screenshots), node and npm if the machine has none.
packages=(
  gcc pkg-config meson ninja-build
  libglib2.0-dev libjson-glib-dev libsqlite3-dev libgtk-4-dev nettle-dev
  sqlite3 hyperfine time
  xvfb xauth dbus dbus-x11 imagemagick libxtst-dev python3-pyatspi at-spi2-core
  desktop-file-utils appstream gettext
  clang libclang-rt-14-dev
)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Drizzle peers: real drizzle-orm / drizzle-kit from npm, pinned by the lockfiles
# (tools/drizzle: 0.x and better-sqlite3; tools/drizzle/v1: the 1.0 release candidates,
# which need a drizzle-orm of their own).
for peer in "$top/tools/drizzle" "$top/tools/drizzle/v1"; do
  [ -f "$peer/package-lock.json" ] || continue
  stamp="$peer/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$peer/package-lock.json" -nt "$stamp" ]; then
    echo "setup: npm ci in ${peer#$top/}" >&2
    (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done

if [ ! -f "$build_dir/build.ninja" ]; then
  meson setup "$build_dir" "$top" --werror >/dev/null
fi
ninja -C "$build_dir" >/dev/null
