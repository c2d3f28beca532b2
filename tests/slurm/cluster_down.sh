#!/usr/bin/env bash
# `slurm/cluster.sh down` without DIR, with SLURM_CONF set as `eval "$(cluster.sh up DIR)"`
# leaves it: it stops that cluster (daemons gone, pid files removed, Slurm unreachable).
# Without DIR and without SLURM_CONF it is a usage error (exit 2) with a hint.
source "$(dirname "$0")/lib.sh"
cluster_up
[ -n "$(sinfo -h -o %T 2>/dev/null)" ] || fail "the cluster is not up"
ctld=$(cat "$STATE/run/slurmctld.pid")
"$CLUSTER" down >down.txt 2>&1 || fail "cluster.sh down (SLURM_CONF=$SLURM_CONF) failed: $(cat down.txt)"
# Gone, or an exited process its parent has not reaped yet (state Z: it holds nothing).
kill -0 "$ctld" 2>/dev/null && [ "$(sed 's/.*) //; s/ .*//' "/proc/$ctld/stat" 2>/dev/null)" != Z ] &&
  fail "slurmctld (pid $ctld) still runs after cluster.sh down"
[ ! -e "$STATE/run/slurmctld.pid" ] || fail "cluster.sh down left $STATE/run/slurmctld.pid"
timeout 3 sinfo -h >/dev/null 2>&1 && fail "sinfo still answers after cluster.sh down"
set +e; env -u SLURM_CONF "$CLUSTER" down >nodir.txt 2>&1; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "SLURM_CONF is not set" nodir.txt && grep -q hint: nodir.txt ||
  fail "cluster.sh down without DIR or SLURM_CONF: exit $rc, $(cat nodir.txt)"
echo "PASS: cluster.sh down without DIR stopped the cluster of SLURM_CONF"
