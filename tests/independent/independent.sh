#!/usr/bin/env bash
# independent.sh — faceswarm's files against an independent reader and writer of them
# (fsverify.py: h5py and numpy, written from docs/checkpoint.md and docs/data.md alone).
#  1. face files from `data synth` and a checkpoint from training (sealed, consent chain,
#     kernels) verify under fsverify: the seal's CRC-32C, meta_checksum and the faces'
#     attribute checksum from the canonical texts, every content checksum;
#  2. fsverify edits a consent record and a checkpoint attribute as the pages say a writer
#     does (checksums recomputed, the seal rewritten): faceswarm accepts both and shows the
#     new values;
#  3. the same edits made with plain h5py (no checksums recomputed) and a byte flipped in
#     /params: fsverify and faceswarm both refuse each, naming the same check.
# SKIPs (77) when no Python with h5py is installed (Debian: python3-h5py; scripts/deps.sh
# installs it).
set -euo pipefail
FS=${FACESWARM_BIN:?}
SRC=${FACESWARM_SOURCE_DIR:?}
source "$SRC/tests/independent/python_h5py.sh"
[ -n "$PY_H5PY" ] || { echo "SKIP: no python3 with h5py and numpy (apt-get install python3-h5py)"; exit 77; }
V="$PY_H5PY $SRC/tests/independent/fsverify.py"
WORK=$(mktemp -d /tmp/fs-indep-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
refused() { # refused WHAT PATTERN CMD... : exit 2 from faceswarm, stderr matching PATTERN
  local what=$1 pat=$2 rc; shift 2
  set +e; "$@" > r.out 2> r.err; rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "$what: faceswarm exited $rc, expected 2: $(cat r.err)"
  grep -q "$pat" r.err || fail "$what: faceswarm's refusal does not say '$pat': $(cat r.err)"
}
rejected() { # rejected WHAT PATTERN FILE-KIND FILE : fsverify exits 1 with PATTERN
  local what=$1 pat=$2 rc; shift 2
  set +e; $V "$@" > v.out 2>&1; rc=$?; set -e
  [ "$rc" -eq 1 ] || fail "$what: fsverify exited $rc, expected 1: $(cat v.out)"
  grep -q "$pat" v.out || fail "$what: fsverify's refusal does not say '$pat': $(cat v.out)"
}
both_refuse() { # both_refuse WHAT KIND FILE FSVERIFY-PATTERN FACESWARM-PATTERN CMD... (CMD reads FILE)
  local what=$1 kind=$2 file=$3 vpat=$4 fpat=$5; shift 5
  rejected "$what" "$vpat" "$kind" "$file"
  refused "$what" "$fpat" "$@"
}
reseal() { # reseal FILE: fsverify's seal writer, over whatever the file now holds
  $PY_H5PY -c 'import sys; sys.path.insert(0, sys.argv[2]); import fsverify; fsverify.reseal(sys.argv[1])' \
    "$1" "$SRC/tests/independent"
}

# 1. faceswarm writes, the independent reader verifies
"$FS" data synth --out data --identities 2 --count 40 --size 16 --seed 3 > /dev/null
"$FS" train "$SRC/tests/train/micro.yaml" > train.log 2>&1 || fail "training: $(tail -5 train.log)"
ck=run/checkpoints/ckpt-0000000004.h5
$V faces data/A.h5 data/B.h5 > v.out || fail "fsverify refused data synth's files: $(cat v.out)"
grep -q "items faces,masks,landmarks" v.out || fail "fsverify did not check masks and landmarks: $(cat v.out)"
$V checkpoint "$ck" > v.out || fail "fsverify refused a training checkpoint: $(cat v.out)"
grep -q "^ok .*sealed, [0-9]* params, step 4" v.out || fail "fsverify: $(cat v.out)"
meta=$("$FS" checkpoint inspect "$ck" | awk '$1 == "meta" { print $2 }')
grep -q "meta $meta" v.out || fail "faceswarm's meta checksum '$meta' is not fsverify's: $(cat v.out)"

# 2. the independent writer edits, faceswarm reads
cp data/A.h5 A-edit.h5
$V edit-faces A-edit.h5 consent "record 99 (edited with h5py)"
"$FS" data consent A-edit.h5 > c.out 2> c.err || fail "data consent refused fsverify's edit: $(cat c.err)"
grep -q "consent .*record 99 (edited with h5py)" c.out || fail "data consent does not show the edit: $(cat c.out)"
"$FS" data verify A-edit.h5 > /dev/null 2> c.err || fail "data verify refused fsverify's edit: $(cat c.err)"
cp "$ck" ck-edit.h5
$V edit-checkpoint ck-edit.h5 restart_count 5
"$FS" checkpoint verify ck-edit.h5 > c.out 2> c.err || fail "checkpoint verify refused fsverify's edit: $(cat c.err)"
grep -q "the seal holds" c.out || fail "the resealed checkpoint: $(cat c.out)"
"$FS" checkpoint inspect ck-edit.h5 | grep -q "restarts *5" || fail "inspect does not show restart_count 5"

# 3. edits that skip the checksums, and a flipped byte: both readers refuse, on the same check
cp data/A.h5 A-raw.h5
$PY_H5PY -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r+"); f.attrs["consent"] = "forged"; f.close()' A-raw.h5
both_refuse "consent changed with h5py" faces A-raw.h5 "attribute checksum" "checksum" "$FS" data consent A-raw.h5
cp "$ck" ck-raw.h5
$PY_H5PY -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r+"); f.attrs.modify("step", 9); f.close()' ck-raw.h5
both_refuse "step changed with h5py" checkpoint ck-raw.h5 "seal: bytes 512-" "changed after it was written" \
  "$FS" checkpoint verify ck-raw.h5
reseal ck-raw.h5
both_refuse "step changed with h5py, resealed" checkpoint ck-raw.h5 "meta_checksum" "metadata checksum" \
  "$FS" checkpoint verify ck-raw.h5
cp "$ck" ck-flip.h5
off=$(h5dump -H -p -d /params ck-flip.h5 | awk '$1 == "OFFSET" { print $2; exit }')
[ -n "$off" ] || fail "h5dump could not locate /params"
printf '\x5a' | dd of=ck-flip.h5 bs=1 seek=$((off + 40)) conv=notrunc status=none
both_refuse "a byte of /params flipped" checkpoint ck-flip.h5 "seal: bytes 512-" "changed after it was written" \
  "$FS" checkpoint verify ck-flip.h5
reseal ck-flip.h5
both_refuse "a byte of /params flipped, resealed" checkpoint ck-flip.h5 "/params: content checksum" \
  "checksum mismatch in /params" "$FS" checkpoint verify ck-flip.h5
echo "PASS: fsverify (h5py, from the docs) and faceswarm agree on every file, edit and refusal"
