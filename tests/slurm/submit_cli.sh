#!/usr/bin/env bash
# `faceswarm submit --dry-run`: the rendered job script carries the config's slurm section
# with the flags on top, leaves out unset options, and bad values are refused with a
# message naming the value and a hint. Needs no Slurm: --dry-run writes and submits nothing.
set -euo pipefail
FS=${FACESWARM_BIN:?FACESWARM_BIN must name the faceswarm binary}
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
refuse "asks for 2 GPU(s)" -G 2
refuse "asks for 0 GPUs" --set train.device=cuda
refuse "slurm.partition 'a b'" -p "a b"
refuse "holds the character ';'" --set "run.dir=x;rm"
refuse "unknown placeholder @NOPE@" --template <(printf '#!/bin/bash\n#SBATCH --x=@NOPE@\n')
refuse "expected one CONFIG argument"  "$TINY"
echo PASS
