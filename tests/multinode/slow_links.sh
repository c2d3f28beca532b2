#!/usr/bin/env bash
# Slow links: `bench allreduce` and `bench train` between 2 hosts (1 rank each, MPI over TCP
# on the link) with the link shaped by tc to 10 and 25 Gbit/s, and at 10 Gbit/s also with 0.1 and
# 1 ms one-way delay between the hosts: by netem, or where the kernel lacks it by delaylink
# (tests/multinode/delaylink.c, in userspace: those rows are bounded by its own rate).
# Prints a table of busbw and of the exposed communication time as a fraction of the step,
# with and without the bucket overlap. Asserts the figures' structure and sanity (every
# row present, sums exact, bandwidths positive and below the link's rate, fractions in
# [0, 1], loss fell), not speed: the machine's load decides the speed.
#   FS_MN_BENCH_CONFIG  bench train's model (default tests/train/tiny.yaml; docs/allreduce.md
#                       quotes configs/quickstart.yaml)
#   FS_MN_BENCH_BUCKET_MB  its buckets when they overlap the backward pass (default 0.04: about 9
#                       for tiny's 90,182 parameters; the docs use 1 for quickstart's 1.8 M)
#   FS_MN_BENCH_MAX     bench allreduce's largest buffer (default 2M; the docs quote 64M)
#   FS_MN_BENCH_ITERS   its iterations per size (default 2; the docs 5)
#   FS_MN_BENCH_STEPS   bench train's steps (default 2; the docs 3)
#   FS_MN_BENCH_LINKS   the link rates (default "10gbit 25gbit"; the docs add 0, unshaped, first)
#   FS_MN_BENCH_DELAY_LINKS  the rates that also get the delayed rows (default 10gbit)
source "$(dirname "$0")/lib.sh"
CFG=${FS_MN_BENCH_CONFIG:-$SRC/tests/train/tiny.yaml}
MAX=${FS_MN_BENCH_MAX:-2M}
small=${FS_MN_BENCH_BUCKET_MB:-0.04}
ITERS=${FS_MN_BENCH_ITERS:-2}
STEPS=${FS_MN_BENCH_STEPS:-2}
read -r -a LINKS <<<"${FS_MN_BENCH_LINKS:-10gbit 25gbit}"
hosts_up 2
read -r -a DLINKS <<<"${FS_MN_BENCH_DELAY_LINKS:-10gbit}"
delays=(0)
if kind=$("$MN" delay "$STATE"); then
  delays=(0 0.05ms 0.5ms) # per link; two links between two hosts
  [ "$kind" = netem ] || echo "NOTE: delays by delaylink (no netem in this kernel): the rows with a delay are bounded by its rate in userspace"
else echo "NOTE: no netem (CONFIG_NET_SCH_NETEM) and no delaylink (FS_DELAYLINK): the links are shaped in rate only, without delay"; fi

# bench train's model with small buckets (the all-reduce overlaps the backward pass) and with
# one bucket (it starts when the backward pass has ended: nothing overlaps).
name=$(basename "$CFG" .yaml)
grep -q '^comms:' "$CFG" && fail "$CFG has a comms section; the bucket variants append one"
{ cat "$CFG"; printf 'comms:\n  bucket_mb: %s\n' "$small"; } > "$name-overlap.yaml"
{ cat "$CFG"; printf 'comms:\n  bucket_mb: 4096\n'; } > "$name-one-bucket.yaml"
sed -i "s|^  dir: data$|  dir: $WORK/data|" "$name-overlap.yaml" "$name-one-bucket.yaml"

# Rows of the JSON lines: "key=value ..." per row of table $2 (perl's core JSON::PP).
rows() { perl -MJSON::PP -ne '$r = eval { decode_json($_) } or die "not JSON: $_"; next unless $r->{kind} eq "row";
  print join(" ", map { "$_=$r->{$_}" } sort keys %$r), "\n"' "$1"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p; s/^$1=\([^ ]*\).*/\1/p" | head -n 1; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

printf '%-9s %-7s %8s %12s %14s %14s %13s %9s %11s\n' link delay size plain_busbw bucketed_busbw "exposed:none" "exposed:ovl" step_ms "comm/step" > figures.txt
printf '%-9s %-7s %8s %12s %14s %14s %13s %9s %11s\n' "" one-way "(B)" "(GB/s)" "(GB/s)" "(frac)" "(frac)" "(1b/ovl)" "(1b/ovl)" >> figures.txt
for rate in "${LINKS[@]}"; do
  for d in "${delays[@]}"; do
    [ "$d" != 0 ] && [[ " ${DLINKS[*]} " != *" $rate "* ]] && continue
    dl=0; [ "$rate" = 0 ] || dl=$d
    "$MN" shape "$STATE" 0 "$rate" "$dl"
    "$MN" shape "$STATE" 1 "$rate" "$dl"
    oneway=$(awk -v d="${dl%ms}" 'BEGIN { printf "%gms", 2 * d }')
    tag="${rate}_$oneway"
    mpi_on 0 --host node0:1,node1:1 -np 2 "$FS" bench allreduce --min 1M --max "$MAX" --iters "$ITERS" --layers 8 \
      --compute-ratio 1 --bucket-mb 1 --json > "ar_$tag.jsonl" 2> "ar_$tag.err" || fail "bench allreduce at $tag: $(tail -5 "ar_$tag.err")"
    grep -q '"hosts":"node0 x1, node1 x1"' "ar_$tag.jsonl" || fail "bench allreduce at $tag not on both hosts: $(head -1 "ar_$tag.jsonl")"
    grep -q '"kind":"summary".*"wrong":0' "ar_$tag.jsonl" || fail "bench allreduce at $tag: wrong sums: $(tail -1 "ar_$tag.jsonl")"
    for cfg in "$name-one-bucket" "$name-overlap"; do
      mpi_on 0 --host node0:1,node1:1 -np 2 "$FS" bench train "$cfg.yaml" --steps "$STEPS" --json > "tr_${tag}_$cfg.jsonl" 2> "tr_${tag}_$cfg.err" ||
        fail "bench train $cfg at $tag: $(tail -5 "tr_${tag}_$cfg.err")"
      grep -q '"kind":"summary".*"wrong":0' "tr_${tag}_$cfg.jsonl" || fail "bench train $cfg at $tag: $(tail -1 "tr_${tag}_$cfg.jsonl")"
    done
    line_rate=$(awk -v r="$rate" 'BEGIN { v = r; sub(/gbit/, "", v); print (r == "0") ? 1e9 : v / 8 }') # GB/s
    one=$(rows "tr_${tag}_$name-one-bucket.jsonl" | grep ' run=data-parallel ')
    ovl=$(rows "tr_${tag}_$name-overlap.jsonl" | grep ' run=data-parallel ')
    [ -n "$one" ] && [ -n "$ovl" ] || fail "bench train at $tag: no data-parallel row"
    for r in "$one" "$ovl"; do
      f=$(field comm_frac <<<"$r"); s=$(field step_ms <<<"$r"); w=$(field comm_wait_ms <<<"$r")
      ge "$f" 0 && ge 1 "$f" && ge "$s" 0.001 && ge "$w" 0 || fail "bench train at $tag: step $s ms, comm wait $w ms, comm/step $f: $r"
    done
    rows "ar_$tag.jsonl" > "ar_$tag.rows"
    [ "$(wc -l < "ar_$tag.rows")" -ge 2 ] || fail "bench allreduce at $tag: $(wc -l < "ar_$tag.rows") rows; expected 1M..$MAX"
    while read -r r; do
      size=$(field size <<<"$r") pb=$(field plain_busbw <<<"$r") bb=$(field bucketed_busbw <<<"$r")
      c=$(field overlap_compute_us <<<"$r") w=$(field overlap_wait_us <<<"$r") t=$(field bucketed_time_us <<<"$r")
      # tbf lets a full bucket (its burst: 1 ms at the rate, hosts.sh shape) through at the speed
      # of the veth, and the bucket refills while the ranks compute between iterations: a
      # message of S bytes takes at least (S - burst) / rate, so busbw <= rate * S / (S - burst),
      # and a message no larger than the burst has no upper bound here.
      cap=$(awk -v r="$line_rate" -v s="$size" -v rate="$rate" 'BEGIN {
        v = rate; sub(/gbit/, "", v); b = (rate == "0") ? 0 : v * 1e9 / 8 / 1000; if (b < 65536) b = 65536
        print (rate == "0" || s <= b) ? 1e12 : r * s / (s - b) }')
      ge "$pb" 0.0001 && ge "$bb" 0.0001 && ge "$cap" "$pb" && ge "$cap" "$bb" ||
        fail "bench allreduce at $tag, $size B: busbw $pb / $bb GB/s outside (0, $cap] (link $line_rate GB/s)"
      # Without overlap the all-reduce (t) follows the compute (c); with it only the wait shows.
      none=$(awk -v c="$c" -v t="$t" 'BEGIN { printf "%.3f", t / (c + t) }')
      ov=$(awk -v c="$c" -v w="$w" 'BEGIN { printf "%.3f", w / (c + w) }')
      ge "$ov" 0 && ge 1 "$ov" || fail "bench allreduce at $tag, $size B: exposed fraction $ov"
      printf '%-9s %-7s %8s %12s %14s %14s %13s %9s %11s\n' "${rate/#0/none}" "$oneway" "$size" "$pb" "$bb" "$none" "$ov" \
        "$(field step_ms <<<"$one" | cut -d. -f1)/$(field step_ms <<<"$ovl" | cut -d. -f1)" \
        "$(field comm_frac <<<"$one")/$(field comm_frac <<<"$ovl")" >> figures.txt
    done < "ar_$tag.rows"
  done
done
cat figures.txt
echo PASS
