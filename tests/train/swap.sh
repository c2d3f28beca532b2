#!/usr/bin/env bash
# faceswarm swap: faces through the shared encoder and another identity's decoder, written as
# PNGs labelled synthetic media; bad requests are refused with exit status 2.
source "$(dirname "$0")/lib.sh"
make_data 40
"$FS" train "$TINY" --set train.steps=10 --set train.preview_every=0 > /dev/null
ck=run/checkpoints/ckpt-0000000010.h5
"$FS" swap --checkpoint "$ck" --to B -o swaps --count 3 data/A.h5 > out.txt
[ "$(ls swaps | wc -l)" -eq 3 ] || fail "expected 3 swapped faces, got: $(ls swaps)"
for f in swaps/*.png; do
  grep -q "SYNTHETIC MEDIA" "$f" || fail "$f is not labelled synthetic"
  grep -q "faceswarm:to" "$f" || fail "$f does not name the target identity"
  "$FS" detect --json "$f" > detect.json || fail "detect finds no faceswarm mark in $f: $(cat detect.json)"
  grep -q '"watermark": {"found": true' detect.json || fail "no watermark found in $f: $(cat detect.json)"
  grep -q "\"checkpoint\": \"$ck\"" detect.json || fail "$f's XMP does not name the checkpoint: $(cat detect.json)"
done
# The swap is B's decoder, not A's: decoding with A gives different pixels.
"$FS" swap --checkpoint "$ck" --to A -o own --count 3 data/A.h5 > /dev/null
cmp -s swaps/swap-000000.png own/swap-000000.png && fail "swap to B equals reconstruction by A"
set +e
"$FS" swap --checkpoint "$ck" --to Z -o bad data/A.h5 2> err.txt; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "no such identity" err.txt || fail "--to Z: exit $rc, $(cat err.txt)"
set +e
"$FS" swap --checkpoint missing.h5 --to B -o bad data/A.h5 2> err.txt; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "missing checkpoint: exit $rc"
echo PASS
