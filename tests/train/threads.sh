#!/usr/bin/env bash
# train.threads: 0 (auto) takes OMP_NUM_THREADS when the user set it, else Slurm's cpus per
# task, else the cores of the process's affinity mask over the node's ranks; the run header
# says which.
source "$(dirname "$0")/lib.sh"
make_data 40
threads() { # threads ENV... : the header's thread count and source
  rm -rf run
  env "$@" "$FS" train "$TINY" --set train.threads=0 --set train.steps=1 > out.txt 2>&1 || fail "train: $(tail -3 out.txt)"
  sed -n 's/.*device cpu, \([0-9]*\) thread(s) per rank (from \([^)]*\)).*/\1 \2/p' out.txt
}
got=$(threads SLURM_CPUS_PER_TASK=3); [ "$got" = "3 SLURM_CPUS_PER_TASK" ] || fail "SLURM_CPUS_PER_TASK=3: '$got'"
got=$(threads OMP_NUM_THREADS=2 SLURM_CPUS_PER_TASK=3); [ "$got" = "2 OMP_NUM_THREADS" ] || fail "OMP_NUM_THREADS=2: '$got'"
if command -v taskset > /dev/null; then
  got=$(threads taskset -c 0); [ "$got" = "1 affinity: 1 cores / 1 ranks on this node" ] || fail "taskset -c 0: '$got'"
fi
"$FS" train "$TINY" --set train.threads=1 --set train.steps=1 > out.txt 2>&1
grep -q "1 thread(s) per rank (from train.threads)" out.txt || fail "train.threads=1: $(grep '^# world' out.txt)"
echo PASS
