#!/bin/sh
# video.sh FIXTURE_PROGRAM — labelled videos through exiftool (Debian's libimage-exiftool-perl):
# the XMP uuid box's XMP-iptcExt:DigitalSourceType and the container keys are read from the MP4
# and MOV files test_video_labels writes, and `exiftool -validate` finds no error or warning
# (the fragmented MP4 is left out: exiftool warns about its repeated moof boxes, labelled or
# not). Without exiftool it exits 77 (skipped).
set -u
FIX=${1:?usage: video.sh FIXTURE_PROGRAM}
T=provenance_test_tmp/video
. "${FACESWARM_SOURCE_DIR:?}/tests/cli_lib.sh"

"$FIX" "$T" >"$T/fix.log" 2>&1 || { cat "$T/fix.log" >&2; fail "fixture program failed"; exit 1; }
COMPOSITE=http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia

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
