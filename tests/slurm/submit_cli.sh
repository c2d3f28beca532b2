#!/usr/bin/env bash
# `faceswarm submit --dry-run`: the rendered job script carries the config's slurm section
# with the flags on top, leaves out unset options, and bad values are refused with a
# message naming the value and a hint. Needs no Slurm: --dry-run writes and submits nothing,
# and a stand-in sbatch (on PATH) takes the real submissions: a resubmission of the frozen
# job (RUN/job/config.yaml) is the same job, and the printed watch/resume lines work.
#   submit_cli.sh [FACESWARM]   the binary to test (default $FACESWARM_BIN), wherever it is
set -euo pipefail
FS=${1:-${FACESWARM_BIN:?FACESWARM_BIN must name the faceswarm binary}}
SRC=${FACESWARM_SOURCE_DIR:?}
TINY=$SRC/tests/slurm/tiny.yaml
WORK=$(mktemp -d /tmp/faceswarm-submit-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -qxF -- "$2" "$1" || fail "expected the line '$2' in the script; got: $(grep '^#SBATCH' "$1" | tr '\n' ' ')"; }
hasnt() { ! grep -q -- "$2" "$1" || fail "expected no line matching '$2'; got: $(grep -- "$2" "$1")"; }

# The config's slurm section: 1 node, no GPUs, 1 CPU per task, 10:00, lead 60 s.
"$FS" submit "$TINY" --dry-run >plain.sh
has plain.sh "#SBATCH --nodes=1"
has plain.sh "#SBATCH --ntasks-per-node=1"
has plain.sh "#SBATCH --cpus-per-task=1"
has plain.sh "#SBATCH --time=10:00"
has plain.sh "#SBATCH --signal=B:USR1@60"
has plain.sh "#SBATCH --requeue"
has plain.sh "#SBATCH --open-mode=append"
has plain.sh "#SBATCH --output=$WORK/run/slurm-%j.out"
has plain.sh "#SBATCH --job-name=faceswarm-run"
hasnt plain.sh "--gpus-per-node"
hasnt plain.sh "--partition"
hasnt plain.sh "--account"
hasnt plain.sh "@[A-Z_]*@"
grep -q 'srun --mpi=pmix .*"$FACESWARM" train "$CONFIG" --resume auto' plain.sh || fail "no srun --mpi=pmix ... train --resume auto line"
bash -n plain.sh || fail "the rendered script is not valid bash"
[ ! -e run ] || fail "--dry-run created the run directory"

# Flags override the config; a GPU run asks for GPUs and one rank per GPU.
"$FS" submit "$TINY" --dry-run --set train.device=cuda -N 4 -G 8 -c 6 -t 2-00:00:00 -p gpu -A proj7 \
  --signal-lead 300 -J big --set run.dir=runs/big >gpu.sh
for l in "--nodes=4" "--ntasks-per-node=8" "--gpus-per-node=8" "--cpus-per-task=6" "--time=2-00:00:00" \
  "--partition=gpu" "--account=proj7" "--signal=B:USR1@300" "--job-name=big" "--output=$WORK/runs/big/slurm-%j.out"; do
  has gpu.sh "#SBATCH $l"
done
grep -qx "RUN_DIR='$WORK/runs/big'" gpu.sh || fail "RUN_DIR is not the absolute run.dir"

# A node range goes to sbatch as -N MIN-MAX and is frozen as slurm.min_nodes + slurm.nodes.
"$FS" submit "$TINY" --dry-run --nodes 1-2 -n 3 -c 2 >range.sh
has range.sh "#SBATCH --nodes=1-2"
# Per node CPUs, not tasks: --ntasks-per-node would make Slurm allocate MIN nodes only.
has range.sh "#SBATCH --mincpus=6"
hasnt range.sh "#SBATCH --ntasks-per-node"
grep -qx "TASKS_PER_NODE=3 .*" range.sh || fail "the range job does not start 3 ranks per node: $(grep TASKS_PER_NODE= range.sh)"
hasnt plain.sh "#SBATCH --mincpus"
"$FS" submit "$TINY" --dry-run --set slurm.nodes=3 --set slurm.min_nodes=2 >range.sh
has range.sh "#SBATCH --nodes=2-3"
"$FS" submit "$TINY" --dry-run --set slurm.nodes=3 --set slurm.min_nodes=2 --nodes 2 >range.sh # a flag: exactly
has range.sh "#SBATCH --nodes=2"

# Refusals: exit 2 and a message naming the value, with a hint.
refuse() { # refuse WHAT-TO-FIND ARGS...
  local want=$1; shift
  set +e; "$FS" submit "$TINY" --dry-run "$@" >out.txt 2>err.txt; local rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "submit $*: exit $rc, expected 2"
  grep -qF -- "$want" err.txt || fail "submit $*: message lacks '$want': $(cat err.txt)"
  grep -q "hint:" err.txt || fail "submit $*: message has no hint: $(cat err.txt)"
}
refuse "'1:2:3:4' is not a Slurm time limit" -t 1:2:3:4
refuse "'90:99' is not a Slurm time limit" -t 90:99
refuse "signal_lead_s 60 is not shorter than the time limit 1:00" -t 1:00
refuse "--nodes '0'" -N 0
refuse "the fewest (3) exceeds the most (2)" --nodes 3-2
refuse "--nodes (the most) 'x'" --nodes 1-x
refuse "slurm.min_nodes 4 exceeds slurm.nodes 2" --set slurm.min_nodes=4 --set slurm.nodes=2
refuse "asks for 2 GPU(s)" -G 2
refuse "asks for 0 GPUs" --set train.device=cuda
refuse "slurm.partition 'a b'" -p "a b"
refuse "holds the character ';'" --set "run.dir=x;rm"
refuse "unknown placeholder @NOPE@" --template <(printf '#!/bin/bash\n#SBATCH --x=@NOPE@\n')
refuse "expected one CONFIG argument"  "$TINY"
refuse "--tasks-per-node '2x'" -n 2x

# The template is found wherever the binary is (next to it when installed, else in the source
# tree it was built from) and --dry-run says which one it rendered; FACESWARM_DATA_DIR overrides.
"$FS" submit "$TINY" --dry-run >/dev/null 2>err.txt || fail "submit --dry-run failed: $(cat err.txt)"
grep -q "rendered from /.*/slurm/faceswarm.sbatch" err.txt || fail "--dry-run does not name its template: $(cat err.txt)"
mkdir -p data-dir/slurm && sed 's/^set -uo pipefail$/&  # from FACESWARM_DATA_DIR/' "$SRC/slurm/faceswarm.sbatch" >data-dir/slurm/faceswarm.sbatch
FACESWARM_DATA_DIR=$WORK/data-dir "$FS" submit "$TINY" --dry-run >override.sh 2>err.txt
grep -q "rendered from $WORK/data-dir/slurm/faceswarm.sbatch" err.txt && grep -q "from FACESWARM_DATA_DIR" override.sh ||
  fail "FACESWARM_DATA_DIR=$WORK/data-dir was not used: $(cat err.txt)"
set +e; FACESWARM_DATA_DIR=$WORK/nowhere "$FS" submit "$TINY" --dry-run >/dev/null 2>err.txt; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "FACESWARM_DATA_DIR=$WORK/nowhere" err.txt && grep -q hint: err.txt ||
  fail "a FACESWARM_DATA_DIR without the template: exit $rc, $(cat err.txt)"

# Real submissions, to a stand-in sbatch that prints a job id.
mkdir -p fakebin
printf '#!/bin/sh\necho 4242\n' >fakebin/sbatch && chmod +x fakebin/sbatch
sbatch_lines() { grep '^#SBATCH' "$1" | sort; }
mkdir sub && cd sub
PATH=$WORK/fakebin:$PATH "$FS" submit "$TINY" -n 2 -c 1 -t 9:00 -p part1 -A acct1 -J job1 --signal-lead 30 \
  --set run.dir=$WORK/run1 >submit.txt 2>err.txt || fail "submit failed: $(cat err.txt)"
cd "$WORK"
[ -f run1/job/config.yaml ] && [ -f run1/job/faceswarm.sbatch ] || fail "submit did not freeze the job in run1/job/"

# A range is frozen in the job: its resubmission asks for the same range.
(cd sub && PATH=$WORK/fakebin:$PATH "$FS" submit "$TINY" --nodes 1-2 --set run.dir=$WORK/run3 >submit3.txt 2>&1) ||
  fail "submit --nodes 1-2: $(cat sub/submit3.txt)"
grep -q "^submitted job 4242: 1-2 nodes x 1 rank(s)" sub/submit3.txt || fail "submit --nodes 1-2 says: $(head -1 sub/submit3.txt)"
"$FS" submit run3/job/config.yaml --dry-run >again.sh 2>/dev/null && grep -qx "#SBATCH --nodes=1-2" again.sh ||
  fail "the frozen job lost its node range: $(grep -A3 '^slurm:' run3/job/config.yaml)"

# The printed commands work as printed: the binary by its absolute path unless PATH finds
# this very binary as `faceswarm`.
watch=$(sed -n 's/^  watch: *//p' sub/submit.txt)
resume=$(sed -n 's/^  resume: *\([^(]*[^ (]\) *(.*/\1/p' sub/submit.txt)
[ "$watch" = "$(realpath "$FS") status --run $WORK/run1" ] || fail "watch line '$watch'; expected '$(realpath "$FS") status --run $WORK/run1'"
[ "$resume" = "$(realpath "$FS") submit $WORK/run1/job/config.yaml" ] || fail "resume line '$resume'"
mkdir -p onpath && ln -sf "$(realpath "$FS")" onpath/faceswarm
(cd sub && PATH=$WORK/onpath:$WORK/fakebin:$PATH "$FS" submit "$TINY" --set run.dir=$WORK/run2 >submit2.txt 2>/dev/null) ||
  fail "submit with faceswarm on PATH failed"
grep -qx "  watch:    faceswarm status --run $WORK/run2" sub/submit2.txt || fail "with faceswarm on PATH: $(grep watch: sub/submit2.txt)"
# No coordinator ran here: the status command answers about run1 (no snapshot yet).
set +e; $watch >/dev/null 2>watch.err; set -e
grep -q "$WORK/run1" watch.err && ! grep -q "unknown command\|usage:" watch.err ||
  fail "the watch line is not a status command for run1: $(cat watch.err)"

# Resubmitting the frozen job, as the resume line says, from elsewhere: the same job,
# every setting kept (world size, time, partition, account, name, lead, working directory).
mkdir -p elsewhere && cd elsewhere
$resume --dry-run >"$WORK/again.sh" 2>"$WORK/again.err" || fail "resubmit --dry-run failed: $(cat "$WORK/again.err")"
cd "$WORK"
diff <(sbatch_lines run1/job/faceswarm.sbatch) <(sbatch_lines again.sh) >sbatch.diff ||
  fail "the resubmitted job differs from the submitted one: $(cat sbatch.diff)"
has again.sh "#SBATCH --ntasks-per-node=2"
has again.sh "#SBATCH --chdir=$WORK/sub"
! grep -q notice: again.err || fail "an unchanged resubmission gave a notice: $(cat again.err)"
# A flag still overrides, with a notice naming the setting, its old value and the flag.
$resume --dry-run -n 3 >over.sh 2>over.err
has over.sh "#SBATCH --ntasks-per-node=3"
grep -q "notice: .*slurm.tasks_per_node was 2 .*has 3 (from --tasks-per-node)" over.err ||
  fail "no notice for the changed world size: $(cat over.err)"
# Submitting the original config again (not the frozen one) says what it changes.
(cd sub && "$FS" submit "$TINY" --set run.dir=$WORK/run1 --dry-run >/dev/null 2>"$WORK/orig.err")
grep -q "notice: .*slurm.tasks_per_node was 2 .*has 1 (from $TINY)" orig.err ||
  fail "no notice when the original config changes the world size: $(cat orig.err)"
echo PASS
