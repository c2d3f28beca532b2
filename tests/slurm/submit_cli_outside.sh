#!/usr/bin/env bash
# submit_cli.sh against a faceswarm binary outside the source tree, as `cmake -S . -B
# /elsewhere` makes one: it must still find its job script template (the source tree it was
# built from is compiled in).
#   submit_cli_outside.sh           a copy of $FACESWARM_BIN in a temporary directory (fast)
#   submit_cli_outside.sh --build   a real second build directory under /tmp (CUDA off,
#                                   the faceswarm target only; minutes)
set -euo pipefail
SRC=${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR must name the source tree}
OUT=$(mktemp -d /tmp/faceswarm-outside-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
if [ "${1:-}" = --build ]; then
  cmake -S "$SRC" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release -DFACESWARM_CUDA=OFF >"$OUT/configure.log" 2>&1 ||
    { tail -n 20 "$OUT/configure.log"; echo "FAIL: configuring $OUT/build failed"; exit 1; }
  cmake --build "$OUT/build" --target faceswarm -j"$(nproc)" >"$OUT/build.log" 2>&1 ||
    { tail -n 20 "$OUT/build.log"; echo "FAIL: building $OUT/build failed"; exit 1; }
else
  mkdir -p "$OUT/build/trainer"
  cp "${FACESWARM_BIN:?FACESWARM_BIN must name the faceswarm binary}" "$OUT/build/trainer/faceswarm"
fi
bash "$(dirname "$0")/submit_cli.sh" "$OUT/build/trainer/faceswarm"
