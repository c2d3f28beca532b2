#!/usr/bin/env bash
# Every numeric option of every command is parsed whole and checked: given a value that is
# not a number of its range (x, 5x, empty, 1e999), the command exits 2 and names the option
# and the value, with a hint, before doing anything (no bare atoi: `--batch 5x` is not 5).
#   numeric_options.sh [--lead] [FACESWARM]
# Rows marked (lead) belong to commands another branch fixes (comms/status.c, coordinator.c,
# bench_coordinator.c): --lead checks only those (ctest cli_numeric_options_lead), the
# default all the others.
set -uo pipefail
lead=0
[ "${1:-}" = --lead ] && { lead=1; shift; }
FS=${1:-${FACESWARM_BIN:?FACESWARM_BIN must name the faceswarm binary}}
SRC=${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR must name the source tree}
TINY=$SRC/tests/slurm/tiny.yaml
WORK=$(mktemp -d /tmp/faceswarm-numeric-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# OPTION | the command, @ standing for the value (the option comes first, so that nothing
# else can fail before it is read).
rows=$(cat <<ROWS
--steps|train --steps @ $TINY
--count|swap --count @ --checkpoint none.h5 --to B -o out in.png
--erode|convert --erode @ --checkpoint none.h5 --from A --to B -o out.mp4 in.mp4
--blur|convert --blur @ --checkpoint none.h5 --from A --to B -o out.mp4 in.mp4
--crf|convert --crf @ --checkpoint none.h5 --from A --to B -o out.mp4 in.mp4
--chunk|convert --chunk @ --checkpoint none.h5 --from A --to B -o out.mp4 in.mp4
--min-face|convert --min-face @ --checkpoint none.h5 --from A --to B -o out.mp4 in.mp4
--coverage|convert --coverage @ --checkpoint none.h5 --from A --to B -o out.mp4 in.mp4
--frames|bench convert --frames @ in.mp4
--identities|data synth --identities @ --out d
--count|data synth --count @ --out d
--size|data synth --size @ --out d
--seed|data synth --seed @ --out d
--size|data import --size @ --identity A --consent c --source s -o A.h5 in
--nodes|submit $TINY --dry-run --nodes @
--gpus-per-node|submit $TINY --dry-run --gpus-per-node @
--tasks-per-node|submit $TINY --dry-run --tasks-per-node @
--cpus-per-task|submit $TINY --dry-run --cpus-per-task @
--signal-lead|submit $TINY --dry-run --signal-lead @
--batch|bench kernels --batch @
--threads|bench kernels --threads @
--reps|bench kernels --reps @
--size|bench loader --size @ --data d
--batch|bench loader --batch @ --data d
--seconds|bench loader --seconds @ --data d
--train-rate|bench loader --train-rate @ --data d
--every|detect --every @ in.mp4
--steps|bench train --steps @
--batch|bench train --batch @
--threads|bench train --threads @
--rounds|bench train --rounds @
--min|bench allreduce --min @
--max|bench allreduce --max @
--bucket-mb|bench allreduce --bucket-mb @
--iters|bench allreduce --iters @
--layers|bench allreduce --layers @
--compute-ratio|bench allreduce --compute-ratio @
--frames|bench extract --frames @ in.mp4
--size|bench extract --size @ in.mp4
--min-face|bench extract --min-face @ in.mp4
--every|bench extract --every @ in.mp4
--trials|bench watermark --trials @
--unmarked|bench watermark --unmarked @
--version|bench watermark --version @
--every|extract --every @ -i A -c c -S s -o o.h5 in.mp4
--size|extract --size @ -i A -c c -S s -o o.h5 in.mp4
--min-face|extract --min-face @ -i A -c c -S s -o o.h5 in.mp4
--chunk|extract --chunk @ -i A -c c -S s -o o.h5 in.mp4
--timeout|status --run . --timeout @ (lead)
--timeout|coordinator --state-dir c --timeout @ (lead)
--straggler|coordinator --state-dir c --straggler @ (lead)
--idle-exit|coordinator --state-dir c --idle-exit @ (lead)
--ranks|bench coordinator --ranks @ (lead)
--seconds|bench coordinator --seconds @ (lead)
--threads|bench coordinator --threads @ (lead)
--window|bench coordinator --window @ (lead)
--heartbeat-ms|bench coordinator --heartbeat-ms @ (lead)
ROWS
)

failures=0
n=0
while IFS='|' read -r opt cmd; do
  [[ "$cmd" == *" (lead)" ]] && mine=0 || mine=1
  [ "$mine" -ne "$lead" ] || continue
  cmd=${cmd% (lead)}
  n=$((n + 1))
  for value in x 5x '' 1e999; do
    args=()
    for w in $cmd; do [ "$w" = @ ] && args+=("$value") || args+=("$w"); done
    timeout 20 "$FS" "${args[@]}" >out.txt 2>err.txt
    rc=$?
    why=""
    [ "$rc" -eq 2 ] || why="exit $rc, expected 2"
    [ -z "$why" ] && ! grep -qF -- "$opt '$value'" err.txt && why="the message does not name $opt '$value'"
    [ -z "$why" ] && ! grep -q "hint:" err.txt && why="the message has no hint"
    if [ -n "$why" ]; then
      echo "FAIL: faceswarm ${args[*]}: $why: $(head -c 300 err.txt | tr '\n' ' ')"
      failures=$((failures + 1))
    fi
  done
done <<<"$rows"
[ "$failures" -eq 0 ] || { echo "FAIL: $failures case(s)"; exit 1; }
echo "PASS: $n numeric options x 4 bad values: exit 2, option and value named, hint"
