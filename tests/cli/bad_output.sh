#!/usr/bin/env bash
# An output path the user named that cannot be written is bad input: exit 2, a message naming
# the path, a hint, no source-code location, and nothing left behind.
#   data synth --out /proc/x            (a directory that cannot be made)
#   data import -o missing/dir/A.h5     (the directory does not exist)
#   data import -o /proc/A.h5           (a directory where no file can be made)
#   data import -o DIR                  (a directory, not a file name)
set -uo pipefail
FS=$(realpath "${1:-${FACESWARM_BIN:?FACESWARM_BIN must name the faceswarm binary}}")
WORK=$(mktemp -d /tmp/faceswarm-badout-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir faces && touch faces/A.png # never read: the output is checked first

refuse() { # refuse PATH-TO-NAME ARGS...
  local want=$1; shift
  "$FS" "$@" >out.txt 2>err.txt
  local rc=$?
  [ "$rc" -eq 2 ] || fail "faceswarm $*: exit $rc, expected 2: $(cat err.txt)"
  grep -qF -- "$want" err.txt || fail "faceswarm $*: the message does not name $want: $(cat err.txt)"
  grep -q "hint:" err.txt || fail "faceswarm $*: no hint: $(cat err.txt)"
  ! grep -qE '\.c:[0-9]+' err.txt || fail "faceswarm $*: the message prints a source location: $(cat err.txt)"
}
refuse /proc/x data synth --out /proc/x --count 2 --size 16
refuse "$WORK/missing/dir" data import --identity A --consent c --source s -o "$WORK/missing/dir/A.h5" faces/A.png
[ ! -e missing ] || fail "a refused import created $WORK/missing"
refuse /proc data import --identity A --consent c --source s -o /proc/A.h5 faces/A.png
refuse "$WORK/faces" data import --identity A --consent c --source s -o "$WORK/faces" faces/A.png
echo "PASS: unwritable outputs are bad input (exit 2) with the path and a hint"
