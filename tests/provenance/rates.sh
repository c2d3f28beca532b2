#!/bin/sh
# rates.sh PHOTO — issue 16's numbers, asserted from `faceswarm bench watermark --json` rows (not
# from its own verdicts), on synthetic faces and crops of a real photo, in two runs: faces of 64
# and 128 px, 100 images a row (100-frame pans: 20 clips) and 1000 extra unmarked images; frames
# of 256 px and 640x360, 40 a row (8 clips; every rate there is 1.00 at 100 and 500, and these
# rows cost 7 times the faces' per image). Detection >= 99% after none / JPEG q75 / half size /
# H.264 CRF 23 every frame intra (frames of >= 256 px, synthetic faces from 128 px; 64 px
# synthetic faces >= 93% and 128 px photo crops >= 97%, floors under the measured rates of
# scheme version 3); for H.264 with P and B frames (h264gop, the row's frames as one pan), the
# joint decode of 5-frame clips >= 99% at >= 128 px and the frames' own rate >= 99% at 640x360;
# PSNR >= 40 dB on every marked image, no wrong payload, and false positives <= 1/1000 over
# >= 3000 unmarked images, frames and clips. Informed detection (each image checked against its
# run's payload, as `detect --run` does): >= 99% on every row, the 64 px faces and photo crops
# through H.264 intra included (h264gop: the checked clip rate from 128 px), its false positives
# <= 1/1000 over the same unmarked images. The full table at 500 images is the benchmark's
# (docs/provenance.md). Without ffmpeg the H.264 rows are missing: the rest is checked, then it
# exits 77 (skipped).
set -u
PHOTO=${1:?usage: rates.sh PHOTO}
T=provenance_test_tmp/rates
. "${FACESWARM_SOURCE_DIR:?}/tests/cli_lib.sh"

: >"$T/out"
for run in "100 64,128 1000" "40 256,640x360 0"; do
    set -- $run
    "$BIN" bench watermark --json --trials "$1" --sizes "$2" --unmarked "$3" --photo "$PHOTO" --tmp "$T" >"$T/run" 2>&1
    rc=$?
    cat "$T/run"
    cat "$T/run" >>"$T/out"
    [ "$rc" -eq 0 ] || fail "bench watermark --trials $1 --sizes $2 exited $rc"
    grep -q '^{"kind":"summary",.*"wrong":0}$' "$T/run" || fail "bench watermark --sizes $2 counts wrong rows"
done
have_h264=1
grep -q "h264crf23 and h264gop rows skipped" "$T/out" && have_h264=0
awk -v want=$((have_h264 ? 48 : 32)) '
    function num(key) { if (!match($0, "\"" key "\":[0-9.]+")) return -1; return substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0 }
    /^\{"kind":"row"/ {
        n++
        w = num("width"); h = num("height")
        size = w < h ? w : h
        trials = size >= 256 ? 40 : 100
        match($0, /"transform":"[a-z0-9]+"/); t = substr($0, RSTART + 13, RLENGTH - 14)
        match($0, /"media":"[^"]+"/); media = substr($0, RSTART + 9, RLENGTH - 10)
        rate = num("rate"); psnr = num("psnr_min"); badpl = num("wrong_payload"); marked = num("marked")
        clip = num("clip_rate"); clips = num("clips")
        chk = num("checked_rate"); chkclip = num("checked_clip_rate")
        if (chk < 0) { print "FAIL: no checked_rate: " $0; bad++ }
        if (marked < trials) { print "FAIL: only " marked " marked images: " $0; bad++ }
        if (t == "h264gop") {
            if (clips < trials / 5) { print "FAIL: only " clips " clips: " $0; bad++ }
            if (size >= 128 && clip < 0.99) { print "FAIL: clip rate " clip " < 0.99: " $0; bad++ }
            if (size >= 360 && rate < 0.99) { print "FAIL: frame rate " rate " < 0.99: " $0; bad++ }
            if (size >= 128 && chkclip < 0.99) { print "FAIL: checked clip rate " chkclip " < 0.99: " $0; bad++ }
        } else if (t == "turned") {
            # without --orientations a turned copy is not looked for (tests/provenance/orientations.sh)
        } else if (chk < 0.99) { print "FAIL: checked rate " chk " < 0.99: " $0; bad++ }
        if (t == "h264gop" || t == "turned") {
        } else if ((t != "h264crf23" || size >= 256 || (size >= 128 && media == "synth")) && rate < 0.99) { print "FAIL: rate " rate " < 0.99: " $0; bad++ }
        # scheme version 3 on small faces through H.264 intra (measured at 500: see docs/provenance.md;
        # version 2 gave 0.92 and 0.97): floors below the measured rates, no target of the issue
        if (t == "h264crf23" && size == 64 && media == "synth" && rate < 0.93) { print "FAIL: rate " rate " < 0.93: " $0; bad++ }
        if (t == "h264crf23" && size == 128 && media != "synth" && rate < 0.97) { print "FAIL: rate " rate " < 0.97: " $0; bad++ }
        if (psnr < 40) { print "FAIL: PSNR " psnr " < 40 dB: " $0; bad++ }
        if (badpl) { print "FAIL: wrong payloads decoded: " $0; bad++ }
    }
    /^\{"kind":"summary"/ { fp += num("false_positives"); cfp += num("checked_false_positives"); un += num("unmarked_images") }
    END {
        if (n != want) { print "FAIL: " n " rows, expected " want; bad++ }
        if (un < 3000) { print "FAIL: only " un " unmarked images"; bad++ }
        if (fp * 1000 > un) { print "FAIL: " fp " false positives in " un; bad++ }
        if (cfp < 0 || cfp * 1000 > un) { print "FAIL: " cfp " checked false positives in " un; bad++ }
        exit bad > 0
    }' "$T/out" >&2 || fail "rates below the targets (above)"

if [ "$have_h264" -eq 0 ]; then
    echo "SKIP: H.264 rows not measured: no ffmpeg with libx264 (hint: apt-get install ffmpeg; scripts/deps.sh does)"
    [ "$fails" -eq 0 ] && exit 77
fi
[ "$fails" -eq 0 ] && echo "provenance_rates: all checks passed"
exit "$fails"
