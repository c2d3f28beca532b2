#!/usr/bin/env bash
# The coordinator is killed (SIGKILL) and restarted while a job trains, with previews on (a
# preview is a sequenced message: a restarted daemon must rebuild it too, or it would wait
# forever for a sequence number the rank had already seen acknowledged); then the trainer is
# killed too and resumes from its checkpoint, and the coordinator is killed once more.
# Training does not wait for the coordinator, ranks reconnect on their own, the restarted
# daemon serves the job recorded in the run directory, and coordinator/metrics.jsonl holds
# every step exactly once (the resumed steps replace the killed run's lines of those steps).
source "$(dirname "$0")/lib.sh"
make_data 40
port=$((20000 + $$ % 20000))
addr=tcp://127.0.0.1:$port
start_coord() { local n=$1; shift; "$FS" coordinator --bind "$addr" --state-dir run "$@" > "coord$n.log" 2>&1 & cpid=$!; }
kill_coord() { kill -KILL "$cpid"; wait "$cpid" 2>/dev/null || true; }
last_step() { tail -1 run/metrics.jsonl 2>/dev/null | grep -o '"step":[0-9]*' | grep -o '[0-9]*' || echo 0; }
wait_step() { for _ in $(seq 3000); do [ "$(last_step)" -ge "$1" ] && return 0; sleep 0.02; done; fail "training did not reach step $1: $(tail -3 "$2")"; }
mkdir -p run
start_coord 1 --job-id local --world-size 1
steps=900
train=("$FS" train "$TINY" --set coordinator.address="$addr" --set train.steps=$steps --set checkpoint.every=100
  --set train.preview_every=7)
"${train[@]}" > train1.log 2>&1 &
tpid=$!
wait_step 20 train1.log
kill_coord
sleep 0.8                                  # the job trains on with no coordinator
start_coord 2                              # no --job-id: the one recorded in the run directory
wait_step 330 train1.log
kill -KILL "$tpid"; wait "$tpid" 2>/dev/null || true
killed_at=$(last_step)
[ "$killed_at" -lt $steps ] || fail "the trainer finished before it was killed; the test did not exercise a resume"
sleep 0.3
kill_coord
start_coord 3
"${train[@]}" --resume auto > train2.log 2>&1 || fail "the resumed training failed: $(tail -5 train2.log)"
grep -q "resumed from" train2.log || fail "the second run did not resume: $(head -5 train2.log)"
sleep 0.5
kill -TERM "$cpid"; wait "$cpid" 2>/dev/null || true
n=$(grep -c '"rank":0,' run/coordinator/metrics.jsonl)
u=$(grep -o '"rank":0,[^}]*"step":[0-9]*' run/coordinator/metrics.jsonl | grep -o '"step":[0-9]*' | sort -u | wc -l)
echo "trainer killed at step $killed_at and resumed; coordinator has $n metric lines from rank 0, $u distinct steps"
[ "$u" -eq $steps ] || fail "expected all $steps steps, found $u distinct"
[ "$n" -eq $steps ] || fail "expected each step once, found $n lines"
grep -q "dropped\|not acknowledged" train1.log train2.log && fail "the trainer reported lost metrics: $(grep -h 'dropped\|not acknowledged' train1.log train2.log)"
grep -q '"type":"preview"' run/coordinator/events.jsonl || fail "no preview in the coordinator's events.jsonl"
[ "$(grep -c . run/coordinator/registry.jsonl)" -ge 9 ] || fail "registry should list the 9 checkpoints: $(cat run/coordinator/registry.jsonl)"
echo PASS
