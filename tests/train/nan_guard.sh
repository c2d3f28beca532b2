#!/usr/bin/env bash
# Non-finite guard: injected NaN gradients skip the update and are logged; K in a row abort
# with a clear message and leave the last good checkpoint as it was.
source "$(dirname "$0")/lib.sh"
make_data 40
FACESWARM_TEST_NAN_AT=7:2 "$FS" train "$TINY" --set train.steps=12 --set train.max_nonfinite=3 > a.txt 2> a.err
grep -q 'step 7: non-finite gradient' a.err || fail "no warning for step 7: $(cat a.err)"
[ "$(grep -c '"skipped":1' run/metrics.jsonl)" -eq 2 ] || fail "metrics should mark 2 skipped steps"
sum5=$(params_sum run/checkpoints/ckpt-0000000010.h5)
[ -n "$sum5" ] || fail "run with 2 NaN steps did not finish"
rm -rf run
"$FS" train "$TINY" --set train.steps=12 > /dev/null
good=$(params_sum run/checkpoints/ckpt-0000000010.h5)
rm -rf run
set +e
FACESWARM_TEST_NAN_AT=11:100 "$FS" train "$TINY" --set train.steps=30 --set train.max_nonfinite=3 > b.txt 2> b.err
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "exit status $rc, expected 1 after 3 non-finite steps"
grep -q 'training diverged: 3 non-finite steps in a row up to step 13' b.err || fail "unclear divergence message: $(cat b.err)"
[ ! -e run/checkpoints/ckpt-0000000015.h5 ] || fail "a checkpoint was written after divergence"
[ "$(params_sum run/checkpoints/ckpt-0000000010.h5)" = "$good" ] || fail "last good checkpoint changed"
echo PASS
