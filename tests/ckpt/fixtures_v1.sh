#!/usr/bin/env bash
# Files written by format v1 (main at 90beb45, tests/fixtures/v1) still verify, inspect and
# resume: a checkpoint by the v1 rule with a notice, datasets without checksums with a notice.
source "$(dirname "$0")/../train/lib.sh"
cp -r "$SRC/tests/fixtures/v1" v1 && cd v1 && mkdir data && cp A.h5 B.h5 data/
ck=ckpt-0000000002.h5
"$FS" checkpoint verify "$ck" > v.out 2> v.err || fail "verify of the v1 checkpoint: $(cat v.err)"
grep -q "OK (step 2, 4330 parameters" v.out || fail "verify output: $(cat v.out)"
grep -q "notice: .*format v1" v.err || fail "no notice for format v1: $(cat v.err)"
"$FS" checkpoint inspect "$ck" > i.out 2> /dev/null || fail "inspect of the v1 checkpoint"
grep -q "format      faceswarm.checkpoint v1" i.out && grep -q "^step        2" i.out || fail "inspect: $(cat i.out)"
for f in A B; do
  "$FS" data verify data/$f.h5 > d.out 2> d.err || fail "data verify of the v1 $f.h5: $(cat d.err)"
  grep -q "notice: .*schema v1" d.err || fail "no notice for the v1 dataset $f.h5: $(cat d.err)"
  "$FS" data inspect data/$f.h5 > /dev/null 2>&1 || fail "data inspect of the v1 $f.h5"
done
"$FS" train tiny16.yaml --set train.steps=4 --resume "$ck" > r.out 2> r.err || fail "resume: $(cat r.err)"
grep -q "resumed from $ck at step 2" r.out || fail "did not resume at step 2: $(cat r.out)"
grep -q "format v1" r.err || fail "resume gave no notice for the v1 checkpoint: $(cat r.err)"
"$FS" checkpoint inspect run/checkpoints/ckpt-0000000004.h5 > n.out || fail "the new checkpoint does not verify"
grep -q "format      faceswarm.checkpoint v2" n.out && grep -q "meta " n.out || fail "new checkpoint: $(cat n.out)"
echo PASS
