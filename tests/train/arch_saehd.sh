#!/usr/bin/env bash
# DeepFaceLab's architectures train: for df (3 identities) and liae-ud, 80 steps lower the
# loss clearly (mean of the last 5 steps below 0.85 x the first 5's), and 10 steps + a resume
# for 10 more give the parameters of 20 steps in one go, bit for bit.
source "$(dirname "$0")/lib.sh"
CFG=$SRC/tests/train/tiny_saehd.yaml
"$FS" data synth --out data --identities 3 --count 48 --size 64 --seed 3 > /dev/null
mean() { # mean FILE first|last: of the first or last 5 losses
  awk -F'"loss":' -v w="$2" '{ split($2, a, ","); v[NR] = a[1] } END { lo = w == "first" ? 1 : NR - 4;
    for (i = lo; i < lo + 5; i++) s += v[i]; print s / 5 }' "$1"
}
for arch in df liae; do
  set=(--set model.arch=$arch)
  [ $arch = df ] && set+=(--set "model.identities=[A, B, C]")
  "$FS" train "$CFG" "${set[@]}" --set run.dir=$arch > $arch.out || fail "$arch: training failed: $(cat $arch.out)"
  first=$(mean $arch/metrics.jsonl first) last=$(mean $arch/metrics.jsonl last)
  echo "$arch: loss first 5 steps $first, last 5 steps $last"
  awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.85 * a) }' || fail "$arch: loss did not fall by 15%: $first -> $last"
  "$FS" train "$CFG" "${set[@]}" --set run.dir=$arch-one --set train.steps=20 > /dev/null
  "$FS" train "$CFG" "${set[@]}" --set run.dir=$arch-two --set train.steps=10 > /dev/null
  "$FS" train "$CFG" "${set[@]}" --set run.dir=$arch-two --set train.steps=20 --resume auto > $arch-b.out
  grep -q "resumed from .*ckpt-0000000010.h5 at step 10" $arch-b.out || fail "$arch: no resume at step 10: $(cat $arch-b.out)"
  a=$(params_sum $arch-one/checkpoints/ckpt-0000000020.h5) b=$(params_sum $arch-two/checkpoints/ckpt-0000000020.h5)
  echo "$arch: 20 steps in one go $a, resumed $b"
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "$arch: parameters differ after resume: $a vs $b"
done
echo PASS
