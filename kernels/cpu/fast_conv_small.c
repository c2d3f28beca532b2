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
#define AINLINE static inline __attribute__((always_inline))

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

static void generic_fwd(const fs_conv_desc *d, const float *x, const float *w, float *y) {
    float *wt = transpose_weights(d, w);
    size_t lines = (size_t)d->n * d->ho;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads())
    for (size_t l = 0; l < lines; l++) {
        int img = (int)(l / d->ho), oy = (int)(l % d->ho);
        for (int ox = 0; ox < d->wo; ox++) fwd_pixel(d, x, wt, img, oy, ox, y + ((l * d->wo) + ox) * d->cout);
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

static void generic_bwd_data(const fs_conv_desc *d, const float *dz, const float *w, float *dx) {
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

/* dw[tap][ci][co] += the blocks' partial sums part[b][co][tap][ci], summed in block order. */
static void reduce_blocks(const fs_conv_desc *d, const float *part, size_t blocks, float *dw) {
    size_t taps = (size_t)d->k * d->k, cin = (size_t)d->cin, cout = (size_t)d->cout, len = taps * cin * cout;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (len * blocks > FS_FAST_PAR_MIN)
    for (size_t t = 0; t < taps; t++)
        for (size_t ci = 0; ci < cin; ci++)
            for (size_t co = 0; co < cout; co++) {
                double acc = 0.0;
                for (size_t b = 0; b < blocks; b++) acc += part[b * len + (co * taps + t) * cin + ci];
                dw[(t * cin + ci) * cout + co] += (float)acc;
            }
}

static void generic_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw) {
    size_t lines = (size_t)d->n * d->ho, blocks = FS_MIN(lines, (size_t)FILTER_BLOCKS);
    size_t len = (size_t)d->k * d->k * d->cin * d->cout;
    float *part = fs_calloc(blocks * len, sizeof(float));
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads())
    for (size_t b = 0; b < blocks; b++)
        filter_rows(d, x, dz, b * lines / blocks, (b + 1) * lines / blocks, part + b * len);
    reduce_blocks(d, part, blocks, dw);
    free(part);
}

/* ---------------------------------------------------------------- stride 1, 3 channels
 * The model's output conv (stride 1, cout = 3, cin a multiple of 8) runs on register-
 * blocked loops over a zero-padded copy of the input, so that no tap needs a bounds test:
 *   fwd:        PX output pixels x 3 channels of 8-wide partial sums, reduced at the end
 *   bwd_data:   DXP input pixels x 8 input channels, dz broadcast per output channel
 *   bwd_filter: KXG kernel columns x 3 channels, 8 input channels wide, over a block's
 *               pixels; blocks fixed by the shape and summed in order (reduce_blocks)
 * The sums run in a different order than the generic loops' (same tolerance). */
#define PX 4
#define DXP 8
#define KXG 4
#define C3 3

static int fast3_applies(const fs_conv_desc *d) { return d->stride == 1 && d->cout == C3 && d->cin % 8 == 0; }

typedef struct pad_buf {
    float *p;
    size_t cap; /* floats */
} pad_buf;
static pad_buf g_pad; /* grown lazily; one calling thread at a time, as fast_conv.c's scratch */

/* [n, hp, wp, c] copy of src [n, h, w, c] placed at (top, left), zeros around it. */
static float *pad_images(int n, int h, int w, int c, int top, int left, int hp, int wp, const float *src) {
    size_t lines = (size_t)n * hp, rowf = (size_t)wp * c;
    if (lines * rowf > g_pad.cap) {
        free(g_pad.p);
        g_pad.p = fs_aligned_alloc(lines * rowf * sizeof(float));
        g_pad.cap = lines * rowf;
    }
    float *dst = g_pad.p;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (lines * rowf > FS_FAST_PAR_MIN)
    for (size_t l = 0; l < lines; l++) {
        int img = (int)(l / hp), r = (int)(l % hp) - top;
        float *o = dst + l * rowf;
        memset(o, 0, rowf * sizeof(float));
        if (r >= 0 && r < h)
            memcpy(o + (size_t)left * c, src + ((size_t)img * h + r) * w * c, (size_t)w * c * sizeof(float));
    }
    return dst;
}

/* Forward of P output pixels from xp (padded input at the block's first pixel, rows of
 * `row` floats) with wf[tap][ci / 8][co][8]. */
AINLINE void fwd3_block(int P, int k, int cin, size_t row, const float *xp, const float *wf, float *y) {
    __m256 acc[PX][C3];
    for (int p = 0; p < P; p++)
        for (int j = 0; j < C3; j++) acc[p][j] = _mm256_setzero_ps();
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
            const float *xr = xp + ky * row + (size_t)kx * cin;
            for (int c = 0; c < cin; c += 8, wf += 8 * C3) {
                __m256 w0 = _mm256_load_ps(wf), w1 = _mm256_load_ps(wf + 8), w2 = _mm256_load_ps(wf + 16);
                for (int p = 0; p < P; p++) {
                    __m256 xv = _mm256_loadu_ps(xr + (size_t)p * cin + c);
                    acc[p][0] = _mm256_fmadd_ps(xv, w0, acc[p][0]);
                    acc[p][1] = _mm256_fmadd_ps(xv, w1, acc[p][1]);
                    acc[p][2] = _mm256_fmadd_ps(xv, w2, acc[p][2]);
                }
            }
        }
    for (int p = 0; p < P; p++)
        for (int j = 0; j < C3; j++) y[p * C3 + j] = hsum(acc[p][j]);
}

static void fwd3(const fs_conv_desc *d, const float *x, const float *w, float *y) {
    int k = d->k, cin = d->cin, hp = d->ho + k - 1, wp = d->wo + k - 1;
    size_t taps = (size_t)k * k, row = (size_t)wp * cin, lines = (size_t)d->n * d->ho;
    float *wf = fs_aligned_alloc(taps * cin * C3 * sizeof(float));
    for (size_t t = 0; t < taps; t++)
        for (int c = 0; c < cin; c++)
            for (int j = 0; j < C3; j++) wf[((t * cin + c / 8 * 8) * C3) + j * 8 + c % 8] = w[(t * cin + c) * C3 + j];
    const float *xp = pad_images(d->n, d->h, d->w, cin, d->pad_top, d->pad_left, hp, wp, x);
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads())
    for (size_t l = 0; l < lines; l++) {
        const float *xl = xp + ((l / d->ho) * hp + l % d->ho) * row;
        float *yl = y + l * d->wo * C3;
        int ox = 0;
        for (; ox + PX <= d->wo; ox += PX) fwd3_block(PX, k, cin, row, xl + (size_t)ox * cin, wf, yl + ox * C3);
        for (; ox < d->wo; ox++) fwd3_block(1, k, cin, row, xl + (size_t)ox * cin, wf, yl + ox * C3);
    }
    free(wf);
}

/* dx of P input pixels, 8 channels from c0, from dzp (padded dz at the block's first pixel,
 * rows of `row` floats) and wb[ci / 8][flipped tap][co][8]. */
AINLINE void bwd3_block(int P, int k, int cin, int c0, size_t row, const float *dzp, const float *wb, float *dx) {
    __m256 acc[DXP];
    for (int p = 0; p < P; p++) acc[p] = _mm256_setzero_ps();
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++, wb += 8 * C3) {
            const float *g = dzp + ky * row + kx * C3;
            for (int j = 0; j < C3; j++) {
                __m256 wv = _mm256_load_ps(wb + 8 * j);
                for (int p = 0; p < P; p++) acc[p] = _mm256_fmadd_ps(_mm256_broadcast_ss(g + p * C3 + j), wv, acc[p]);
            }
        }
    for (int p = 0; p < P; p++) _mm256_storeu_ps(dx + (size_t)p * cin + c0, acc[p]);
}

/* dx[iy][ix] = sum over taps of dzp[iy + ky][ix + kx] . W[k-1-ky][k-1-kx]^T, where dzp is dz
 * padded by k-1-pad on the top and left. */
static void bwd_data3(const fs_conv_desc *d, const float *dz, const float *w, float *dx) {
    int k = d->k, cin = d->cin, hp = d->h + k - 1, wp = d->w + k - 1;
    size_t taps = (size_t)k * k, row = (size_t)wp * C3, lines = (size_t)d->n * d->h;
    float *wb = fs_aligned_alloc(taps * cin * C3 * sizeof(float));
    for (size_t t = 0; t < taps; t++)
        for (int c = 0; c < cin; c++)
            for (int j = 0; j < C3; j++)
                wb[((size_t)c / 8 * taps + t) * 8 * C3 + j * 8 + c % 8] = w[((taps - 1 - t) * cin + c) * C3 + j];
    const float *dzp = pad_images(d->n, d->ho, d->wo, C3, k - 1 - d->pad_top, k - 1 - d->pad_left, hp, wp, dz);
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads())
    for (size_t l = 0; l < lines; l++) {
        const float *gl = dzp + ((l / d->h) * hp + l % d->h) * row;
        float *xl = dx + l * d->w * cin;
        for (int c0 = 0; c0 < cin; c0 += 8) {
            const float *wc = wb + (size_t)c0 * taps * C3;
            int ix = 0;
            for (; ix + DXP <= d->w; ix += DXP)
                bwd3_block(DXP, k, cin, c0, row, gl + ix * C3, wc, xl + (size_t)ix * cin);
            for (; ix < d->w; ix++) bwd3_block(1, k, cin, c0, row, gl + ix * C3, wc, xl + (size_t)ix * cin);
        }
    }
    free(wb);
}

/* part[co][q][0..8) (co stride cstride floats, q stride cin) = sum over the output pixels of
 * lines [l0, l1) of x[pixel + tap q] * dz[pixel][co], for NK kernel columns from xp (padded x
 * at the first column's tap and channel offset). */
AINLINE void filter3_unit(int NK, const fs_conv_desc *d, const float *xp, size_t row, int hp, const float *dz,
                          size_t l0, size_t l1, size_t cstride, float *part) {
    __m256 acc[KXG][C3];
    int cin = d->cin;
    for (int q = 0; q < NK; q++)
        for (int j = 0; j < C3; j++) acc[q][j] = _mm256_setzero_ps();
    for (size_t l = l0; l < l1; l++) {
        const float *xl = xp + ((l / d->ho) * hp + l % d->ho) * row, *g = dz + l * d->wo * C3;
        for (int ox = 0; ox < d->wo; ox++, g += C3) {
            __m256 g0 = _mm256_broadcast_ss(g), g1 = _mm256_broadcast_ss(g + 1), g2 = _mm256_broadcast_ss(g + 2);
            for (int q = 0; q < NK; q++) {
                __m256 xv = _mm256_loadu_ps(xl + (size_t)(ox + q) * cin);
                acc[q][0] = _mm256_fmadd_ps(xv, g0, acc[q][0]);
                acc[q][1] = _mm256_fmadd_ps(xv, g1, acc[q][1]);
                acc[q][2] = _mm256_fmadd_ps(xv, g2, acc[q][2]);
            }
        }
    }
    for (int q = 0; q < NK; q++)
        for (int j = 0; j < C3; j++) _mm256_storeu_ps(part + j * cstride + (size_t)q * cin, acc[q][j]);
}

/* One block's partial dw, part[co][tap][ci], over output lines [l0, l1). */
static void filter3_block(const fs_conv_desc *d, const float *xp, int hp, int wp, const float *dz, size_t l0, size_t l1,
                          float *part) {
    int k = d->k, cin = d->cin;
    size_t row = (size_t)wp * cin, cstride = (size_t)k * k * cin;
    for (int ky = 0; ky < k; ky++)
        for (int c0 = 0; c0 < cin; c0 += 8)
            for (int kx = 0; kx < k; kx += KXG) {
                const float *xq = xp + ky * row + (size_t)kx * cin + c0;
                float *pq = part + ((size_t)ky * k + kx) * cin + c0;
                int nk = FS_MIN(KXG, k - kx);
                if (nk == 4) filter3_unit(4, d, xq, row, hp, dz, l0, l1, cstride, pq);
                else if (nk == 3) filter3_unit(3, d, xq, row, hp, dz, l0, l1, cstride, pq);
                else if (nk == 2) filter3_unit(2, d, xq, row, hp, dz, l0, l1, cstride, pq);
                else filter3_unit(1, d, xq, row, hp, dz, l0, l1, cstride, pq);
            }
}

static void bwd_filter3(const fs_conv_desc *d, const float *x, const float *dz, float *dw) {
    int k = d->k, hp = d->ho + k - 1, wp = d->wo + k - 1;
    size_t lines = (size_t)d->n * d->ho, blocks = FS_MIN(lines, (size_t)FILTER_BLOCKS);
    size_t len = (size_t)k * k * d->cin * C3;
    const float *xp = pad_images(d->n, d->h, d->w, d->cin, d->pad_top, d->pad_left, hp, wp, x);
    float *part = fs_aligned_alloc(blocks * len * sizeof(float));
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads())
    for (size_t b = 0; b < blocks; b++)
        filter3_block(d, xp, hp, wp, dz, b * lines / blocks, (b + 1) * lines / blocks, part + b * len);
    reduce_blocks(d, part, blocks, dw);
    free(part);
}

/* ---------------------------------------------------------------- entry points */
void fs_small_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, float *y) {
    if (fast3_applies(d)) fwd3(d, x, w, y);
    else generic_fwd(d, x, w, y);
}

void fs_small_conv2d_bwd_data(const fs_conv_desc *d, const float *dz, const float *w, float *dx) {
    if (fast3_applies(d)) bwd_data3(d, dz, w, dx);
    else generic_bwd_data(d, dz, w, dx);
}

void fs_small_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw) {
    if (fast3_applies(d)) bwd_filter3(d, x, dz, dw);
    else generic_bwd_filter(d, x, dz, dw);
}
