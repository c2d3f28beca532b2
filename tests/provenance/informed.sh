#!/bin/sh
# informed.sh FIXTURE_PROGRAM — `faceswarm detect --run` through the real binary on the
# fixtures test_informed writes: a noisy 64 px face marked for run runs/informed-test that the
# blind decode misses (exit 1 without --run), found when that run is checked (exit 0, the run
# named, p_false with the check's share), not found when another run is checked; the unmarked
# twin is found under neither; --json's fields; bad --run values refused with exit 2.
set -u
FIX=${1:?usage: informed.sh FIXTURE_PROGRAM}
T=provenance_test_tmp/informed
. "${FACESWARM_SOURCE_DIR:?}/tests/cli_lib.sh"

"$FIX" "$T" >"$T/fix.log" 2>&1 || { cat "$T/fix.log" >&2; fail "fixture program failed"; exit 1; }
RUN=runs/informed-test

expect 1 "$BIN" detect "$T/noisy.png"
has "watermark      not found"; has "no faceswarm mark"
expect 0 "$BIN" detect --run runs/other --run "$RUN" "$T/noisy.png"
has "watermark      found in all by checking run $RUN: statistic 0\.[2-9]"; has "p_false <= 1.3e-04"
has "faceswarm mark: watermark"
expect 1 "$BIN" detect --run runs/other "$T/noisy.png"
has "watermark      not found"; has "checked 1 payload(s): the best, run runs/other, reads"
expect 1 "$BIN" detect --run "$RUN" --run runs/other "$T/plain.png"
has "watermark      not found"; has "checked 2 payload(s)"
expect 0 "$BIN" detect --json --run "$RUN" "$T/noisy.png"
has '"found": true'; has '"informed": true'; has '"checked": 1'; has "\"candidate\": \"run $RUN\""
has '"mark": true'
expect 1 "$BIN" detect --json --run "$RUN" "$T/plain.png"
has '"found": false'; has '"informed": false'; has '"mark": false'
# --orientations multiplies the bound by 8
expect 0 "$BIN" detect --orientations --run "$RUN" "$T/noisy.png"
has "by checking run $RUN"; has "p_false <= 8.7e-04"
expect 2 "$BIN" detect --run "" "$T/noisy.png"
has "--run ''; expected a run directory"
many=""
i=0
while [ $i -lt 65 ]; do many="$many --run r$i"; i=$((i + 1)); done
expect 2 "$BIN" detect $many "$T/noisy.png"
has "--run given more than 64 times"

[ "$fails" -eq 0 ] && echo "provenance_informed_cli: all checks passed"
exit "$fails"
