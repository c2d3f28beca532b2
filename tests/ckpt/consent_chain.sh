#!/usr/bin/env bash
# The consent chain: every checkpoint carries each identity's consent record as its dataset
# holds it (with the dataset's checksum); `checkpoint inspect` shows it; an edited chain is
# refused by verify (exit 2); a swap's XMP names each identity's consent reference.
source "$(dirname "$0")/../train/lib.sh"
MUTATE=${1:?usage: consent_chain.sh MUTATE_BINARY}
make_data 40
"$FS" train "$TINY" --set train.steps=4 --set train.preview_every=0 > /dev/null
ck=run/checkpoints/ckpt-0000000004.h5
"$FS" checkpoint inspect "$ck" > inspect.txt
grep -q "^consent chain (covered by the metadata checksum):" inspect.txt || fail "inspect shows no chain: $(cat inspect.txt)"
sumA=$(h5dump -a checksum data/A.h5 | grep -o '"[0-9a-f]\{16\}"' | tr -d '"')
[ -n "$sumA" ] || fail "h5dump shows no attribute checksum of data/A.h5"
grep -q "identity=A consent=synthetic: no real person source=faceswarm data synth seed 3 dataset=A.h5 dataset_checksum=" inspect.txt ||
  fail "A's record is not in the chain: $(grep identity= inspect.txt)"
grep -q "identity=B .*dataset=B.h5 dataset_checksum=[0-9a-f]\{16\}" inspect.txt || fail "B's record is not in the chain"
grep -q "dataset_checksum=$sumA" inspect.txt || fail "A's dataset checksum $sumA is not the chain's"
# A checkpoint whose chain was edited (another consent reference) is refused.
cp "$ck" edited.h5
"$MUTATE" set-str edited.h5 consent_chain "identity=A	consent=forged	source=x	dataset=A.h5	dataset_checksum=none"
set +e; "$FS" checkpoint verify edited.h5 > v.out 2> v.err; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "changed after it was written" v.err || fail "an edited consent chain: verify exit $rc: $(cat v.err)"
"$MUTATE" reseal edited.h5 # the seal rewritten over the edit: the metadata checksum refuses it
set +e; "$FS" checkpoint verify edited.h5 > v.out 2> v.err; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "metadata checksum mismatch" v.err || fail "an edited consent chain: verify exit $rc: $(cat v.err)"
# The swap's XMP carries the datasets' consent references.
"$FS" swap --checkpoint "$ck" --to B -o swaps --count 1 data/A.h5 > /dev/null
"$FS" detect --json swaps/swap-000000.png > d.json || fail "detect finds no mark: $(cat d.json)"
grep -q '"identities": "A (consent: synthetic: no real person); B (consent: synthetic: no real person)"' d.json ||
  fail "the swap's XMP does not carry the consent references: $(cat d.json)"
echo PASS
