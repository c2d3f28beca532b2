#!/usr/bin/env bash
# train.lr_dropout (DeepFaceLab's AdaBelief lr_dropout) through `faceswarm train`:
#   - with 0.3 the run is recorded (header, saved config) and resumes bit for bit: 20 steps in
#     one go == 10, resume, 10 more;
#   - it changes the training: the parameters differ from the same run without it;
#   - with train.optimizer adam it stops with exit 2 naming both keys, before any run.dir.
source "$(dirname "$0")/lib.sh"
make_data 40
T="--set train.preview_every=0 --set train.optimizer=adabelief"
"$FS" train "$TINY" $T --set run.dir=one --set train.lr_dropout=0.3 --set train.steps=20 > one.txt 2>&1 ||
  fail "lr_dropout run: $(tail -3 one.txt)"
grep -q "^# optimizer: AdaBelief.*lr_dropout 0.3$" one.txt || fail "the header does not give lr_dropout: $(grep '^#' one.txt)"
grep -q "lr_dropout: 0.3" one/config.yaml || fail "run.dir's config does not record lr_dropout"
# (to a file: `h5dump | grep -q` fails under pipefail when grep stops early and h5dump gets SIGPIPE)
h5dump -w 0 -d /config one/checkpoints/ckpt-0000000020.h5 > ckpt-config.txt
grep -q "lr_dropout: 0.3" ckpt-config.txt ||
  fail "the checkpoint's config does not record lr_dropout"
"$FS" train "$TINY" $T --set run.dir=two --set train.lr_dropout=0.3 --set train.steps=10 > two-a.txt 2>&1 ||
  fail "lr_dropout, first 10 steps: $(tail -3 two-a.txt)"
# The resumed run takes lr_dropout from the command line again; the saved config records it.
"$FS" train "$TINY" $T --set run.dir=two --set train.lr_dropout=0.3 --set train.steps=20 --resume auto > two-b.txt 2>&1 ||
  fail "lr_dropout resume: $(tail -3 two-b.txt)"
a=$(params_sum one/checkpoints/ckpt-0000000020.h5) b=$(params_sum two/checkpoints/ckpt-0000000020.h5)
echo "lr_dropout 0.3 in one go: $a  resumed: $b"
[ -n "$a" ] && [ "$a" = "$b" ] || fail "lr_dropout parameters differ after resume: $a vs $b"
ma=$(floats one/checkpoints/ckpt-0000000020.h5 /adam_m | md5sum) mb=$(floats two/checkpoints/ckpt-0000000020.h5 /adam_m | md5sum)
[ "$ma" = "$mb" ] || fail "lr_dropout: AdaBelief's m differs after resume"
"$FS" train "$TINY" $T --set run.dir=off --set train.steps=20 > off.txt 2>&1 || fail "run without lr_dropout: $(tail -3 off.txt)"
grep -q "lr_dropout 0 (off)" off.txt || fail "the header does not say lr_dropout is off: $(grep '^#' off.txt)"
[ "$(params_sum off/checkpoints/ckpt-0000000020.h5)" != "$a" ] || fail "lr_dropout 0.3 changed nothing"

set +e; "$FS" train "$TINY" --set run.dir=adam --set train.lr_dropout=0.3 --set train.steps=2 > adam.out 2> adam.err
rc=$?; set -e
[ "$rc" -eq 2 ] || fail "lr_dropout with adam: exit $rc, expected 2 ($(cat adam.err))"
grep -q "train.lr_dropout = 0.3 needs train.optimizer: adabelief, but it is adam" adam.err ||
  fail "unclear refusal: $(cat adam.err)"
[ ! -e adam ] || fail "the refused run left a run.dir"
echo PASS
