#!/usr/bin/env bash
# The job script's protocol on a real one-node Slurm, with a stand-in trainer
# (fake_faceswarm.sh, which keeps the trainer's contract): `faceswarm submit` of 2 tasks,
# then `scancel --signal=USR1 --batch` mid-run. The script must forward the signal, see the
# ranks stop with status 3, requeue the job, and the second run (SLURM_RESTART_COUNT=1)
# must resume after the checkpoint and finish: every step logged once across both runs.
source "$(dirname "$0")/lib.sh"
cluster_up
export FS_FAKE_STEPS=60 FS_FAKE_STEP_S=0.15
"$FS" submit "$SRC/tests/slurm/tiny.yaml" -n 2 --faceswarm "$SRC/tests/slurm/fake_faceswarm.sh" >submit.txt ||
  fail "submit failed: $(cat submit.txt)"
job=$(submitted_id submit.txt)
[ -n "$job" ] || fail "submit printed no job id: $(cat submit.txt)"
grep -q "faceswarm status --run $WORK/run" submit.txt || fail "submit did not say how to watch the job"
wait_lines run/metrics.jsonl 10 60
scancel --signal=USR1 --batch "$job"
wait_state "$job" "PENDING|REQUEUED|RUNNING" 10
wait_state "$job" COMPLETED 90
[ "$(job_field "$job" Restarts)" = 1 ] || fail "job $job restarted $(job_field "$job" Restarts) times, expected 1"
assert_steps_once run/metrics.jsonl 60
out=run/slurm-$job.out
grep -q "restart 0 .*SIGUSR1: asking the ranks" "$out" || fail "the first run did not log the forwarded USR1"
grep -q "restart 0 .*requeued" "$out" || fail "the first run did not requeue"
grep -q "restart 1 .*training reached its last step" "$out" || fail "the second run did not finish"
first=$(grep -c '"restart_count":0' run/metrics.jsonl)
second=$(grep -c '"restart_count":1' run/metrics.jsonl)
[ "$first" -ge 10 ] && [ "$second" -ge 1 ] && [ $((first + second)) -eq 60 ] ||
  fail "steps per run: $first with restart_count 0, $second with 1; expected >= 10, >= 1, 60 in all"
[ "$(wc -l <run/coordinator/started)" -eq 2 ] || fail "the coordinator was not started once per run"
echo "PASS: USR1 at step $first, requeued, resumed, 60 steps once each"
