#!/usr/bin/env bash
# Real drizzle-kit 1.0 (release candidate, pinned in package-lock.json) on the AurSwift
# schema, for the interop tests:
#
#   kit.sh generate OUT [LAST]   a v1 migrations folder (YYYYMMDDHHMMSS_name/migration.sql)
#                                written stage by stage as ../regenerate.sh writes the
#                                0.x one, up to stage LAST (default 3)
#   kit.sh up FOLDER             `drizzle-kit up`: a 0.x folder (meta/_journal.json)
#                                converted to the v1 layout, in place
#
# drizzle-kit loads the schema with the drizzle-orm found next to it, so it works on a
# copy of ../schema/index.ts beside this folder's node_modules (drizzle-orm 1.0).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ -d "$here/node_modules/drizzle-kit" ] || (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/schema"
cp "$here/../schema/index.ts" "$work/schema/index.ts"
ln -s "$here/node_modules" "$work/node_modules"
cat > "$work/drizzle.config.ts" <<'EOF'
import { defineConfig } from 'drizzle-kit';

export default defineConfig({ dialect: 'sqlite', schema: './schema/index.ts', out: './out' });
EOF
kit () { (cd "$work" && node node_modules/drizzle-kit/bin.cjs "$@" >/dev/null); }

case "${1:-}" in
  generate)
    out=${2:?usage: kit.sh generate OUT [LAST]}
    last=${3:-3}
    names=(initial_schema add_product_age_restriction product_batches users_username_required
           seed_vat_categories index_sales_by_cashier receipt_email_and_refunds)
    for ((stage = 0; stage <= last; stage++)); do
      name=${names[$stage]}
      custom="$here/../custom/$(printf '%04d' "$stage")_$name.sql"
      # one folder per second: drizzle-kit names them after the time
      [ "$stage" -eq 0 ] || sleep 1
      if [ -f "$custom" ]; then
        MW_SCHEMA_STAGE=$stage kit generate --custom --name "$name"
        cp "$custom" "$work"/out/*_"$name"/migration.sql
      else
        MW_SCHEMA_STAGE=$stage kit generate --name "$name"
      fi
    done
    mkdir -p "$out"
    cp -r "$work"/out/. "$out"/
    ;;
  up)
    folder=${2:?usage: kit.sh up FOLDER}
    cp -r "$folder" "$work/out"
    kit up
    rm -rf "${folder:?}"/*
    cp -r "$work"/out/. "$folder"/
    ;;
  *)
    echo "usage: kit.sh generate OUT [LAST] | kit.sh up FOLDER" >&2
    exit 2
    ;;
esac
