#!/usr/bin/env bash
# On a terminal (a pty from script(1)) a single process redraws its progress line in place
# ("\r\033[K"); under a launcher (mpirun, or its variables) progress is plain lines.
source "$(dirname "$0")/lib.sh"
command -v script > /dev/null || { echo "SKIP: script(1) is not installed"; exit 77; }
make_data 40
script -qec "'$FS' train '$TINY' --set train.steps=3 --set checkpoint.every=0" /dev/null > tty.txt 2>&1 ||
  fail "train on a pty failed: $(tail -3 tty.txt)"
grep -q $'\r\033\[Kstep 2/3' tty.txt || fail "no in-place progress on a terminal: $(cat -v tty.txt | head -12)"
rm -rf run
OMPI_COMM_WORLD_SIZE=1 script -qec "'$FS' train '$TINY' --set train.steps=3 --set checkpoint.every=0" /dev/null > l.txt 2>&1 ||
  fail "train with a launcher's variable failed: $(tail -3 l.txt)"
grep -q $'\033\[K' l.txt && fail "progress redrawn in place under a launcher: $(cat -v l.txt | head)"
grep -q '^step 2/3' l.txt || fail "no plain progress lines under a launcher: $(cat -v l.txt | head)"
echo PASS
