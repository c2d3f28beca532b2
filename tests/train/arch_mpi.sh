#!/usr/bin/env bash
# Data-parallel equivalence for DeepFaceLab's architectures (df with 3 identities, liae-ud with
# its shared decoder): 2 and 4 ranks (the global batch of 4 per identity split over them)
# follow 1 rank with the whole batch for 10 steps, per-step losses within 1e-5 relative and the
# parameters within 1e-5 relative L2, as mpi_equivalence.sh checks for original (its comment
# explains Adam's eps = 1e-3 here).
source "$(dirname "$0")/lib.sh"
CFG=$SRC/tests/train/tiny_saehd.yaml
"$FS" data synth --out data --identities 3 --count 24 --size 64 --seed 3 > /dev/null
MPI=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && MPI+=(--allow-run-as-root)
close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a; exit !(d <= t * s + 1e-12) }'; }
rel_l2() { "$FS" checkpoint diff "$1" "$2" | awk '$1 == "rel_l2_diff" { print $2 }'; }
for arch in df liae; do
  common=(--set model.arch=$arch --set train.steps=10 --set checkpoint.every=10 --set train.eps=1e-3
          --set comms.check_every=2)
  [ $arch = df ] && common+=(--set "model.identities=[A, B, C]")
  "$FS" train "$CFG" "${common[@]}" --set run.dir=$arch-p1 > $arch-p1.txt
  for p in 2 4; do
    "${MPI[@]}" -np $p "$FS" train "$CFG" "${common[@]}" --set run.dir=$arch-p$p > $arch-p$p.txt ||
      fail "$arch: $p ranks failed: $(tail -5 $arch-p$p.txt)"
    for s in 1 5 10; do
      a=$(metric $arch-p1/metrics.jsonl $s loss) b=$(metric $arch-p$p/metrics.jsonl $s loss)
      close "$a" "$b" 1e-5 || fail "$arch P=$p step $s: loss $b vs $a at P=1"
    done
    d=$(rel_l2 $arch-p1/checkpoints/ckpt-0000000010.h5 $arch-p$p/checkpoints/ckpt-0000000010.h5)
    echo "$arch P=$p: params rel L2 distance to P=1 after 10 steps: $d"
    awk -v d="$d" 'BEGIN { exit !(d < 1e-5) }' || fail "$arch P=$p parameters drifted from P=1: $d"
  done
done
echo PASS
