# lib.sh — helpers for the trainer's shell tests (sourced). Each test runs in its own
# scratch directory and fails loudly with what it expected and what it found.
set -euo pipefail
FS=${FACESWARM_BIN:?FACESWARM_BIN must name the faceswarm binary}
SRC=${FACESWARM_SOURCE_DIR:?}
TINY=$SRC/tests/train/tiny.yaml
WORK=$(mktemp -d /tmp/fs-test-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }
# The tiny model's data: two identities, 64 faces each, 32 px (made once per test).
make_data() { "$FS" data synth --out data --identities 2 --count "${1:-64}" --size 32 --seed 3 >/dev/null; }
# Value of a numeric field in the metrics line of a given step.
metric() { # metric FILE STEP FIELD
  awk -v s="\"step\":$2," -v f="\"$3\":" 'index($0, s) { i = index($0, f); if (i) { v = substr($0, i + length(f)); sub(/[,}].*/, "", v); print v } }' "$1" | tail -1
}
# The params checksum of a checkpoint, as `faceswarm checkpoint inspect` prints it.
params_sum() { "$FS" checkpoint inspect "$1" | awk '$1 == "params" { print $2 }'; }
# The floats of one dataset of a checkpoint, one per line (h5dump).
floats() { h5dump -d "$2" -y -w 0 -m %.9g "$1" | sed -n '/DATA {/,/}/p' | grep -oE '^ *-?[0-9][^,]*' | tr -d ' '; }
