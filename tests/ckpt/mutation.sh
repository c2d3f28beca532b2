#!/usr/bin/env bash
# The byte-mutation test (tests/ckpt/mutate.c) on a real checkpoint (2 steps of the fixture
# model) and a real dataset (data synth with masks): 400 mutants each, fixed seeds.
source "$(dirname "$0")/../train/lib.sh"
MUTATE=${1:?usage: mutation.sh MUTATE_BINARY}
"$FS" data synth --out data --identities 2 --count 6 --size 16 --seed 3 > /dev/null
"$FS" train "$SRC/tests/fixtures/v1/tiny16.yaml" > /dev/null
"$MUTATE" checkpoint run/checkpoints/ckpt-0000000002.h5 400 11
"$MUTATE" dataset data/A.h5 400 12
# Case 121 zeroes two size fields of /masks' chunk index (one record's address too). HDF5
# 1.10's read then copies a 256-byte chunk out of an 8-byte buffer (ASan: heap overflow); a
# plain build went on to the face's checksum. It must be refused at open, by the index's sizes.
MUTATE_ONLY=121 "$MUTATE" dataset data/A.h5 122 12 > /dev/null
set +e; "$FS" data verify data/A.h5.mutant > verify121.txt 2>&1; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "masks: its chunk index records 1280 bytes for 6 chunks of 256 bytes" verify121.txt ||
  { echo "FAIL: mutant 121 (damaged /masks chunk sizes): exit $rc: $(cat verify121.txt)"; exit 1; }
echo PASS
