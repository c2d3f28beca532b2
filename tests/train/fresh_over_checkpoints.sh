#!/usr/bin/env bash
# A fresh start (no --resume) into a run.dir that holds an earlier run's checkpoints warns, with
# a hint: checkpoint.keep keeps the highest steps, so the new run's own checkpoints would be
# removed at once (ckpt-3 below) and --resume auto would take the earlier run's step 10.
# A first run, and a resumed one, do not warn.
source "$(dirname "$0")/lib.sh"
make_data 16
"$FS" train "$TINY" --set train.steps=10 --set train.preview_every=0 > a.out 2> a.err || fail "first run: $(cat a.err)"
grep -q "earlier run" a.err && fail "a first run into an empty run.dir warns: $(cat a.err)"
"$FS" train "$TINY" --set train.steps=3 --set train.preview_every=0 > b.out 2> b.err || fail "second run: $(cat b.err)"
grep -q "warning: run holds 2 checkpoint(s) of an earlier run (newest run/checkpoints/ckpt-0000000010.h5)" b.err ||
  fail "no warning for a fresh start over an earlier run's checkpoints: $(cat b.err)"
grep -q "hint: --resume auto to continue that run" b.err || fail "the warning has no hint: $(cat b.err)"
"$FS" train "$TINY" --set train.steps=12 --set train.preview_every=0 --resume auto > c.out 2> c.err ||
  fail "resumed run: $(cat c.err)"
grep -q "earlier run" c.err && fail "a resumed run warns: $(cat c.err)"
echo PASS
