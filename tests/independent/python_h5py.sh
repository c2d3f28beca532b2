# python_h5py.sh — sourced: sets PY_H5PY to a Python 3 that imports h5py and numpy (the
# python3 on PATH first, then Debian's /usr/bin/python3, which python3-h5py installs into),
# or leaves it empty.
PY_H5PY=
for py in python3 /usr/bin/python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import h5py, numpy' >/dev/null 2>&1; then
    PY_H5PY=$py
    break
  fi
done
