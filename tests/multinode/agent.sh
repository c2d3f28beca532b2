#!/bin/bash
# agent.sh STATE HOST CMD... — Open MPI's rsh agent for the virtual hosts (hosts.sh):
# `mpirun --mca plm_rsh_agent "agent.sh STATE"` calls it as it would call `ssh HOST CMD`
# to start its daemon (orted) on HOST. It enters that host's network, UTS and mount
# namespaces and runs CMD through a shell there, as sshd would.
set -u
state=$1 host=$2
shift 2
[ $# -ge 1 ] || { echo "agent.sh: no command for $host" >&2; exit 255; }
pid=$(cat "$state/pid.$host" 2>/dev/null) || { echo "agent.sh: no virtual host '$host' in $state" >&2; exit 255; }
exec nsenter -t "$pid" -n -u -m -- /bin/sh -c "$*"
