#!/bin/sh
# model_cli: `faceswarm model CONFIG` prints the layer table and faceswap's parameter counts
# (82,062,470 total; encoder 69,662,976; each decoder 6,199,747) for configs/original-64.yaml,
# and the memory estimate's lines and options (--batch, --device, --json).
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
out=$("$bin" model "$src/configs/liae-ud-256.yaml"); rc=$?
check $rc "faceswarm model liae-ud-256 exited $rc"
echo "$out" | grep -q "total parameters: 145,340,267"; check $? "liae-ud-256 should have DeepFaceLab's 145,340,267"
echo "$out" | grep -q "code_dst.concat *concat *[0-9]*,[0-9]* *16x16x1024"; check $? "liae's dst code concat row missing"
echo "$out" | grep -q "decoder@B.out_convm *conv .* *256x256x1 *=[0-9]"; check $? "the shared decoder's mask row missing"
out=$("$bin" model "$src/configs/df-ud-128.yaml"); rc=$?
check $rc "faceswarm model df-ud-128 exited $rc"
echo "$out" | grep -q "total parameters: 54,470,998"; check $? "df-ud-128 should have DeepFaceLab's 54,470,998"
err=$("$bin" model "$src/configs/liae-ud-256.yaml" --set "model.identities=[A, B, C]" 2>&1); rc=$?
[ $rc = 2 ]; check $? "liae with 3 identities should exit 2, got $rc"
echo "$err" | grep -q "exactly 2 identities"; check $? "liae with 3 identities: unclear error: $err"
err=$("$bin" model "$src/configs/df-ud-128.yaml" --set model.resolution=112 2>&1); rc=$?
[ $rc = 2 ]; check $? "df-ud at 112 px should exit 2, got $rc"
echo "$err" | grep -q "model.resolution = 112 is not a multiple of 32"; check $? "df-ud at 112 px: unclear error: $err"
# the memory estimate: its lines, params = 4 bytes x 82,062,470, activations linear in --batch
"$bin" model "$src/configs/original-64.yaml" | grep -q "^  total per rank  *[0-9]* B"; check $? "no memory total"
j2=$("$bin" model "$src/configs/original-64.yaml" --batch 2 --json) j4=$("$bin" model "$src/configs/original-64.yaml" --batch 4 --json)
field() { echo "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
[ "$(field "$j2" params)" = 328249880 ] && [ "$(field "$j2" optimizer)" = 656499760 ]; check $? "params/optimizer bytes: $j2"
[ "$(field "$j4" activations)" = $(( 2 * $(field "$j2" activations) )) ]; check $? "activations not linear in --batch: $j2 / $j4"
"$bin" model "$src/configs/quickstart.yaml" --batch 0 >/dev/null 2>&1; rc=$?
[ $rc = 2 ]; check $? "--batch 0 should exit 2, got $rc"
err=$("$bin" model "$src/configs/quickstart.yaml" --device tpu 2>&1 >/dev/null); rc=$?
[ $rc = 2 ]; check $? "--device tpu should exit 2, got $rc"
echo "$err" | grep -q "^  hint: "; check $? "--device tpu: no hint in: $err"
err=$("$bin" bench kernels --backend tpu 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && echo "$err" | grep -q "^  hint: "; check $? "bench kernels --backend tpu: exit $rc, no hint in: $err"
"$bin" model --help | grep -q "usage: faceswarm model"; check $? "--help"
"$bin" model --help-config | grep -q "train.batch_per_identity"; check $? "--help-config lacks a key"
"$bin" model >/dev/null 2>&1; rc=$?
[ $rc = 2 ]; check $? "no CONFIG should exit 2, got $rc"
[ $fail = 0 ] && echo "model cli ok"
exit $fail
