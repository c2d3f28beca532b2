#!/bin/sh
# A face file written with h5py the usual way (f.attrs['format'] = 'faceswarm.faces', str
# attributes are variable-length UTF-8) is read by data inspect/verify/consent. SKIPs (77)
# when h5py is not installed: the suite never needs the network.
set -eu
FS=${FACESWARM_BIN:?}
. "${FACESWARM_SOURCE_DIR:?}/tests/independent/python_h5py.sh"
[ -n "$PY_H5PY" ] || { echo "SKIP: h5py is not installed (apt-get install python3-h5py)"; exit 77; }
WORK=$(mktemp -d /tmp/fs-h5py-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
"$PY_H5PY" - <<'PY'
import h5py, numpy as np
with h5py.File("h5py.h5", "w") as f:
    f["faces"] = np.full((3, 16, 16, 3), 7, dtype=np.uint8)
    f.attrs["format"] = "faceswarm.faces"
    f.attrs["version"] = 1
    f.attrs["identity"] = "José"
    f.attrs["consent"] = "record 12"
    f.attrs["source"] = "written with h5py"
PY
"$FS" data inspect h5py.h5 > out.txt 2> err.txt || { echo "FAIL: inspect: $(cat err.txt)"; exit 1; }
grep -q "identity     José" out.txt || { echo "FAIL: identity not read: $(cat out.txt)"; exit 1; }
grep -q "schema v1" err.txt || { echo "FAIL: no notice for a file without checksums: $(cat err.txt)"; exit 1; }
"$FS" data verify h5py.h5 > /dev/null 2>&1 || { echo "FAIL: verify refused the h5py file"; exit 1; }
echo PASS
