#!/usr/bin/env bash
# Adam's bias corrections count the updates applied, not the steps: after a first step skipped
# by the non-finite guard, the first applied update is update 1, whose size is lr per parameter
# (m_hat / sqrt(v_hat) = sign(g) when |g| >> eps). Counting the skipped step (t = 2) would
# give 0.744 lr.
source "$(dirname "$0")/lib.sh"
command -v h5dump > /dev/null || { echo "SKIP: h5dump (hdf5-tools) is not installed"; exit 77; }
make_data 40
FACESWARM_TEST_NAN_AT=1 "$FS" train "$TINY" --set train.steps=1 --set run.dir=y > y.txt 2>&1 || fail "run y: $(tail -3 y.txt)"
FACESWARM_TEST_NAN_AT=1 "$FS" train "$TINY" --set train.steps=2 --set run.dir=x > x.txt 2>&1 || fail "run x: $(tail -3 x.txt)"
grep -q '"step":1,.*"skipped":1' x/metrics.jsonl || fail "step 1 was not skipped: $(head -1 x/metrics.jsonl)"
floats y/checkpoints/ckpt-0000000001.h5 /params > p0.txt
floats x/checkpoints/ckpt-0000000002.h5 /params > p2.txt
[ "$(wc -l < p0.txt)" -gt 1000 ] && [ "$(wc -l < p0.txt)" -eq "$(wc -l < p2.txt)" ] || fail "could not read /params"
ratio=$(paste p0.txt p2.txt | awk -v lr=0.001 '{ d = $2 - $1; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.4f", m / lr }')
awk -v r="$ratio" 'BEGIN { exit !(r > 0.99 && r < 1.001) }' ||
  fail "largest first update is $ratio lr, expected 1 (0.744 would mean the skipped step was counted)"
echo "first applied update after a skipped step: $ratio lr"
echo PASS
