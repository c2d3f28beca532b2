#!/usr/bin/env bash
# scripts/format --check: a file that differs from .clang-format is listed (exit 1), a
# formatted one is not (exit 0), and --check changes nothing; and the tree itself is formatted
# (a change that is not fails here, naming its files: run scripts/format). Exit 77 (skipped)
# without clang-format.
set -uo pipefail
SRC=${FACESWARM_SOURCE_DIR:?}
command -v "${CLANG_FORMAT:-clang-format}" >/dev/null || { echo "SKIP: no clang-format"; exit 77; }
WORK=$(mktemp -d /tmp/fs-format-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# scripts/format works from its tree's root: a copy with the committed style.
mkdir -p "$WORK/scripts" && cp "$SRC/scripts/format" "$WORK/scripts/" && cp "$SRC/.clang-format" "$WORK/"
cd "$WORK"
printf 'int  f( int x ){\n  return x+1;}\n' > bad.c
printf 'int f(int x) { return x + 1; }\n' > good.c
cp bad.c bad.orig
out=$(scripts/format --check bad.c good.c 2>/dev/null); rc=$?
[ "$rc" -eq 1 ] || fail "--check with a badly formatted file exited $rc, expected 1"
[ "$out" = bad.c ] || fail "--check listed [$out], expected [bad.c]"
cmp -s bad.c bad.orig || fail "--check changed bad.c"
scripts/format --check good.c || fail "--check of a formatted file exited $?"
scripts/format bad.c && cmp -s bad.c good.c || fail "scripts/format bad.c gave: $(cat bad.c)"
cd "$SRC"
if [ -d .git ] || git rev-parse --git-dir >/dev/null 2>&1; then
    out=$(scripts/format --check 2>&1) || fail "the tree is not formatted (run scripts/format):
$out"
fi
echo PASS
