/* fma_peak.c — fs_cpu_fma_peak(): the FP32 FMA throughput of this CPU, measured (cpu.h).
 *
 * 12 independent FMA chains keep every FMA unit busy (2 units x 4-5 cycles of latency on
 * current x86 cores need 8-10 in flight). Each chain starts from its own value: chains that
 * start equal are the same computation, and gcc merges them into ONE chain (an earlier
 * version did), which runs at the FMA latency, not its throughput, and overstated the peak
 * by 12 / (units x latency): 1.5x on AMD Zen 4 and on Intel AVX-512 cores. The loop runs
 * on 8-wide (AVX2) vectors and, where the CPU has AVX-512F, on 16-wide ones; the faster of
 * the two is the peak (equal on Zen 4, which splits a 512-bit FMA over its two 256-bit
 * units; twice as fast on Intel cores with two 512-bit FMA units). */
#include <immintrin.h>
#include <omp.h>
#include <time.h>

#include "kernels/cpu/cpu.h"
#include "core/common.h"

#define CHAINS 12
#define ITERS_256 10000000L /* 1.9 GFLOP per thread: ~20 ms */
#define ITERS_512 5000000L

#define CHAIN_SEEDS(set1, seed)                                                                                        \
    a0 = set1(seed), a1 = set1(seed + 1), a2 = set1(seed + 2), a3 = set1(seed + 3), a4 = set1(seed + 4),               \
    a5 = set1(seed + 5), a6 = set1(seed + 6), a7 = set1(seed + 7), a8 = set1(seed + 8), a9 = set1(seed + 9),           \
    a10 = set1(seed + 10), a11 = set1(seed + 11)
#define CHAIN_STEP(fma)                                                                                                \
    a0 = fma(a0, m, c), a1 = fma(a1, m, c), a2 = fma(a2, m, c), a3 = fma(a3, m, c), a4 = fma(a4, m, c),                \
    a5 = fma(a5, m, c), a6 = fma(a6, m, c), a7 = fma(a7, m, c), a8 = fma(a8, m, c), a9 = fma(a9, m, c),                \
    a10 = fma(a10, m, c), a11 = fma(a11, m, c)
#define CHAIN_SUM(add)                                                                                                 \
    add(add(add(add(a0, a1), add(a2, a3)), add(add(a4, a5), add(a6, a7))), add(add(a8, a9), add(a10, a11)))

__attribute__((target("avx2,fma"), noinline)) static float fma_loop_256(long iters, float seed) {
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f), a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;
    CHAIN_SEEDS(_mm256_set1_ps, seed);
    for (long i = 0; i < iters; i++) CHAIN_STEP(_mm256_fmadd_ps);
    float out[8];
    _mm256_storeu_ps(out, CHAIN_SUM(_mm256_add_ps));
    return out[0] + out[7];
}

__attribute__((target("avx512f"), noinline)) static float fma_loop_512(long iters, float seed) {
    __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f), a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;
    CHAIN_SEEDS(_mm512_set1_ps, seed);
    for (long i = 0; i < iters; i++) CHAIN_STEP(_mm512_fmadd_ps);
    return _mm512_reduce_add_ps(CHAIN_SUM(_mm512_add_ps));
}

double fs_cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds on the wall clock, or (cpu_clock) the process's CPU seconds / threads. */
static double now(int cpu_clock, int threads) { return cpu_clock ? fs_cpu_seconds() / threads : fs_now(); }

/* GFLOP/s of `threads` copies of one loop at once (bits: 256 or 512); best of reps. */
static double loop_rate(int threads, int reps, int cpu_clock, int bits) {
    double best = 0.0;
    long iters = bits == 512 ? ITERS_512 : ITERS_256;
    volatile float sink = 0.0f;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = now(cpu_clock, threads);
#pragma omp parallel num_threads(threads)
        {
            float seed = 1.0f + (float)(CHAINS * omp_get_thread_num());
            float r = bits == 512 ? fma_loop_512(iters, seed) : fma_loop_256(iters, seed);
#pragma omp critical
            sink += r;
        }
        double dt = now(cpu_clock, threads) - t0, flops = (double)threads * iters * CHAINS * (bits / 32) * 2;
        best = FS_MAX(best, flops / dt);
    }
    (void)sink;
    return best * 1e-9;
}

double fs_cpu_fma_peak(int threads, int reps, int cpu_clock, int *bits) {
    double r256 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                      ? loop_rate(threads, reps, cpu_clock, 256)
                      : 0.0;
    double r512 = __builtin_cpu_supports("avx512f") ? loop_rate(threads, reps, cpu_clock, 512) : 0.0;
    if (bits) *bits = r512 > r256 ? 512 : 256;
    return FS_MAX(r256, r512);
}
