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
# train.precision bf16 records its bf16 path too (FACESWARM_CPU_BF16: amx = the tile unit, dot =
# vdpbf16ps, round = the rounded copies; they round differently); a resume on another path
# warns, naming the variable that gets the checkpoint's path back; one on the same path says
# nothing.
BF=(--set train.precision=bf16)
FACESWARM_CPU_BF16=round "$FS" train "$TINY" --set run.dir=b "${BF[@]}" --set train.steps=2 > b1.txt 2> b1.err ||
    fail "bf16 training on the rounded copies failed: $(cat b1.err)"
kb=$(kern b/checkpoints/ckpt-0000000002.h5)
case $kb in "cpu "*" bf16-round") ;; *) fail "a bf16 run on the rounded copies recorded kernels [$kb]" ;; esac
FACESWARM_CPU_BF16=round "$FS" train "$TINY" --set run.dir=b "${BF[@]}" --set train.steps=3 --resume auto > b2.txt \
    2> b2.err || fail "bf16 resume failed: $(cat b2.err)"
grep -q "written by kernels" b2.err b2.txt && fail "a bf16 resume on the same path warned: $(cat b2.err)"
rc=0
FACESWARM_CPU_BF16=bogus "$FS" train "$TINY" --set run.dir=c "${BF[@]}" --set train.steps=1 > c.txt 2> c.err || rc=$?
[ $rc = 2 ] || fail "FACESWARM_CPU_BF16=bogus: exit $rc, expected 2"
grep -q "FACESWARM_CPU_BF16=bogus: unknown bf16 path" c.err && grep -q "hint: auto (the default), amx" c.err ||
    fail "FACESWARM_CPU_BF16=bogus: the error does not name the value and the choices: $(cat c.err)"
[ -d c/checkpoints ] && [ -n "$(ls c/checkpoints)" ] && fail "a refused run left checkpoints: $(ls c/checkpoints)"
if grep -qw avx512_bf16 /proc/cpuinfo; then
    FACESWARM_CPU_BF16=dot "$FS" train "$TINY" --set run.dir=b "${BF[@]}" --set train.steps=4 --resume auto > b3.txt \
        2> b3.err || fail "bf16 resume on vdpbf16ps failed: $(cat b3.err)"
    grep -qF "written by kernels '$kb'; this run uses '${kb% bf16-round} bf16-dot'" b3.err ||
        fail "a bf16 resume on the other path did not warn, naming both: $(cat b3.err)"
    grep -q "FACESWARM_CPU_BF16=round" b3.err || fail "the warning does not say how to get the path back: $(cat b3.err)"
    [ "$(kern b/checkpoints/ckpt-0000000004.h5)" = "${kb% bf16-round} bf16-dot" ] ||
        fail "the vdpbf16ps run recorded [$(kern b/checkpoints/ckpt-0000000004.h5)]"
else
    rc=0
    FACESWARM_CPU_BF16=dot "$FS" train "$TINY" --set run.dir=d "${BF[@]}" --set train.steps=1 > d.txt 2> d.err || rc=$?
    [ $rc = 2 ] && grep -q "this CPU lacks AVX512_BF16" d.err ||
        fail "FACESWARM_CPU_BF16=dot without AVX512_BF16: exit $rc: $(cat d.err)"
fi
last=$(ls b/checkpoints/ckpt-*.h5 | sort | tail -1)
kl=$(kern "$last")
if grep -qw amx_bf16 /proc/cpuinfo; then
    FACESWARM_CPU_BF16=amx "$FS" train "$TINY" --set run.dir=b "${BF[@]}" --set train.steps=5 --resume auto > b4.txt \
        2> b4.err || fail "bf16 resume on AMX failed: $(cat b4.err)"
    grep -qF "written by kernels '$kl'; this run uses '${kb% bf16-round} bf16-amx'" b4.err ||
        fail "a bf16 resume from [$kl] on AMX did not warn, naming both: $(cat b4.err)"
    [ "$(kern b/checkpoints/ckpt-0000000005.h5)" = "${kb% bf16-round} bf16-amx" ] ||
        fail "the AMX run recorded [$(kern b/checkpoints/ckpt-0000000005.h5)]"
else
    rc=0
    FACESWARM_CPU_BF16=amx "$FS" train "$TINY" --set run.dir=e "${BF[@]}" --set train.steps=1 > e.txt 2> e.err || rc=$?
    [ $rc = 2 ] && grep -q "does not run AMX-BF16" e.err ||
        fail "FACESWARM_CPU_BF16=amx without AMX-BF16: exit $rc: $(cat e.err)"
    [ -d e/checkpoints ] && [ -n "$(ls e/checkpoints)" ] && fail "a refused AMX run left checkpoints: $(ls e/checkpoints)"
fi
echo PASS
