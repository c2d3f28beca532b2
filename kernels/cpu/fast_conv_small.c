/* fast_conv_small.c — conv2d with few output channels (cout <= FS_SMALL_COUT, e.g. the
 * decoder's 64 -> 3 output conv). im2col + sgemm would stream a [pixels, k*k*cin] matrix
 * through a GEMM with N = 3, which OpenBLAS runs at ~1 GFLOP/s; these loops read the
 * input in place instead and vectorise over input channels (AVX2 FMA, 8 floats):
 *   fwd:        y[p, co] = sum over taps and ci (=), no bias (the caller adds it)
 *   bwd_data:   dx (=), gathered per input pixel
 *   bwd_filter: dw += (fixed blocks of output rows, summed in order; db is the caller's)
 * Weights are used transposed, wt[co][tap][ci]. Static schedules and fixed blocks keep the
 * results independent of run and (for fwd and bwd_data) of thread count. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/fast.h"

#define FILTER_BLOCKS 256 /* bwd_filter partial sums: at most this many, fixed by the shape */

static float *transpose_weights(const fs_conv_desc *d, const float *w) {
    size_t taps = (size_t)d->k * d->k, cin = (size_t)d->cin, cout = (size_t)d->cout;
    float *wt = fs_aligned_alloc(taps * cin * cout * sizeof(float));
    for (size_t t = 0; t < taps; t++)
        for (size_t ci = 0; ci < cin; ci++)
            for (size_t co = 0; co < cout; co++) wt[(co * taps + t) * cin + ci] = w[(t * cin + ci) * cout + co];
    return wt;
}

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* sum_c a[c] * b[c] with four independent FMA chains. */
static float dot(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t c = 0;
    for (; c + 32 <= n; c += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + c), _mm256_loadu_ps(b + c), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + c + 8), _mm256_loadu_ps(b + c + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + c + 16), _mm256_loadu_ps(b + c + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + c + 24), _mm256_loadu_ps(b + c + 24), s3);
    }
    for (; c + 8 <= n; c += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + c), _mm256_loadu_ps(b + c), s0);
    float tail = 0.0f;
    for (; c < n; c++) tail += a[c] * b[c];
    return hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) + tail;
}

/* a[c] += s * b[c] */
static void axpy(float *a, float s, const float *b, size_t n) {
    __m256 sv = _mm256_set1_ps(s);
    size_t c = 0;
    for (; c + 8 <= n; c += 8)
        _mm256_storeu_ps(a + c, _mm256_fmadd_ps(sv, _mm256_loadu_ps(b + c), _mm256_loadu_ps(a + c)));
    for (; c < n; c++) a[c] += s * b[c];
}

static void fwd_pixel(const fs_conv_desc *d, const float *x, const float *wt, int img, int oy, int ox, float *out) {
    size_t taps = (size_t)d->k * d->k, cin = (size_t)d->cin;
    for (int co = 0; co < d->cout; co++) out[co] = 0.0f;
    for (int ky = 0; ky < d->k; ky++) {
        int iy = oy * d->stride - d->pad_top + ky;
        if (iy < 0 || iy >= d->h) continue;
        for (int kx = 0; kx < d->k; kx++) {
            int ix = ox * d->stride - d->pad_left + kx;
            if (ix < 0 || ix >= d->w) continue;
            const float *xp = x + (((size_t)img * d->h + iy) * d->w + ix) * cin;
            size_t tap = (size_t)ky * d->k + kx;
            for (int co = 0; co < d->cout; co++) out[co] += dot(xp, wt + ((size_t)co * taps + tap) * cin, cin);
        }
    }
}

void fs_small_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, float *y) {
    float *wt = transpose_weights(d, w);
    size_t lines = (size_t)d->n * d->ho;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads())
    for (size_t l = 0; l < lines; l++) {
        int img = (int)(l / d->ho), oy = (int)(l % d->ho);
        for (int ox = 0; ox < d->wo; ox++)
            fwd_pixel(d, x, wt, img, oy, ox, y + ((l * d->wo) + ox) * d->cout);
    }
    free(wt);
}

/* dx of one input pixel: every (tap, output pixel) that read it, every output channel. */
static void bwd_data_pixel(const fs_conv_desc *d, const float *dz, const float *wt, int img, int iy, int ix,
                           float *out) {
    size_t taps = (size_t)d->k * d->k, cin = (size_t)d->cin;
    memset(out, 0, cin * sizeof(float));
    for (int ky = 0; ky < d->k; ky++) {
        int ty = iy + d->pad_top - ky;
        if (ty < 0 || ty % d->stride || ty / d->stride >= d->ho) continue;
        for (int kx = 0; kx < d->k; kx++) {
            int tx = ix + d->pad_left - kx;
            if (tx < 0 || tx % d->stride || tx / d->stride >= d->wo) continue;
            const float *g = dz + (((size_t)img * d->ho + ty / d->stride) * d->wo + tx / d->stride) * d->cout;
            size_t tap = (size_t)ky * d->k + kx;
            for (int co = 0; co < d->cout; co++) axpy(out, g[co], wt + ((size_t)co * taps + tap) * cin, cin);
        }
    }
}

void fs_small_conv2d_bwd_data(const fs_conv_desc *d, const float *dz, const float *w, float *dx) {
    float *wt = transpose_weights(d, w);
    size_t lines = (size_t)d->n * d->h;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads())
    for (size_t l = 0; l < lines; l++) {
        int img = (int)(l / d->h), iy = (int)(l % d->h);
        for (int ix = 0; ix < d->w; ix++) bwd_data_pixel(d, dz, wt, img, iy, ix, dx + ((l * d->w) + ix) * d->cin);
    }
    free(wt);
}

/* part[co][tap][ci] += x * dz over the output rows [l0, l1) (rows = image * ho + oy). */
static void filter_rows(const fs_conv_desc *d, const float *x, const float *dz, size_t l0, size_t l1, float *part) {
    size_t taps = (size_t)d->k * d->k, cin = (size_t)d->cin;
    for (size_t l = l0; l < l1; l++) {
        int img = (int)(l / d->ho), oy = (int)(l % d->ho);
        for (int ox = 0; ox < d->wo; ox++) {
            const float *g = dz + (l * d->wo + ox) * d->cout;
            for (int ky = 0; ky < d->k; ky++) {
                int iy = oy * d->stride - d->pad_top + ky;
                if (iy < 0 || iy >= d->h) continue;
                for (int kx = 0; kx < d->k; kx++) {
                    int ix = ox * d->stride - d->pad_left + kx;
                    if (ix < 0 || ix >= d->w) continue;
                    const float *xp = x + (((size_t)img * d->h + iy) * d->w + ix) * cin;
                    size_t tap = (size_t)ky * d->k + kx;
                    for (int co = 0; co < d->cout; co++) axpy(part + ((size_t)co * taps + tap) * cin, g[co], xp, cin);
                }
            }
        }
    }
}

void fs_small_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw) {
    size_t lines = (size_t)d->n * d->ho, blocks = FS_MIN(lines, (size_t)FILTER_BLOCKS);
    size_t taps = (size_t)d->k * d->k, cin = (size_t)d->cin, cout = (size_t)d->cout, len = taps * cin * cout;
    float *part = fs_calloc(blocks * len, sizeof(float));
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads())
    for (size_t b = 0; b < blocks; b++)
        filter_rows(d, x, dz, b * lines / blocks, (b + 1) * lines / blocks, part + b * len);
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (len * blocks > FS_FAST_PAR_MIN)
    for (size_t t = 0; t < taps; t++)
        for (size_t ci = 0; ci < cin; ci++)
            for (size_t co = 0; co < cout; co++) {
                double acc = 0.0;
                for (size_t b = 0; b < blocks; b++) acc += part[b * len + (co * taps + t) * cin + ci];
                dw[(t * cin + ci) * cout + co] += (float)acc;
            }
    free(part);
}
