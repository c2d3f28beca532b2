#!/usr/bin/env bash
# The coordinator is killed (SIGKILL) and restarted while a job trains: training does not
# stop or slow down to wait for it, ranks reconnect on their own, and the metrics sent while
# it was down arrive afterwards: coordinator/metrics.jsonl holds every step exactly once.
source "$(dirname "$0")/lib.sh"
make_data 40
port=$((20000 + $$ % 20000))
addr=tcp://127.0.0.1:$port
start_coord() { "$FS" coordinator --bind "$addr" --state-dir run > "coord$1.log" 2>&1 & cpid=$!; }
mkdir -p run
start_coord 1
steps=600
"$FS" train "$TINY" --set coordinator.address="$addr" --set train.steps=$steps --set checkpoint.every=100 \
  --set train.preview_every=0 > train.log 2>&1 &
tpid=$!
for _ in $(seq 100); do [ -s run/coordinator/metrics.jsonl ] && break; sleep 0.05; done
kill -KILL "$cpid"; wait "$cpid" 2>/dev/null || true
sleep 0.8                                  # the job trains on with no coordinator
start_coord 2
wait "$tpid" || fail "training failed: $(tail -5 train.log)"
sleep 0.5
kill -TERM "$cpid"; wait "$cpid" 2>/dev/null || true
n=$(grep -c '"rank":0,' run/coordinator/metrics.jsonl)
u=$(grep -o '"rank":0,[^}]*"step":[0-9]*' run/coordinator/metrics.jsonl | grep -o '"step":[0-9]*' | sort -u | wc -l)
echo "coordinator has $n metric lines from rank 0, $u distinct steps"
[ "$u" -eq $steps ] || fail "expected all $steps steps, found $u distinct"
[ "$n" -eq $steps ] || fail "expected each step once, found $n lines"
grep -q "dropped" train.log && fail "the trainer reported dropped metrics: $(grep dropped train.log)"
[ "$(wc -l < run/coordinator/registry.jsonl)" -eq 6 ] || fail "registry should list the 6 checkpoints"
echo PASS
