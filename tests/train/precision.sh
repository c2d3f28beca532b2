#!/usr/bin/env bash
# train.precision: bf16 trains on the cpu backend, the run header says so and run.dir's config
# records it; an unknown value exits 2 naming the key and leaves no run; resuming an fp32
# checkpoint in bf16 is allowed and the header notes it; the default stays fp32.
source "$(dirname "$0")/lib.sh"
MICRO=$SRC/tests/train/micro.yaml
"$FS" data synth --out data --identities 2 --count 16 --size 16 --seed 3 > /dev/null
"$FS" train "$MICRO" --steps 2 --set run.dir=f > f.txt 2>&1 || fail "fp32 run: $(tail -3 f.txt)"
grep -q '^# precision: fp32 (train.precision)$' f.txt || fail "the fp32 header: $(grep '^#' f.txt)"
grep -q 'precision: "fp32"' f/config.yaml || fail "run.dir's config does not record fp32"
"$FS" train "$MICRO" --steps 2 --set run.dir=b --set train.precision=bf16 > b.txt 2>&1 || fail "bf16 run: $(tail -3 b.txt)"
grep -q '^# precision: bf16 (train.precision): conv/dense GEMM operands rounded to bf16' b.txt ||
  fail "the bf16 header: $(grep '^#' b.txt)"
grep -q 'precision: "bf16"' b/config.yaml || fail "run.dir's config does not record bf16"
"$FS" train "$MICRO" --steps 4 --set run.dir=f --set train.precision=bf16 --resume auto > r.txt 2>&1 ||
  fail "resuming fp32 in bf16: $(tail -3 r.txt)"
grep -q 'resumed from a checkpoint trained in fp32' r.txt || fail "no note of the other precision: $(grep '^#' r.txt)"
set +e
"$FS" train "$MICRO" --steps 2 --set run.dir=x --set train.precision=fp16 > x.txt 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "train.precision=fp16 exited $rc, want 2: $(cat x.txt)"
grep -q 'train.precision' x.txt || fail "the error does not name train.precision: $(cat x.txt)"
[ ! -e x/checkpoints ] || fail "a refused config left checkpoints"
echo PASS
