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
# A wrong command line says what was wrong and how it is written (exit 2), not only the usage.
bad() { # EXPECTED-TEXT ARGS...
  local want=$1; shift
  set +e; "$FS" checkpoint "$@" > out.txt 2> err.txt; rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "checkpoint $*: exit $rc, expected 2"
  grep -qF -- "$want" err.txt && grep -q "hint:" err.txt || fail "checkpoint $*: $(cat err.txt)"
}
bad "expected a subcommand"
bad "unknown subcommand 'frob'" frob x.h5
bad "checkpoint inspect takes one FILE (got 0" inspect
bad "checkpoint verify takes one FILE (got 2" verify a.h5 b.h5
bad "checkpoint diff takes two checkpoints A B (got 1" diff a.h5
"$FS" --help | grep -q "checkpoint .*diff" || fail "faceswarm --help does not mention checkpoint diff"
echo PASS
