#!/bin/bash
# hosts.sh — virtual hosts on one Linux machine for faceswarm's multinode tests (root only).
# Each host is a network + UTS + mount namespace (own hostname node<k>, own /dev/shm, own
# /etc/hosts naming every host), held by holder.sh; each is linked to a bridge by a veth pair.
# The bridge lives in a "switch" namespace of its own, so the machine's own network stack
# is not touched at all: no interface, address or route is added outside the namespaces.
# Host k has 198.18.0.<k+1>/24 (RFC 2544 benchmark range) on its only link, and no route
# beyond that subnet. docs/multinode.md tells how to use it by hand.
#
#   hosts.sh up N [--owner PID]   make N hosts; prints the state directory (STATE). With an
#                                 owner, the hosts disappear by themselves once it has exited.
#   hosts.sh down STATE           kill every process on the hosts and remove them
#   hosts.sh exec STATE K CMD...  run CMD on host K (as `ssh nodeK CMD` would)
#   hosts.sh shell STATE K        an interactive shell on host K
#   hosts.sh mpirun STATE K ARGS  mpirun on host K, launching through agent.sh over the links;
#                                 TCP keepalive on its daemons' links (2 s idle, 3 probes of 1 s):
#                                 a cut host is found lost in about 5 s
#   hosts.sh shape STATE K RATE DELAY   both directions of host K's link: tbf RATE (e.g. 10gbit,
#                                 or 0 for none) and DELAY (e.g. 0.25ms, 50us, or 0) each way;
#                                 a packet between two hosts crosses two links and sees both
#                                 hosts' delays. The delay is netem's where the kernel has it, else
#                                 delaylink's (a userspace element, delaylink.c, named by
#                                 $FS_DELAYLINK; FS_MN_DELAY=delaylink picks it also beside netem);
#                                 exit 3 if a delay is asked for and neither can make it
#   hosts.sh delay STATE          print what makes delays here (netem or delaylink); exit 1 if none
#   hosts.sh cut STATE K | mend STATE K   take host K's link down / up again
#   hosts.sh kill STATE K         kill every process of host K (the host stays, empty)
#   hosts.sh netem STATE          exit 0 if this kernel can delay packets (netem), else 1
#   hosts.sh clean                remove what runs left whose owner is gone (stale state)
#   hosts.sh check                exit 0 if namespaces work here, else say why and exit 77
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PREFIX=/tmp/faceswarm-mn.
SUBNET=198.18.0.0/24
DELAYLINK=${FS_DELAYLINK:-}

die() { echo "hosts.sh: $*" >&2; exit 1; }

# The holder's pid, but only if that process is still this state's holder (a recycled pid of
# an unrelated process must never be treated as one: teardown kills by namespace).
holder_pid() { # STATE NAME
  local p
  p=$(cat "$1/$2.pid" 2>/dev/null) || return 1
  tr "\\0" " " 2>/dev/null <"/proc/$p/cmdline" | grep -qF "holder.sh $1 $2 " || return 1
  [ "$(readlink "/proc/$p/ns/net")" != "$(readlink /proc/self/ns/net)" ] || return 1
  echo "$p"
}
host_pid() { # STATE K -> holder pid of host K
  holder_pid "$1" "h$2" || die "no host $2 in ${1}: is it up? (hosts.sh up N)"
}

check() {
  if [ "$(id -u)" -ne 0 ]; then echo "SKIP: the multinode harness needs root (network namespaces)"; exit 77; fi
  local tool
  for tool in unshare nsenter ip tc pgrep perl; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not found (packages util-linux, iproute2, procps, perl)"; exit 77; }
  done
  if ! unshare --net --uts --mount true 2>/dev/null; then
    echo "SKIP: cannot create network/UTS/mount namespaces here (unshare failed: a container without CAP_SYS_ADMIN?)"
    exit 77
  fi
  if ! unshare --net sh -c 'ip link add fsmt0 type veth peer name fsmt1 && ip link add fsmtb type bridge' 2>/dev/null; then
    echo "SKIP: cannot create veth pairs or a bridge in a network namespace (kernel modules veth/bridge?)"
    exit 77
  fi
}

start_holder() { # STATE NAME HOSTNAME OWNER
  unshare --net --uts --mount --propagation private "$HERE/holder.sh" "$1" "$2" "$3" "$4" </dev/null \
    >>"$1/$2.log" 2>&1 &
  echo $! >"$1/$2.pid"
  local i
  for i in $(seq 100); do
    [ -e "$1/$2.ready" ] && return 0
    kill -0 "$(cat "$1/$2.pid")" 2>/dev/null || break
    sleep 0.05
  done
  die "host $2 did not start: $(cat "$1/$2.log")"
}

up() {
  local n=$1 owner=0
  shift
  [ "${1:-}" = --owner ] && owner=$2
  [[ "$n" =~ ^[1-9][0-9]?$ ]] && [ "$n" -le 200 ] || die "up: N = '$n'; expected 1..200 hosts"
  local state k sw
  state=$(mktemp -d "${PREFIX}XXXXXX") || die "cannot create a state directory under /tmp"
  chmod 755 "$state"
  echo "$owner" >"$state/owner"
  echo "$n" >"$state/n"
  { echo "127.0.0.1 localhost"; for k in $(seq 0 $((n - 1))); do echo "198.18.0.$((k + 1)) node$k"; done; } >"$state/hosts"
  start_holder "$state" switch - "$owner" || { down "$state"; exit 1; }
  sw=$(holder_pid "$state" switch)
  nsenter -t "$sw" -n sh -c 'ip link add br0 type bridge && ip link set br0 up' || { down "$state"; die "cannot create the bridge"; }
  for k in $(seq 0 $((n - 1))); do
    start_holder "$state" "h$k" "node$k" "$owner" || { down "$state"; exit 1; }
    local hp
    hp=$(holder_pid "$state" "h$k")
    echo "$hp" >"$state/pid.node$k"
    echo "$hp" >"$state/pid.198.18.0.$((k + 1))"
    nsenter -t "$sw" -n sh -c "ip link add port$k type veth peer name eth0 netns $hp &&
        ip link set port$k master br0 && ip link set port$k up" || { down "$state"; die "cannot link host $k"; }
    nsenter -t "$hp" -n sh -c "ip addr add 198.18.0.$((k + 1))/24 dev eth0 && ip link set eth0 up" ||
      { down "$state"; die "cannot address host $k"; }
  done
  # Every host answers before the state is handed out (the bridge learns in a few ms).
  for k in $(seq 1 $((n - 1))); do
    reachable "$(holder_pid "$state" h0)" "198.18.0.$((k + 1))" ||
      { down "$state"; die "host 0 cannot reach host $k over the bridge"; }
  done
  echo "$state"
}

# A TCP connection attempt to a closed port: "refused" means the host answered.
reachable() { # PID ADDRESS
  local out
  out=$(nsenter -t "$1" -n timeout 3 bash -c "echo >/dev/tcp/$2/9" 2>&1) && return 0
  [[ "$out" == *refused* ]]
}

# Kills every process in the network namespace of holder pid $1, then the holder.
empty_ns() { # HOLDER_PID [keep-holder]
  local ns p i pids
  ns=$(readlink "/proc/$1/ns/net") || return 0
  [ "$ns" != "$(readlink /proc/self/ns/net)" ] || return 0
  for i in $(seq 20); do
    pids=""
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$ns" ] || continue
      if [ -n "${2:-}" ]; then
        [ "$p" = "$1" ] && continue
        [ "$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)" = "$1" ] && continue
      fi
      pids+=" $p"
    done
    [ -z "$pids" ] && return 0
    kill -KILL $pids 2>/dev/null
    sleep 0.1
  done
  echo "hosts.sh: processes$pids survived SIGKILL" >&2
  return 1
}

down() {
  local state=$1 f name hp rc=0
  case "$state" in "$PREFIX"*) ;; *) die "down: '$state' is not a state directory of hosts.sh (${PREFIX}*)";; esac
  [ -d "$state" ] || return 0
  for f in "$state"/h*.pid "$state"/switch.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    hp=$(holder_pid "$state" "$name") || continue
    empty_ns "$hp" || rc=1
  done
  rm -rf "$state"
  return $rc
}

clean() {
  local state owner
  for state in "$PREFIX"*; do
    [ -d "$state" ] || continue
    owner=$(cat "$state/owner" 2>/dev/null || echo 1)
    [ "$owner" = 0 ] && continue                 # made by hand: `hosts.sh down` it
    kill -0 "$owner" 2>/dev/null && continue      # its test still runs
    echo "hosts.sh: removing stale $state (owner $owner is gone)" >&2
    down "$state"
  done
}

shape() { # STATE K RATE DELAY
  local sw hp pid dev bits burst pid_dev
  sw=$(holder_pid "$1" switch) || die "no switch in $1"
  hp=$(host_pid "$1" "$2")
  if [ "$3" != 0 ]; then
    bits=$(rate_bits "$3") || die "shape: rate '$3'; expected e.g. 10gbit, 25gbit, 800mbit, or 0 for none"
    # burst: 1 ms at the rate (at least 64 KB), so that the bucket does not starve a fast link
    burst=$((bits / 8 / 1000))
    [ "$burst" -lt 65536 ] && burst=65536
  fi
  local kind=none
  if [ "$4" != 0 ] && [ "$4" != 0ms ]; then
    kind=$(delay_kind "$sw") || {
      echo "hosts.sh: shape: a delay needs the kernel's netem qdisc (CONFIG_NET_SCH_NETEM), which this kernel lacks," \
        "or delaylink (FS_DELAYLINK='${DELAYLINK}' is not an executable; build it: cmake --build build --target delaylink)" >&2
      return 3
    }
  fi
  undelay "$1" "$2" "$sw" || return 1
  if [ "$kind" = delaylink ]; then
    insert_delay "$1" "$2" "$sw" "$4" || return 1
  fi
  for pid_dev in "$hp eth0" "$sw port$2"; do
    read -r pid dev <<<"$pid_dev"
    nsenter -t "$pid" -n tc qdisc del dev "$dev" root 2>/dev/null
    if [ "$kind" = netem ]; then
      nsenter -t "$pid" -n tc qdisc add dev "$dev" root handle 1: netem delay "$4" limit 100000 || return 1
      [ "$3" = 0 ] || nsenter -t "$pid" -n tc qdisc add dev "$dev" parent 1:1 handle 10: tbf rate "$3" burst "$burst" latency 50ms || return 1
    elif [ "$3" != 0 ]; then
      nsenter -t "$pid" -n tc qdisc add dev "$dev" root handle 1: tbf rate "$3" burst "$burst" latency 50ms || return 1
    fi
  done
}
# What delays packets here: netem, else delaylink (FS_MN_DELAY=delaylink prefers it); none: 1.
delay_kind() { # SWITCH_PID
  if [ "${FS_MN_DELAY:-}" != delaylink ] && has_netem "$1"; then echo netem; return 0; fi
  [ -n "$DELAYLINK" ] && [ -x "$DELAYLINK" ] && [ -c /dev/net/tun ] || return 1
  echo delaylink
}
# delaylink between host K's veth end in the switch (port K, taken out of the bridge) and a
# tap dlK that takes its place in the bridge: every frame to and from host K crosses it. It
# runs in the switch's network namespace, so teardown (and a holder whose owner is gone) kills
# it with the switch, and the tap goes with its process.
insert_delay() { # STATE K SWITCH_PID DELAY
  local st=$1 k=$2 sw=$3 i
  nsenter -t "$sw" -n ip link set "port$k" nomaster || return 1
  nsenter -t "$sw" -n "$DELAYLINK" --packet "port$k" --tap "dl$k" --delay "$4" --ready "$st/delay$k.ready" \
    </dev/null >>"$st/delay$k.log" 2>&1 &
  for i in $(seq 100); do
    [ -s "$st/delay$k.ready" ] && break
    kill -0 $! 2>/dev/null || break
    sleep 0.05
  done
  if [ ! -s "$st/delay$k.ready" ]; then # e.g. a DELAY it cannot read: host K keeps its plain link
    echo "hosts.sh: delaylink for host $k did not start: $(tail -3 "$st/delay$k.log")" >&2
    nsenter -t "$sw" -n ip link set "port$k" master br0
    return 1
  fi
  cp "$st/delay$k.ready" "$st/delay$k.pid"
  nsenter -t "$sw" -n sh -c "ip link set dl$k master br0 && ip link set dl$k up"
}
# Removes host K's delaylink (if any) and puts port K back into the bridge.
undelay() { # STATE K SWITCH_PID
  local st=$1 k=$2 sw=$3 p i
  [ -e "$st/delay$k.pid" ] || return 0
  p=$(cat "$st/delay$k.pid")
  if tr "\\0" " " 2>/dev/null <"/proc/$p/cmdline" | grep -qF -- "--ready $st/delay$k.ready"; then
    kill -TERM "$p"
    for i in $(seq 50); do [ -e "/proc/$p" ] || break; sleep 0.05; done
    [ -e "/proc/$p" ] && kill -KILL "$p"
  fi
  for i in $(seq 50); do nsenter -t "$sw" -n ip link show "dl$k" >/dev/null 2>&1 || break; sleep 0.05; done
  rm -f "$st/delay$k.pid" "$st/delay$k.ready"
  nsenter -t "$sw" -n sh -c "ip link set port$k master br0 && ip link set port$k up"
}
# netem is a module many kernels have and some (minimal VM kernels) do not.
has_netem() { # PID of a namespace to try it in (on its lo, removed at once)
  nsenter -t "$1" -n tc qdisc add dev lo root handle 1: netem delay 0ms 2>/dev/null || return 1
  nsenter -t "$1" -n tc qdisc del dev lo root
}
rate_bits() {
  local v=${1,,}
  case "$v" in
    *gbit) echo $(( ${v%gbit} * 1000000000 ));;
    *mbit) echo $(( ${v%mbit} * 1000000 ));;
    *) return 1;;
  esac
}

cmd=${1:-}
shift || true
case "$cmd" in
  check) check ;;
  netem) [ $# -eq 1 ] || die "usage: hosts.sh netem STATE"; has_netem "$(holder_pid "$1" switch)" ;;
  delay) [ $# -eq 1 ] || die "usage: hosts.sh delay STATE"; delay_kind "$(holder_pid "$1" switch)" ;;
  up) [ $# -ge 1 ] || die "usage: hosts.sh up N [--owner PID]"; up "$@" ;;
  down) [ $# -eq 1 ] || die "usage: hosts.sh down STATE"; down "$1" ;;
  exec) [ $# -ge 3 ] || die "usage: hosts.sh exec STATE K CMD..."; hp=$(host_pid "$1" "$2"); shift 2
        exec nsenter -t "$hp" -n -u -m --wd="$PWD" -- "$@" ;;
  shell) [ $# -eq 2 ] || die "usage: hosts.sh shell STATE K"; hp=$(host_pid "$1" "$2")
         exec nsenter -t "$hp" -n -u -m --wd="$PWD" -- env PS1="[node$2 \\w]# " bash --norc -i ;;
  mpirun) [ $# -ge 2 ] || die "usage: hosts.sh mpirun STATE K ARGS..."; hp=$(host_pid "$1" "$2"); st=$1; shift 2
          exec nsenter -t "$hp" -n -u -m --wd="$PWD" -- mpirun --mca plm_rsh_agent "$HERE/agent.sh $st" \
            --mca btl tcp,vader,self --mca btl_tcp_if_include "$SUBNET" --mca oob_tcp_if_include "$SUBNET" \
            --mca oob_tcp_keepalive_time 2 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3 "$@" ;;
  shape) [ $# -eq 4 ] || die "usage: hosts.sh shape STATE K RATE DELAY"; shape "$@" ;;
  cut) [ $# -eq 2 ] || die "usage: hosts.sh cut STATE K"; nsenter -t "$(holder_pid "$1" switch)" -n ip link set "port$2" down ;;
  mend) [ $# -eq 2 ] || die "usage: hosts.sh mend STATE K"; nsenter -t "$(holder_pid "$1" switch)" -n ip link set "port$2" up ;;
  kill) [ $# -eq 2 ] || die "usage: hosts.sh kill STATE K"; empty_ns "$(host_pid "$1" "$2")" keep-holder ;;
  clean) clean ;;
  *) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; [ -z "$cmd" ] || [ "$cmd" = help ] || exit 2 ;;
esac
