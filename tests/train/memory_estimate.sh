#!/usr/bin/env bash
# The memory estimate (trainer/memory.h) against a real training step, and train's check.
#   - for each shipped config that runs a CPU step here (quickstart, quickstart-liae,
#     original-64, df-ud-128, liae-ud-256; 1 rank, small batches, train.threads 2): the peak
#     resident set of `faceswarm train` after its first step (VmHWM) less its resident set
#     before the model was built (VmRSS: libraries, MPI, the config) is within 4% of the
#     total that `faceswarm model CONFIG --batch B --device cpu --json` prints, and train's
#     own log gives the very same estimate (one plan, not two formulas);
#   - with FACESWARM_TEST_MEM_AVAILABLE below the estimate, train stops with exit 2 before
#     writing anything, naming the config, the estimate, what is available and the largest
#     batch that fits, which is computed: its estimate fits, one more sample per identity
#     does not; with that batch the check passes and the step runs.
source "$(dirname "$0")/lib.sh"
CFG=$SRC/configs
"$FS" data synth --out d64 --count 32 --size 64 --seed 3 > /dev/null
"$FS" data synth --out d128 --count 8 --size 128 --seed 3 > /dev/null
"$FS" data synth --out d256 --count 4 --size 256 --seed 3 > /dev/null
COMMON="--set train.device=cpu --set train.threads=2 --set coordinator.address=off --set train.preview_every=0"

json_total() { sed -n 's/.*"total":\([0-9]*\).*/\1/p'; }

# measure CONFIG DATA BATCH: one step; the process is stopped once it has logged its memory
# (the checkpoint that would follow takes longer than the step and is not what is measured).
measure() {
  local name=$1 data=$2 batch=$3 est out pid line grown logged
  est=$("$FS" model "$CFG/$name.yaml" $COMMON --batch "$batch" --json | json_total)
  [ -n "$est" ] || fail "$name: faceswarm model --json gave no total"
  out=$name.log
  "$FS" train "$CFG/$name.yaml" $COMMON --set data.dir=$data --set run.dir=run-$name \
    --set train.batch_per_identity=$batch --steps 1 > "$out" 2>&1 &
  pid=$!
  while kill -0 $pid 2> /dev/null && ! grep -q "memory after the first step" "$out"; do sleep 0.2; done
  kill -9 $pid 2> /dev/null || true
  wait $pid 2> /dev/null || true
  line=$(grep "memory after the first step" "$out") || fail "$name: no memory line: $(tail -3 "$out")"
  grown=$(echo "$line" | sed -n 's/.*bytes, \([0-9]*\) bytes (.*above.*/\1/p')
  logged=$(echo "$line" | sed -n 's/.*estimate \([0-9]*\) bytes.*/\1/p')
  [ "$logged" = "$est" ] || fail "$name: train's estimate $logged differs from faceswarm model's $est"
  awk -v g="$grown" -v e="$est" -v n="$name" -v b="$batch" 'BEGIN {
    d = (g - e) / e; printf "%-16s batch %d: measured %.0f bytes above the baseline, estimate %.0f (%+.1f%%)\n", n, b, g, e, 100 * d
    exit !(d <= 0.04 && d >= -0.04) }' || fail "$name: the estimate is not within 4% of the measured peak"
}
measure quickstart d64 16
measure quickstart-liae d64 16
measure original-64 d64 2
measure df-ud-128 d128 1
measure liae-ud-256 d256 1

# the refusal and the batch it suggests (quickstart, 16 per identity on 1 rank)
Q=$CFG/quickstart.yaml
est=$("$FS" model "$Q" $COMMON --json | json_total)
avail=$((est - 1))
set +e
FACESWARM_TEST_MEM_AVAILABLE=$avail "$FS" train "$Q" $COMMON --set data.dir=d64 --set run.dir=refused --steps 1 > r.out 2> r.err
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "over the available memory: exit $rc, expected 2 ($(cat r.err))"
for want in "$Q" "$est bytes" "($avail bytes) is available per rank (FACESWARM_TEST_MEM_AVAILABLE)" "hint: --set train.batch_per_identity="; do
  grep -qF "$want" r.err || fail "the refusal does not say '$want': $(cat r.err)"
done
[ ! -e refused ] || fail "the refused run left a run.dir"
fits=$(sed -n 's/.*the largest train.batch_per_identity that fits is \([0-9]*\).*/\1/p' r.err)
[ -n "$fits" ] && [ "$fits" -ge 1 ] && [ "$fits" -lt 16 ] || fail "no largest batch in: $(cat r.err)"
at=$("$FS" model "$Q" $COMMON --batch "$fits" --json | json_total)
above=$("$FS" model "$Q" $COMMON --batch $((fits + 1)) --json | json_total)
echo "available $avail: largest batch $fits (estimate $at), $((fits + 1)) would need $above"
[ "$at" -le "$avail" ] && [ "$above" -gt "$avail" ] || fail "batch $fits is not the largest that fits $avail bytes"
FACESWARM_TEST_MEM_AVAILABLE=$avail "$FS" train "$Q" $COMMON --set data.dir=d64 --set run.dir=fits \
  --set train.batch_per_identity=$fits --steps 1 > f.out 2>&1 || fail "batch $fits did not pass the check: $(tail -3 f.out)"
echo PASS
