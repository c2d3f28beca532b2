#!/usr/bin/env bash
# masks_train: train.mask_loss through `faceswarm train` (needs the trainer to pass
# train.mask_loss to the loader and to upload fs_batch.mask each step). on with an identity
# file without /masks: exit 2 naming the file, with a hint, no run directory. on with synth
# data (masks everywhere): every metric line says "masked":1; off: "masked":0; and the two
# runs' step-1 losses differ (the same batch and initial model, so only the mask can differ).
source "$FACESWARM_SOURCE_DIR/tests/train/lib.sh"
make_data 16
mkdir nomask
cp data/A.h5 nomask/A.h5
h5copy -i data/B.h5 -o nomask/B.h5 -s /faces -d /faces || fail "h5copy failed"

set +e; "$FS" train "$TINY" --set data.dir=nomask --set data.require_consent=false --set train.mask_loss=on --steps 2 > out.txt 2> err.txt; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "mask_loss=on with a file without masks: exit $rc, expected 2 ($(cat err.txt))"
grep -q "nomask/B.h5: has no /masks" err.txt || fail "the error does not name nomask/B.h5: $(cat err.txt)"
grep -q "hint:" err.txt || fail "the error has no hint: $(cat err.txt)"
[ ! -e run ] || fail "a refused run left a run directory behind"

for mode in on off; do
  "$FS" train "$TINY" --set train.mask_loss=$mode --steps 3 --set run.dir=run-$mode > out.txt 2> err.txt ||
    fail "mask_loss=$mode failed: $(cat err.txt)"
done
want() { [ "$(grep -c "\"masked\":$2" run-$1/metrics.jsonl)" -eq 3 ] || fail "run-$1: expected \"masked\":$2 on all 3 lines"; }
want on 1
want off 0
on=$(metric run-on/metrics.jsonl 1 loss) off=$(metric run-off/metrics.jsonl 1 loss)
echo "step 1 loss: masked $on, unmasked $off"
awk -v a="$on" -v b="$off" 'BEGIN { d = a - b; exit !(d > 1e-4 || d < -1e-4) }' ||
  fail "step 1 loss is the same with and without the mask ($on, $off)"
echo PASS
