#!/bin/sh
# badinput.sh — `faceswarm extract` refuses bad input with exit 2, a message that names the
# file or option and a hint, and leaves nothing under the output's name (no NAME.h5, no
# NAME.h5.work): an unreadable file, a truncated MP4, a file with no video stream, footage
# with no face anywhere, a missing output folder, a bad identity, a bad option value.
# The good file that remains is a valid schema v2 file (data verify and inspect accept it),
# and a value changed after writing in /landmarks or a sealed /frames dataset is refused by
# data verify with exit 2.
#   badinput.sh MAKE_VIDEO FIXTURES_DIR TAMPER
set -u
BIN=${FACESWARM_BIN:?FACESWARM_BIN not set}
MAKE=$1 FIX=$2/face_recognition-1.3.0 TAMPER=$3
T=extract_test_tmp/badinput
rm -rf "$T" && mkdir -p "$T" || exit 1
. "${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR not set}/tests/check.sh"
X="extract --identity A --consent test-fixture --source test"
# refused CODE TEXT INPUT... : exit CODE, TEXT in the message, a hint, nothing left at $T/o.h5
refused() {
    want=$1 text=$2; shift 2
    "$BIN" $X -o "$T/o.h5" "$@" >"$T/out" 2>&1; got=$?
    [ "$got" -eq "$want" ] || { fail "extract $* exited $got, expected $want"; cat "$T/out" >&2; }
    has "$text"; has "hint:"
    [ -e "$T/o.h5" ] && fail "extract $* left $T/o.h5"
    [ -e "$T/o.h5.work" ] && fail "extract $* left $T/o.h5.work"
    ls "$T"/o.h5.tmp* >/dev/null 2>&1 && fail "extract $* left a temp file"
}

"$MAKE" "$T/good.mp4" "$FIX/obama.jpg" 12 320 240 || fail "make_video good.mp4"
"$MAKE" "$T/black.mp4" "$FIX/obama.jpg" 6 320 240 --black 6 || fail "make_video black.mp4"
head -c 4000 /dev/urandom >"$T/garbage.mp4"
size=$(wc -c <"$T/good.mp4")
head -c $((size / 2)) "$T/good.mp4" >"$T/cut.mp4"
# A WAV file: one audio stream, no video (44-byte header, 0.1 s of 8 kHz 8-bit silence).
printf 'RIFF\044\003\000\000WAVEfmt \020\000\000\000\001\000\001\000\100\037\000\000\100\037\000\000\001\000\010\000data\000\003\000\000' >"$T/sound.wav"
head -c 768 /dev/zero | tr '\000' '\200' >>"$T/sound.wav"

refused 2 "garbage.mp4: cannot read as a video" "$T/garbage.mp4"
refused 2 "cut.mp4: " "$T/cut.mp4"
refused 2 "sound.wav: has no video stream" "$T/sound.wav"
refused 2 "no face found in any of the 6 frames" "$T/black.mp4"
refused 2 "missing.mp4: no such file" "$T/missing.mp4"
# A bad input among good ones is found before any work.
refused 2 "sound.wav: has no video stream" "$T/good.mp4" "$T/sound.wav"
"$BIN" $X -o "$T/nodir/o.h5" "$T/good.mp4" >"$T/out" 2>&1; got=$?
[ "$got" -eq 2 ] || fail "a missing output folder exited $got, expected 2"
has "the folder $T/nodir does not exist"; has "hint:"
[ -e "$T/nodir" ] && fail "extract created the missing output folder"
"$BIN" $X -o "$T" "$T/good.mp4" >"$T/out" 2>&1; got=$?
[ "$got" -eq 2 ] || fail "-o naming a folder exited $got, expected 2"
has "is a folder"; has "hint:"
"$BIN" extract --identity "A B" --consent c --source s -o "$T/o.h5" "$T/good.mp4" >"$T/out" 2>&1; got=$?
[ "$got" -eq 2 ] || fail "a bad identity exited $got, expected 2"
has "identity 'A B'"; has "hint:"
for opt in "--every 0" "--size 8" "--faces some" "--coverage 2" "--min-face 10" "--landmarks $T/none.dat"; do
    "$BIN" $X $opt -o "$T/o.h5" "$T/good.mp4" >"$T/out" 2>&1; got=$?
    [ "$got" -eq 2 ] || fail "extract $opt exited $got, expected 2"
    has "${opt%% *}"; has "hint:"
    [ -e "$T/o.h5" ] && fail "extract $opt left output"
done
"$BIN" extract --consent c --source s -o "$T/o.h5" "$T/good.mp4" >"$T/out" 2>&1; got=$?
[ "$got" -eq 2 ] || fail "extract without --identity exited $got, expected 2"
# And the good file alone works (the refusals above are about the bad inputs).
"$BIN" $X -o "$T/o.h5" "$T/good.mp4" >"$T/out" 2>&1 || { fail "the good video alone failed"; cat "$T/out" >&2; }
has "12 faces of 256 px"
# ... and it is a whole schema v2 file: every checksum (faces, masks, landmarks, the sealed
# /frames, /noface and /sources) matches.
expect 0 "$BIN" data verify "$T/o.h5"
has "schema v2, every checksum matches"
expect 0 "$BIN" data inspect "$T/o.h5"
has "checksums    yes"
for ds in /landmarks /frames/matrix /frames/index; do
    cp "$T/o.h5" "$T/t.h5" && "$TAMPER" "$T/t.h5" $ds || fail "tamper $ds"
    expect 2 "$BIN" data verify "$T/t.h5"
    has "$ds"; has "does not match its checksum"; has "hint:"
done

[ $fails -eq 0 ] && echo "extract bad input: ok"
exit $((fails > 0))
