#!/usr/bin/env bash
# A checkpoint or dataset that HDF5 cannot read: the message keeps HDF5's own reason (the
# innermost entry of its error stack), not only "damaged".
source "$(dirname "$0")/../train/lib.sh"
V1=$SRC/tests/fixtures/v1
expect() { # expect WHAT REGEX faceswarm-args...
  local what=$1 re=$2; shift 2
  set +e; "$FS" "$@" > out.txt 2> err.txt; rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "$what: exit $rc, expected 2: $(cat err.txt)"
  grep -qE -- "$re" err.txt || fail "$what: HDF5's reason ($re) is not in: $(cat err.txt)"
}
head -c 30000 "$V1/ckpt-0000000002.h5" > trunc.h5
expect "truncated checkpoint" '\(HDF5: truncated file: eof = 30000' checkpoint verify trunc.h5
head -c 3000 "$V1/A.h5" > A.h5
expect "truncated dataset" 'failed: truncated file: eof = 3000' data verify A.h5
# Bytes overwritten inside the file's metadata: HDF5 says which structure it could not decode.
python3 - "$V1/ckpt-0000000002.h5" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[20000:20400] = b'\xff' * 400
open('bytes.h5', 'wb').write(d)
PY
expect "overwritten checkpoint" '\(HDF5: [a-z]' checkpoint verify bytes.h5
echo PASS
