#!/usr/bin/env bash
# fake_faceswarm.sh — a stand-in for the faceswarm binary inside a Slurm job, so that the
# job script's protocol (coordinator, srun, signal -> checkpoint -> exit 3 -> requeue ->
# resume) is tested apart from the real trainer. It keeps the trainer's contract:
#   train CONFIG --resume auto --set run.dir=DIR ...: steps 1..FS_FAKE_STEPS (default 40),
#     FS_FAKE_STEP_S seconds each; rank 0 appends {"step":N,"restart_count":R} to
#     DIR/metrics.jsonl and writes DIR/checkpoints/step every FS_FAKE_EVERY steps (0 = off);
#     on USR1/TERM/INT it finishes the step, rank 0 checkpoints, all exit 3; at the last
#     step it checkpoints and exits 0. --resume auto starts after the checkpoint's step and
#     drops the metric lines after it, as the trainer does.
#   coordinator --state-dir DIR ...: writes DIR/coordinator/started, runs until TERM.
set -u
cmd=$1; shift
if [ "$cmd" = coordinator ]; then
  while [ $# -gt 0 ]; do [ "$1" = --state-dir ] && dir=$2; shift; done
  mkdir -p "$dir/coordinator" && date +%s >>"$dir/coordinator/started"
  trap 'exit 0' TERM INT
  while :; do sleep 0.2; done
fi
[ "$cmd" = train ] || { echo "fake_faceswarm: unknown command $cmd" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in --set) case "$2" in run.dir=*) dir=${2#run.dir=} ;; esac; shift ;; esac
  shift
done
rank=${SLURM_PROCID:-0} steps=${FS_FAKE_STEPS:-40} every=${FS_FAKE_EVERY:-0}
stop=0
trap 'stop=1' USR1 TERM INT
mkdir -p "$dir/checkpoints"
step=0
[ -f "$dir/checkpoints/step" ] && step=$(cat "$dir/checkpoints/step")
checkpoint() { [ "$rank" = 0 ] && echo "$step" >"$dir/checkpoints/step.tmp" && mv "$dir/checkpoints/step.tmp" "$dir/checkpoints/step"; }
if [ "$rank" = 0 ] && [ -f "$dir/metrics.jsonl" ]; then
  awk -v s="$step" -F'[:,]' '$2 <= s' "$dir/metrics.jsonl" >"$dir/metrics.tmp" && mv "$dir/metrics.tmp" "$dir/metrics.jsonl"
fi
echo "fake rank $rank of ${SLURM_NTASKS:-1}: resuming after step $step"
while [ "$step" -lt "$steps" ]; do
  sleep "${FS_FAKE_STEP_S:-0.1}"
  step=$((step + 1))
  [ "$rank" = 0 ] && echo "{\"step\":$step,\"restart_count\":${SLURM_RESTART_COUNT:-0}}" >>"$dir/metrics.jsonl"
  [ "$every" -gt 0 ] && [ $((step % every)) -eq 0 ] && checkpoint
  if [ "$stop" = 1 ]; then checkpoint; echo "fake rank $rank: stopped at step $step"; exit 3; fi
done
checkpoint
exit 0
