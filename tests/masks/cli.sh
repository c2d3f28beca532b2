#!/usr/bin/env bash
# masks_cli: the masks through the faceswarm binary. `data synth` writes /masks, inspect says
# so and verify reads them; a file without /masks (its /faces copied alone) is reported as
# such, and `train` with train.mask_loss auto or off trains on data where one identity has
# no masks.
source "$FACESWARM_SOURCE_DIR/tests/train/lib.sh"
make_data 16
"$FS" data inspect data/A.h5 > out.txt
grep -q "masks        yes" out.txt || fail "inspect of a synth file does not report masks: $(cat out.txt)"
"$FS" data verify data/B.h5 > out.txt
grep -q "ok: 16 faces of 32 px and their masks" out.txt || fail "verify did not read the masks: $(cat out.txt)"

# B without masks: its /faces alone, a foreign file read through the (default) mapping.
mkdir nomask
cp data/A.h5 nomask/A.h5
h5copy -i data/B.h5 -o nomask/B.h5 -s /faces -d /faces || fail "h5copy failed"
"$FS" data inspect --dataset /faces nomask/B.h5 > out.txt
grep -q "masks        no" out.txt || fail "inspect of a file without /masks: $(cat out.txt)"

for mode in auto off; do
  # B.h5 is a bare copy of /faces (no consent record): allowed explicitly.
  "$FS" train "$TINY" --set data.dir=nomask --set data.require_consent=false --set train.mask_loss=$mode --steps 2 \
    --set run.dir=run-$mode > out.txt 2> err.txt || fail "mask_loss=$mode on data without masks B failed: $(cat err.txt)"
  [ "$(wc -l < run-$mode/metrics.jsonl)" -eq 2 ] || fail "mask_loss=$mode: expected 2 metric lines"
done
echo PASS
