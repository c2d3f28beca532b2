#!/usr/bin/env bash
# Slurm across two hosts: slurmctld (and munged) on node0, one slurmd per host with its own
# node name and address (198.18.0.1, .2). `faceswarm submit --nodes 2` trains with its
# coordinator on the first node (CURVE) and one rank on each host; `scancel --signal=USR1
# --batch` mid-run -> checkpoint -> requeue -> resume -> the end: every step once, both
# runs on both hosts. Every daemon runs inside the hosts, so their teardown stops them all;
# each host has its own network stack, so the fixed ports cannot collide with another
# cluster (no lock needed).
source "$(dirname "$0")/lib.sh"
"$SRC/slurm/cluster.sh" install || exit $?
hosts_up 2
D=$WORK/slurm
mkdir -p "$D"/{etc,state,spool/node0,spool/node1,tmp/node0,tmp/node1,log,run,munge}
chmod 0755 "$D" "$WORK"
hw=$(slurmd -C | head -n 1 | sed 's/ UpTime=.*//; s/^NodeName=[^ ]* //')
cat > "$D/etc/slurm.conf" <<CONF
# Written by tests/multinode/slurm.sh: a two-host test cluster on virtual hosts.
ClusterName=faceswarm-mn
SlurmctldHost=node0(198.18.0.1)
SlurmctldPort=6817
SlurmdPort=6818
SlurmdSpoolDir=$D/spool/%n
SlurmdPidFile=$D/run/slurmd.%n.pid
SlurmdLogFile=$D/log/slurmd.%n.log
# Every host sees the machine's /tmp: each slurmd gets its own TmpFS (PMIx makes its per-job
# directories there) through a copy of this file; the copies differ in that line only.
DebugFlags=NO_CONF_HASH
TmpFS=@TMPFS@
$("$SRC/slurm/cluster.sh" common-conf "$D")
NodeName=node0 NodeAddr=198.18.0.1 $hw State=UNKNOWN
NodeName=node1 NodeAddr=198.18.0.2 $hw State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
for k in 0 1; do mkdir -p "$D/etc/node$k"; sed "s|@TMPFS@|$D/tmp/node$k|" "$D/etc/slurm.conf" > "$D/etc/node$k/slurm.conf"; done
export SLURM_CONF=$D/etc/node0/slurm.conf
on 0 "$SRC/slurm/cluster.sh" munge "$D" || fail "munged did not start: $(cat "$D/munge/munged.log")"
on 0 slurmctld -c -f "$SLURM_CONF" || fail "slurmctld: $(tail "$D/log/slurmctld.log")"
on 0 slurmd -N node0 -f "$SLURM_CONF" || fail "slurmd node0: $(tail "$D/log/slurmd.node0.log")"
on 1 slurmd -N node1 -f "$D/etc/node1/slurm.conf" || fail "slurmd node1: $(tail "$D/log/slurmd.node1.log")"
for _ in $(seq 150); do
  [ "$(on 0 sinfo -h -N -o '%N %T' 2>/dev/null | tr '\n' ' ')" = "node0 idle node1 idle " ] && break
  sleep 0.2
done
[ "$(on 0 sinfo -h -N -o '%N %T' | tr '\n' ' ')" = "node0 idle node1 idle " ] || fail "nodes: $(on 0 sinfo -N)"

job_state() { on 0 scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
job_field() { on 0 scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }
wait_state() { # JOB REGEX SECONDS
  local s=""
  for _ in $(seq $(($3 * 5))); do s=$(job_state "$1"); [[ "$s" =~ ^($2)$ ]] && return 0; sleep 0.2; done
  fail "job $1 is '$s' after $3 s; expected $2; $(tail -n 20 run/slurm-"$1".out 2>/dev/null)"
}
steps() { sed -n 's/.*"step":\([0-9]*\),.*/\1/p' run/metrics.jsonl; }

"$FS" data synth --out data --identities 2 --count 64 --size 32 --seed 3 >/dev/null
total=300
on 0 "$FS" submit "$SRC/tests/slurm/tiny.yaml" --nodes 2 -n 1 --set train.steps=$total --set checkpoint.every=0 \
  > submit.txt 2>&1 || fail "submit: $(cat submit.txt)"
job=$(sed -n 's/^submitted job \([0-9]*\).*/\1/p' submit.txt)
[ -n "$job" ] || fail "no job id: $(cat submit.txt)"
wait_state "$job" RUNNING 60
for _ in $(seq 450); do
  [ "$(steps 2>/dev/null | wc -l)" -ge 20 ] && break
  [ "$(job_state "$job")" = RUNNING ] || fail "job $job is $(job_state "$job"): $(tail -n 20 run/slurm-$job.out)"
  sleep 0.2
done
[ "$(steps | wc -l)" -ge 20 ] || fail "no 20 steps after 90 s: $(tail -n 20 run/slurm-$job.out)"
on 0 scancel --signal=USR1 --batch "$job"
wait_state "$job" "COMPLETED|FAILED|CANCELLED" 200
out=run/slurm-$job.out
[ "$(job_state "$job")" = COMPLETED ] || fail "job $job ended $(job_state "$job"): $(tail -n 30 $out)"
[ "$(job_field "$job" Restarts)" = 1 ] || fail "job restarted $(job_field "$job" Restarts) times, expected 1"
[ "$(grep -c '^# world size 2 (node0 x1, node1 x1)' $out)" -eq 2 ] || fail "both runs on both hosts expected: $(grep '^# world' $out)"
grep -q "coordinator tcp://node0:" $out || fail "the coordinator is not on node0: $(grep coordinator $out | head -3)"
first=$(grep '"restart_count":0[,}]' run/metrics.jsonl | sed -n 's/.*"step":\([0-9]*\),.*/\1/p' | tail -n 1)
grep -q "resumed from .*ckpt-$(printf %010d "$first").h5 at step $first" $out || fail "the second run did not resume at step $first: $(grep -i resum $out)"
got=$(steps | tr '\n' ' ')
[ "$got" = "$(seq -s ' ' 1 $total) " ] || fail "metrics: expected steps 1..$total once each; found: $got"
"$FS" checkpoint verify "$(printf 'run/checkpoints/ckpt-%010d.h5' $total)" > /dev/null || fail "final checkpoint does not verify"
grep -q 'refused' run/coordinator/coordinator.log && fail "the coordinator refused a rank: $(grep refused run/coordinator/coordinator.log | head -2)"
echo "PASS: job $job on node0 + node1: USR1 at step $first -> checkpoint -> requeue -> resumed -> $total steps once each"
