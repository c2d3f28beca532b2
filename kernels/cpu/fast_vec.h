/* fast_vec.h — AVX2 loops shared by the fast CPU ops (kernels/cpu/fast_*.c), for loops that
 * gcc leaves scalar on its own. The build targets x86-64-v3 (AVX2 + FMA) everywhere. */
#ifndef FACESWARM_CPU_FAST_VEC_H
#define FACESWARM_CPU_FAST_VEC_H

#include <immintrin.h>
#include <stddef.h>

/* LeakyReLU forward and backward in one loop: out[i] = v[i] * (sel[i] > 0 ? 1 : alpha), [n]
 * (=; out may alias sel or v). v * 1 == v, so the bits equal the reference's select
 * sel > 0 ? v : alpha * v (NaN in sel selects alpha, as there). gcc does not vectorise a
 * select on a float compare by itself (the compare may trap). */
static inline void fs_vec_leaky_mul(size_t n, float alpha, const float *sel, const float *v, float *out) {
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f), a = _mm256_set1_ps(alpha);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 pos = _mm256_cmp_ps(_mm256_loadu_ps(sel + i), zero, _CMP_GT_OQ);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(v + i), _mm256_blendv_ps(a, one, pos)));
    }
    for (; i < n; i++) out[i] = v[i] * (sel[i] > 0.0f ? 1.0f : alpha);
}

/* a . b over n elements in double, in 8 interleaved partial sums added in lane order at the
 * end, so that the loop vectorises and the order depends only on n (sumsq, pixnorm). */
static inline double fs_vec_dot_lanes(const float *a, const float *b, size_t n) {
    double lane[8] = {0};
    size_t full = n - n % 8, i;
    for (i = 0; i < full; i += 8)
        for (int l = 0; l < 8; l++) lane[l] += (double)a[i + l] * b[i + l];
    for (; i < n; i++) lane[0] += (double)a[i] * b[i];
    double s = 0.0;
    for (int l = 0; l < 8; l++) s += lane[l];
    return s;
}

/* Software prefetch for the streaming loops (the optimizers, sumsq): FS_VEC_PREFETCH floats
 * (4 KiB) ahead of the element in hand, one line per stream. The hardware prefetcher alone
 * left a single-core stream at about half the memory bandwidth on the Intel host of
 * docs/cpu.md. Prefetches do not fault, so addresses past the end are harmless. */
#define FS_VEC_PREFETCH 1024
static inline void fs_vec_prefetch4(const float *a, const float *b, const float *c, const float *d) {
    _mm_prefetch((const char *)a, _MM_HINT_T0);
    _mm_prefetch((const char *)b, _MM_HINT_T0);
    _mm_prefetch((const char *)c, _MM_HINT_T0);
    _mm_prefetch((const char *)d, _MM_HINT_T0);
}

#endif
