#!/usr/bin/env bash
# Previews say what they are: "done:" names a preview only when this run wrote one; the PNG is
# magnified to at least 512 px wide by default (train.preview_scale), carries a legend, and its
# text chunks say which columns are generated and that column 1 is the input.
source "$(dirname "$0")/lib.sh"
make_data 16
png_w() { od -An -tu1 -j16 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }
chunks() { tr '\0' '=' < "$1" > chunks.txt; } # tEXt: key NUL value (a file: grep -q would cut a pipe)
png_h() { od -An -tu1 -j20 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }

"$FS" train "$TINY" --set train.steps=6 --set train.preview_every=0 --set run.dir=off > off.txt
grep -q "^done: 6 steps" off.txt || fail "no done line: $(cat off.txt)"
grep "^done:" off.txt | grep -q preview && fail "done names a preview that was never written: $(grep '^done:' off.txt)"
[ ! -e off/previews/latest.png ] || fail "preview_every 0 wrote a preview"

"$FS" train "$TINY" --set train.steps=6 --set train.preview_every=4 --set run.dir=on > on.txt
grep -q "^done: 6 steps; checkpoint .*; preview on/previews/latest.png (step 6)" on.txt ||
  fail "done does not name the step-6 preview: $(grep '^done:' on.txt)"
p=on/previews/latest.png
cmp -s "$p" on/previews/preview-0000000006.png || fail "latest.png is not the step-6 preview"
w=$(png_w "$p"); h=$(png_h "$p")
[ "$w" -ge 512 ] && [ "$w" -le 1024 ] || fail "auto scale: preview is $w px wide, expected 512..1024"
grep -aq "SYNTHETIC MEDIA (partly)" "$p" || fail "the notice does not say the image is partly generated"
chunks "$p"; grep -aq "faceswarm:generated=columns 2..3 (x " chunks.txt || fail "no faceswarm:generated chunk naming columns 2..3"
grep -aq "faceswarm:input=column 1 (x " chunks.txt || fail "no faceswarm:input chunk naming column 1"
grep -aq "faceswarm:synthetic=true" chunks.txt && fail "the whole preview is labelled synthetic"

"$FS" train "$TINY" --set train.steps=4 --set train.preview_every=4 --set train.preview_scale=1 --set run.dir=one \
  > one.txt
w1=$(png_w one/previews/latest.png); h1=$(png_h one/previews/latest.png)
[ "$w1" -lt 200 ] && [ "$h1" -gt 8 ] || fail "train.preview_scale 1: $w1 x $h1 px"
chunks one/previews/latest.png; grep -aq "faceswarm:scale=1" chunks.txt || fail "scale 1 not recorded"
[ $((w * 10)) -ge $((w1 * 40)) ] || fail "auto scale $w px is not about 4x+ the 1x $w1 px"
set +e
"$FS" train "$TINY" --set train.preview_scale=17 --set run.dir=bad > bad.txt 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "train.preview_scale" bad.txt || fail "preview_scale 17: exit $rc, $(cat bad.txt)"
echo PASS
