#!/bin/sh
# footage.sh — `faceswarm convert` end to end on footage made from real face photos (extract's
# make_video: pan, zoom, rotation, two black frames first): faces of A and B extracted at 32 px,
# the tiny model trained a few steps, then:
#   - the output has the input's frame count, size and duration;
#   - pixels outside the synthetic regions are unchanged up to the mark and codec error, inside
#     they changed, and frames without a face are the source's (check_convert regions);
#   - two ranks write the same file as one (the pieces do not depend on the ranks), and the
#     same PNG frames;
#   - detection instead of --alignments, the audio stream copied;
#   - the video carries the labels and the mark (faceswarm detect), --png frames and the video
#     carry XMP with the composite digital source type (exiftool, when installed);
#   - bad input: unreadable, truncated, no video stream, a checkpoint of another resolution,
#     --to unknown, an output in a missing folder: exit 2, a clear message, nothing left;
#   - stopped by SIGTERM: exit 3, nothing left;
#   - bench convert checks itself and shows every stage.
#   footage.sh MAKE_VIDEO CHECK_CONVERT FIXTURES_DIR MPIEXEC...
set -u
BIN=${FACESWARM_BIN:?FACESWARM_BIN not set}
MAKE=$1 CHECK=$2 FIX=$3/face_recognition-1.3.0
shift 3
MPI="$*"
T=convert_test_tmp/footage
rm -rf "$T" && mkdir -p "$T/data" || exit 1
. "${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR not set}/tests/check.sh"
lacks() { grep -q -- "$1" "$T/out" && { fail "output of the last command has '$1'"; cat "$T/out" >&2; }; }
if [ ! -f "$FIX/obama.jpg" ] || [ ! -f "$FIX/obama2.jpg" ]; then
    echo "FAIL: the test photos are not in $FIX" >&2
    echo "  hint: source scripts/deps.sh (it fetches face_recognition 1.3.0's test images once)" >&2
    exit 1
fi

"$MAKE" "$T/a.mp4" "$FIX/obama.jpg" 24 320 240 --black 2 || fail "make_video a.mp4"
"$MAKE" "$T/b.mp4" "$FIX/obama2.jpg" 16 320 240 || fail "make_video b.mp4"
X="extract --consent test-fixture --source face_recognition-1.3.0-test-images --size 32"
expect 0 "$BIN" $X --identity A -o "$T/data/A.h5" "$T/a.mp4"
expect 0 "$BIN" $X --identity B -o "$T/data/B.h5" "$T/b.mp4"
cd "$T" || exit 1
T=.
expect 0 "$BIN" train "$FACESWARM_SOURCE_DIR/tests/train/tiny.yaml" --set train.steps=6 --set train.preview_every=0
CK=run/checkpoints/ckpt-0000000006.h5
C="convert --checkpoint $CK --from A --to B"

# One rank, faces from the extract file: frames, size and duration are the input's.
expect 0 "$BIN" $C --alignments data/A.h5 --chunk 8 -o one.mp4 a.mp4
has "wrote one.mp4: 24 frames of 320x240 px (22 with a face, 22 faces swapped A -> B)"; has "frames/s"
[ -e one.mp4.work ] && fail "the work folder was left after a whole run"
ls one.mp4.tmp.* >/dev/null 2>&1 && fail "a temp file was left after a whole run"
"$CHECK" info a.mp4 >in.txt && "$CHECK" info one.mp4 >outv.txt || fail "check_convert info"
cmp -s in.txt outv.txt || fail "frames/size/duration differ: $(cat in.txt) vs $(cat outv.txt)"
grep -q "^frames 24 size 320x240 duration 0.960$" outv.txt || fail "one.mp4: $(cat outv.txt)"

# The video's labels (container keys, XMP box) and the watermark of its converted frames.
expect 0 "$BIN" detect one.mp4
has "compositeWithTrainedAlgorithmicMedia"; has "faceswarm keys (com.faceswarm.*)"; has "label and watermark"

# The same conversion as PNG frames: the regions they list say where the video may differ.
expect 0 "$BIN" $C --alignments data/A.h5 --png png a.mp4
has "wrote 24 labelled PNG frames to png (22 with a face"
"$CHECK" regions a.mp4 one.mp4 png >reg.txt 2>&1 || { fail "check_convert regions"; cat reg.txt >&2; }
cat reg.txt

# Two ranks: the same file, byte for byte, and frame for frame.
expect 0 $MPI -np 2 "$BIN" $C --alignments data/A.h5 --chunk 8 -o two.mp4 a.mp4
has "on 2 rank(s)"
cmp -s one.mp4 two.mp4 || fail "2 ranks wrote another file than 1 rank"
"$CHECK" same one.mp4 two.mp4 || fail "2 ranks' frames differ from 1 rank's"
expect 0 $MPI -np 2 "$BIN" $C --alignments data/A.h5 --chunk 8 --png png2 a.mp4
for f in png/frame-*.png; do cmp -s "$f" "png2/${f#png/}" || fail "2 ranks wrote another ${f#png/} than 1 rank"; done
[ "$(ls png2 | wc -l)" -eq 24 ] || fail "2 ranks wrote $(ls png2 | wc -l) PNG frames, not 24"

# Detection instead of --alignments, histogram matching, and an audio stream copied.
if command -v ffmpeg >/dev/null 2>&1; then
    ffmpeg -v error -y -i a.mp4 -f lavfi -i sine=frequency=440:duration=1 -c:v copy -c:a aac -shortest as.mp4 ||
        fail "ffmpeg could not add audio"
    expect 0 "$BIN" $C --color hist --chunk 8 -o det.mp4 as.mp4
    has "(22 with a face, 22 faces swapped A -> B)"; has "1 audio stream(s) copied"
    "$CHECK" info det.mp4 >det.txt || fail "check_convert info det.mp4"
    grep -q "^frames 24 size 320x240 duration 0.960$" det.txt && grep -q "^audio 1$" det.txt ||
        fail "det.mp4: $(cat det.txt)"
else
    echo "SKIP (part): ffmpeg not installed: detection and the audio copy are not checked"
    expect 0 "$BIN" $C --color hist --chunk 8 -o det.mp4 a.mp4
    has "(22 with a face, 22 faces swapped A -> B)"
fi

# Bad input: exit 2, a message that names the problem, nothing under the output's name.
nothing() { ls "$1" "$1".tmp.* "$1".work >/dev/null 2>&1 && fail "something was left under $1: $(ls -d "$1"*)"; }
printf 'not a video at all' >junk.mp4
expect 2 "$BIN" $C -o bad.mp4 junk.mp4
has "junk.mp4: cannot read as a video"; nothing bad.mp4
head -c 40000 a.mp4 >cut.mp4
expect 2 "$BIN" $C -o bad.mp4 cut.mp4
has "cut.mp4: "; has "truncated"; nothing bad.mp4
"$BIN" data synth --out d64 --identities 2 --count 8 --size 64 --seed 3 >/dev/null || fail "data synth"
expect 0 "$BIN" train "$FACESWARM_SOURCE_DIR/tests/train/tiny.yaml" --set model.resolution=64 --set data.dir=d64 \
    --set run.dir=run64 --set train.steps=1 --set train.preview_every=0 --set train.batch_per_identity=2
expect 2 "$BIN" convert --checkpoint run64/checkpoints/ckpt-0000000001.h5 --from A --to B --alignments data/A.h5 \
    -o bad.mp4 a.mp4
has "data/A.h5: faces of 32 px; the checkpoint run64/checkpoints/ckpt-0000000001.h5 takes 64 px"; nothing bad.mp4
expect 2 "$BIN" convert --checkpoint $CK --from A --to Nobody -o bad.mp4 a.mp4
has "\-\-to 'Nobody': the checkpoint's model has no such identity (it has A, B)"; nothing bad.mp4
expect 2 "$BIN" $C -o missing/bad.mp4 a.mp4
has "missing"; [ -e missing ] && fail "a missing output folder was made"
expect 2 "$BIN" $C --alignments data/B.h5 -o bad.mp4 a.mp4
has "data/B.h5: faces of identity 'B', but --from is 'A'"; nothing bad.mp4
expect 2 "$BIN" convert --checkpoint $CK --from B --to A --alignments data/B.h5 -o bad.mp4 a.mp4
has "no alignments for a.mp4"; nothing bad.mp4
if command -v ffmpeg >/dev/null 2>&1; then
    ffmpeg -v error -y -f lavfi -i sine=duration=1 -c:a aac sound.m4a || fail "ffmpeg could not make sound.m4a"
    expect 2 "$BIN" $C -o bad.mp4 sound.m4a
    has "sound.m4a: has no video stream"; nothing bad.mp4
fi
expect 2 "$BIN" $C --png badpng junk.mp4
has "junk.mp4: cannot read as a video"; [ -e badpng ] && fail "a refused --png run made its folder"
expect 2 "$BIN" $C -o bad.mp4 --color sepia a.mp4
has "\-\-color 'sepia'"
expect 2 "$BIN" $C a.mp4
has "give one of -o OUT.mp4"
expect 2 "$BIN" $C -o bad.mp4 --preset quick a.mp4
has "\-\-preset 'quick' is not a libx264 preset"

# Stopped by SIGTERM once a piece is written: exit 3, nothing under the output's name.
"$BIN" $C --alignments data/A.h5 --chunk 1 -o stop.mp4 a.mp4 >out 2>&1 &
pid=$!
i=0
while [ $i -lt 600 ] && ! ls stop.mp4.work/piece-*.nut >/dev/null 2>&1; do sleep 0.05; i=$((i + 1)); done
kill -TERM $pid
wait $pid; got=$?
[ "$got" -eq 3 ] || { fail "stopped convert exited $got, expected 3"; cat out >&2; }
has "stopped by a signal"; nothing stop.mp4

# bench convert: the real pipeline on a few frames, its own check passes, every stage shown.
expect 0 "$BIN" bench convert --frames 6 --checkpoint $CK --from A --to B --alignments data/A.h5 a.mp4
has "^# converted_frames: 6$"; has "^# wrong 0"
for stage in decode detect landmarks align model blend mark encode join; do has "  $stage "; done
# the same in --json: every line JSON of the harness's one schema (tests/bench/all.sh leaves
# convert to this test, which has the checkpoint and the footage it needs)
"$BIN" bench convert --frames 2 --checkpoint $CK --from A --to B --alignments data/A.h5 a.mp4 --json \
    >bench.json 2>bench.err
got=$?
python3 "$FACESWARM_SOURCE_DIR/tests/bench/check_output.py" json convert bench.json "$got" ||
    { fail "bench convert --json output (above)"; cat bench.json bench.err >&2; }

# exiftool reads the composite digital source type of a converted frame, none of a frame
# without a face (it is the source's).
if command -v exiftool >/dev/null 2>&1; then
    dst=$(exiftool -s -s -s -XMP-iptcExt:DigitalSourceType png/frame-000010.png 2>&1)
    [ "$dst" = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia" ] ||
        fail "exiftool reads '$dst' from png/frame-000010.png"
    dst=$(exiftool -s -s -s -XMP-iptcExt:DigitalSourceType one.mp4 2>&1)
    [ "$dst" = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia" ] ||
        fail "exiftool reads '$dst' from one.mp4"
    dst=$(exiftool -s -s -s -XMP-iptcExt:DigitalSourceType png/frame-000000.png 2>&1)
    [ -z "$dst" ] || fail "exiftool reads '$dst' from png/frame-000000.png, a frame without a face"
else
    echo "SKIP (part): exiftool not installed (hint: apt-get install libimage-exiftool-perl; scripts/deps.sh does)"
fi

[ $fails -eq 0 ] && echo "convert footage: ok"
exit $((fails > 0))
