#!/usr/bin/env bash
# The log level can be set: FACESWARM_LOG=LEVEL, or -v / --log-level LEVEL before the command;
# an unknown level is exit 2. At warning, info lines go; at debug, an error carries the
# source location (tests/train/test_log_location.c checks fs_die itself).
source "$(dirname "$0")/lib.sh"
set +e
"$FS" --log-level loud train "$TINY" > out.txt 2> err.txt; rc=$?
[ "$rc" -eq 2 ] && grep -q "unknown level" err.txt || fail "--log-level loud: exit $rc: $(cat err.txt)"
FACESWARM_LOG=loud "$FS" --version > out.txt 2> err.txt; rc=$?
[ "$rc" -eq 2 ] && grep -q "FACESWARM_LOG='loud'" err.txt || fail "FACESWARM_LOG=loud: exit $rc: $(cat err.txt)"
set -e
"$FS" -v --version | grep -q '^faceswarm ' || fail "-v --version"
"$FS" --help | grep -q -- "--log-level" || fail "faceswarm --help does not show --log-level"
make_data 40
"$FS" train "$TINY" --set train.steps=5 > info.txt 2>&1
grep -q '^checkpoint run/checkpoints/ckpt-0000000005.h5' info.txt || fail "no checkpoint line at info: $(cat info.txt)"
rm -rf run
"$FS" --log-level warning train "$TINY" --set train.steps=5 > warn.txt 2>&1
grep -q '^checkpoint ' warn.txt && fail "info lines at --log-level warning: $(cat warn.txt)"
rm -rf run
FACESWARM_LOG=warning "$FS" train "$TINY" --set train.steps=5 > warn.txt 2>&1
grep -q '^checkpoint ' warn.txt && fail "info lines at FACESWARM_LOG=warning: $(cat warn.txt)"
"$FACESWARM_LOG_TEST" || fail "fs_die's source location at debug level only"
echo PASS
