#!/usr/bin/env bash
# A checkpoint that does not fit on the disk: training fails (exit 1) with the errno text
# ("No space left on device") and the right hint (free space, checkpoint.keep), not "check the
# directory exists" or "the file is a faceswarm checkpoint", and leaves no temp file behind.
# Needs a small file system: a 512 KB tmpfs (root and mount); without one it SKIPs (exit 77).
source "$(dirname "$0")/../train/lib.sh"
make_data 16
mkdir small
if ! mount -t tmpfs -o size=512k tmpfs small 2>mount.err; then
  echo "SKIP: cannot mount a small tmpfs to fill ($(cat mount.err)); run as root to test disk full"
  exit 77
fi
trap 'umount "$WORK/small" 2>/dev/null; rm -rf "$WORK"' EXIT
set +e
"$FS" train "$TINY" --set train.steps=2 --set checkpoint.every=2 --set train.preview_every=0 \
  --set run.dir=small/run > out.txt 2> err.txt
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "a full disk: train exited $rc, expected 1: $(cat err.txt)"
grep -q "No space left on device" err.txt || fail "no errno text: $(cat err.txt)"
grep -q "hint: .*free space.*checkpoint.keep" err.txt || fail "no disk-full hint: $(cat err.txt)"
! grep -q "is a faceswarm checkpoint\|directory exists" err.txt || fail "a misleading hint: $(cat err.txt)"
left=$(find small -name '*.tmp.*' | head -1)
[ -z "$left" ] || fail "a temp file was left behind: $left ($(stat -c %s "$left") bytes)"
! ls small/run/checkpoints/ckpt-*.h5 2>/dev/null || fail "a partial checkpoint appeared under its final name"
echo PASS
