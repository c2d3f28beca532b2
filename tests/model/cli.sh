#!/bin/sh
# model_cli: `faceswarm model CONFIG` prints the layer table and faceswap's parameter counts
# (82,062,470 total; encoder 69,662,976; each decoder 6,199,747) for configs/original-64.yaml.
set -u
bin=${FACESWARM_BIN:?FACESWARM_BIN is not set}
src=${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR is not set}
fail=0
check() { # check DESCRIPTION: fails unless the previous grep matched
    if [ "$1" != 0 ]; then echo "FAIL: $2"; fail=1; fi
}
out=$("$bin" model "$src/configs/original-64.yaml"); rc=$?
check $rc "faceswarm model original-64 exited $rc"
echo "$out" | grep -q "total parameters: 82,062,470"; check $? "no 'total parameters: 82,062,470' in:
$out"
echo "$out" | grep -q "encoder parameters: 69,662,976"; check $? "encoder count missing"
echo "$out" | grep -q "decoder_B parameters: 6,199,747"; check $? "decoder_B count missing"
echo "$out" | grep -q "encoder.upscale1.shuffle *pixshuf *[0-9]* *8x8x512"; check $? "encoder.upscale1.shuffle row missing"
echo "$out" | grep -q "decoder_A.output *conv *[0-9]* *64x64x3 *4,803"; check $? "decoder_A.output row missing"
out=$("$bin" model "$src/configs/original-64.yaml" --set "model.identities=[A, B, C]"); rc=$?
check $rc "--set model.identities exited $rc"
echo "$out" | grep -q "total parameters: 88,262,217"; check $? "3 identities should give 69,662,976 + 3 x 6,199,747"
"$bin" model "$src/configs/quickstart.yaml" >/dev/null; check $? "quickstart does not print"
"$bin" model --help | grep -q "usage: faceswarm model"; check $? "--help"
"$bin" model --help-config | grep -q "train.batch_per_identity"; check $? "--help-config lacks a key"
"$bin" model >/dev/null 2>&1; rc=$?
[ $rc = 2 ]; check $? "no CONFIG should exit 2, got $rc"
[ $fail = 0 ] && echo "model cli ok"
exit $fail
