#!/bin/sh
# gemm_auto.sh FACESWARM — FACESWARM_CPU_GEMM=auto takes the own GEMM's AVX-512 kernel on Intel
# and AMD CPUs with AVX-512F, its AVX2 kernel on AMD CPUs with AVX2 + FMA and no AVX-512F (each
# measured faster there, docs/cpu.md), and OpenBLAS elsewhere. The
# expectation is read from /proc/cpuinfo (vendor_id, flags), independently of the cpuid code
# in fast_sgemm.c; the header line of `bench kernels --check-only` says what auto took.
set -u
fs=${1:?usage: gemm_auto.sh FACESWARM}
[ -r /proc/cpuinfo ] || { echo "SKIP: no /proc/cpuinfo"; exit 77; }
vendor=$(sed -n 's/^vendor_id[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
if grep -qw avx512f /proc/cpuinfo; then avx=" + AVX-512F"
elif grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then avx=" + AVX2 + FMA, no AVX-512F"
else avx=", no AVX2 + FMA"; fi
case "$vendor$avx" in
GenuineIntel" + AVX-512F" | AuthenticAMD" + AVX-512F") want=own-avx512 ;;
AuthenticAMD" + AVX2 + FMA, no AVX-512F") want=own-avx2 ;;
*) want=openblas ;;
esac
line=$(env -u FACESWARM_CPU_GEMM "$fs" bench kernels --check-only | grep '^# gemm: ')
echo "cpuinfo: $vendor$avx; expected: $want; bench says: $line"
[ "$line" = "# gemm: $want (auto, $vendor$avx)" ] || { echo "FAIL: auto took '$line', expected '# gemm: $want (auto, $vendor$avx)'" >&2; exit 1; }
