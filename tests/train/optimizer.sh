#!/usr/bin/env bash
# train.optimizer and train.clip_norm through `faceswarm train`.
#   - adabelief trains (the loss falls), differs from adam, says so in the header and the saved
#     config, and resumes bit for bit: 20 steps in one go == 10, resume, 10 more;
#   - a checkpoint resumes only with its own optimizer: adabelief's with adam, adam's with
#     adabelief, and faceswarm 0.1.0's (no train.optimizer in it: Adam) with adabelief stop
#     with exit 2 naming train.optimizer and both values;
#   - clip_norm (SAEHD's clipnorm) is announced and changes the training when it bites.
source "$(dirname "$0")/lib.sh"
make_data 40
T="--set train.preview_every=0"
"$FS" train "$TINY" $T --set run.dir=one --set train.optimizer=adabelief --set train.steps=20 > one.txt 2>&1 ||
  fail "adabelief run: $(tail -3 one.txt)"
grep -q "^# optimizer: AdaBelief" one.txt || fail "the header does not name AdaBelief: $(grep '^#' one.txt)"
grep -q 'optimizer: "adabelief"' one/config.yaml || fail "run.dir's config does not record adabelief"
"$FS" train "$TINY" $T --set run.dir=two --set train.optimizer=adabelief --set train.steps=10 > two-a.txt 2>&1
"$FS" train "$TINY" $T --set run.dir=two --set train.optimizer=adabelief --set train.steps=20 --resume auto > two-b.txt 2>&1 ||
  fail "adabelief resume: $(tail -3 two-b.txt)"
a=$(params_sum one/checkpoints/ckpt-0000000020.h5) b=$(params_sum two/checkpoints/ckpt-0000000020.h5)
echo "adabelief in one go: $a  resumed: $b"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "adabelief parameters differ after resume: $a vs $b"
l1=$(metric one/metrics.jsonl 1 loss) l20=$(metric one/metrics.jsonl 20 loss)
awk -v a="$l20" -v b="$l1" 'BEGIN { exit !(a < b) }' || fail "adabelief loss did not fall: $l1 -> $l20"
"$FS" train "$TINY" $T --set run.dir=adam --set train.steps=10 > adam.txt 2>&1 || fail "adam run: $(tail -3 adam.txt)"
[ "$(params_sum adam/checkpoints/ckpt-0000000010.h5)" != "$(params_sum two/checkpoints/ckpt-0000000010.h5)" ] ||
  fail "adabelief and adam gave the same parameters"

refuse() { # refuse CKPT OPT WANT: resuming CKPT with train.optimizer=OPT exits 2 naming WANT
  set +e; "$FS" train "$TINY" $T --set run.dir=r --set train.steps=30 --set train.optimizer=$2 --resume "$1" > r.out 2> r.err
  rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "resuming $1 with $2: exit $rc, expected 2"
  grep -q "trained with train.optimizer: $3, but the config says $2" r.err || fail "unclear refusal: $(cat r.err)"
  grep -q "hint: resume with --set train.optimizer=$3" r.err || fail "no hint: $(cat r.err)"
}
refuse two/checkpoints/ckpt-0000000020.h5 adam adabelief
refuse adam/checkpoints/ckpt-0000000010.h5 adabelief adam
MICRO=$SRC/tests/train/micro.yaml
"$FS" data synth --out micro-data --identities 2 --count 16 --size 16 --seed 3 > /dev/null
set +e; "$FS" train "$MICRO" --set data.dir=micro-data --set run.dir=old --set train.optimizer=adabelief --steps 8 \
  --resume "$SRC/tests/train/fixtures/v0.1.0-micro-ckpt-0000000004.h5" > old.out 2> old.err; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "train.optimizer: adam, but the config says adabelief" old.err ||
  fail "a 0.1.0 checkpoint resumed with adabelief: exit $rc, $(cat old.err)"

"$FS" train "$TINY" $T --set run.dir=clip --set train.steps=10 --set train.clip_norm=0.001 > clip.txt 2>&1 ||
  fail "clipped run: $(tail -3 clip.txt)"
grep -q "^# gradient clipping at global norm 0.001" clip.txt || fail "the header does not announce clipping"
[ "$(params_sum clip/checkpoints/ckpt-0000000010.h5)" != "$(params_sum adam/checkpoints/ckpt-0000000010.h5)" ] ||
  fail "clip_norm 0.001 changed nothing"
echo PASS
