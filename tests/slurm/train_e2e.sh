#!/usr/bin/env bash
# faceswarm jobs on a real one-node Slurm, with the real trainer (2 CPU ranks, tiny model):
#   complete  `faceswarm submit` runs to the end: metrics for every step, a final checkpoint
#             that verifies, a registry entry for it, the job COMPLETED; the coordinator's
#             address file names the job's host (the daemon bound tcp://*:PORT).
#   preempt   `scancel --signal=USR1 --batch` mid-training: checkpoint at the step reached,
#             requeue, resume from exactly that checkpoint, finish: no step lost, none trained
#             twice (each run's steps follow on; every step logged once).
#   kill      plain `scancel` (no signal lead): the job ends CANCELLED, not requeued, with
#             its periodic checkpoints and the one the ranks write on TERM, which the
#             coordinator has registered (scancel's TERM reaches it too: it must outlive the
#             ranks); resubmitting the frozen job (RUN/job/config.yaml, no options, as the
#             log says) keeps its 2 ranks, resumes from the newest and finishes, every step
#             logged once.
#   watch     the "watch:" line that submit printed, run as printed while the job trains,
#             gets the live status from the job's coordinator (CURVE keys and all).
source "$(dirname "$0")/lib.sh"
scenario=${1:?usage: train_e2e.sh complete|preempt|kill}
cluster_up
"$FS" data synth --out data --identities 2 --count 64 --size 32 --seed 3 >/dev/null

submit() { # submit STEPS EVERY -> job id; output in submit.txt
  "$FS" submit "$SRC/tests/slurm/tiny.yaml" -n 2 --set "train.steps=$1" --set "checkpoint.every=$2" >submit.txt 2>&1 ||
    fail "submit failed: $(cat submit.txt)"
  submitted_id submit.txt
}
ckpt() { printf 'run/checkpoints/ckpt-%010d.h5' "$1"; }
steps_of_run() { grep "\"restart_count\":$1[,}]" run/metrics.jsonl | metric_steps; }

complete() {
  local job
  job=$(submit 40 10)
  wait_state "$job" "COMPLETED|FAILED|CANCELLED" 120
  [ "$(job_state "$job")" = COMPLETED ] || fail "job $job ended $(job_state "$job")"
  assert_steps_once run/metrics.jsonl 40
  grep -q '"world_size":2' run/metrics.jsonl || fail "metrics do not show 2 ranks"
  grep -q '"restart_count":0' run/metrics.jsonl || fail "metrics lack restart_count"
  "$FS" checkpoint verify "$(ckpt 40)" >/dev/null || fail "final checkpoint $(ckpt 40) does not verify"
  grep -q 'ckpt-0000000040.h5' run/coordinator/registry.jsonl || fail "registry lacks the final checkpoint: $(cat run/coordinator/registry.jsonl)"
  # The address `status --run` reads (maybe on a login node) names the job's host, not the wildcard it bound.
  grep -qx "tcp://$(hostname):[0-9]*" run/coordinator/address || fail "run/coordinator/address is $(cat run/coordinator/address)"
  echo "PASS: job $job completed 40 steps on 2 ranks; checkpoint verified and registered"
}

preempt() {
  local job steps=600 first last
  job=$(submit $steps 0)
  wait_lines run/metrics.jsonl 20 90
  scancel --signal=USR1 --batch "$job"
  wait_state "$job" "COMPLETED|FAILED|CANCELLED" 170
  [ "$(job_state "$job")" = COMPLETED ] || fail "job $job ended $(job_state "$job")"
  [ "$(job_field "$job" Restarts)" = 1 ] || fail "job restarted $(job_field "$job" Restarts) times, expected 1"
  first=$(steps_of_run 0 | tail -n1)
  [ -n "$first" ] && [ "$first" -lt "$steps" ] || fail "the first run logged no steps or all of them ($first)"
  [ -f "$(ckpt "$first")" ] || fail "no checkpoint at step $first where the first run stopped"
  grep -q "resumed from .*ckpt-$(printf %010d "$first").h5 at step $first" "run/slurm-$job.out" ||
    fail "the second run did not resume from $(ckpt "$first")"
  grep -q "\"path\":\"checkpoints/ckpt-$(printf %010d "$first").h5\"" run/coordinator/registry.jsonl ||
    fail "the coordinator did not register the checkpoint of step $first: $(cat run/coordinator/registry.jsonl)"
  last=$(steps_of_run 1 | sed -n 1p)
  [ "$last" = $((first + 1)) ] || fail "the second run started at step $last, expected $((first + 1))"
  assert_steps_once run/metrics.jsonl $steps
  "$FS" checkpoint verify "$(ckpt $steps)" >/dev/null || fail "final checkpoint does not verify"
  echo "PASS: USR1 -> checkpoint at step $first -> requeue -> resumed at $((first + 1)) -> $steps steps once each"
}

kill_resume() {
  local job job2 steps=600 reached newest
  job=$(submit $steps 50)
  wait_lines run/metrics.jsonl 120 120
  scancel "$job"
  wait_state "$job" "FAILED|CANCELLED|COMPLETED" 60
  sleep 3 # a requeue, wrongly made, would show by now
  [ "$(job_state "$job")" = CANCELLED ] || fail "job $job is $(job_state "$job") after scancel, expected CANCELLED"
  [ "$(job_field "$job" Restarts)" = 0 ] || fail "a cancelled job was requeued"
  grep -q "stopped by SIGTERM: checkpoint kept, not requeued" "run/slurm-$job.out" || fail "the script did not say why it did not requeue"
  reached=$(metric_steps run/metrics.jsonl | tail -n1)
  [ "$reached" -lt "$steps" ] || fail "the job finished before scancel"
  newest=$(ls run/checkpoints | grep '^ckpt-.*\.h5$' | tail -n1 || true)
  [ -n "$newest" ] || fail "no checkpoint after $reached steps"
  newest=$((10#$(echo "$newest" | sed 's/ckpt-\([0-9]*\)\.h5/\1/')))
  [ "$newest" -ge $((reached / 50 * 50)) ] && [ "$newest" -le "$reached" ] ||
    fail "newest checkpoint $newest is older than the last periodic one before step $reached"
  grep -q "\"path\":\"checkpoints/ckpt-$(printf %010d "$newest").h5\"" run/coordinator/registry.jsonl ||
    fail "the coordinator did not register the final checkpoint (step $newest) after scancel: $(tail -n 3 run/coordinator/registry.jsonl)"
  # The log's resume line, as printed: the frozen job, no options.
  grep -q "resume with: .* submit $WORK/run/job/config.yaml" "run/slurm-$job.out" || fail "the log gives no resume command"
  "$FS" submit "$WORK/run/job/config.yaml" >submit.txt 2>&1 || fail "resubmit failed: $(cat submit.txt)"
  job2=$(submitted_id submit.txt)
  wait_state "$job2" "COMPLETED|FAILED|CANCELLED" 150
  [ "$(job_state "$job2")" = COMPLETED ] || fail "the resubmitted job $job2 ended $(job_state "$job2")"
  grep -q "resumed from .*ckpt-$(printf %010d "$newest").h5 at step $newest" "run/slurm-$job2.out" ||
    fail "the resubmitted job did not resume from the checkpoint at step $newest"
  assert_steps_once run/metrics.jsonl $steps
  ! grep -v '"world_size":2' run/metrics.jsonl | grep -q . || fail "the resubmitted job did not keep 2 ranks"
  echo "PASS: scancel at step $reached: CANCELLED, not requeued, final checkpoint $newest registered; resubmitted job resumed with 2 ranks and finished $steps steps"
}

watch() {
  local job watch out
  job=$(submit 600 0)
  watch=$(sed -n 's/^  watch: *//p' submit.txt)
  [ -n "$watch" ] || fail "submit printed no watch line: $(cat submit.txt)"
  wait_lines run/metrics.jsonl 20 90
  set +e; out=$(timeout 30 $watch 2>&1); rc=$?; set -e
  scancel "$job"
  [ "$rc" -eq 0 ] || fail "'$watch' exited $rc: $out"
  ! grep -qi "unreachable" <<<"$out" || fail "'$watch' did not reach the job's coordinator: $out"
  grep -q "rank" <<<"$out" || fail "'$watch' shows no ranks: $out"
  wait_state "$job" "FAILED|CANCELLED|COMPLETED" 60
  echo "PASS: '$watch' showed the live job"
}

case "$scenario" in
  complete) complete ;;
  preempt) preempt ;;
  kill) kill_resume ;;
  watch) watch ;;
  *) fail "unknown scenario $scenario" ;;
esac
