#!/usr/bin/env bash
# The byte-mutation test (tests/ckpt/mutate.c) on a real checkpoint (2 steps of the fixture
# model) and a real dataset (data synth with masks): 400 mutants each, fixed seeds.
source "$(dirname "$0")/../train/lib.sh"
MUTATE=${1:?usage: mutation.sh MUTATE_BINARY}
"$FS" data synth --out data --identities 2 --count 6 --size 16 --seed 3 > /dev/null
"$FS" train "$SRC/tests/fixtures/v1/tiny16.yaml" > /dev/null
"$MUTATE" checkpoint run/checkpoints/ckpt-0000000002.h5 400 11
"$MUTATE" dataset data/A.h5 400 12
echo PASS
