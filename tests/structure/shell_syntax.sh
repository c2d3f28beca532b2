#!/usr/bin/env bash
# Every shell script of the tree parses with the shell its first line names (bash -n, or sh -n
# for /bin/sh scripts; bash -n for the sourced *.sh helpers without a #! line): a script that
# does not parse fails here, naming itself and the shell's message, before the test or the job
# that runs it does.
# The check can fail: a planted script with an unclosed loop is refused first.
set -uo pipefail
SRC=${FACESWARM_SOURCE_DIR:?}
WORK=$(mktemp -d /tmp/fs-shell-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# check FILE: 0 when it parses (or is not a shell script), 1 and the message otherwise; sets
# $checked to 1 for a shell script.
check() {
    local f=$1 first shell=
    first=$(LC_ALL=C head -c 200 "$f" | tr -d '\000' | head -1)
    case $first in
    '#!'*bash*) shell=bash ;;
    '#!'*/sh | '#!'*/sh\ * | '#!'*'env sh'*) shell=sh ;;
    '#!'*) shell= ;;
    *) case $f in *.sh) shell=bash ;; esac ;; # sourced helpers (lib.sh), read by bash
    esac
    checked=0
    [ -n "$shell" ] || return 0
    checked=1
    msg=$("$shell" -n "$f" 2>&1) || { echo "$f ($shell -n): $msg"; return 1; }
    return 0
}
printf '#!/bin/sh\ncase $1 in\na)\n    for x in 1 2; do\n        echo $x\n    ;;\nesac\n' > "$WORK/bad.sh"
printf '#!/bin/sh\ncase $1 in\na)\n    for x in 1 2; do\n        echo $x\n    done\n    ;;\nesac\n' > "$WORK/good.sh"
check "$WORK/bad.sh" > /dev/null && fail "a script with an unclosed loop was not refused"
check "$WORK/good.sh" || fail "a well-formed script was refused"
cd "$SRC" || fail "no source tree at $SRC"
if git rev-parse --git-dir > /dev/null 2>&1; then
    files=$(git ls-files)
else
    files=$(find . -path ./build -prune -o -type f -print | sed 's|^\./||')
fi
n=0 bad=0
while IFS= read -r f; do
    [ -f "$f" ] || continue
    case $f in
    *.c | *.h | *.cu | *.md | *.py | *.yaml | *.txt | *.cmake | *.json | *.h5 | *.png | *.patch) continue ;;
    esac
    check "$f" || bad=$((bad + 1))
    n=$((n + checked))
done <<< "$files"
[ "$n" -ge 20 ] || fail "only $n shell scripts found under $SRC (expected the tree's scripts)"
[ "$bad" -eq 0 ] || fail "$bad of $n shell scripts do not parse"
echo "PASS: $n shell scripts parse"
