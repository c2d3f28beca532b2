#!/usr/bin/env bash
# checkpoint inspect/verify/diff --help (and -h) print their own help and exit 0.
source "$(dirname "$0")/../train/lib.sh"
for sub in inspect verify diff; do
  for h in --help -h; do
    set +e; "$FS" checkpoint $sub $h > out.txt 2> err.txt; rc=$?; set -e
    [ "$rc" -eq 0 ] || fail "checkpoint $sub $h exited $rc: $(cat err.txt)"
    grep -q "usage: faceswarm checkpoint $sub" out.txt || fail "checkpoint $sub $h: $(cat out.txt)"
  done
done
grep -q "metadata checksum" <("$FS" checkpoint verify --help) || fail "verify --help does not say what is checked"
set +e; "$FS" checkpoint inspect missing.h5 2> err.txt; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "no such checkpoint" err.txt || fail "inspect of a missing file: exit $rc"
echo PASS
