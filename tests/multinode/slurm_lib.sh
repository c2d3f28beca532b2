# slurm_lib.sh — a two-host Slurm cluster on the virtual hosts (sourced after lib.sh by
# slurm.sh and slurm_nodeloss.sh): slurmctld and munged on node0, one slurmd per host with
# its own node name, address (198.18.0.1, .2) and TmpFS. Every daemon runs inside the hosts,
# so their teardown stops them all; each host has its own network stack, so the fixed ports
# cannot collide with another cluster (no lock needed).
#   slurm_up [SLURMD_TIMEOUT]  SlurmdTimeout (default Slurm's 300 s): how long slurmctld waits
#                              for a silent slurmd before it sets its node DOWN
"$SRC/slurm/cluster.sh" install || exit $?
slurm_up() {
  hosts_up 2
  D=$WORK/slurm
  mkdir -p "$D"/{etc,state,spool/node0,spool/node1,tmp/node0,tmp/node1,log,run,munge}
  chmod 0755 "$D" "$WORK"
  local hw
  hw=$(slurmd -C | head -n 1 | sed 's/ UpTime=.*//; s/^NodeName=[^ ]* //')
  cat > "$D/etc/slurm.conf" <<CONF
# Written by tests/multinode/slurm_lib.sh: a two-host test cluster on virtual hosts.
ClusterName=faceswarm-mn
SlurmctldHost=node0(198.18.0.1)
SlurmctldPort=6817
SlurmdPort=6818
SlurmdSpoolDir=$D/spool/%n
SlurmdPidFile=$D/run/slurmd.%n.pid
SlurmdLogFile=$D/log/slurmd.%n.log
SlurmdTimeout=${1:-300}
# Every host sees the machine's /tmp: each slurmd gets its own TmpFS (PMIx makes its per-job
# directories there) through a copy of this file; the copies differ in that line only.
DebugFlags=NO_CONF_HASH
TmpFS=@TMPFS@
$("$SRC/slurm/cluster.sh" common-conf "$D")
NodeName=node0 NodeAddr=198.18.0.1 $hw State=UNKNOWN
NodeName=node1 NodeAddr=198.18.0.2 $hw State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  local k
  for k in 0 1; do mkdir -p "$D/etc/node$k"; sed "s|@TMPFS@|$D/tmp/node$k|" "$D/etc/slurm.conf" > "$D/etc/node$k/slurm.conf"; done
  export SLURM_CONF=$D/etc/node0/slurm.conf
  on 0 "$SRC/slurm/cluster.sh" munge "$D" || fail "munged did not start: $(cat "$D/munge/munged.log")"
  on 0 slurmctld -c -f "$SLURM_CONF" || fail "slurmctld: $(tail "$D/log/slurmctld.log")"
  on 0 slurmd -N node0 -f "$SLURM_CONF" || fail "slurmd node0: $(tail "$D/log/slurmd.node0.log")"
  on 1 slurmd -N node1 -f "$D/etc/node1/slurm.conf" || fail "slurmd node1: $(tail "$D/log/slurmd.node1.log")"
  for _ in $(seq 150); do
    [ "$(on 0 sinfo -h -N -o '%N %T' 2>/dev/null | tr '\n' ' ')" = "node0 idle node1 idle " ] && break
    sleep 0.2
  done
  [ "$(on 0 sinfo -h -N -o '%N %T' | tr '\n' ' ')" = "node0 idle node1 idle " ] || fail "nodes: $(on 0 sinfo -N)"
}

job_state() { on 0 scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
job_field() { on 0 scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }
wait_state() { # JOB REGEX SECONDS
  local s=""
  for _ in $(seq $(($3 * 5))); do s=$(job_state "$1"); [[ "$s" =~ ^($2)$ ]] && return 0; sleep 0.2; done
  fail "job $1 is '$s' after $3 s; expected $2; $(tail -n 20 run/slurm-"$1".out 2>/dev/null)"
}
steps() { sed -n 's/.*"step":\([0-9]*\),.*/\1/p' run/metrics.jsonl; }
submitted_job() { sed -n 's/^submitted job \([0-9]*\).*/\1/p' "$1"; }
