#!/usr/bin/env bash
# Rebuilds migrations/ from schema/index.ts with real drizzle-kit, stage by stage, the
# way the AurSwift history was written. The committed migrations/ is authoritative:
# regenerating gives new `when` values and so new files; use it only to change history
# on purpose (and then update the tests that name tags).
#
#   tools/drizzle/regenerate.sh [OUT]     (default OUT: the repository's migrations/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../migrations}
cd "$here"
[ -d node_modules ] || npm ci --no-audit --no-fund

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
# drizzle-kit mishandles an absolute "out" (it prefixes "./"): give it a relative one.
export MW_MIGRATIONS_OUT=$(realpath --relative-to="$here" "$out")
gen () { MW_SCHEMA_STAGE=$1 npx drizzle-kit generate --name "$2" >/dev/null; }
custom () {
  MW_SCHEMA_STAGE=$1 npx drizzle-kit generate --custom --name "$2" >/dev/null
  cp "custom/$(printf '%04d' "$1")_$2.sql" "$out/$(printf '%04d' "$1")_$2.sql"
}

gen 0 initial_schema
sleep 1; gen 1 add_product_age_restriction
sleep 1; gen 2 product_batches
sleep 1; gen 3 users_username_required
sleep 1; custom 4 seed_vat_categories
sleep 1; custom 5 index_sales_by_cashier
sleep 1; gen 6 receipt_email_and_refunds

# The real history was written over a year, not in seconds: each entry gets the date
# it was written on. And the back-dated entry: 0005's journal time is three days
# before 0004's, as its hand-written journal entry had it.
node -e '
const fs = require("fs");
const path = process.argv[1] + "/meta/_journal.json";
const j = JSON.parse(fs.readFileSync(path, "utf8"));
const dates = ["2025-01-15T10:12:31.417Z", "2025-03-02T16:40:05.093Z", "2025-05-20T09:03:47.771Z",
               "2025-07-08T14:25:19.302Z", "2025-09-14T11:58:02.640Z", null,
               "2025-11-03T08:31:44.515Z"];
dates.forEach((d, i) => { if (d) j.entries[i].when = Date.parse(d); });
j.entries[5].when = j.entries[4].when - 3 * 24 * 3600 * 1000;
fs.writeFileSync(path, JSON.stringify(j, null, 2));
' "$out"

grep -q 'CREATE TABLE `__new_users`' "$out"/0003_*.sql || { echo "0003 is not a rebuild of users" >&2; exit 1; }
echo "Regenerated $out" >&2
