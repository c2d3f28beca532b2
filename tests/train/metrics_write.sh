#!/usr/bin/env bash
# A metrics.jsonl write that fails (ENOSPC injected through the test-only FACESWARM_FAULT
# hook) stops the run at once with exit 1 and a message naming the file and the errno text,
# writes no checkpoint past the missing line, leaves only whole lines; --resume auto then
# logs every step exactly once. An fsync failure before a checkpoint stops it the same way.
source "$(dirname "$0")/lib.sh"
make_data 40
set +e
FACESWARM_FAULT=metrics_write:8 "$FS" train "$TINY" --set train.steps=20 > out.txt 2> err.txt; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "write failure at step 8: exit $rc, expected 1: $(cat err.txt)"
grep -q "metrics.jsonl: write failed" err.txt && grep -q "No space left on device" err.txt ||
  fail "the error does not name the file and the reason: $(cat err.txt)"
grep -q "step 8 not written" err.txt || fail "the error does not name the step: $(cat err.txt)"
grep -q "^done:" out.txt && fail "a failed run says done: $(tail -2 out.txt)"
[ "$(wc -l < run/metrics.jsonl)" -eq 7 ] || fail "expected steps 1-7 logged, got $(wc -l < run/metrics.jsonl) lines"
grep -qv '^{"step":[0-9]*,.*}$' run/metrics.jsonl && fail "a torn or merged line: $(grep -v '^{"step":[0-9]*,.*}$' run/metrics.jsonl)"
[ "$(ls run/checkpoints)" = "ckpt-0000000005.h5" ] || fail "checkpoints after the failure: $(ls run/checkpoints)"
"$FS" train "$TINY" --set train.steps=20 --resume auto > resumed.txt 2>&1 || fail "resume: $(tail -3 resumed.txt)"
steps=$(sed 's/^{"step":\([0-9]*\),.*/\1/' run/metrics.jsonl | tr '\n' ' ')
[ "$steps" = "$(seq -s ' ' 1 20) " ] || fail "after resume the steps logged are: $steps"
# fsync of the metrics before the first checkpoint fails: no checkpoint, exit 1.
rm -rf run
set +e
FACESWARM_FAULT=metrics_fsync:1 "$FS" train "$TINY" --set train.steps=20 > out.txt 2> err.txt; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "fsync failed" err.txt || fail "fsync failure: exit $rc: $(cat err.txt)"
[ -z "$(ls run/checkpoints)" ] || fail "a checkpoint was written although its metrics are not durable"
echo PASS
