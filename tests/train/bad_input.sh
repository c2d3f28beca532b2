#!/usr/bin/env bash
# Bad input to `faceswarm train`: each gets exit status 2, a message naming the file or key
# and the value, and leaves no run directory behind.
source "$(dirname "$0")/lib.sh"
expect_bad() { # expect_bad PATTERN ARGS...
  local pat=$1; shift
  set +e; "$FS" train "$@" > out.txt 2> err.txt; local rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "train $*: exit $rc, expected 2 ($(cat err.txt))"
  grep -q "$pat" err.txt || fail "train $*: message lacks '$pat': $(cat err.txt)"
  grep -q "hint:" err.txt || fail "train $*: message has no hint: $(cat err.txt)"
  [ ! -e run ] || fail "train $*: left a run directory behind"
}
expect_bad "no such file" "$TINY"                                   # no data yet
make_data 40
expect_bad "missing.yaml" missing.yaml
printf 'train:\n  stpes: 10\n' > typo.yaml
expect_bad "did you mean 'train.steps'" typo.yaml
expect_bad "train.lr" "$TINY" --set train.lr=fast
expect_bad "train.device" "$TINY" --set train.device=tpu
expect_bad "model.resolution" "$TINY" --set model.resolution=30
"$FS" data synth --out other --identities 2 --count 8 --size 64 > /dev/null
expect_bad "64" "$TINY" --set data.dir=other                         # 64 px faces, 32 px model
set +e; "$FS" train "$TINY" --resume no-such.h5 2> err.txt; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "no such checkpoint" err.txt || fail "--resume of a missing file: $rc $(cat err.txt)"
echo PASS
