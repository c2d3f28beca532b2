#!/bin/sh
# orientations.sh PHOTO — `faceswarm bench watermark --orientations`, asserted from its --json rows:
# the same small run (14 images a row: each of the 7 turns twice; a square face and a 160x96
# frame, synthetic and photo crops; 300 extra unmarked images) without and with the option.
# Without it the turned rows (marked images mirrored, flipped or quarter-turned) are missed and
# have no target; with it they are all found, with their payload and target "ok", the other rows
# lose nothing, and the search runs on the unmarked sweep too (its mean correlation is the best
# of 8 orientations, so higher) while the false positives are counted over the same unmarked
# images, frames and clips and stay within 1/1000.
set -u
PHOTO=${1:?usage: orientations.sh PHOTO}
T=provenance_test_tmp/orientations
. "${FACESWARM_SOURCE_DIR:?}/tests/cli_lib.sh"

for o in 0 1; do
    opt=
    [ "$o" -eq 1 ] && opt=--orientations
    "$BIN" bench watermark --json $opt --trials 14 --sizes 64,160x96 --unmarked 300 --photo "$PHOTO" --tmp "$T" \
        >"$T/run$o" 2>&1
    rc=$?
    [ "$rc" -eq 0 ] || { cat "$T/run$o" >&2; fail "bench watermark $opt exited $rc"; }
    grep -q "^{\"kind\":\"header\",.*\"orientations\":$o," "$T/run$o" || fail "header fact orientations is not $o"
    grep -q '^{"kind":"summary",.*"false_positives":[0-9]*,"unmarked_images":[0-9]*,.*"wrong":0}$' "$T/run$o" ||
        fail "run $o: no summary with false_positives, unmarked_images and wrong 0"
done

awk '
    function num(key) { if (!match($0, "\"" key "\":[0-9.]+")) return -1; return substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0 }
    function str(key) { if (!match($0, "\"" key "\":\"[^\"]*\"")) return ""; return substr($0, RSTART + length(key) + 4, RLENGTH - length(key) - 5) }
    FNR == 1 { run++ }
    /^\{"kind":"row"/ {
        t = str("transform"); rate = num("rate"); v = str("verdict")
        rows[run]++
        if (num("wrong_payload") != 0) { print "FAIL: run " run ": wrong payload: " $0; bad++ }
        if (t == "turned") {
            turned[run]++
            if (run == 1 && (rate > 0.15 || v != "-")) { print "FAIL: turned found without the search: " $0; bad++ }
            if (run == 2 && (rate < 1 || v != "ok")) { print "FAIL: turned missed by the search: " $0; bad++ }
        }
        if ((t == "none" || t == "jpeg75" || t == "half") && (rate < 1 || v != "ok")) { print "FAIL: run " run ": " $0; bad++ }
    }
    /^\{"kind":"summary"/ {
        fp[run] = num("false_positives"); un[run] = num("unmarked_images"); corr[run] = num("sweep_correlation_mean")
        if (num("sweep_images") != 300) { print "FAIL: run " run ": sweep of " num("sweep_images") " images"; bad++ }
    }
    END {
        if (run != 2) { print "FAIL: " run " runs read"; exit 1 }
        if (turned[1] != 4 || turned[2] != 4) { print "FAIL: turned rows " turned[1] " / " turned[2] ", expected 4"; bad++ }
        if (rows[1] != rows[2] || rows[1] < 16) { print "FAIL: rows " rows[1] " / " rows[2]; bad++ }
        if (un[1] != un[2] || un[1] < 300 + 4 * 14) { print "FAIL: unmarked images " un[1] " / " un[2]; bad++ }
        if (fp[2] * 1000 > un[2] || fp[2] < 0) { print "FAIL: " fp[2] " false positives in " un[2] " with the search"; bad++ }
        if (!(corr[2] > corr[1])) { print "FAIL: sweep correlation " corr[2] " with the search, " corr[1] " without"; bad++ }
        exit bad > 0
    }' "$T/run0" "$T/run1" >&2 || fail "bench watermark --orientations (above)"

[ "$fails" -eq 0 ] && echo "provenance_orientations: all checks passed"
exit "$fails"
