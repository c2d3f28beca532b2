#!/bin/sh
# video.sh FIXTURE_PROGRAM MEDIA_DIR — videos through `faceswarm detect` and exiftool.
# - detect on the videos test_video_detect left in MEDIA_DIR (the ctest fixture video_media):
#   marked and labelled, marked then re-encoded at CRF 23 (labels gone), unmarked, labelled
#   only, mirrored (found with --orientations only); exit codes 0 / 1 / 2, the text and --json
#   fields, --every;
# - exiftool (Debian's libimage-exiftool-perl) on the MP4 and MOV files FIXTURE_PROGRAM
#   (test_video_labels) writes: the XMP uuid box's XMP-iptcExt:DigitalSourceType and the
#   container keys are read, and `exiftool -validate` finds no error or warning (the
#   fragmented MP4 is left out: exiftool warns about its repeated moof boxes, labelled or not).
#   Without exiftool it exits 77 (skipped) after the rest.
set -u
FIX=${1:?usage: video.sh FIXTURE_PROGRAM MEDIA_DIR}
M=${2:?usage: video.sh FIXTURE_PROGRAM MEDIA_DIR}
T=provenance_test_tmp/video
. "${FACESWARM_SOURCE_DIR:?}/tests/cli_lib.sh"

"$FIX" "$T" >"$T/fix.log" 2>&1 || { cat "$T/fix.log" >&2; fail "fixture program failed"; exit 1; }
COMPOSITE=http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia
[ -f "$M/marked-synth.mp4" ] || { fail "$M/marked-synth.mp4 missing (run the test provenance_video_detect first)"; exit 1; }

# ---- detect
expect 0 "$BIN" detect "$M/marked-synth.mp4"
has "xmp            digital source type $COMPOSITE"; has "video          640x360, 30 frames at 25 frames/s, h264"
has "container      faceswarm keys"; has "comment: SYNTHETIC MEDIA"; has "synthetic regions: the faces"
has "watermark      found in frames: payload"; has "frames         6 of 30 examined (1 in 5, from frame 0)"
has "verdict        faceswarm mark: label and watermark"; lacks "differs"
expect 0 "$BIN" detect --json --every 3 "$M/marked-photo.mp4"
has '"kind": "video"'; has '"xmp": true'; has '"container": true'; has '"found": true'; has '"every": 3'
has '"examined": 10'; has '"frames": 30'; has '"disagree": false'; has '"mark": true'
pl=$(sed -n 's/.*"label_watermark": "\([0-9a-f]*\)".*/\1/p' "$T/out")
[ -n "$pl" ] && grep -q "\"payload\": \"$pl\"" "$T/out" || fail "decoded payload differs from the label's '$pl'"
for f in reencoded-synth reencoded-photo; do
    expect 0 "$BIN" detect "$M/$f.mp4"
    has "xmp            none"; has "container      no faceswarm keys"; has "faceswarm mark: watermark"
    grep -q "payload $pl" "$T/out" || fail "$f.mp4: not the run's payload $pl"
done
for f in unmarked-synth unmarked-photo reencoded-unmarked-synth reencoded-unmarked-photo; do
    expect 1 "$BIN" detect --every 1 "$M/$f.mp4"
    has "watermark      not found"; has "0 hold a mark on their own"; has "no faceswarm mark"
done
# --orientations: a mirrored copy is missed as made, found with the search (and which turn it is)
expect 1 "$BIN" detect "$M/oriented-1-synth.mp4"
has "watermark      not found"
expect 0 "$BIN" detect --orientations --json "$M/oriented-1-synth.mp4"
has '"found": true'; has '"orientation": "mirrored left-right"'; has '"p_false": 0.000732'
expect 1 "$BIN" detect --orientations "$M/unmarked-synth.mp4"
expect 0 "$BIN" detect "$M/labels-only.mp4"
has "faceswarm mark: label"; has "watermark      not found"; lacks "watermark payload (label)"
# any mark -> 0; none -> 1; an unreadable file -> 2, whatever the others hold
expect 0 "$BIN" detect "$M/unmarked-synth.mp4" "$M/reencoded-photo.mp4"
expect 1 "$BIN" detect "$M/unmarked-synth.mp4" "$M/unmarked-photo.mp4"
head -c 20000 "$M/marked-synth.mp4" >"$T/cut.mp4"
expect 2 "$BIN" detect "$M/marked-synth.mp4" "$T/cut.mp4"
has "cut.mp4: neither PNG nor JPEG, and as a video FFmpeg says: cannot read as a video"
expect 2 "$BIN" detect --json "$T/not-video.mp4"
has '"error": '; has "not-video.mp4"
expect 2 "$BIN" detect --every 0 "$M/marked-synth.mp4"
has "every"
# a crafted 4 kB MP4 whose moov makes FFmpeg 5.1's mov demuxer grow one table to 2 GB (5 GB
# resident, 28 s, before it failed): refused at once by the cap on one allocation
# (FS_AV_MAX_ALLOC), the hint says so
expect 2 "$BIN" detect "$FACESWARM_SOURCE_DIR/tests/fuzz/corpus/video_labels/mov-2gb-table.mp4"
has "mov-2gb-table.mp4: neither PNG nor JPEG"; has "cap on one allocation (256 MB)"

# ---- exiftool

if ! command -v exiftool >/dev/null 2>&1; then
    echo "SKIP: exiftool not installed (hint: apt-get install libimage-exiftool-perl; scripts/deps.sh does)"
    [ "$fails" -eq 0 ] && exit 77
    exit "$fails"
fi
for f in labelled.mp4 faststart.mp4 labelled.mov open-end.mp4 fragmented.mp4; do
    got=$(exiftool -s -s -s -XMP-iptcExt:DigitalSourceType "$T/$f" 2>&1)
    [ "$got" = "$COMPOSITE" ] || fail "exiftool reads '$got' as the digital source type of $f"
done
for f in labelled.mp4 faststart.mp4 labelled.mov open-end.mp4; do
    exiftool -validate -warning -error -a "$T/$f" >"$T/out" 2>&1
    has "Validate *: OK"
done
exiftool -s -G1 "$T/labelled.mp4" >"$T/out" 2>&1
has "\[Keys\] *FaceswarmDigitalSourceType *: $COMPOSITE"; has "\[Keys\] *Comment *: SYNTHETIC MEDIA"
has "\[Keys\] *FaceswarmIdentities *: A (consent: consent/a.pdf#2026-11)"
has "\[XMP-fsw\] *CheckpointChecksum *: 00ff00ff00ff00ff"; has "\[XMP-fsw\] *SyntheticRegions *: faces"
exiftool -s -s -s -XMP-iptcExt:DigitalSourceType "$T/raw.mp4" >"$T/out" 2>&1
lacks "digitalsourcetype"
[ "$fails" -eq 0 ] && echo "provenance_video: all checks passed"
exit "$fails"
