#!/usr/bin/env bash
# Training lowers the loss: the mean of the last 5 steps' losses is clearly below the first 5's.
source "$(dirname "$0")/lib.sh"
make_data 64
"$FS" train "$TINY" --set train.steps=60 --set train.preview_every=30 > out.txt
first=$(awk -F'"loss":' 'NR<=5 { split($2, a, ","); s += a[1] } END { print s / 5 }' run/metrics.jsonl)
last=$(awk -F'"loss":' '{ split($2, a, ","); v[NR] = a[1] } END { for (i = NR - 4; i <= NR; i++) s += v[i]; print s / 5 }' run/metrics.jsonl)
echo "loss first 5 steps $first, last 5 steps $last"
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.8 * a) }' || fail "loss did not fall by 20%: $first -> $last"
[ "$(wc -l < run/metrics.jsonl)" -eq 60 ] || fail "expected 60 metric lines, got $(wc -l < run/metrics.jsonl)"
for k in step epoch loss loss_A loss_B grad_norm lr images_per_s data_wait_ms step_ms; do
  grep -q "\"$k\":" run/metrics.jsonl || fail "metrics.jsonl lacks $k"
done
[ -f run/previews/preview-0000000060.png ] || fail "no preview at step 60"
[ -f run/checkpoints/ckpt-0000000060.h5 ] || fail "no final checkpoint"
grep -q "SYNTHETIC MEDIA" run/previews/latest.png || fail "preview PNG does not carry the synthetic-media notice"
"$FS" checkpoint verify run/checkpoints/ckpt-0000000060.h5
echo PASS
