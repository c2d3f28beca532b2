#!/usr/bin/env bash
# masks_priority: the loss terms through `faceswarm train`. Eye and mouth priority and the
# outside weight on synth data (it has /landmarks): metrics carry term_eye and term_mouth > 0,
# the default run carries neither, and priority changes the step-1 loss (same batch, same
# initial model) while the loss still falls. A file without /landmarks (the v1 fixtures)
# with a priority set: exit 2 naming the file and the key, no run directory. Out-of-range
# values: exit 2 naming the key and the value.
source "$FACESWARM_SOURCE_DIR/tests/train/lib.sh"
make_data 32

"$FS" train "$TINY" --steps 8 --set run.dir=run-plain --set train.preview_every=0 > out.txt 2> err.txt ||
  fail "the default run failed: $(cat err.txt)"
"$FS" train "$TINY" --steps 8 --set run.dir=run-prio --set train.preview_every=0 --set train.eye_multiplier=3 \
  --set train.mouth_multiplier=2 --set train.mask_outside=0.1 > out.txt 2> err.txt ||
  fail "the priority run failed: $(cat err.txt)"
! grep -q '"term_eye"' run-plain/metrics.jsonl || fail "the default run reports an eye term"
for k in term_eye term_mouth term_mse term_dssim; do
  v=$(metric run-prio/metrics.jsonl 1 $k)
  awk -v v="${v:-0}" 'BEGIN { exit !(v > 0) }' || fail "run-prio step 1: $k = '${v}', expected > 0"
done
plain=$(metric run-plain/metrics.jsonl 1 loss) prio=$(metric run-prio/metrics.jsonl 1 loss)
last=$(metric run-prio/metrics.jsonl 8 loss)
echo "step 1 loss: plain $plain, with priority $prio; step 8 with priority $last"
awk -v a="$prio" -v b="$plain" 'BEGIN { exit !(a > b + 1e-4) }' || fail "priority did not raise the step-1 loss ($prio vs $plain)"
awk -v a="$last" -v b="$prio" 'BEGIN { exit !(a < b) }' || fail "the loss did not fall with priority ($prio -> $last)"

FIX="$FACESWARM_SOURCE_DIR/tests/fixtures/v1"
set +e; "$FS" train "$FIX/tiny16.yaml" --set data.dir="$FIX" --set run.dir=run-nolm --set train.eye_multiplier=3 \
  --steps 1 > out.txt 2> err.txt; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "priority on a file without /landmarks: exit $rc, expected 2 ($(cat err.txt))"
grep -q "v1/A.h5: has no /landmarks" err.txt || fail "the error does not name A.h5: $(cat err.txt)"
grep -q "train.eye_multiplier = 3" err.txt || fail "the error does not name the key: $(cat err.txt)"
[ ! -e run-nolm ] || fail "a refused run left a run directory behind"

for bad in train.eye_multiplier=0.5 train.mouth_multiplier=-1 train.mask_outside=1.5 train.loss_mask=-2; do
  set +e; "$FS" train "$TINY" --set "$bad" --steps 1 > out.txt 2> err.txt; rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "--set $bad: exit $rc, expected 2"
  key=${bad%%=*} val=${bad#*=}
  grep -q -- "$key" err.txt && grep -q -- "$val" err.txt || fail "--set $bad: the error names neither: $(cat err.txt)"
done
echo PASS
