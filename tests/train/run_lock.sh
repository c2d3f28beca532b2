#!/usr/bin/env bash
# One run per run.dir: a second `faceswarm train` into a run directory in use is refused
# (exit 2) naming the holder's host and pid; the lock of a killed run is taken over.
source "$(dirname "$0")/lib.sh"
make_data 40
wait_lines() { for _ in $(seq 400); do [ -s run/metrics.jsonl ] && [ "$(wc -l < run/metrics.jsonl)" -ge "$1" ] && return; sleep 0.05; done; fail "no metrics"; }
"$FS" train "$TINY" --set train.steps=100000 --set checkpoint.every=0 > first.txt 2>&1 &
pid=$!
wait_lines 3
set +e; "$FS" train "$TINY" --set train.steps=3 > second.txt 2>&1; rc=$?; set -e
[ "$rc" -eq 2 ] || { kill "$pid"; fail "second run into the same run.dir: exit $rc, expected 2: $(tail -3 second.txt)"; }
grep -q "in use by another training run (host $(hostname -s), pid $pid," second.txt ||
  { kill "$pid"; fail "the refusal does not name host $(hostname -s) and pid $pid: $(cat second.txt)"; }
grep -q "hint:" second.txt || { kill "$pid"; fail "no hint: $(cat second.txt)"; }
kill -USR1 "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 3 ] || fail "first run: exit $rc after USR1, expected 3"
# A killed holder leaves run.lock behind; the next run takes it over.
"$FS" train "$TINY" --set train.steps=100000 --set checkpoint.every=0 --resume auto > third.txt 2>&1 &
pid=$!
for _ in $(seq 400); do grep -q "pid $pid," run/run.lock 2>/dev/null && break; sleep 0.05; done
grep -q "pid $pid," run/run.lock || fail "run.lock does not name the running run: $(cat run/run.lock)"
wait_lines "$(($(wc -l < run/metrics.jsonl) + 2))"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
last=$(ls run/checkpoints | tail -1 | sed 's/ckpt-0*\([0-9]*\).h5/\1/')
"$FS" train "$TINY" --set train.steps=$((last + 2)) --resume auto > fourth.txt 2>&1 ||
  fail "after a killed holder the run.dir stays locked: $(tail -3 fourth.txt)"
echo PASS
