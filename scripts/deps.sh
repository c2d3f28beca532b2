#!/usr/bin/env bash
# deps.sh — installs what faceswarm needs from Debian's packages, only what is missing.
# Sourced by scripts/quickstart and scripts/test; safe to run again (idempotent).
set -euo pipefail

FS_DEBS=(build-essential cmake pkg-config git
         openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
         libzmq3-dev libyaml-dev libopenblas-dev libpng-dev libjpeg62-turbo-dev zlib1g-dev)

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

# Programs only the tests use: ffmpeg (H.264 re-encoding in the watermark's rates test) and
# exiftool (reads the XMP labels faceswarm writes). Without them those tests report SKIP.
FS_TEST_DEBS=(ffmpeg libimage-exiftool-perl)

fs_install_debs "${FS_DEBS[@]}" "${FS_TEST_DEBS[@]}"

# mpirun refuses root without these; CI runs as root.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1
