#!/usr/bin/env bash
# The coordinator reachable from other hosts. Binding an address other hosts can reach
# without CURVE keys is refused (exit 2) unless --insecure; with the job's keys, a client on
# another host without keys, or with another job's keys, is refused and logged, the job's own
# key file is admitted, and ranks on both hosts register over the links with CURVE.
source "$(dirname "$0")/lib.sh"
# (Daemons are started with "$MN" exec directly, not through the function on(), so that $!
# is the daemon itself: hosts.sh execs nsenter, which execs the program.)
TINY=$SRC/tests/train/tiny.yaml
hosts_up 2
"$FS" keys --out job.keys >/dev/null
"$FS" keys --out other.keys >/dev/null
PORT=7555 # each host has its own network stack: no other test's port can collide

# No keys: refused before anything is bound or written, for a host address and a wildcard.
for addr in "tcp://198.18.0.1:$PORT" "tcp://*:$PORT" "tcp://node0:$PORT"; do
  set +e
  on 0 "$FS" coordinator --bind "$addr" --state-dir open --job-id j --world-size 2 > open.txt 2>&1
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "--bind $addr without keys: exit $rc; expected 2: $(cat open.txt)"
  grep -q -- "--keys FILE" open.txt && grep -q -- "--insecure" open.txt || fail "the refusal should name --keys and --insecure: $(cat open.txt)"
  [ ! -e open ] || fail "a refused coordinator created its state directory"
done
# Loopback needs no keys; --insecure allows a reachable address, with a warning in its log.
"$MN" exec "$STATE" 0 "$FS" coordinator --bind "tcp://198.18.0.1:$PORT" --state-dir open --job-id j --world-size 2 --insecure > open.txt 2>&1 &
pid=$!
for _ in $(seq 50); do [ -s open/coordinator/address ] && break; sleep 0.1; done
on 1 "$FS" status --coordinator "tcp://node0:$PORT" > status_open.txt || fail "--insecure coordinator not reachable from node1"
kill -INT "$pid"; wait "$pid" || true
grep -q "without CURVE (--insecure)" open/coordinator/coordinator.log || fail "no warning for --insecure: $(cat open/coordinator/coordinator.log)"

# With the job's keys on node0's address.
"$MN" exec "$STATE" 0 "$FS" coordinator --bind "tcp://198.18.0.1:$PORT" --state-dir run --keys job.keys --job-id local --world-size 2 > coord.txt 2>&1 &
cpid=$!
for _ in $(seq 50); do [ -s run/coordinator/address ] && break; sleep 0.1; done
[ "$(cat run/coordinator/address)" = "tcp://198.18.0.1:$PORT" ] || fail "address file: $(cat run/coordinator/address)"
for keys in none other.keys; do
  args=(); [ "$keys" = none ] || args=(--keys "$keys")
  set +e
  on 1 "$FS" status --coordinator "tcp://node0:$PORT" "${args[@]}" --timeout 1 > "status_$keys.txt" 2>&1
  rc=$?
  set -e
  [ "$rc" -ne 0 ] || fail "node1 with keys '$keys' got an answer: $(cat "status_$keys.txt")"
done
log=run/coordinator/coordinator.log
# libzmq names a client without CURVE as a mechanism mismatch, or only as a failed handshake
# when the connection drops first (coordinator.c handshake_reason): either wording is right.
grep -Eq "refused a connection on tcp://198.18.0.1:$PORT: (the client does not use CURVE|the security handshake failed)" $log ||
  fail "no refusal of a client without keys logged: $(cat $log)"
grep -q "refused a connection on tcp://198.18.0.1:$PORT: the client's keys do not match" $log || fail "no refusal of another job's keys logged: $(cat $log)"
on 1 "$FS" status --coordinator "tcp://node0:$PORT" --keys job.keys > status_job.txt || fail "node1 with the job's keys refused"
grep -q "job local  world 2" status_job.txt || fail "status: $(cat status_job.txt)"

# Ranks on both hosts register over the links with CURVE; their metrics arrive.
make_data 40
mpi_on 0 --host node0:1,node1:1 -np 2 "$FS" train "$TINY" --set train.steps=4 --set train.preview_every=0 \
  --set run.dir=run --set "coordinator.address=tcp://node0:$PORT" --set coordinator.keys="$WORK/job.keys" > train.txt 2>&1 ||
  fail "training with the coordinator on node0: $(tail train.txt)"
on 1 "$FS" status --coordinator "tcp://node0:$PORT" --keys job.keys > status_train.txt
grep -Eq '^ +0 +node0 ' status_train.txt && grep -Eq '^ +1 +node1 ' status_train.txt || fail "ranks on node0 and node1 expected: $(cat status_train.txt)"
grep -q "step 4 of 4" status_train.txt || fail "the coordinator did not see step 4: $(cat status_train.txt)"
kill -INT "$cpid"; wait "$cpid" || true
echo PASS
