#!/bin/sh
# torch_ratio.sh MODE — `faceswarm bench train --torch` and its script tests/bench/torch_train.py.
# MODE layers (no torch needed): the script's --print-layers table equals `faceswarm model`'s
#   (node, kind, output shape, parameters of every node) for original-64, quickstart and the
#   tiny test config, and the comparison catches a different model (quickstart's layers against
#   original-64's table must differ).
# MODE ratio: skips (exit 77) when PYTHON (FACESWARM_TORCH_PYTHON, else
#   ~/.cache/faceswarm/torch-venv/bin/python, else python3) cannot import torch; otherwise runs
#   the comparison on quickstart with 1 step and checks the JSON row of table "torch": both
#   rates positive, the parameter count faceswarm's, a ratio. Without torch, the bench itself
#   must print the "not importable" note and exit 0 (checked with a python that has no torch).
set -u
MODE=${1:?usage: torch_ratio.sh layers|ratio}
T=bench_test_tmp/torch_$MODE
. "${FACESWARM_SOURCE_DIR:?}/tests/cli_lib.sh"
SRC=$FACESWARM_SOURCE_DIR
SCRIPT=$SRC/tests/bench/torch_train.py

# same_layers MODEL_CONFIG SCRIPT_CONFIG: exit 0 when the two tables agree
same_layers() {
    "$BIN" model "$1" >"$T/fs.txt" 2>"$T/fs.err" || { fail "faceswarm model $1: $(cat "$T/fs.err")"; return 2; }
    python3 "$SCRIPT" "$2" --print-layers >"$T/py.txt" 2>"$T/py.err" ||
        { fail "torch_train.py $2 --print-layers: $(cat "$T/py.err")"; return 2; }
    python3 - "$T/fs.txt" "$T/py.txt" "${1##*/}" <<'EOF'
import re, sys
row = re.compile(r"^(\d+\s+)?(\S+)\s+(input|conv|dense|reshape|pixshuf|slice)\s+(?:\S+\s+)?(\d+x\d+x\d+)\s+([\d,=]+)$")
def table(path):
    rows, total = [], None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        m = row.match(line)
        if m:
            rows.append((m.group(2), m.group(3), m.group(4), m.group(5)))
        elif line.startswith("total parameters:"):
            total = line.split(":")[1].strip()
    return rows, total
fs, py = table(sys.argv[1]), table(sys.argv[2])
if not fs[0] or fs != py:
    for a, b in zip(fs[0] + [None] * len(py[0]), py[0] + [None] * len(fs[0])):
        if a != b:
            print(f"  faceswarm {a} != script {b}", file=sys.stderr)
            break
    print(f"  totals: faceswarm {fs[1]}, script {py[1]} ({len(fs[0])} and {len(py[0])} nodes)", file=sys.stderr)
    sys.exit(1)
print(f"  {sys.argv[3]}: {len(fs[0])} nodes, {fs[1]} parameters, equal")
EOF
}

if [ "$MODE" = layers ]; then
    for c in configs/original-64.yaml configs/quickstart.yaml tests/train/tiny.yaml; do
        same_layers "$SRC/$c" "$SRC/$c" || fail "$c: torch_train.py's layers differ from faceswarm model's (above)"
    done
    same_layers "$SRC/configs/original-64.yaml" "$SRC/configs/quickstart.yaml" 2>/dev/null &&
        fail "the layer comparison did not catch quickstart's layers against original-64's table"
    python3 "$SCRIPT" "$SRC/configs/quickstart-liae.yaml" --print-layers >"$T/liae.out" 2>&1 &&
        fail "torch_train.py accepted a liae config"
    grep -q "builds 'original' only" "$T/liae.out" ||
        fail "torch_train.py's refusal of a liae config does not say why: $(cat "$T/liae.out")"
    [ "$fails" -eq 0 ] && echo "bench_torch_layers: torch_train.py builds faceswarm's layers"
    exit "$fails"
fi

# ratio. First without torch: a python that cannot import it gives the note and exit 0.
printf '#!/bin/sh\nexit 1\n' >"$T/nopython" && chmod +x "$T/nopython"
"$BIN" bench train "$SRC/configs/quickstart.yaml" --steps 1 --threads 1 --torch="$T/nopython" --json \
    >"$T/none.out" 2>"$T/none.err"
rc=$?
[ "$rc" -le 1 ] || fail "bench train --torch without torch exited $rc: $(cat "$T/none.err")"
grep -q "PyTorch not importable" "$T/none.out" || fail "no 'PyTorch not importable' note: $(cat "$T/none.out")"
grep -q '"table":"torch"' "$T/none.out" && fail "a torch table without torch"
PY=${FACESWARM_TORCH_PYTHON:-}
[ -n "$PY" ] || { [ -x "$HOME/.cache/faceswarm/torch-venv/bin/python" ] && PY=$HOME/.cache/faceswarm/torch-venv/bin/python; }
[ -n "$PY" ] || PY=python3
if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    [ "$fails" -eq 0 ] || exit "$fails"
    echo "bench_torch_ratio: skipped: $PY cannot import torch (set FACESWARM_TORCH_PYTHON; docs/cpu.md installs it)"
    exit 77
fi
"$BIN" bench train "$SRC/configs/quickstart.yaml" --steps 1 --threads 1 --torch="$PY" --json \
    >"$T/ratio.out" 2>"$T/ratio.err"
rc=$?
[ "$rc" -le 1 ] || fail "bench train --torch exited $rc: $(cat "$T/ratio.err")"
python3 "$SRC/tests/bench/check_output.py" json train "$T/ratio.out" "$rc" || fail "bench train --torch --json (above)"
want=$("$BIN" model "$SRC/configs/quickstart.yaml" | awk '/^total parameters:/{gsub(",", "", $3); print $3}')
python3 - "$T/ratio.out" "$want" <<'EOF' || fail "the torch row (above)"
import json, sys
rows = [o for o in map(json.loads, open(sys.argv[1])) if o.get("kind") == "row" and o.get("table") == "torch"]
bad = []
if len(rows) != 1:
    bad.append(f"{len(rows)} rows in table torch, expected 1")
for r in rows:
    if r["config"] != "quickstart.yaml" or r["torch_mode"] != "eager" or r["threads"] != 1:
        bad.append(f"row config/mode/threads {r['config']} {r['torch_mode']} {r['threads']}")
    if r["params"] != int(sys.argv[2]):
        bad.append(f"params {r['params']}, faceswarm model says {sys.argv[2]}")
    for k in ("images_per_s", "torch_images_per_s", "ratio", "cpu_images_per_s", "torch_cpu_images_per_s"):
        if not (isinstance(r[k], (int, float)) and r[k] > 0):
            bad.append(f"{k} = {r[k]!r}, expected > 0")
    if bad == [] and abs(r["ratio"] - r["images_per_s"] / r["torch_images_per_s"]) > 1e-3 * r["ratio"] + 1e-3:
        bad.append(f"ratio {r['ratio']} is not {r['images_per_s']} / {r['torch_images_per_s']}")
for b in bad:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
[ "$fails" -eq 0 ] && echo "bench_torch_ratio: $(grep '"table":"torch","config"' "$T/ratio.out")"
exit "$fails"
