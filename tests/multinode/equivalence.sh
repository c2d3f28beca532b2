#!/usr/bin/env bash
# 2 hosts x 2 ranks train to the same losses and parameters as 1 host x 4 ranks (and as one
# rank), within the tolerance of tests/train/mpi_equivalence.sh (which justifies it: Adam eps
# 1e-3, losses within 1e-5 relative per step, parameters within 1e-5 relative L2 after 10
# steps; a different run is > 1e-2 away). On two hosts the gradient all-reduce sums in each
# host's shared memory and MPI (TCP over the links) between the hosts; the header says so.
source "$(dirname "$0")/lib.sh"
TINY=$SRC/tests/train/tiny.yaml
make_data 40
hosts_up 2
common=(--set train.steps=10 --set checkpoint.every=5 --set train.preview_every=0 --set comms.check_every=2
        --set train.eps=1e-3)
on 0 "$FS" train "$TINY" "${common[@]}" --set run.dir=p1 > p1.txt
mpi_on 0 --host node0:4 -np 4 "$FS" train "$TINY" "${common[@]}" --set run.dir=one_host > one_host.txt
mpi_on 0 --host node0:2,node1:2 -np 4 "$FS" train "$TINY" "${common[@]}" --set run.dir=two_hosts > two_hosts.txt

grep -q '^# world size 4 (node0 x4)' one_host.txt || fail "1 x 4: $(grep '^# world' one_host.txt)"
grep -q '^# world size 4 (node0 x2, node1 x2)' two_hosts.txt || fail "2 x 2: $(grep '^# world' two_hosts.txt)"
grep -q '^# gradient all-reduce: shared memory, 4 ranks per node (one node)' one_host.txt ||
  fail "1 x 4 path: $(grep 'all-reduce' one_host.txt)"
grep -q '^# gradient all-reduce: shared memory, 2 ranks per node x 2 nodes (inside a node; MPI_Iallreduce between nodes)' two_hosts.txt ||
  fail "2 x 2 path: $(grep 'all-reduce' two_hosts.txt)"
grep 'all-reduce' two_hosts.txt

close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a; exit !(d <= t * s + 1e-12) }'; }
rel_l2() { "$FS" checkpoint diff "$1" "$2" | awk '$1 == "rel_l2_diff" { print $2 }'; }
for ref in one_host p1; do
  for s in 1 2 5 10; do
    a=$(metric $ref/metrics.jsonl $s loss) b=$(metric two_hosts/metrics.jsonl $s loss)
    [ -n "$a" ] && [ -n "$b" ] || fail "step $s: no loss in $ref or two_hosts metrics"
    close "$a" "$b" 1e-5 || fail "step $s: loss $b on 2 x 2 vs $a on $ref"
  done
  d=$(rel_l2 $ref/checkpoints/ckpt-0000000010.h5 two_hosts/checkpoints/ckpt-0000000010.h5)
  echo "2 x 2 vs $ref: params rel L2 distance after 10 steps: $d"
  awk -v d="$d" 'BEGIN { exit !(d < 1e-5) }' || fail "2 x 2 parameters drifted from $ref: $d"
done
grep -q '"world_size":4' two_hosts/metrics.jsonl || fail "2 x 2 metrics lack world_size 4"
# The hosts' shared memory is gone with the runs (the region is unlinked at start).
for k in 0 1; do [ -z "$(on $k ls /dev/shm)" ] || fail "node$k's /dev/shm holds: $(on $k ls /dev/shm)"; done
echo PASS
