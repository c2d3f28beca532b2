#!/usr/bin/env bash
# cluster.sh — a private one-node Slurm cluster on localhost, for tests and for trying the
# job script without a real cluster. Everything it starts lives under one state directory
# (config, munge key and socket, spool, logs, pid files), on ports that were free, so it
# does not touch /etc/slurm or a system munged.
#
#   slurm/cluster.sh install        install slurm-wlm, munge, libpmix-dev if missing;
#                                   exit 77 when they cannot be installed
#   slurm/cluster.sh up DIR         start munged, slurmctld, slurmd; wait for the node to be idle;
#                                   prints "export SLURM_CONF=DIR/etc/slurm.conf"
#   slurm/cluster.sh down [DIR]     cancel the cluster's jobs, stop its daemons and every
#                                   process that carries its SLURM_CONF; wait until they are gone
#   slurm/cluster.sh env [DIR]      prints the export line again
#   slurm/cluster.sh common-conf DIR   the slurm.conf settings every test cluster shares
#   slurm/cluster.sh munge DIR      start a munged with a new key on DIR/munge (as 'up' does)
# Without DIR, down and env take the cluster that SLURM_CONF names (DIR/etc/slurm.conf), as
# `eval "$(slurm/cluster.sh up DIR)"` left it.
#
# Only one such cluster runs at a time on a machine: callers take
# `flock /tmp/faceswarm-slurm.lock` around up ... down (tests/slurm/lib.sh does).
# What made Debian's slurm-wlm 22.05 work here is in shared/FACTS.md ("A real Slurm cluster").
set -euo pipefail

FS_SLURM_DEBS=(slurm-wlm munge libpmix-dev)
FS_SKIP=77

die() { echo "cluster.sh: error: $*" >&2; exit 1; }
usage_error() { echo "cluster.sh: error: $*" >&2; exit 2; }

# The state directory of the cluster that SLURM_CONF names, if cluster.sh wrote that file.
dir_from_conf() {
  [ -n "${SLURM_CONF:-}" ] ||
    usage_error "no DIR given and SLURM_CONF is not set; hint: slurm/cluster.sh $1 DIR (the DIR given to 'up')"
  local conf dir
  conf=$(realpath -m "$SLURM_CONF")
  dir=${conf%/etc/slurm.conf}
  # A file that is gone is fine ('down' twice); another cluster's configuration is not ours to stop.
  [ "$dir" != "$conf" ] && { [ ! -e "$conf" ] || head -n1 "$conf" | grep -q 'Written by slurm/cluster.sh'; } ||
    usage_error "SLURM_CONF=$SLURM_CONF is not a cluster made by 'cluster.sh up' (expected DIR/etc/slurm.conf written by it); hint: slurm/cluster.sh $1 DIR"
  echo "$dir"
}

have_debs() {
  local p
  for p in "${FS_SLURM_DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 1
  done
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null
}

cmd_install() {
  have_debs && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "cluster.sh: SKIP: Slurm is not installed and cannot be (needs root and apt-get)." >&2
    echo "  hint: apt-get install slurm-wlm munge libpmix-dev" >&2
    exit $FS_SKIP
  fi
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends)
  echo "== installing ${FS_SLURM_DEBS[*]}" >&2
  if ! "${apt[@]}" "${FS_SLURM_DEBS[@]}" >/dev/null 2>&1; then
    apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null 2>&1 || true
    if ! "${apt[@]}" "${FS_SLURM_DEBS[@]}" >/dev/null 2>&1; then
      echo "cluster.sh: SKIP: apt-get could not install ${FS_SLURM_DEBS[*]}." >&2
      echo "  hint: check the package sources (apt-get update) and run slurm/cluster.sh install" >&2
      exit $FS_SKIP
    fi
  fi
  have_debs || { echo "cluster.sh: SKIP: installed, but slurmctld/slurmd/munged are missing" >&2; exit $FS_SKIP; }
}

# A TCP port nobody listens on, at or above $1.
free_port() {
  local p=$1 used
  used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://')
  while grep -qx "$p" <<<"$used"; do p=$((p + 1)); done
  echo "$p"
}

# The settings every test cluster shares (tests/multinode/slurm.sh uses them too, through
# `cluster.sh common-conf DIR`): root daemons, munge on DIR/munge, no cgroups, PMIx, a fast
# scheduler and requeue. DIR holds state/, run/, log/.
common_conf() {
  local dir=$1
  cat <<EOF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=10,socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
KillWait=10
MinJobAge=600
EOF
}

write_conf() {
  local dir=$1 ctld_port slurmd_port node host
  host=$(hostname -s)
  ctld_port=$(free_port "${FS_SLURMCTLD_PORT:-26817}")
  slurmd_port=$(free_port $((ctld_port + 1)))
  # slurmd -C prints this machine's node line (CPUs, sockets, memory); keep only the
  # hardware fields and add the address the daemons talk on.
  node=$(slurmd -C | head -n1 | sed 's/ UpTime=.*//')
  cat >"$dir/etc/slurm.conf" <<EOF
# Written by slurm/cluster.sh for a private test cluster; removed by 'cluster.sh down'.
ClusterName=faceswarm
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmdSpoolDir=$dir/spool
SlurmdPidFile=$dir/run/slurmd.pid
SlurmdLogFile=$dir/log/slurmd.log
$(common_conf "$dir")
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
  local dir=$1 m=$1/munge i
  id munge >/dev/null 2>&1 || die "user 'munge' does not exist; hint: apt-get install munge"
  mkdir -p "$m"
  head -c 1024 /dev/urandom >"$m/munge.key"
  chown -R munge:munge "$m"
  chmod 0755 "$m" # munged wants its socket directory searchable by all
  chmod 0400 "$m/munge.key"
  # Without SLURM_CONF: 'down' finds the cluster's processes by that setting and must not
  # wait for munged, which it stops last, by its pid file.
  env -u SLURM_CONF runuser -u munge -- munged --key-file="$m/munge.key" --socket="$m/munge.socket" \
    --pid-file="$m/munged.pid" --log-file="$m/munged.log" --seed-file="$m/munged.seed" ||
    die "munged did not start; see $m/munged.log"
  for i in $(seq 50); do [ -S "$m/munge.socket" ] && return 0; sleep 0.1; done
  die "munged started but $m/munge.socket did not appear; see $m/munged.log"
}

wait_node_idle() {
  local dir=$1 i state=""
  for i in $(seq 150); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -n1 || true)
    [ "$state" = "idle" ] && return 0
    sleep 0.2
  done
  die "the node is '$state', not idle, after 30 s; see $dir/log/slurmctld.log and $dir/log/slurmd.log"
}

cmd_up() {
  local dir=$1
  have_debs || die "Slurm is not installed; hint: slurm/cluster.sh install"
  [ -e "$dir/run/slurmctld.pid" ] && die "$dir already holds a cluster; hint: slurm/cluster.sh down $dir"
  mkdir -p "$dir"/{etc,state,spool,log,run}
  chmod 0755 "$dir"
  write_conf "$dir"
  export SLURM_CONF=$dir/etc/slurm.conf
  start_munge "$dir"
  slurmctld -c -f "$SLURM_CONF" || die "slurmctld did not start; see $dir/log/slurmctld.log"
  slurmd -f "$SLURM_CONF" || die "slurmd did not start; see $dir/log/slurmd.log"
  wait_node_idle "$dir"
  echo "export SLURM_CONF=$SLURM_CONF"
}

# The parent pid of process $1, from /proc (no fork: this runs for every process).
ppid_of() {
  local stat
  { stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 0
  stat=${stat##*) } # the command name may hold spaces and parentheses
  stat=${stat#* }
  echo "${stat%% *}"
}

# The pids of this script and the processes that started it: they may carry SLURM_CONF
# (a test exports it) and must survive 'down'.
ancestors() {
  local p=$$
  while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    echo "$p"
    p=$(ppid_of "$p")
  done
}

# Processes whose environment holds this cluster's SLURM_CONF: the daemons (started with
# it exported) and everything they launched, but not our own callers. Matching the exact
# setting, not a process name, leaves other people's processes alone.
cluster_pids() {
  local conf=$1 env p skip
  # A forked subshell shows the environment of its parent's exec, hence $BASHPID and the
  # children of the skipped shells.
  skip=" $BASHPID $(ancestors | tr '\n' ' ') "
  for env in /proc/[0-9]*/environ; do
    p=${env#/proc/}; p=${p%/environ}
    [[ "$skip" == *" $p "* || "$skip" == *" $(ppid_of "$p") "* ]] && continue
    grep -qzxF "SLURM_CONF=$conf" "$env" 2>/dev/null && echo "$p"
  done
  return 0
}

# Whether process $1 exists and is not a zombie (an exited process not yet reaped holds nothing).
running() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  { stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Waits up to $2 tenths of a second for the cluster's jobs to be gone.
wait_no_jobs() {
  local conf=$1 i
  for i in $(seq "$2"); do
    [ -z "$(SLURM_CONF=$conf squeue -h -o %i 2>/dev/null)" ] && return 0
    sleep 0.1
  done
}

stop_pidfile() {
  local f=$1 pid
  [ -r "$f" ] || return 0
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
}

cmd_down() {
  local dir=$1 conf=$1/etc/slurm.conf i p pids
  [ -d "$dir" ] || return 0
  unset SLURM_CONF # so that this script's own helpers do not look like cluster processes
  if [ -r "$dir/run/slurmctld.pid" ]; then
    SLURM_CONF=$conf scancel --quiet --full --signal=KILL --user=root 2>/dev/null || true
    SLURM_CONF=$conf scancel --quiet --user=root 2>/dev/null || true
    wait_no_jobs "$conf" 100
  fi
  # The daemons' own pids too: one that is exiting no longer shows its environment, but
  # still runs and may hold its port.
  local daemons
  daemons=$(cat "$dir/run/slurmd.pid" "$dir/run/slurmctld.pid" 2>/dev/null | tr '\n' ' ' || true)
  stop_pidfile "$dir/run/slurmd.pid"
  stop_pidfile "$dir/run/slurmctld.pid"
  for i in $(seq 50); do
    pids=$(cluster_pids "$conf")
    for p in $daemons; do running "$p" && pids="$pids $p"; done
    [ -z "${pids// /}" ] && break
    [ "$i" -eq 30 ] && kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  done
  stop_pidfile "$dir/munge/munged.pid"
  for i in $(seq 50); do
    [ -r "$dir/munge/munged.pid" ] && kill -0 "$(cat "$dir/munge/munged.pid")" 2>/dev/null || break
    sleep 0.1
  done
  pids=$(cluster_pids "$conf")
  for p in $daemons; do running "$p" && pids="$pids $p"; done
  [ -z "${pids// /}" ] || die "processes of the cluster in $dir are still running:$pids"
  rm -f "$dir/run/slurmctld.pid" "$dir/run/slurmd.pid"
}

main() {
  local cmd=${1:-}
  case "$cmd" in
    install) cmd_install ;;
    common-conf) [ $# -eq 2 ] || usage_error "usage: cluster.sh common-conf DIR"; common_conf "$(realpath -m "$2")" ;;
    munge) [ $# -eq 2 ] || usage_error "usage: cluster.sh munge DIR"; start_munge "$(realpath -m "$2")" ;;
    up | down | env)
      local dir
      if [ $# -eq 1 ] && [ "$cmd" != up ]; then
        dir=$(dir_from_conf "$cmd")
      else
        [ $# -eq 2 ] || usage_error "usage: cluster.sh up DIR | down [DIR] | env [DIR]; hint: without DIR, down and env take the cluster SLURM_CONF names"
        dir=$(realpath -m "$2")
      fi
      case "$cmd" in
        up) cmd_up "$dir" ;;
        down) cmd_down "$dir" ;;
        env) echo "export SLURM_CONF=$dir/etc/slurm.conf" ;;
      esac ;;
    *) usage_error "usage: cluster.sh install | up DIR | down [DIR] | env [DIR] | common-conf DIR | munge DIR" ;;
  esac
}

main "$@"
