#!/usr/bin/env bash
# A checkpoint written by faceswarm 0.1.0 (tests/train/fixtures, micro.yaml at step 4; its
# config text has no train.adam_epsilon) resumes with 0.1.0's Adam ("legacy": eps on
# sqrt(v_hat), float32 constants, skipped steps counted), says so, and records it: resuming
# again continues bit for bit. A new run gets the faceswap/Keras placement.
# (kernels_adam checks the legacy arithmetic bit for bit against 0.1.0's code.)
source "$(dirname "$0")/lib.sh"
FIX=$SRC/tests/train/fixtures/v0.1.0-micro-ckpt-0000000004.h5
MICRO=$SRC/tests/train/micro.yaml
"$FS" data synth --out data --identities 2 --count 16 --size 16 --seed 3 > /dev/null
"$FS" train "$MICRO" --steps 8 --set run.dir=a --resume "$FIX" > a.txt 2>&1 || fail "resume of the 0.1.0 checkpoint: $(tail -3 a.txt)"
grep -q "was trained with train.adam_epsilon: legacy" a.txt || fail "no notice that the old Adam is kept: $(cat a.txt)"
grep -q '# optimizer: Adam.*(train.adam_epsilon: legacy)' a.txt || fail "the header does not show legacy: $(grep '^#' a.txt)"
grep -q 'adam_epsilon: "legacy"' a/config.yaml || fail "run.dir's config does not record legacy"
# In two legs: the step-6 checkpoint must carry "legacy" for step 8 to come out the same.
"$FS" train "$MICRO" --steps 6 --set run.dir=c --resume "$FIX" > c1.txt 2>&1 || fail "leg 1: $(tail -3 c1.txt)"
"$FS" train "$MICRO" --steps 8 --set run.dir=c --resume auto > c2.txt 2>&1 || fail "leg 2: $(tail -3 c2.txt)"
grep -q "was trained with train.adam_epsilon: legacy" c2.txt || fail "the step-6 checkpoint lost the legacy Adam: $(cat c2.txt)"
[ "$(params_sum a/checkpoints/ckpt-0000000008.h5)" = "$(params_sum c/checkpoints/ckpt-0000000008.h5)" ] ||
  fail "resuming in two legs differs from one leg"
"$FS" train "$MICRO" --steps 2 --set run.dir=n > n.txt 2>&1 || fail "new run: $(tail -3 n.txt)"
grep -q 'adam_epsilon: "keras"' n/config.yaml || fail "a new run's Adam is not keras: $(grep adam n/config.yaml)"
echo PASS
