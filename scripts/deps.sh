#!/usr/bin/env bash
# deps.sh — installs what faceswarm needs from Debian's packages, only what is missing.
# Sourced by scripts/quickstart and scripts/test; safe to run again (idempotent).
set -euo pipefail

FS_DEBS=(build-essential cmake pkg-config git
         openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
         libzmq3-dev libyaml-dev libopenblas-dev libpng-dev libjpeg62-turbo-dev zlib1g-dev
         libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libdlib-dev libdlib-data)

fs_install_debs() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# Programs only the tests use: ffmpeg (H.264 re-encoding in the watermark's rates test),
# exiftool (reads the XMP labels faceswarm writes; it brings perl, whose JSON::PP and sockets
# the multinode tests use), iproute2 (ip, tc) and procps (pgrep) for the virtual hosts of
# tests/multinode; clang with LLVM's OpenMP runtime and its Archer tool (libomp-14-dev:
# libarcher.so) for the racecheck label's ThreadSanitizer / AddressSanitizer builds of the
# emulated kernels; h5py (python3-h5py, for Debian's /usr/bin/python3), the independent reader
# of faceswarm's HDF5 files in tests/independent and the h5py-written face file of
# data_h5py_strings. Without them those tests report SKIP or fail saying what is missing.
FS_TEST_DEBS=(ffmpeg libimage-exiftool-perl iproute2 procps clang libomp-14-dev python3-h5py)

fs_install_debs "${FS_DEBS[@]}" "${FS_TEST_DEBS[@]}"

# Real face photos for the extract tests (tests/extract/): the test images of the
# face_recognition 1.3.0 source distribution on PyPI (MIT licence; photos of public figures,
# used only as test fixtures), fetched once into a cache so that tests need no network.
FS_FIXTURES="${FACESWARM_FIXTURES:-${XDG_CACHE_HOME:-$HOME/.cache}/faceswarm}"
fs_fetch_face_photos() {
  local dir="$FS_FIXTURES/face_recognition-1.3.0"
  [ -f "$dir/obama.jpg" ] && [ -f "$dir/biden.jpg" ] && return 0
  command -v pip >/dev/null 2>&1 || command -v pip3 >/dev/null 2>&1 || fs_install_debs python3-pip
  local pip; pip="$(command -v pip || command -v pip3)"
  local tmp; tmp="$(mktemp -d)"
  echo "== fetching face_recognition 1.3.0 (sdist) for its test photos into $dir"
  { "$pip" download -q --no-deps --no-binary :all: --no-build-isolation face_recognition==1.3.0 -d "$tmp" >/dev/null 2>&1 ||
    "$pip" download -q --no-deps --no-binary :all: face_recognition==1.3.0 -d "$tmp" >/dev/null; } &&
  mkdir -p "$dir" &&
  tar -xzf "$tmp"/face_recognition-1.3.0.tar.gz -C "$tmp" &&
  cp "$tmp"/face_recognition-1.3.0/tests/test_images/{obama.jpg,obama2.jpg,biden.jpg} "$tmp"/face_recognition-1.3.0/LICENSE "$dir"/
  local rc=$?
  rm -rf "$tmp"
  return $rc
}
fs_fetch_face_photos || echo "warning: could not fetch the test photos into $FS_FIXTURES (no network?);" \
  "the extract footage tests will fail until they are there" >&2
export FACESWARM_FIXTURES="$FS_FIXTURES"

# mpirun refuses root without these; CI runs as root.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1
