#!/bin/bash
# holder.sh STATE NAME HOSTNAME OWNER — keeps one virtual host's namespaces alive.
# hosts.sh starts it under `unshare --net --uts --mount` (mount propagation private), so it
# runs in fresh namespaces: it names the host, gives it its own /dev/shm and /etc/hosts
# (HOSTNAME "-" = the switch: network namespace only), reports ready, then waits. It ends
# when STATE/NAME.stop appears or when the OWNER process (0 = none) is gone; either way it
# first kills every other process in its network namespace, so a test killed with SIGKILL
# leaves no host behind: once its last process is gone a namespace is freed by the kernel,
# and the veth links and bridge in it with it.
set -u
state=$1 name=$2 host=$3 owner=$4
if [ "$host" != - ]; then
  hostname "$host" || exit 1
  mount -t tmpfs -o mode=1777,size=4g "shm-$host" /dev/shm || exit 1
  mount --bind "$state/hosts" /etc/hosts || exit 1
fi
# IPv6 off: the links carry only their 198.18.0.0/24 addresses (no link-local fe80::).
for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do
  [ -w "$f" ] && echo 1 >"$f"
done
ip link set lo up || exit 1
: > "$state/$name.ready"

mine=$(readlink /proc/$$/ns/net)
others() { # pids in this network namespace other than this shell and its children
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = $$ ] && continue
    [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$mine" ] || continue
    [ "$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)" = $$ ] && continue # our own sleep
    echo "$p"
  done
}
while [ ! -e "$state/$name.stop" ]; do
  if [ "$owner" != 0 ] && ! kill -0 "$owner" 2>/dev/null; then break; fi
  sleep 0.5
done
for _ in 1 2 3 4 5 6 7 8 9 10; do
  pids=$(others)
  [ -z "$pids" ] && break
  kill -KILL $pids 2>/dev/null
  sleep 0.2
done
# The switch outlives the hosts' holders briefly and, when the owner is gone (nobody will
# run `hosts.sh down`), removes the state directory once they have exited.
if [ "$host" = - ] && [ ! -e "$state/$name.stop" ]; then
  for _ in $(seq 50); do
    alive=0
    for f in "$state"/h*.pid; do [ -e "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  [ $alive = 0 ] && case "$state" in /tmp/faceswarm-mn.*) rm -rf "$state";; esac
fi
exit 0
