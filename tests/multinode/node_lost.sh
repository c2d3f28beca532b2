#!/usr/bin/env bash
# A node lost, without Slurm (mpirun across the virtual hosts; under Slurm: slurm_nodeloss.sh):
#   kill  every process of node1 during a 2 x 2 run: the job ends within a bounded time, the
#         coordinator on node0 names node1's ranks first and node1 as a lost host (one line
#         with both ranks); the newest checkpoint verifies, and
#         the run resumes on node0 alone at world size 2 with the same global batch, continues
#         the trajectory, and its metrics hold every step once (the steps the lost run made
#         after its last checkpoint are dropped and made again).
#   cut   node1's link instead: node0's ranks give up after comms.timeout_s (2 s), naming the
#         collective that did not complete, and exit; the coordinator names node1's ranks.
#         mpirun then ends too, within 20 s: its TCP connection to the daemon there fails the
#         keepalive hosts.sh mpirun sets (without it Open MPI waits 300 s idle + 9 x 20 s) or,
#         with the kill after the ranks' abort in flight, node0's tcp_retries2 of 5.
#         Every checkpoint verifies; the resume is checked after a kill only.
source "$(dirname "$0")/lib.sh"
TINY=$SRC/tests/train/tiny.yaml
mode=${1:?usage: node_lost.sh kill|cut}
hosts_up 2
make_data 40
"$FS" keys --out job.keys >/dev/null
PORT=7555
"$MN" exec "$STATE" 0 "$FS" coordinator --bind "tcp://198.18.0.1:$PORT" --state-dir run --keys job.keys \
  --job-id local --world-size 4 --timeout 3 > coord.txt 2>&1 &
cpid=$!
for _ in $(seq 50); do [ -s run/coordinator/address ] && break; sleep 0.1; done
common=(--set train.preview_every=0 --set checkpoint.every=10 --set run.dir=run --set comms.timeout_s=5
        --set train.eps=1e-3 --set coordinator.heartbeat_s=0.5 --set coordinator.timeout_s=3)
# After a cut the ranks' timeout (2 s) runs out before mpirun's keepalive (about 5 s) finds
# node1 lost, so they report it before mpirun stops them.
ct=5; [ "$mode" = cut ] && ct=2
# Once the ranks abort, mpirun sends the kill to every daemon: to the cut host's that data
# is never acknowledged, and a connection with data in flight has no keepalive, only TCP's
# retransmissions (tcp_retries2, 15 by default: about 15 minutes). node0, where mpirun runs,
# gives up after 5 (about 6 s at the veth's 200 ms minimum RTO), as a cluster's login node
# should for mpirun to end in bounded time (docs/multinode.md).
"$MN" exec "$STATE" 0 sysctl -qw net.ipv4.tcp_retries2=5
"$MN" mpirun "$STATE" 0 --bind-to none --host node0:2,node1:2 -np 4 "$FS" train "$TINY" "${common[@]}" --set comms.timeout_s=$ct \
  --set train.steps=100000 --set "coordinator.address=tcp://node0:$PORT" --set coordinator.keys="$WORK/job.keys" > lost.txt 2>&1 &
mp=$!
for _ in $(seq 300); do grep -q '"step":25,' run/metrics.jsonl 2>/dev/null && break; sleep 0.2; done
grep -q '"step":25,' run/metrics.jsonl || fail "the 2 x 2 run did not reach step 25: $(tail -5 lost.txt)"
grep -q '^# world size 4 (node0 x2, node1 x2)' lost.txt || fail "not on both hosts: $(grep '^#' lost.txt)"
t0=$(date +%s)
if [ "$mode" = kill ]; then "$MN" kill "$STATE" 1; else "$MN" cut "$STATE" 1; fi

# Ranks whose network namespace is node0's (one PID namespace holds every host's processes).
ranks_on_node0() {
  local ns p n=0
  ns=$("$MN" exec "$STATE" 0 readlink /proc/self/ns/net)
  for p in $(pgrep -f "^$FS train" || true); do [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$ns" ] && n=$((n + 1)); done
  echo "$n"
}
if [ "$mode" = kill ]; then
  # Open MPI sees its daemon on node1 gone and stops the job.
  for _ in $(seq 60); do kill -0 "$mp" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$mp" 2>/dev/null && fail "the job still runs 30 s after node1 was killed"
  set +e; wait "$mp"; rc=$?; set -e
  [ "$rc" -ne 0 ] || fail "the job exited 0 after losing node1"
else
  # The ranks on node0 time out (comms.timeout_s) and exit.
  for _ in $(seq 120); do [ "$(ranks_on_node0)" -eq 0 ] && break; sleep 0.5; done
  [ "$(ranks_on_node0)" -eq 0 ] || fail "node0's ranks still run 60 s after node1's link was cut: $(grep -v '^step' lost.txt | tail -n 8)"
  # Wherever the cut caught them (the gradient all-reduce, or the per-step sums of losses and
  # step times), they say which collective timed out after comms.timeout_s.
  grep -Eq "\[rank [01] node0\] error: .*timed out after $ct.0 s" lost.txt ||
    fail "node0's ranks did not report a timeout: $(grep error lost.txt | head -3)"
  grep -E "\[rank [01] node0\] error: " lost.txt | head -n 2
  # mpirun ends too: its idle connection to the daemon on node1 fails the TCP keepalive that
  # hosts.sh mpirun sets (oob_tcp_keepalive_*: 2 s idle, 3 probes 1 s apart), or the kill it
  # sends there after the ranks' abort runs out of retransmissions (tcp_retries2 above).
  # Bounded here at 20 s after the ranks ended.
  for _ in $(seq 40); do kill -0 "$mp" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$mp" 2>/dev/null && { kill "$mp"; fail "mpirun still runs 20 s after node0's ranks ended: $(tail -n 8 lost.txt)"; }
  set +e; wait "$mp"; rc=$?; set -e
  [ "$rc" -ne 0 ] || fail "mpirun exited 0 after the cut"
  # mpirun names node1 itself when its keepalive finds the daemon lost before the ranks abort;
  # after their abort it only ends. Either way the coordinator names the host (below).
  named=$(grep -A3 'ORTE has lost communication' lost.txt | grep -o 'Remote daemon: .* on node node1' || true)
  echo "mpirun exited $rc $(( $(date +%s) - t0 )) s after the cut${named:+, naming node1: $named}"
  "$MN" kill "$STATE" 1 # what is left on node1 (its ranks, Open MPI's daemon)
fi
echo "$mode: node0's ranks ended $(( $(date +%s) - t0 )) s after node1 was lost"
sleep 4 # the coordinator's timeout (3 s) has passed for every rank
kill -INT "$cpid"; wait "$cpid" || true
log=run/coordinator/coordinator.log
first=$(grep -E 'warning: rank [0-9]+ on node[01]: (no heartbeat|in all-reduce)' $log | head -n 2)
echo "$first"
grep -q "rank 2 on node1" <<<"$first$(grep -E 'rank 2 on node1: no heartbeat' $log)" || fail "the coordinator did not name rank 2 on node1: $(tail $log)"
grep -Eq 'rank 3 on node1: no heartbeat' $log || fail "the coordinator did not name rank 3 on node1: $(tail $log)"
! head -n 1 <<<"$first" | grep -q "on node0" || fail "the coordinator named a node0 rank before node1's: $first"
# One line for the host, naming both its ranks, and before any line about node0 as a host.
hl=$(grep -E 'warning: host node[01] lost: ' $log | head -n 1)
grep -q "warning: host node1 lost: ranks 2, 3 (every rank on it) silent for " <<<"$hl" ||
  fail "the coordinator did not log node1 as a lost host first: ${hl:-no host line}"
[ "$(grep -c 'host node1 lost' $log)" -eq 1 ] || fail "node1's loss logged $(grep -c 'host node1 lost' $log) times"
echo "$hl"

# The newest checkpoint verifies; resume on node0 alone at world size 2 (2 per rank of the
# global batch of 4 per identity), for 20 more steps.
newest=$(ls run/checkpoints | grep '^ckpt-.*\.h5$' | tail -n 1)
[ -n "$newest" ] || fail "no checkpoint"
"$FS" checkpoint verify "run/checkpoints/$newest" > /dev/null || fail "$newest does not verify"
at=$((10#$(sed 's/ckpt-\([0-9]*\)\.h5/\1/' <<<"$newest")))
for f in run/checkpoints/ckpt-*.h5; do "$FS" checkpoint verify "$f" > /dev/null || fail "$f does not verify"; done
if [ "$mode" = cut ]; then echo PASS; exit 0; fi # the resume below is the same after either loss
end=$((at + 20))
"$MN" mpirun "$STATE" 0 --bind-to none --host node0:2 -np 2 "$FS" train "$TINY" "${common[@]}" --set train.steps=$end \
  --resume auto > resumed.txt 2>&1 || fail "resume on node0: $(tail -5 resumed.txt)"
grep -q "at step $at" resumed.txt || fail "did not resume at step $at: $(grep -i resum resumed.txt)"
grep -q '^# world size 2 (node0 x2)' resumed.txt || fail "resumed: $(grep '^# world' resumed.txt)"
grep -q 'global batch 4 per identity (2 per rank)' resumed.txt || fail "resumed: $(grep 'global batch' resumed.txt)"
got=$(sed -n 's/.*"step":\([0-9]*\),.*/\1/p' run/metrics.jsonl | tr '\n' ' ')
[ "$got" = "$(seq -s ' ' 1 $end) " ] || fail "metrics: expected steps 1..$end once each, in order; found: $got"
# The trajectory continues: the same 10 steps from the checkpoint on 4 ranks (one host) match.
cp -r run ref && rm -rf ref/coordinator && for f in ref/checkpoints/ckpt-*.h5; do
  s=$((10#$(basename "$f" .h5 | sed 's/ckpt-//'))); [ "$s" -le "$at" ] || rm "$f"; done
"$MN" mpirun "$STATE" 0 --bind-to none --host node0:4 -np 4 "$FS" train "$TINY" "${common[@]}" --set run.dir=ref \
  --set train.steps=$end --resume auto > ref.txt 2>&1 || fail "reference resume: $(tail -5 ref.txt)"
last=$(printf 'checkpoints/ckpt-%010d.h5' $end)
d=$("$FS" checkpoint diff run/$last ref/$last | awk '$1 == "rel_l2_diff" { print $2 }')
echo "resumed on 2 ranks vs 4 ranks from step $at: params rel L2 distance at step $end: $d"
awk -v d="$d" 'BEGIN { exit !(d < 1e-5) }' || fail "the resumed run left the trajectory: $d"
echo PASS
