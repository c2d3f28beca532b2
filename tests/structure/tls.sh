#!/usr/bin/env bash
# Every thread of a process gets a zeroed copy of each object's static TLS (PT_TLS), OpenBLAS's
# pool threads and the OpenMP workers included: 248 KB of _Thread_local decoder tables were
# ~21 MB a rank on a 64-core host. faceswarm's own TLS stays under LIMIT bytes; over it, the
# largest TLS symbols are named. The check is shown to fail first, on a planted 64 KB
# _Thread_local array.  tls.sh CC READELF BINARY [LIMIT]
set -uo pipefail
CC=$1 READELF=$2 BIN=$3 LIMIT=${4:-1024}
W=$(mktemp -d /tmp/fs-tls-XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# check FILE: exit 0 when its PT_TLS is within LIMIT, else 1 naming the largest TLS symbols
check() {
  local size
  size=$("$READELF" -lW "$1" | awk '$1 == "TLS" { print $6 }') # MemSiz, hex
  size=$((${size:-0}))
  if [ "$size" -gt "$LIMIT" ]; then
    echo "$1: static TLS is $size bytes, over the $LIMIT-byte limit (each thread pays it); largest:"
    "$READELF" -sW "$1" | awk '$4 == "TLS" { print $3, $8 }' | # sizes of 100000 and more in hex
      while read -r n name; do echo "  $((n)) bytes  $name"; done | sort -k1,1nr | head -5
    echo "  hint: put per-call tables on the stack or the heap, not in _Thread_local storage"
    return 1
  fi
  echo "$1: static TLS $size bytes (limit $LIMIT)"
}
printf '%s\n' '_Thread_local unsigned char planted_table[1 << 16];' \
  'int main(int argc, char **argv) { planted_table[argc] = 1; return planted_table[1] - 1; }' > "$W/p.c"
$CC -O2 "$W/p.c" -o "$W/planted" || fail "cannot build the planted program"
out=$(check "$W/planted") && fail "a 64 KB _Thread_local array passed: $out"
grep -q "65536 bytes  planted_table" <<<"$out" || fail "the planted array is not named: $out"
check "$BIN" || exit 1
echo "PASS: static TLS within $LIMIT bytes, and a planted 64 KB array is refused by name"
