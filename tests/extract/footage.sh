#!/bin/sh
# footage.sh — `faceswarm extract` on videos made from real face photos (make_video: pan,
# zoom, rotation; H.264 in MP4 and MPEG-4 in AVI, two black frames first) and an image
# folder, then: check_footage's checks per video (found in >= 95% of frames, landmark
# agreement, /frames round trip), the frames without a face listed, two ranks give the same
# file as one, a rerun has nothing to do, and a run stopped by SIGTERM (exit 3, no output)
# goes on from its parts to the same file (also 2 ranks stopped, 1 going on); --faces all;
# bench extract.
#   footage.sh MAKE_VIDEO CHECK_FOOTAGE FIXTURES_DIR MPIEXEC...
set -u
BIN=${FACESWARM_BIN:?FACESWARM_BIN not set}
MAKE=$1 CHECK=$2 FIX=$3/face_recognition-1.3.0
shift 3
MPI="$*"
T=extract_test_tmp/footage
rm -rf "$T" && mkdir -p "$T/img" || exit 1
. "${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR not set}/tests/check.sh"
if [ ! -f "$FIX/obama.jpg" ] || [ ! -f "$FIX/obama2.jpg" ] || [ ! -f "$FIX/biden.jpg" ]; then
    echo "FAIL: the test photos are not in $FIX" >&2
    echo "  hint: source scripts/deps.sh (it fetches face_recognition 1.3.0's test images once)" >&2
    exit 1
fi

"$MAKE" "$T/a.mp4" "$FIX/obama.jpg" 40 480 360 --black 2 --truth "$T/a.txt" || fail "make_video a.mp4"
"$MAKE" "$T/b.avi" "$FIX/obama2.jpg" 24 400 300 --codec mpeg4 --truth "$T/b.txt" || fail "make_video b.avi"
cp "$FIX/biden.jpg" "$T/img/"
X="extract --identity A --consent test-fixture --source face_recognition-1.3.0-test-images --chunk 16"

expect 0 "$BIN" $X -o "$T/one.h5" "$T/a.mp4" "$T/b.avi" "$T/img"
has "65 frames in 3 sources"; has "2 frames without a face: a.mp4:0, a.mp4:1"; has "frames/s"
[ -d "$T/one.h5.work" ] && fail "the work folder was left after a whole run"
"$CHECK" "$T/one.h5" 0 "$T/a.mp4" "$T/a.txt" "$FIX/obama.jpg" 38 || fail "check_footage a.mp4"
"$CHECK" "$T/one.h5" 1 "$T/b.avi" "$T/b.txt" "$FIX/obama2.jpg" 24 || fail "check_footage b.avi"
h5dump -d /noface/index -d /noface/source "$T/one.h5" >"$T/out" 2>&1
has "(0): 0, 1"; has "(0): 0, 0"
h5dump -d /sources "$T/one.h5" >"$T/out" 2>&1
has "img/biden.jpg"
# A whole schema v2 file: faces, masks, landmarks and the sealed /frames, /noface, /sources.
expect 0 "$BIN" data verify "$T/one.h5"
has "schema v2, every checksum matches"
# The same file through the independent reader (tests/independent/fsverify.py, from docs/data.md):
# the attribute checksum with the extras' types and shapes, every extra's and item's checksum.
. "$FACESWARM_SOURCE_DIR/tests/independent/python_h5py.sh"
if [ -n "$PY_H5PY" ]; then
    expect 0 "$PY_H5PY" "$FACESWARM_SOURCE_DIR/tests/independent/fsverify.py" faces "$T/one.h5"
    has "items faces,masks,landmarks"
else
    echo "note: no python3 with h5py: the independent check of the extract output is skipped"
fi

# Two ranks: the chunks are split (5 chunks: ranks take 2 and 3), one file, the same content.
expect 0 $MPI -np 2 "$BIN" $X -o "$T/two.h5" "$T/a.mp4" "$T/b.avi" "$T/img"
h5diff "$T/one.h5" "$T/two.h5" >"$T/out" 2>&1 || { fail "2 ranks wrote another file than 1 rank"; cat "$T/out" >&2; }
h5dump -A "$T/one.h5" | tail -n +2 >"$T/a1"; h5dump -A "$T/two.h5" | tail -n +2 >"$T/a2"
cmp -s "$T/a1" "$T/a2" || fail "2 ranks wrote other attributes than 1 rank"

# A rerun has nothing to do; another option is refused rather than overwritten.
expect 0 "$BIN" $X -o "$T/one.h5" "$T/a.mp4" "$T/b.avi" "$T/img"
has "already extracted"
expect 2 "$BIN" $X --every 2 -o "$T/one.h5" "$T/a.mp4" "$T/b.avi" "$T/img"
has "exists and was not extracted from these inputs"

# Stopped by SIGTERM once a part is written: exit 3, no output, parts kept; the rerun goes
# on and writes the same file (the chunk size does not change the output).
"$BIN" $X --chunk 4 -o "$T/res.h5" "$T/a.mp4" "$T/b.avi" "$T/img" >"$T/out" 2>&1 &
pid=$!
i=0
while [ $i -lt 600 ] && ! ls "$T/res.h5.work"/chunk-*.part >/dev/null 2>&1; do sleep 0.05; i=$((i + 1)); done
kill -TERM $pid
wait $pid; got=$?
[ "$got" -eq 3 ] || { fail "stopped extract exited $got, expected 3"; cat "$T/out" >&2; }
has "stopped by a signal"
[ -e "$T/res.h5" ] && fail "a stopped run left res.h5"
ls "$T/res.h5.work"/chunk-*.part >/dev/null 2>&1 || fail "a stopped run kept no parts"
expect 0 "$BIN" $X --chunk 4 -o "$T/res.h5" "$T/a.mp4" "$T/b.avi" "$T/img"
grep -q " 0 chunks reused" "$T/out" && fail "the rerun reused no chunks"
h5diff "$T/one.h5" "$T/res.h5" >"$T/out" 2>&1 || { fail "the resumed run wrote another file"; cat "$T/out" >&2; }

# Two ranks stopped by SIGUSR1 (mpirun forwards it; Slurm's --signal sends it): exit 3; one
# rank goes on from their parts and writes the same file.
$MPI -np 2 "$BIN" $X --chunk 4 -o "$T/mres.h5" "$T/a.mp4" "$T/b.avi" "$T/img" >"$T/out" 2>&1 &
pid=$!
i=0
while [ $i -lt 600 ] && ! ls "$T/mres.h5.work"/chunk-*.part >/dev/null 2>&1; do sleep 0.05; i=$((i + 1)); done
kill -USR1 $pid
wait $pid; got=$?
[ "$got" -eq 3 ] || { fail "2 stopped ranks exited $got, expected 3"; cat "$T/out" >&2; }
[ -e "$T/mres.h5" ] && fail "2 stopped ranks left mres.h5"
expect 0 "$BIN" $X --chunk 4 -o "$T/mres.h5" "$T/a.mp4" "$T/b.avi" "$T/img"
grep -q " 0 chunks reused" "$T/out" && fail "the 1-rank rerun reused no chunks of the 2 ranks"
h5diff "$T/one.h5" "$T/mres.h5" >"$T/out" 2>&1 || { fail "resuming 2 ranks' parts on 1 wrote another file"; cat "$T/out" >&2; }

# Two faces in every frame (a still, smaller one in the right half): --faces all keeps both,
# the larger first; --faces largest keeps one.
"$MAKE" "$T/c.mp4" "$FIX/obama.jpg" 8 800 360 --second "$FIX/biden.jpg" || fail "make_video c.mp4"
expect 0 "$BIN" $X --faces all -o "$T/all.h5" "$T/c.mp4"
has "16 faces of 256 px"
h5dump -d /frames/face -d /frames/index "$T/all.h5" >"$T/out" 2>&1
has "(0): 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1"; has "(0): 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7"
# Frame 0's faces: the first has the smaller frame-to-face scale (it is larger in the frame).
h5dump -y -w 0 -d /frames/matrix "$T/all.h5" | sed -n '/DATA {/,/}/p' | tr -s ' ,' '\n' | grep -E '^-?[0-9]' |
    head -12 | awk '{v[NR] = $1} END {exit !(sqrt(v[1]^2 + v[4]^2) < sqrt(v[7]^2 + v[10]^2))}' ||
    fail "--faces all: the first face of a frame is not the larger one"
expect 0 "$BIN" $X -o "$T/largest.h5" "$T/c.mp4"
has "8 faces of 256 px"

# bench extract: the real pipeline on a few frames, its own check passes, every stage shown.
expect 0 "$BIN" bench extract --frames 8 "$T/a.mp4"
has "^# searched_frames: 8$"; has "^# faces: 6$"; has "^# wrong 0"
for stage in decode detect landmarks align part join; do has "  $stage "; done

[ $fails -eq 0 ] && echo "extract footage: ok"
exit $((fails > 0))
