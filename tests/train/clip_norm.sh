#!/usr/bin/env bash
# train.clip_norm (SAEHD's clipnorm) is announced in the header and changes the training when
# it bites (a norm far below the gradient's); a clip far above every gradient norm changes
# nothing, bit for bit.
source "$(dirname "$0")/lib.sh"
make_data 40
T="--set train.preview_every=0 --set train.steps=10"
"$FS" train "$TINY" $T --set run.dir=plain > plain.txt 2>&1 || fail "plain run: $(tail -3 plain.txt)"
"$FS" train "$TINY" $T --set run.dir=clip --set train.clip_norm=0.001 > clip.txt 2>&1 || fail "clipped run: $(tail -3 clip.txt)"
"$FS" train "$TINY" $T --set run.dir=loose --set train.clip_norm=100000 > loose.txt 2>&1 || fail "loose run: $(tail -3 loose.txt)"
grep -q "^# gradient clipping at global norm 0.001" clip.txt || fail "the header does not announce clipping"
! grep -q "^# gradient clipping" plain.txt || fail "an unclipped run announces clipping"
p=$(params_sum plain/checkpoints/ckpt-0000000010.h5) c=$(params_sum clip/checkpoints/ckpt-0000000010.h5)
l=$(params_sum loose/checkpoints/ckpt-0000000010.h5)
[ "$p" != "$c" ] || fail "clip_norm 0.001 changed nothing"
[ "$p" = "$l" ] || fail "a clip above every gradient norm changed the parameters ($p vs $l)"
echo PASS
