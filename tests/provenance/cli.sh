#!/bin/sh
# cli.sh FIXTURE_PROGRAM — `faceswarm detect` through the real binary on the fixtures that
# test_xmp writes (labelled, composite, text-only, plain, stripped JPEG, mirrored JPEG for
# --orientations), its exit codes and --json fields; and exiftool (Debian's libimage-exiftool-perl) reading the IPTC digital source
# type of the PNGs faceswarm labels. Without exiftool it exits 77 (skipped) after the rest.
set -u
FIX=${1:?usage: cli.sh FIXTURE_PROGRAM}
T=provenance_test_tmp/cli
. "${FACESWARM_SOURCE_DIR:?}/tests/cli_lib.sh"

"$FIX" "$T" >"$T/fix.log" 2>&1 || { cat "$T/fix.log" >&2; fail "fixture program failed"; exit 1; }
TRAINED=http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia
COMPOSITE=http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia

expect 0 "$BIN" detect "$T/labelled.png"
has "digital source type $TRAINED"; has "watermark      found in all"; has "label and watermark"
has "identities A (consent: consent/a.pdf#2026-11); B (consent: consent not recorded)"
expect 0 "$BIN" detect --json "$T/labelled.png"
has '"mark": true'; has '"found": true'; has '"disagree": false'; has '"xmp": true'; has '"text_label": true'
# the payload the watermark carries is the one the label names, and its run tag the label's
pl=$(sed -n 's/.*"label_watermark": "\([0-9a-f]*\)".*/\1/p' "$T/out")
[ -n "$pl" ] && grep -q "\"payload\": \"$pl\"" "$T/out" || fail "decoded payload differs from the label's '$pl'"
tag=$(sed -n 's/.*"run_tag": "\([0-9a-f]*\)", "checkpoint".*/\1/p' "$T/out")
[ -n "$tag" ] && grep -q "\"watermark\": {[^}]*\"run_tag\": \"$tag\"" "$T/out" || fail "run tags differ ('$tag')"

expect 1 "$BIN" detect "$T/plain.png"
has "xmp            none"; has "watermark      not found"; has "no faceswarm mark"
expect 0 "$BIN" detect "$T/textonly.png"
has "faceswarm:synthetic=true"; has "faceswarm mark: label"; lacks "watermark      found"
expect 0 "$BIN" detect --json "$T/stripped.jpg"
has '"xmp": false'; has '"found": true'; has '"label": false'; has '"mark": true'
# mirrored: missed as made; found with --orientations, which names the turn and the wider bound
expect 1 "$BIN" detect "$T/mirrored.jpg"
has "watermark      not found"
expect 0 "$BIN" detect --orientations "$T/mirrored.jpg"
has "orientation    the copy is the marked image mirrored left-right"; has "p_false <= 7.3e-04"
expect 0 "$BIN" detect --json --orientations "$T/mirrored.jpg"
has '"orientation": "mirrored left-right"'
expect 0 "$BIN" detect "$T/composite.png"
has "digital source type $COMPOSITE"; has "found in 64,48,96,96"; has "synthetic regions 1"
# exit status over several files: any mark -> 0, none -> 1, an unreadable one -> 2
expect 0 "$BIN" detect "$T/plain.png" "$T/labelled.png"
expect 1 "$BIN" detect "$T/plain.png" "$T/plain.png"
printf 'not an image' >"$T/garbage.png"
expect 2 "$BIN" detect "$T/labelled.png" "$T/garbage.png"
has "garbage.png: neither PNG nor JPEG"
expect 2 "$BIN" detect --json "$T/missing.png"
has '"error": '; has "missing.png"
head -c 100 "$T/labelled.png" >"$T/cut.png"
expect 2 "$BIN" detect "$T/cut.png"
has "cut.png"
expect 2 "$BIN" detect
expect 2 "$BIN" detect --frobnicate "$T/plain.png"
expect 0 "$BIN" detect --help

if ! command -v exiftool >/dev/null 2>&1; then
    echo "SKIP: exiftool not installed (hint: apt-get install libimage-exiftool-perl; scripts/deps.sh does)"
    [ "$fails" -eq 0 ] && exit 77
    exit "$fails"
fi
dst() { exiftool -s -s -s -XMP-iptcExt:DigitalSourceType "$1" 2>&1; }
[ "$(dst "$T/labelled.png")" = "$TRAINED" ] || fail "exiftool reads '$(dst "$T/labelled.png")' from labelled.png"
[ "$(dst "$T/composite.png")" = "$COMPOSITE" ] || fail "exiftool reads '$(dst "$T/composite.png")' from composite.png"
exiftool -s -XMP:all "$T/labelled.png" >"$T/out" 2>&1
has "CreatorTool"; has "faceswarm"; has "IdentitiesConsent *: consent/a.pdf#2026-11"; has "RunTag"
exiftool -validate -warning -a "$T/composite.png" >"$T/out" 2>&1
has "Validate *: OK"
# and the other way: XMP that exiftool writes into a JPEG, detect reads
cp "$T/stripped.jpg" "$T/exif.jpg"
exiftool -q -overwrite_original "-XMP-iptcExt:DigitalSourceType=$TRAINED" "$T/exif.jpg" || fail "exiftool could not write"
expect 0 "$BIN" detect "$T/exif.jpg"
has "digital source type $TRAINED"

[ "$fails" -eq 0 ] && echo "provenance_cli: all checks passed"
exit "$fails"
