#!/bin/sh
# rates.sh PHOTO — issue 16's numbers, asserted from `faceswarm bench watermark --json` rows (not
# from its own verdicts): on synthetic faces and crops of a real photo, at 64 and 128 px (faces)
# and 256 px and 640x360 (frames), detection >= 99% of 100 marked images after none / JPEG q75 / half size /
# H.264 CRF 23 every frame intra (frames of >= 256 px, synthetic faces from 128 px; 64 px synthetic
# faces >= 85% and 128 px photo crops >= 93%, floors under the measured rates); for H.264 with P and B frames (h264gop,
# a 100-frame pan), the joint decode of 5-frame clips >= 99% at >= 128 px and the frames' own
# rate >= 99% at 640x360; PSNR >= 40 dB on every marked image, no wrong payload, and false
# positives <= 1/1000 over >= 3000 unmarked images. Without ffmpeg the H.264 rows are missing:
# the rest is checked, then it exits 77 (skipped).
set -u
PHOTO=${1:?usage: rates.sh PHOTO}
T=provenance_test_tmp/rates
. "${FACESWARM_SOURCE_DIR:?}/tests/cli_lib.sh"

"$BIN" bench watermark --json --trials 100 --sizes 64,128,256,640x360 --unmarked 3000 --photo "$PHOTO" --tmp "$T" >"$T/out" 2>&1
rc=$?
cat "$T/out"
[ "$rc" -eq 0 ] || fail "bench watermark exited $rc"
grep -q '^{"kind":"summary",.*"wrong":0}$' "$T/out" || fail "bench watermark counts wrong rows"
have_h264=1
grep -q "h264crf23 and h264gop rows skipped" "$T/out" && have_h264=0
awk -v want=$((have_h264 ? 40 : 24)) '
    function num(key) { if (!match($0, "\"" key "\":[0-9.]+")) return -1; return substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0 }
    /^\{"kind":"row"/ {
        n++
        w = num("width"); h = num("height")
        size = w < h ? w : h
        match($0, /"transform":"[a-z0-9]+"/); t = substr($0, RSTART + 13, RLENGTH - 14)
        match($0, /"media":"[^"]+"/); media = substr($0, RSTART + 9, RLENGTH - 10)
        rate = num("rate"); psnr = num("psnr_min"); badpl = num("wrong_payload"); marked = num("marked")
        clip = num("clip_rate"); clips = num("clips")
        if (marked < 100) { print "FAIL: only " marked " marked images: " $0; bad++ }
        if (t == "h264gop") {
            if (clips < 20) { print "FAIL: only " clips " clips: " $0; bad++ }
            if (size >= 128 && clip < 0.99) { print "FAIL: clip rate " clip " < 0.99: " $0; bad++ }
            if (size >= 360 && rate < 0.99) { print "FAIL: frame rate " rate " < 0.99: " $0; bad++ }
        } else if ((t != "h264crf23" || size >= 256 || (size >= 128 && media == "synth")) && rate < 0.99) { print "FAIL: rate " rate " < 0.99: " $0; bad++ }
        # scheme version 2 on small faces through H.264 intra (measured 0.93 synth 64, 0.98 photo 128;
        # version 1 gave 0.31 and 0.57): floors below the measured rates, no target of the issue
        if (t == "h264crf23" && size == 64 && media == "synth" && rate < 0.85) { print "FAIL: rate " rate " < 0.85: " $0; bad++ }
        if (t == "h264crf23" && size == 128 && media != "synth" && rate < 0.93) { print "FAIL: rate " rate " < 0.93: " $0; bad++ }
        if (psnr < 40) { print "FAIL: PSNR " psnr " < 40 dB: " $0; bad++ }
        if (badpl) { print "FAIL: wrong payloads decoded: " $0; bad++ }
    }
    /^\{"kind":"summary"/ { fp = num("false_positives"); un = num("unmarked_images") }
    END {
        if (n != want) { print "FAIL: " n " rows, expected " want; bad++ }
        if (un < 3000) { print "FAIL: only " un " unmarked images"; bad++ }
        if (fp * 1000 > un) { print "FAIL: " fp " false positives in " un; bad++ }
        exit bad > 0
    }' "$T/out" >&2 || fail "rates below the targets (above)"

if [ "$have_h264" -eq 0 ]; then
    echo "SKIP: H.264 rows not measured: no ffmpeg with libx264 (hint: apt-get install ffmpeg; scripts/deps.sh does)"
    [ "$fails" -eq 0 ] && exit 77
fi
[ "$fails" -eq 0 ] && echo "provenance_rates: all checks passed"
exit "$fails"
