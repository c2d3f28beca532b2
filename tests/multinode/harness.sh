#!/usr/bin/env bash
# The harness itself: hosts with their own hostname, /dev/shm and address, reachable only
# over their links; Open MPI launched across them through the agent, ranks placed per host;
# tc shaping takes effect; a killed owner leaves nothing; teardown leaves nothing.
source "$(dirname "$0")/lib.sh"
ns_count() { for p in /proc/[0-9]*; do readlink "$p/ns/net" 2>/dev/null || true; done | sort -u | wc -l; }
ns_before=$(ns_count)
hosts_up 2
[ "$(on 0 hostname)" = node0 ] && [ "$(on 1 hostname)" = node1 ] || fail "hostnames: $(on 0 hostname) $(on 1 hostname)"
[ "$(on 1 ip -4 -o addr show dev eth0 | awk '{print $4}')" = 198.18.0.2/24 ] || fail "node1's address: $(on 1 ip -o addr)"
# Only lo and eth0, only 198.18.0.0/24, no route beyond it (nothing leaves the links).
[ "$(on 1 ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | tr '\n' ' ')" = "lo eth0 " ] || fail "node1's links: $(on 1 ip -o link)"
[ "$(on 1 ip -o addr | awk '$2 != "lo" {print $4}' | tr '\n' ' ')" = "198.18.0.2/24 " ] || fail "node1's addresses: $(on 1 ip -o addr)"
[ "$(on 1 ip route | wc -l)" -eq 1 ] || fail "node1 has routes beyond its link: $(on 1 ip route)"
# Its own /dev/shm: a file made on node0 is not seen on node1, nor on the machine.
on 0 sh -c 'echo x > /dev/shm/fs-mn-probe'
on 1 test ! -e /dev/shm/fs-mn-probe || fail "node1 sees node0's /dev/shm"
[ ! -e /dev/shm/fs-mn-probe ] || fail "the machine sees node0's /dev/shm"
on 0 rm /dev/shm/fs-mn-probe
# Names resolve on every host (its /etc/hosts); the machine's own hostname is untouched.
on 1 getent hosts node0 | grep -q '^198\.18\.0\.1 ' || fail "node1 cannot resolve node0"
[ "$(hostname)" != node0 ] || fail "the machine's hostname changed"

# Open MPI across the hosts: 2 ranks per host, local ranks per host, TCP between them.
mpi_on 0 --host node0:2,node1:2 -np 4 sh -c 'echo "$OMPI_COMM_WORLD_RANK $(hostname) $OMPI_COMM_WORLD_LOCAL_RANK"' | sort > place.txt
printf '0 node0 0\n1 node0 1\n2 node1 0\n3 node1 1\n' | diff - place.txt || fail "rank placement (rank host local_rank) above"
mpi_on 0 --host node0:1,node1:1 -np 2 "$FS" bench allreduce --min 1M --max 1M --iters 2 --layers 2 > bench.txt 2>&1 ||
  fail "bench allreduce across hosts: $(cat bench.txt)"
grep -q '^# hosts: node0 x1, node1 x1$' bench.txt || fail "ranks not on both hosts: $(grep hosts bench.txt)"
grep -q '^# wrong 0' bench.txt || fail "bench allreduce across hosts: $(tail bench.txt)"

# Shaping. Rate: 2 MB through a 100 Mbit/s tbf take >= 0.15 s (0.168 at the rate), far
# longer than unshaped. The receiver on node1 times first byte to end of stream.
xfer() {
  on 1 perl -MTime::HiRes=time -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "198.18.0.2:5001", Listen => 1, ReuseAddr => 1) or die; print "ready\n"; $| = 1; $c = $s->accept; sysread($c, $b, 1); $t = time; $n = 1; while (($k = sysread($c, $b, 1 << 16)) > 0) { $n += $k } printf "%d %.6f\n", $n, time - $t' > xfer.out &
  local rx=$!
  for _ in $(seq 50); do grep -q ready xfer.out 2>/dev/null && break; sleep 0.1; done
  on 0 perl -MIO::Socket::INET -e '$c = IO::Socket::INET->new(PeerAddr => "198.18.0.2:5001") or die "connect: $!"; print $c "x" x (2 << 20); close $c'
  wait "$rx"
  read -r bytes secs < <(tail -n 1 xfer.out)
  [ "$bytes" -eq $((2 << 20)) ] || fail "transfer: $bytes bytes received of $((2 << 20))"
  echo "$secs"
}
shape_both() { "$MN" shape "$STATE" 0 "$1" "$2" && "$MN" shape "$STATE" 1 "$1" "$2"; }
shape_both 100mbit 0
slow=$(xfer)
shape_both 0 0
fast=$(xfer)
echo "2 MB from node0 to node1: $slow s at 100 Mbit/s, $fast s unshaped"
awk -v t="$slow" -v f="$fast" 'BEGIN { exit !(t >= 0.15 && t > 2 * f) }' || fail "tbf at 100 Mbit/s: 2 MB in $slow s (unshaped $fast s)"
# Delay, by netem or (a kernel without it) delaylink: host 1's link delayed D each way makes a
# round trip from host 0 (a connection attempt: SYN out, RST back; the least of 20) take at
# least 2D, and at most 2D + what the element itself adds (measured with a 1 us delay) + a
# scheduling margin; shaping off removes it (no delaylink, no tap, port 1 in the bridge again).
rtt() { on 0 perl -MTime::HiRes=time -MIO::Socket::INET -e 'for (1 .. 20) { $t = time;
  IO::Socket::INET->new(PeerAddr => "198.18.0.2:9", Timeout => 2); $d = time - $t; $m = $d if !defined $m || $d < $m }
  printf "%.6f\n", $m'; }
sw_ns() { nsenter -t "$(cat "$STATE/switch.pid")" -n "$@"; }
delaylinks() { pgrep -f -- "--ready $1/delay" || true; }
if kind=$("$MN" delay "$STATE"); then
  plain=$(rtt)
  "$MN" shape "$STATE" 1 0 1us
  zero=$(rtt)
  D=0.001
  "$MN" shape "$STATE" 1 0 1ms
  slow=$(rtt)
  if [ "$kind" = delaylink ]; then
    [ -n "$(delaylinks "$STATE")" ] || fail "no delaylink runs for host 1"
    sw_ns ip -o link show master br0 | grep -q ' dl1:' || fail "tap dl1 is not in the bridge: $(sw_ns ip -o link)"
  fi
  "$MN" shape "$STATE" 1 0 0
  after=$(rtt)
  echo "round trip ($kind): $plain s plain, $zero s through a 1 us delay, $slow s with 1 ms on host 1's link, $after s after"
  awk -v p="$plain" -v z="$zero" -v t="$slow" -v d="$D" 'BEGIN { m = (z > p ? z - p : 0) + 0.003
    exit !(t >= 2 * d && t <= 2 * d + p + m) }' || fail "with 1 ms each way on host 1's link a round trip took $slow s; expected [0.002, 0.002 + $plain + the element's $zero - $plain + 0.003]"
  awk -v a="$after" -v d="$D" 'BEGIN { exit !(a < 2 * d) }' || fail "the delay stayed after shaping off: $after s"
  [ -z "$(delaylinks "$STATE")" ] || fail "delaylink still runs after shaping off: $(delaylinks "$STATE")"
  ! sw_ns ip link show dl1 >/dev/null 2>&1 || fail "tap dl1 is left after shaping off"
  sw_ns ip -o link show master br0 | grep -q ' port1@' || fail "port1 is not back in the bridge: $(sw_ns ip -o link)"
  # Rate and delay together, on both hosts (what slow_links does); left on for the cut below
  # and the teardown, which must remove it.
  shape_both 1gbit 0.5ms
  two=$(rtt)
  awk -v t="$two" 'BEGIN { exit !(t >= 0.002) }' || fail "0.5 ms on each of two links: a round trip took $two s (< 2 ms)"
  [ "$kind" != delaylink ] || [ "$(delaylinks "$STATE" | wc -l)" -eq 2 ] || fail "not one delaylink per host: $(delaylinks "$STATE")"
else
  echo "NOTE: neither netem (CONFIG_NET_SCH_NETEM) nor delaylink (FS_DELAYLINK) here: delays are not tested"
  set +e
  "$MN" shape "$STATE" 0 1gbit 1ms 2> shape.err
  rc=$?
  set -e
  [ "$rc" -eq 3 ] && grep -q netem shape.err || fail "a delay without netem: exit $rc, $(cat shape.err)"
fi
# A cut link: node1 is unreachable, then reachable again.
answers() { local out; out=$(on 0 timeout 2 bash -c 'echo > /dev/tcp/198.18.0.2/9' 2>&1) || true; [[ "$out" == *refused* ]]; }
answers || fail "node1 does not answer before the cut"
"$MN" cut "$STATE" 1
if answers; then fail "node1 answered over a cut link"; fi
"$MN" mend "$STATE" 1
for i in $(seq 30); do
  answers && break
  [ "$i" -lt 30 ] || fail "node1 unreachable 3 s after mend"
  sleep 0.1
done

# Teardown leaves nothing: processes, namespaces, state.
on 1 sleep 300 &
sleeper=$!
sleep 0.3
"$MN" down "$STATE"
gone=$STATE
STATE=""
wait "$sleeper" 2>/dev/null || true
[ ! -e "$gone" ] || fail "$gone is left"
pgrep -f "holder.sh $gone" >/dev/null && fail "holders of $gone are left"
[ -z "$(delaylinks "$gone")" ] || fail "delaylink processes of $gone are left: $(delaylinks "$gone")"

# A test killed with SIGKILL: its hosts go by themselves (the holders watch their owner).
bash -c 'sleep 30' &
owner=$!
other=$("$MN" up 2 --owner "$owner")
"$MN" exec "$other" 1 sleep 300 &
"$MN" delay "$other" >/dev/null && "$MN" shape "$other" 1 0 0.5ms
sleep 0.3
kill -KILL "$owner"
for _ in $(seq 100); do [ -e "$other" ] || break; sleep 0.1; done
[ ! -e "$other" ] || fail "hosts of a killed owner are left: $other"
pgrep -f "holder.sh $other" >/dev/null && fail "holders of a killed owner are left"
[ -z "$(delaylinks "$other")" ] || fail "delaylink of a killed owner is left: $(delaylinks "$other")"
ns_after=$(ns_count)
[ "$ns_after" -le "$ns_before" ] || fail "$ns_before network namespaces in use before, $ns_after after"
echo "network namespaces in use: $ns_before before, $ns_after after"
echo PASS
