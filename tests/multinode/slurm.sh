#!/usr/bin/env bash
# Slurm across two hosts: slurmctld (and munged) on node0, one slurmd per host with its own
# node name and address (198.18.0.1, .2). `faceswarm submit --nodes 2` trains with its
# coordinator on the first node (CURVE) and one rank on each host; `scancel --signal=USR1
# --batch` mid-run -> checkpoint -> requeue -> resume -> the end: every step once, both
# runs on both hosts. The cluster: slurm_lib.sh.
source "$(dirname "$0")/lib.sh"
source "$SRC/tests/multinode/slurm_lib.sh"
slurm_up

"$FS" data synth --out data --identities 2 --count 64 --size 32 --seed 3 >/dev/null
total=300
on 0 "$FS" submit "$SRC/tests/slurm/tiny.yaml" --nodes 2 -n 1 --set train.steps=$total --set checkpoint.every=0 \
  > submit.txt 2>&1 || fail "submit: $(cat submit.txt)"
job=$(submitted_job submit.txt)
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
