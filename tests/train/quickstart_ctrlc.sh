#!/usr/bin/env bash
# scripts/quickstart promises "Ctrl-C stops after a checkpoint": a SIGINT to its process
# group (what a terminal's Ctrl-C sends) while `mpirun -np 2` trains ends with exit status 3,
# a checkpoint at the last logged step, and the readable summary (no raw JSON).
source "$(dirname "$0")/lib.sh"
command -v setsid > /dev/null || { echo "SKIP: setsid is not installed"; exit 77; }
command -v python3 > /dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
QS=$WORK/qs
# A terminal's Ctrl-C reaches a foreground job with SIGINT handled by default; a job started
# with & from a script ignores SIGINT for good. So python starts quickstart in a session of
# its own with default signals and sends SIGINT to the whole process group, as a terminal does.
set +e
FACESWARM_BIN=$FS QUICKSTART_DIR=$QS FACES=64 RANKS=2 python3 - "$SRC/scripts/quickstart" "$QS/run/metrics.jsonl" > out.txt 2>&1 <<'PY'
import os, signal, subprocess, sys, time
p = subprocess.Popen(["bash", sys.argv[1]], start_new_session=True)
for _ in range(1200):
    try:
        if sum(1 for _ in open(sys.argv[2])) >= 2: break
    except OSError: pass
    if p.poll() is not None: break
    time.sleep(0.1)
if p.poll() is None: os.killpg(p.pid, signal.SIGINT)
try: rc = p.wait(timeout=120)
except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); rc = 124
sys.exit(rc)
PY
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "quickstart after Ctrl-C: exit $rc, expected 3: $(tail -8 out.txt)"
last=$(tail -1 "$QS/run/metrics.jsonl" | sed 's/^{"step":\([0-9]*\),.*/\1/')
[ -f "$QS/run/checkpoints/$(printf 'ckpt-%010d.h5' "$last")" ] || fail "no checkpoint at the last logged step $last"
grep -q "^== stopped after a checkpoint (Ctrl-C)" out.txt || fail "no summary after Ctrl-C: $(tail -8 out.txt)"
grep -qE "^loss: +[0-9.]+ at step [0-9]+ -> [0-9.]+ at step $last \(A [0-9.]+, B [0-9.]+\)" out.txt ||
  fail "the loss line is not readable: $(grep '^loss' out.txt)"
grep -q '"loss"' out.txt && fail "raw JSON in the summary: $(grep '"loss"' out.txt)"
grep -q "^continue: " out.txt && grep -q "^checkpoint:  $QS/run/checkpoints/ckpt-" out.txt || fail "summary lacks where/how: $(tail -9 out.txt)"
echo PASS
