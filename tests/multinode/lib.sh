# lib.sh — helpers for the multinode tests (sourced). A test makes its own virtual hosts
# (hosts.sh up, owned by the test's shell: they vanish with it even after SIGKILL), works in
# a scratch directory under /tmp that every host sees (the "shared filesystem"), and always
# tears the hosts down on exit. Exits 77 (ctest: skipped) with the reason when namespaces
# are not available (not root, no unshare/veth). FS_MN_KEEP=1 keeps the work directory.
set -euo pipefail
FS=${FACESWARM_BIN:?FACESWARM_BIN must name the faceswarm binary}
SRC=${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR must name the source tree}
MN=$SRC/tests/multinode/hosts.sh
"$MN" check || exit 77
"$MN" clean # what a killed run of any test left (its owner is gone)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Work directories of tests killed before their EXIT trap ran (ctest's timeout sends KILL):
# each names its owner in .owner; FS_MN_KEEP removes that file, so kept ones stay.
for d in /tmp/fs-mn-test-*; do
  [ -f "$d/.owner" ] || continue
  kill -0 "$(cat "$d/.owner")" 2>/dev/null || rm -rf "$d"
done
WORK=$(mktemp -d /tmp/fs-mn-test-XXXXXX)
echo $$ > "$WORK/.owner"
STATE=""
cd "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }
mn_cleanup() {
  local rc=$?
  if [ -n "$STATE" ]; then "$MN" down "$STATE" || { echo "FAIL: teardown of $STATE" >&2; rc=1; }; fi
  cd /
  if [ -n "${FS_MN_KEEP:-}" ]; then rm -f "$WORK/.owner"; echo "kept $WORK (FS_MN_KEEP)"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap mn_cleanup EXIT
trap 'exit 1' INT TERM

hosts_up() { STATE=$("$MN" up "$1" --owner $$) || fail "hosts.sh up $1 failed"; }
on() { local k=$1; shift; "$MN" exec "$STATE" "$k" "$@"; }
# mpirun started on host K, launching through the agent, TCP over the links between hosts.
mpi_on() { local k=$1; shift; "$MN" mpirun "$STATE" "$k" --bind-to none "$@"; }
# The tiny model's data (tests/train/tiny.yaml): two identities, 32 px.
make_data() { "$FS" data synth --out data --identities 2 --count "${1:-64}" --size 32 --seed 3 >/dev/null; }
metric() { # metric FILE STEP FIELD
  awk -v s="\"step\":$2," -v f="\"$3\":" 'index($0, s) { i = index($0, f); if (i) { v = substr($0, i + length(f)); sub(/[,}].*/, "", v); print v } }' "$1" | tail -1
}
