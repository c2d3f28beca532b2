#!/bin/sh
# fma_chains.sh OBJECT FUNCTION MIN — the FMA peak loop FUNCTION in OBJECT (an object file or
# archive) issues at least MIN vector FMAs per loop. gcc merges FMA chains that start from the
# same value into one chain, which runs at the FMA latency and made `bench kernels` overstate
# the peak 1.5x (kernels/cpu/fma_peak.c); this counts the FMAs objdump shows in FUNCTION.
set -u
obj=${1:?usage: fma_chains.sh OBJECT FUNCTION MIN} fn=${2:?} min=${3:?}
n=$(objdump -d --no-show-raw-insn "$obj" | awk -v fn="$fn" '
    /^[0-9a-f]+ <.*>:$/ { inside = index($2, "<" fn ">:") == 1 || index($2, "<" fn ".") == 1 }
    inside && /vfmadd[0-9]*ps/ { n++ }
    END { print n + 0 }')
echo "$fn in $obj: $n vector FMA instruction(s), at least $min expected"
[ "$n" -ge "$min" ] || { echo "FAIL: $fn's FMA chains were merged (they must start from different values)" >&2; exit 1; }
