#!/usr/bin/env bash
# submit_cli.sh against a faceswarm binary that lies outside the source tree and outside any
# build directory below it, as one built with `cmake -S . -B /elsewhere` does: it must still
# find its job script template (the source tree it was built from is compiled in).
set -euo pipefail
FS=${FACESWARM_BIN:?FACESWARM_BIN must name the faceswarm binary}
OUT=$(mktemp -d /tmp/faceswarm-outside-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
mkdir -p "$OUT/build/trainer"
cp "$FS" "$OUT/build/trainer/faceswarm"
bash "$(dirname "$0")/submit_cli.sh" "$OUT/build/trainer/faceswarm"
