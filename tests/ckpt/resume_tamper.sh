#!/usr/bin/env bash
# Checkpoint metadata edited after writing (step 3000, epoch -7, as an h5py user might): verify
# refuses it (exit 2: by its seal, and with the seal rewritten over the edit, 'metadata
# checksum mismatch'), --resume PATH refuses it, and --resume auto skips it with a warning and
# resumes from the previous checkpoint.
source "$(dirname "$0")/../train/lib.sh"
MUTATE=${1:?usage: resume_tamper.sh MUTATE_BINARY}
make_data 40
"$FS" train "$TINY" --set train.steps=10 --set checkpoint.every=5 --set train.preview_every=0 > /dev/null
ck=run/checkpoints/ckpt-0000000010.h5
"$MUTATE" set-int "$ck" step 3000
set +e; "$FS" checkpoint verify "$ck" > v.out 2> v.err; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "verify of a checkpoint with step changed to 3000 exited $rc: $(cat v.out)"
grep -q "changed after it was written" v.err || fail "the seal did not refuse it: $(cat v.err)"
# the same edit with the seal rewritten over it: the metadata checksum still refuses it
"$MUTATE" reseal "$ck"
set +e; "$FS" checkpoint verify "$ck" > v.out 2> v.err; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "verify of a resealed checkpoint with step 3000 exited $rc: $(cat v.out)"
grep -q "metadata checksum mismatch" v.err || fail "verify did not say why: $(cat v.err)"
"$MUTATE" set-int "$ck" epoch -7
set +e; "$FS" train "$TINY" --set train.steps=12 --resume "$ck" > r.out 2> r.err; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "--resume of a tampered checkpoint exited $rc: $(cat r.out r.err)"
"$FS" train "$TINY" --set train.steps=12 --resume auto > r.out 2> r.err
grep -q "skipping checkpoint that does not verify" r.err || fail "no warning for the tampered checkpoint"
grep -q "resumed from .*ckpt-0000000005.h5 at step 5" r.out || fail "did not fall back to step 5: $(cat r.out)"
echo PASS
