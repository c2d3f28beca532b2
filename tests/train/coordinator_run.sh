#!/usr/bin/env bash
# A training run with no coordinator configured starts its own on 127.0.0.1 (rank 0) and
# every rank reports to it: the registry lists each checkpoint with the checksums that
# `checkpoint inspect` shows, every rank's metrics arrive, TensorBoard events are written,
# `faceswarm status --run` describes the job afterwards, and --resume auto consults the
# registry. Every rank reports its own images/s, and the status has the target step and loss.
# A coordinator.keys that names a missing file is bad input: exit 2, nothing written.
source "$(dirname "$0")/lib.sh"
make_data 40
set +e; "$FS" train "$TINY" --set coordinator.address= --set coordinator.keys=missing.keys > keys.txt 2>&1; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "coordinator.keys = 'missing.keys'" keys.txt && grep -q "hint:" keys.txt ||
  fail "a missing coordinator.keys: exit $rc, expected 2 with the key named: $(cat keys.txt)"
[ ! -e run ] || fail "a missing coordinator.keys left a run directory behind"
MPI=(mpirun --oversubscribe --bind-to none -np 2)
[ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root)
"${MPI[@]}" "$FS" train "$TINY" --set coordinator.address= --set train.steps=12 > out.txt 2>&1 ||
  fail "training with a local coordinator failed: $(tail -5 out.txt)"
grep -q "coordinator: tcp://127.0.0.1:" out.txt || fail "no local coordinator was started: $(head out.txt)"
reg=run/coordinator/registry.jsonl
[ "$(wc -l < "$reg")" -eq 3 ] || fail "registry should list 3 checkpoints (5, 10, 12): $(cat "$reg")"
for s in 5 10 12; do
  f=$(printf 'checkpoints/ckpt-%010d.h5' $s)
  sum=$(params_sum "run/$f")
  grep "\"path\":\"$f\"" "$reg" | grep -q "\"params\":\"$sum\"" || fail "registry entry for step $s lacks params checksum $sum"
done
for r in 0 1; do
  n=$(grep -c "\"rank\":$r," run/coordinator/metrics.jsonl)
  [ "$n" -eq 12 ] || fail "coordinator has $n metric lines from rank $r, expected 12"
done
ls run/tensorboard/events.out.tfevents.* > /dev/null || fail "no TensorBoard event file"
"$FS" status --run run --json > status.json 2>/dev/null || true
grep -q '"rank":1' status.json || grep -q '"rank": 1' status.json || fail "status --run does not list rank 1: $(cat status.json)"
grep -q '"target_step":12,"loss":[0-9]' status.json || fail "status --run has no target step and loss: $(cat status.json)"
grep -Eq '"rank":1,[^}]*"images_per_s":[1-9]' status.json || fail "rank 1's images/s is not reported: $(cat status.json)"
# --resume auto consults the registry (and the directory) and continues.
"$FS" train "$TINY" --set coordinator.address= --set train.steps=14 --resume auto > resume.txt 2>&1
grep -q "resumed from .*ckpt-0000000012.h5 at step 12" resume.txt || fail "did not resume at 12: $(cat resume.txt)"
[ "$(wc -l < "$reg")" -eq 4 ] || fail "the resumed run's final checkpoint was not registered"
sleep 1
if pgrep -f "coordinator --bind tcp://127.0.0.1:\* --state-dir run " > /dev/null; then fail "a local coordinator outlived its run"; fi
echo PASS
