#!/usr/bin/env bash
# Bit-exact resume: 20 steps in one go == 10 steps, stop, resume for 10 more.
source "$(dirname "$0")/lib.sh"
make_data 40
"$FS" train "$TINY" --set run.dir=one --set train.steps=20 > one.txt
"$FS" train "$TINY" --set run.dir=two --set train.steps=10 > two-a.txt
"$FS" train "$TINY" --set run.dir=two --set train.steps=20 --resume auto > two-b.txt
grep -q "resumed from .*ckpt-0000000010.h5 at step 10" two-b.txt || fail "second half did not resume at step 10: $(cat two-b.txt)"
a=$(params_sum one/checkpoints/ckpt-0000000020.h5)
b=$(params_sum two/checkpoints/ckpt-0000000020.h5)
echo "one go: $a  resumed: $b"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "parameters differ after resume: $a vs $b"
for s in 11 15 20; do
  [ "$(metric one/metrics.jsonl $s loss)" = "$(metric two/metrics.jsonl $s loss)" ] || fail "loss at step $s differs"
done
[ "$(grep -c '"step":' two/metrics.jsonl)" -eq 20 ] || fail "resumed run's metrics.jsonl should hold each of 20 steps once"
# --resume PATH refuses a checkpoint of another model, naming the reason.
set +e
"$FS" train "$TINY" --set run.dir=three --set model.dense=48 --resume two/checkpoints/ckpt-0000000020.h5 > m.out 2> m.err
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "resuming another model's checkpoint exited $rc, expected 2"
grep -q "parameters, the configured model has\|model section differs" m.err || fail "unclear refusal: $(cat m.err)"
# Resuming a finished run does nothing and says so.
"$FS" train "$TINY" --set run.dir=two --set train.steps=20 --resume auto > done.out
grep -q "already at step 20" done.out || fail "resuming a finished run should say there is nothing to do: $(cat done.out)"
echo PASS
