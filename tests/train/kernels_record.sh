#!/usr/bin/env bash
# Checkpoints record the kernels their sums came from (attribute kernels, `checkpoint inspect`);
# resuming on other kernels (FACESWARM_CPU_GEMM=openblas vs own) warns, naming both, and
# continues; resuming on the same kernels, or from one own kernel on the other, says nothing.
source "$(dirname "$0")/lib.sh"
make_data 40
kern() { "$FS" checkpoint inspect "$1" | awk '$1 == "kernels" { $1 = ""; sub(/^ /, ""); print }'; }
FACESWARM_CPU_GEMM=openblas "$FS" train "$TINY" --set run.dir=a --set train.steps=4 > a1.txt 2> a1.err
k=$(kern a/checkpoints/ckpt-0000000004.h5)
case $k in "cpu "?*) ;; *) fail "checkpoint inspect printed kernels [$k], expected 'cpu <OpenBLAS core>'" ;; esac
case $k in "cpu own"*) fail "FACESWARM_CPU_GEMM=openblas recorded the own GEMM: [$k]" ;; esac
h5dump -a /kernels a/checkpoints/ckpt-0000000004.h5 | grep -qF "\"$k\"" || fail "attribute /kernels is not [$k]"
# The same kernels: no word about them.
FACESWARM_CPU_GEMM=openblas "$FS" train "$TINY" --set run.dir=a --set train.steps=6 --resume auto > a2.txt 2> a2.err
grep -q "resumed from .*ckpt-0000000004.h5 at step 4" a2.txt || fail "did not resume at step 4: $(cat a2.txt a2.err)"
grep -q "written by kernels" a2.err a2.txt && fail "a resume on the same kernels warned: $(cat a2.err)"
[ "$(kern a/checkpoints/ckpt-0000000006.h5)" = "$k" ] || fail "the resumed run's checkpoint records other kernels"
if grep -qw avx512f /proc/cpuinfo || { grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; }; then
    FACESWARM_CPU_GEMM=own "$FS" train "$TINY" --set run.dir=a --set train.steps=8 --resume auto > a3.txt 2> a3.err ||
        fail "resume with the own GEMM failed: $(cat a3.err)"
    grep -q "resumed from .*ckpt-0000000006.h5 at step 6" a3.txt || fail "did not resume at step 6: $(cat a3.txt a3.err)"
    grep -qF "written by kernels '$k'; this run uses 'cpu own-" a3.err ||
        fail "a resume on other kernels did not warn, naming both: $(cat a3.err)"
    grep -q "not bit-identical" a3.err || fail "the warning does not say what differs: $(cat a3.err)"
    k8=$(kern a/checkpoints/ckpt-0000000008.h5)
    case $k8 in "cpu own-"*) ;; *) fail "the own GEMM's checkpoint records [$k8]" ;; esac
    # The AVX2 kernel sums as the AVX-512 one does: a resume from one own kernel on another
    # says nothing (and on an AVX2-only CPU, own is own-avx2 itself).
    FACESWARM_CPU_GEMM=own-avx2 "$FS" train "$TINY" --set run.dir=a --set train.steps=10 --resume auto > a4.txt \
        2> a4.err || fail "resume with own-avx2 failed: $(cat a4.err)"
    grep -q "resumed from .*ckpt-0000000008.h5 at step 8" a4.txt || fail "did not resume at step 8: $(cat a4.txt a4.err)"
    grep -q "written by kernels" a4.err a4.txt && fail "a resume from $k8 on own-avx2 warned: $(cat a4.err)"
    [ "$(kern a/checkpoints/ckpt-0000000010.h5)" = "cpu own-avx2-6x16" ] ||
        fail "own-avx2's checkpoint records [$(kern a/checkpoints/ckpt-0000000010.h5)]"
else
    echo "note: neither AVX-512F nor AVX2 + FMA here: the own GEMM's half of the test did not run"
fi
echo PASS
