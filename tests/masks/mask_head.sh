#!/usr/bin/env bash
# masks_head: the learned mask trains. With a model that has a mask output (tiny liae-ud and
# df, tests/train/tiny_saehd.yaml) on synth data (masks everywhere), every metrics line has
# term_mask, and 40 steps lower it (mean of the last 5 below 0.7 x the first 5's); with
# train.loss_mask: 0 there is no term_mask; the original model (no mask output) has none.
# The preview of a mask model has a last column with the learned mask, labelled generated.
source "$FACESWARM_SOURCE_DIR/tests/train/lib.sh"
CFG=$SRC/tests/train/tiny_saehd.yaml
"$FS" data synth --out data --identities 2 --count 32 --size 64 --seed 3 > /dev/null
mean() { # mean FILE FIELD first|last: of the first or last 5 values
  awk -v f="\"$2\":" -v w="$3" '{ i = index($0, f); s = substr($0, i + length(f)); sub(/[,}].*/, "", s); v[NR] = s }
    END { lo = w == "first" ? 1 : NR - 4; for (k = lo; k < lo + 5; k++) t += v[k]; print t / 5 }' "$1"
}
for arch in liae df; do
  "$FS" train "$CFG" --set model.arch=$arch --set run.dir=$arch --steps 40 > $arch.out 2>&1 ||
    fail "$arch: training failed: $(tail -3 $arch.out)"
  [ "$(grep -c '"term_mask"' $arch/metrics.jsonl)" -eq 40 ] || fail "$arch: not every metrics line has term_mask"
  first=$(mean $arch/metrics.jsonl term_mask first) last=$(mean $arch/metrics.jsonl term_mask last)
  echo "$arch: mask loss first 5 steps $first, last 5 steps $last"
  awk -v a="$first" -v b="$last" 'BEGIN { exit !(a > 0 && b < 0.7 * a) }' || fail "$arch: the mask loss did not fall by 30%: $first -> $last"
done
chunks() { tr '\0' '=' < "$1" > chunks.txt; } # tEXt: key NUL value
"$FS" train "$CFG" --set run.dir=prev --set train.preview_every=2 --steps 2 > prev.out 2>&1 || fail "preview run failed"
chunks prev/previews/latest.png
grep -aq "then the own decoder's learned mask" chunks.txt || fail "the preview of a mask model has no mask column"
grep -aq "faceswarm:generated=columns 2..4 (x " chunks.txt || fail "the mask column is not among the generated columns"
"$FS" train "$CFG" --set run.dir=off --set train.loss_mask=0 --steps 3 > off.out 2>&1 || fail "loss_mask 0: $(tail -3 off.out)"
! grep -q '"term_mask"' off/metrics.jsonl || fail "loss_mask 0 still reports a mask term"
"$FS" data synth --out data32 --identities 2 --count 16 --size 32 --seed 3 > /dev/null
"$FS" train "$TINY" --set data.dir=data32 --set run.dir=orig --steps 2 > orig.out 2>&1 || fail "original: $(tail -3 orig.out)"
! grep -q '"term_mask"' orig/metrics.jsonl || fail "the original model (no mask output) reports a mask term"
echo PASS
