#!/bin/sh
# config_doc_table: docs/config.md's key tables ("All keys") are the binary's key table, row for
# row: the same keys in the same order with the same type, default, bounds and meaning as
# `faceswarm model --help-config` prints them (the docs say the table is printed from it).
# The docs write each cell in Markdown: `key`, `default`, and \| for a | inside a cell.
set -u
bin=${FACESWARM_BIN:?FACESWARM_BIN is not set}
src=${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR is not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" model --help-config >"$tmp/keys.txt" || { echo "FAIL: model --help-config exited $?"; exit 1; }
# The binary's table: fixed-width columns, positions taken from its heading line.
awk 'NR == 1 { t = index($0, "type"); d = index($0, "default"); b = index($0, "bounds"); m = index($0, "meaning"); next }
     function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
     { printf "%s\t%s\t%s\t%s\t%s\n", trim(substr($0, 1, t - 1)), trim(substr($0, t, d - t)),
              trim(substr($0, d, b - d)), trim(substr($0, b, m - b)), trim(substr($0, m)) }' \
    "$tmp/keys.txt" >"$tmp/bin.tsv"
# The docs' rows: | `key` | type | `default` | bounds | meaning |
awk '/^## / { in_keys = ($0 == "## All keys") } in_keys' "$src/docs/config.md" |
    sed -n 's/^| `\([a-z_]*\.[a-z_0-9]*\)` | \(.*\) |$/\1 | \2/p' |
    sed 's/\\|/\x01/g' |
    awk -F ' [|] ' '{ d = $3; if (d ~ /^`.*`$/) d = substr(d, 2, length(d) - 2)
                      printf "%s\t%s\t%s\t%s\t%s\n", $1, $2, d, $4, $5 }' |
    tr '\001' '|' >"$tmp/doc.tsv"
[ "$(wc -l <"$tmp/bin.tsv")" -gt 40 ] || { echo "FAIL: --help-config lists only $(wc -l <"$tmp/bin.tsv") keys"; exit 1; }
if ! diff "$tmp/doc.tsv" "$tmp/bin.tsv" >"$tmp/diff.txt"; then
    echo "FAIL: docs/config.md's key table differs from faceswarm model --help-config (< docs, > binary):"
    cat "$tmp/diff.txt"
    echo "  hint: the key table in trainer/config.c is the source; write its text into docs/config.md"
    exit 1
fi
echo "config doc table ok: $(wc -l <"$tmp/bin.tsv") keys"
