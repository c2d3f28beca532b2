#!/usr/bin/env bash
# A flipped byte inside /params fails `checkpoint verify` (exit 2: the seal, and with the seal
# rewritten over it, /params' checksum), and --resume auto skips that checkpoint with a warning
# and resumes from the previous one.
source "$(dirname "$0")/lib.sh"
MUTATE=${1:?usage: tamper.sh MUTATE_BINARY}
make_data 40
"$FS" train "$TINY" --set train.steps=10 --set checkpoint.every=5 > /dev/null
ck=run/checkpoints/ckpt-0000000010.h5
"$FS" checkpoint verify "$ck" > /dev/null
# the byte offset in the file (h5ls's Address counts from the superblock, after the seal's user block)
h5dump -H -p -d /params "$ck" > layout.txt
off=$(awk '$1 == "OFFSET" { print $2; exit }' layout.txt)
[ -n "$off" ] || fail "h5dump could not locate /params: $(cat layout.txt)"
printf '\x5a' | dd of="$ck" bs=1 seek=$((off + 123)) conv=notrunc status=none
set +e; "$FS" checkpoint verify "$ck" > v.out 2> v.err; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "verify of a tampered checkpoint exited $rc, expected 2"
grep -q "changed after it was written" v.err || fail "the seal did not refuse it: $(cat v.err)"
# with the seal rewritten over the change, /params' own checksum refuses it
"$MUTATE" reseal "$ck"
set +e; "$FS" checkpoint verify "$ck" > v.out 2> v.err; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "verify of a resealed tampered checkpoint exited $rc, expected 2"
grep -q "checksum mismatch in /params" v.err || fail "verify did not name /params: $(cat v.err)"
"$FS" train "$TINY" --set train.steps=12 --resume auto > r.out 2> r.err
grep -q "skipping checkpoint that does not verify" r.err || fail "no warning for the tampered checkpoint"
grep -q "resumed from .*ckpt-0000000005.h5 at step 5" r.out || fail "did not fall back to step 5: $(cat r.out)"
echo PASS
