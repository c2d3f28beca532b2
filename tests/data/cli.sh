#!/bin/sh
# cli.sh — `faceswarm data ...` and `faceswarm bench loader` through the real binary:
# exit codes, output fields, and that failed imports leave nothing behind.
set -u
T=data_test_tmp/cli
. "${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR not set}/tests/cli_lib.sh"

expect 0 "$BIN" data synth --out "$T/ds" --identities 2 --count 50 --seed 3
[ -f "$T/ds/A.h5" ] && [ -f "$T/ds/B.h5" ] || fail "synth did not write A.h5 and B.h5"
expect 0 "$BIN" data inspect "$T/ds/B.h5"
has "count        50"; has "size         64 px"; has "identity     B"; has "synthetic    true"
has "consent      synthetic: no real person"; has "source       faceswarm data synth seed 3"; has "chunked \[1,64,64,3\]"
expect 0 "$BIN" data verify "$T/ds/A.h5"
has "ok: 50 faces of 64 px"

expect 2 "$BIN" data verify "$T/missing.h5"
has "missing.h5: no such file"
expect 2 "$BIN" data verify "$T/ds"
has "is a directory"
head -c 3000 /dev/urandom >"$T/garbage.h5"
expect 2 "$BIN" data inspect "$T/garbage.h5"
has "garbage.h5: not an HDF5 file"
expect 2 "$BIN" data synth --out "$T/x" --count 0
expect 2 "$BIN" data frobnicate
expect 0 "$BIN" data --help
has "import   import aligned PNG/JPEG faces into a schema v2 file"
expect 0 "$BIN" data import --help
has "writes schema v2"

echo "not an image" >"$T/note.png"
expect 2 "$BIN" data import --identity X --consent c --source s --strict -o "$T/strict.h5" "$T/note.png"
has "note.png"
expect 2 "$BIN" data import --identity X --consent c --source s -o "$T/none.h5" "$T/note.png"
has "no faces"
expect 2 "$BIN" data import --identity X --source s -o "$T/noconsent.h5" "$T/note.png"
has "consent"
expect 2 "$BIN" data import --identity "Jane Doe" --consent c --source s -o "$T/spaced.h5" "$T/note.png"
has "identity 'Jane Doe'"; has "letters, digits"
ls "$T" | grep -q -e strict.h5 -e none.h5 -e noconsent.h5 -e spaced.h5 && fail "a failed import left a file: $(ls "$T")"

expect 0 "$BIN" bench loader --data "$T/ds" --seconds 0.2 --json
has '"threads":1'; has '"threads":2'; has '"kind":"summary","bench":"loader","wrong":0'
# the issue's target: the loader delivers at least 10x what training at batch 16 consumes
awk -F'"x_train":' '/"kind":"row"/ { split($2, a, "}"); if (a[1] + 0 < 10) bad = 1 } END { exit bad }' "$T/out" ||
    fail "loader below 10x the training rate: $(cat "$T/out")"
expect 2 "$BIN" bench loader --data "$T/nothing-here"

[ "$fails" -eq 0 ] && echo "data_cli: all checks passed"
exit "$fails"
