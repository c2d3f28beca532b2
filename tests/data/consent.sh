#!/usr/bin/env bash
# Consent is enforced by train: a dataset without a consent record (identity, consent, source)
# is refused (exit 2, naming the file and data.require_consent) unless the config says
# data.require_consent: false; then training warns, the checkpoint's config records it and
# previews and swaps say "consent not recorded". A file whose identity names another person
# and a dataset smaller than the batch are warned about. `data consent` checks the record.
source "$(dirname "$0")/../train/lib.sh"
make_data 16
"$FS" data consent data/A.h5 > c.out || fail "data consent of a synth file: $(cat c.out)"
grep -q "consent    synthetic: no real person" c.out && grep -q "complete and verified" c.out ||
  fail "data consent output: $(cat c.out)"
# B without a consent record: a bare copy of its faces.
mkdir bare && cp data/A.h5 bare/A.h5
h5copy -i data/B.h5 -o bare/B.h5 -s /faces -d /faces || fail "h5copy failed"
set +e
"$FS" data consent bare/B.h5 > c.out 2> c.err; rc=$?
"$FS" train "$TINY" --set data.dir=bare --steps 2 --set train.preview_every=0 > t.out 2> t.err; trc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "(not recorded)" c.out || fail "data consent of a bare file: exit $rc: $(cat c.out c.err)"
[ "$trc" -eq 2 ] || fail "training on a file without a consent record exited $trc, expected 2: $(cat t.err)"
grep -q "bare/B.h5: no consent record" t.err && grep -q "data.require_consent: false" t.err ||
  fail "the refusal does not name the file and the key: $(cat t.err)"
[ ! -e run/checkpoints ] || fail "a refused run wrote checkpoints"
# Explicitly allowed: trains, warns, records it, labels the outputs.
"$FS" train "$TINY" --set data.dir=bare --set data.require_consent=false --steps 2 --set train.preview_every=2 \
  --set checkpoint.every=2 > t.out 2> t.err || fail "require_consent=false did not train: $(cat t.err)"
grep -q "bare/B.h5: no consent record" t.err || fail "no warning when training without consent: $(cat t.err)"
ck=run/checkpoints/ckpt-0000000002.h5
h5dump -w 0 -d /config "$ck" > config.txt
grep -q "require_consent: false" config.txt || fail "the checkpoint does not record require_consent"
grep -aq "consent not recorded" run/previews/latest.png || fail "the preview is not labelled 'consent not recorded'"
"$FS" swap --checkpoint "$ck" --to B -o swaps --count 1 data/A.h5 > /dev/null
grep -aq "consent not recorded" swaps/swap-000000.png || fail "the swap is not labelled 'consent not recorded'"
# Warnings: an identity attribute naming another identity; fewer faces than the batch.
mkdir other && cp data/A.h5 other/A.h5 && cp data/A.h5 other/B.h5
"$FS" train "$TINY" --set data.dir=other --set run.dir=run2 --steps 1 --set train.preview_every=0 > /dev/null 2> w.err
grep -q "other/B.h5: its identity attribute says 'A', but it trains as identity 'B'" w.err ||
  fail "no warning for an identity mismatch: $(cat w.err)"
"$FS" data synth --out few --identities 2 --count 3 --size 32 > /dev/null
"$FS" train "$TINY" --set data.dir=few --set run.dir=run3 --steps 1 --set train.preview_every=0 > /dev/null 2> w.err
grep -q "few/A.h5: 3 face(s), fewer than the batch of 4" w.err || fail "no warning for a tiny dataset: $(cat w.err)"
"$FS" train "$TINY" --set run.dir=run4 --steps 1 --set train.preview_every=1 > /dev/null 2> w.err
grep -aq "every training dataset had a consent record" run4/previews/latest.png ||
  fail "a preview of a run with consent records does not say so"
echo PASS
