#!/bin/sh
# bench_train.sh FACESWARM CONFIG — `faceswarm bench train` on 2 ranks with 2 rounds: every
# row is there (solo: 1 rank; data-parallel: 2 ranks through shared memory; independent: 2x1;
# mpi-comparison: 2 ranks through MPI), efficiencies are printed as percentages, the loss fell (wrong 0), exit 0.
# Run under mpirun by ctest (RANKS 2); prints the output either way.
fs=$1 cfg=$2
out=$("$fs" bench train "$cfg" --steps 2 --rounds 2 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc -eq 0 ] || { echo "FAIL: exit $rc"; exit 1; }
# Only rank 0 prints: the checks run where the output is.
printf '%s\n' "$out" | grep -q "^# faceswarm .* bench train$" || exit 0
name=$(basename "$cfg")
for pat in "^  $name +solo +1 " "^  $name +data-parallel +2 .*% +shared memory, 2 ranks per node" \
           "^  $name +independent +2 .*% +none \(independent ranks at once\)" \
           "^  $name +mpi-comparison +2 .*% +MPI_Iallreduce" "^# rounds: 2$" "^# wrong 0"; do
  printf '%s\n' "$out" | grep -Eq "$pat" || { echo "FAIL: no line matching '$pat'"; exit 1; }
done
echo "ok: bench train rows present"
