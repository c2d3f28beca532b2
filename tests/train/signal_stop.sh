#!/usr/bin/env bash
# SIGUSR1 (and SIGTERM) during training: the step finishes, a checkpoint is written at that
# step, the exit status is 3; --resume auto continues to the end with every step logged once.
source "$(dirname "$0")/lib.sh"
make_data 40
for sig in USR1 TERM; do
  rm -rf run
  "$FS" train "$TINY" --set train.steps=100000 --set checkpoint.every=0 > out.txt 2>&1 &
  pid=$!
  for _ in $(seq 200); do [ -s run/metrics.jsonl ] && [ "$(wc -l < run/metrics.jsonl)" -ge 5 ] && break; sleep 0.05; done
  kill -"$sig" "$pid"
  set +e; wait "$pid"; rc=$?; set -e
  [ "$rc" -eq 3 ] || fail "SIG$sig: exit status $rc, expected 3: $(tail -5 out.txt)"
  last=$(tail -1 run/metrics.jsonl | sed 's/.*"step":\([0-9]*\).*/\1/')
  ck=$(ls run/checkpoints/ | tail -1)
  [ "$ck" = "$(printf 'ckpt-%010d.h5' "$last")" ] || fail "SIG$sig: checkpoint $ck is not at the last logged step $last"
  "$FS" checkpoint verify "run/checkpoints/$ck" >/dev/null
  echo "SIG$sig stopped cleanly at step $last"
done
"$FS" train "$TINY" --set train.steps=$((last + 5)) --resume auto > resumed.txt
n=$(grep -c '"step":' run/metrics.jsonl)
[ "$n" -eq $((last + 5)) ] || fail "expected $((last + 5)) metric lines (each step once), got $n"
[ "$(sed 's/.*"step":\([0-9]*\).*/\1/' run/metrics.jsonl | sort -n | uniq -d | wc -l)" -eq 0 ] || fail "a step is logged twice"
echo PASS
