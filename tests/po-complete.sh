#!/bin/sh
# Every translation is complete for the strings the sources mark today, and
# POTFILES.in lists every file that marks strings. Run by meson test (suite po).
#   po-complete.sh SOURCE_ROOT
set -eu
top=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$top"

# Files that mark strings must be in POTFILES.in.
{
  grep -lE '\b(_|N_|g_dngettext|C_|NC_)[[:space:]]*\(' src/*.c src/*/*.c || true
  grep -l 'translatable="yes"' src/*/*.ui || true
  ls data/*.desktop.in data/*.metainfo.xml.in
} | sort > "$tmp/marking"
grep -v '^#' po/POTFILES.in | sed '/^$/d' | sort > "$tmp/listed"
if ! cmp -s "$tmp/marking" "$tmp/listed"; then
  echo "po/POTFILES.in does not match the files that mark strings:" >&2
  diff "$tmp/listed" "$tmp/marking" >&2 || true
  exit 1
fi

# A fresh template from the sources, merged into each translation: nothing untranslated.
xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
  --files-from=po/POTFILES.in --directory="$top" --output="$tmp/new.pot" 2>/dev/null
status=0
for lang in $(grep -v '^#' po/LINGUAS); do
  msgmerge --quiet --no-fuzzy-matching "po/$lang.po" "$tmp/new.pot" -o "$tmp/$lang.po"
  stats=$(msgfmt -c --statistics -o /dev/null "$tmp/$lang.po" 2>&1)
  echo "$lang: $stats"
  case "$stats" in
    *untranslated*|*fuzzy*) status=1 ;;
  esac
done
exit $status
