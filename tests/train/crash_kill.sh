#!/usr/bin/env bash
# SIGKILL at random moments, including during checkpoint writes (a checkpoint every step):
# every restart resumes from a checkpoint that verifies, and no file under a final
# checkpoint name is ever corrupt.
source "$(dirname "$0")/lib.sh"
make_data 40
RANDOM=${FS_TEST_SEED:-12345}
kills=0 prev=0 resumes=0
for round in $(seq 15); do
  "$FS" train "$TINY" --set train.steps=1000000 --set checkpoint.every=1 --set checkpoint.keep=2 \
    --set train.preview_every=0 --resume auto > "out$round.txt" 2>&1 &
  pid=$!
  # Start-up (MPI, data files) takes most of a second; after it, a checkpoint is written every
  # step, so kills land before, between and inside checkpoint writes.
  ms=$((500 + RANDOM % 1500))
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  if kill -KILL "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  for f in run/checkpoints/ckpt-*.h5; do
    [ -e "$f" ] || continue
    "$FS" checkpoint verify "$f" > /dev/null 2>verify.err || fail "round $round: $f is corrupt: $(cat verify.err)"
  done
  # A round that got as far as printing its header must have resumed if a checkpoint existed.
  if [ "$prev" -gt 0 ] && grep -q '^# model:' "out$round.txt" && ! grep -q 'resumed from' "out$round.txt"; then
    fail "round $round did not resume although checkpoints existed: $(head -5 "out$round.txt")"
  fi
  grep -q 'resumed from' "out$round.txt" && resumes=$((resumes + 1))
  prev=$(ls run/checkpoints/ 2>/dev/null | grep -c '^ckpt-.*h5$' || true)
done
echo "killed $kills times, $resumes restarts resumed from a checkpoint"
[ "$resumes" -ge 4 ] || fail "only $resumes rounds resumed; the test did not exercise resume"
[ "$kills" -ge 12 ] || fail "only $kills kills landed; the test did not exercise crashes"
# Finish a few steps past the newest checkpoint: the run resumes from it and ends cleanly.
newest=$(ls run/checkpoints/ | grep '^ckpt-[0-9]*\.h5$' | tail -1 | sed 's/ckpt-0*//; s/\.h5$//')
total=$((${newest:-0} + 3))
"$FS" train "$TINY" --set train.steps=$total --set checkpoint.every=1 --set train.preview_every=0 --resume auto > final.txt
grep -q "resumed from .*at step ${newest:-0}" final.txt || [ -z "$newest" ] || fail "final run did not resume at $newest"
"$FS" checkpoint verify "run/checkpoints/$(printf 'ckpt-%010d.h5' $total)" || fail "final checkpoint missing"
echo PASS
