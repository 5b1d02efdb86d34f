#!/usr/bin/env bash
# Writes, with real drizzle-kit, the next release's migrations as a project that
# regenerates its baseline would: the whole folder replaced by one new 0000 that builds
# the next schema (MW_SCHEMA_NEXT=1 in schema/index.ts: a table and a column added, a
# column renamed, a foreign key's action changed), then the hand-written seed again.
# Every shop on the previous release meets `unknown-history` with it: the tests of
# `adopt` carry their data through it.
#
#   tools/drizzle/regenerate-baseline.sh [OUT]   (default: tests/fixtures/regenerated)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../tests/fixtures/regenerated}
cd "$here"
[ -d node_modules ] || npm ci --no-audit --no-fund

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
export MW_MIGRATIONS_OUT=$(realpath --relative-to="$here" "$out")
MW_SCHEMA_NEXT=1 npx drizzle-kit generate --name baseline >/dev/null
sleep 1
MW_SCHEMA_NEXT=1 npx drizzle-kit generate --custom --name seed_vat_categories >/dev/null
cp custom/0004_seed_vat_categories.sql "$out/0001_seed_vat_categories.sql"

node -e '
const fs = require("fs");
const path = process.argv[1] + "/meta/_journal.json";
const j = JSON.parse(fs.readFileSync(path, "utf8"));
j.entries[0].when = Date.parse("2026-02-02T09:00:00.000Z");
j.entries[1].when = Date.parse("2026-02-02T09:05:00.000Z");
fs.writeFileSync(path, JSON.stringify(j, null, 2));
' "$out"
echo "Regenerated baseline in $out" >&2
