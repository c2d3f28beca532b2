# lib.sh — helpers for the Slurm tests (sourced). A test brings up a private one-node Slurm
# cluster on localhost (slurm/cluster.sh), holding /tmp/faceswarm-slurm.lock so that only
# one runs at a time, and always tears it down on exit. It exits 77 (ctest: skipped) with a
# clear message only when Slurm cannot be installed. FS_SLURM_KEEP=1 keeps the work directory.
set -euo pipefail
FS=${FACESWARM_BIN:?FACESWARM_BIN must name the faceswarm binary}
SRC=${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR must name the source tree}
CLUSTER=$SRC/slurm/cluster.sh
WORK=$(mktemp -d /tmp/faceswarm-slurm-test-XXXXXX)
STATE=/tmp/faceswarm-slurm-$$
cd "$WORK"

fail() {
  echo "FAIL: $*" >&2
  for f in "$WORK"/run/slurm-*.out; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done
  exit 1
}

cleanup() {
  local rc=$?
  [ -d "$STATE" ] && { "$CLUSTER" down "$STATE" || rc=1; }
  [ -n "${FS_SLURM_KEEP:-}" ] && cp -r "$STATE/log" "$WORK/slurm-logs" 2>/dev/null
  rm -rf "$STATE"
  if [ -n "${FS_SLURM_KEEP:-}" ]; then echo "kept $WORK (FS_SLURM_KEEP)"; else rm -rf "$WORK"; fi
  exit "$rc"
}

# Installs Slurm if needed (or skips), takes the lock, starts the cluster.
cluster_up() {
  "$CLUSTER" install || exit $?
  exec 9>/tmp/faceswarm-slurm.lock
  flock -w 900 9 || fail "another Slurm test held /tmp/faceswarm-slurm.lock for 15 minutes"
  trap cleanup EXIT
  trap 'exit 1' INT TERM
  eval "$("$CLUSTER" up "$STATE")"
  export SLURM_CONF
}

# Job state as slurmctld has it ("" once the job is gone).
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }

# Waits until job $1 is in one of the states $2 (a regex), at most $3 seconds.
wait_state() {
  local i s=""
  for i in $(seq $(($3 * 5))); do
    s=$(job_state "$1")
    [[ "$s" =~ ^($2)$ ]] && return 0
    sleep 0.2
  done
  fail "job $1 is '$s' after $3 s; expected $2"
}

# Waits until FILE has at least N lines, at most $3 seconds.
wait_lines() {
  local i
  for i in $(seq $(($3 * 10))); do
    [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "$1 has $( [ -f "$1" ] && wc -l <"$1" || echo 0) lines after $3 s; expected $2"
}

# The job id from `faceswarm submit`'s output ("submitted job N: ...").
submitted_id() { sed -n 's/^submitted job \([0-9]*\).*/\1/p' "$1"; }

# The steps of a metrics file, one per line, in file order.
metric_steps() { sed -n 's/.*"step":\([0-9]*\).*/\1/p' "${1:--}"; }

# Every step 1..N exactly once, in order.
assert_steps_once() {
  local got
  got=$(metric_steps "$1" | tr '\n' ' ')
  [ "$got" = "$(seq -s ' ' 1 "$2") " ] || fail "$1: expected steps 1..$2 once each, in order; found: $got"
}
