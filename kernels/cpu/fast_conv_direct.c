/* fast_conv_direct.c — conv2d with few input channels (the encoder's 3 -> 16 first conv;
 * see fs_direct_conv_applies) as direct loops over a zero-padded copy of
 * the input, vectorised over 16 output channels (two AVX2 vectors):
 *   fwd:        y[p][co..co+16) (=) for FWD_P output pixels at a time: per (tap, ci)
 *               two weight loads, FWD_P broadcasts of x, 2 * FWD_P FMAs
 *   bwd_filter: dw[tap][ci][co..co+16) (+=): FLT_J consecutive (kx, ci) entries of one
 *               kernel row at a time, over the pixels of a block of output lines; the
 *               blocks are fixed by the shape and summed in order in double
 * For a fixed kernel row ky, the (kx, ci) pairs of a pixel are contiguous in NHWC x and in
 * the HWIO weights, so the inner loops run over j = kx * cin + ci in [0, k * cin). */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/fast.h"
#include "kernels/cpu/fast_conv.h"

#define AINLINE static inline __attribute__((always_inline))
#define FWD_P 6
#define FLT_J 6
#define FLT_BLOCKS 64 /* bwd_filter partial sums: at most this many, fixed by the shape */

int fs_direct_conv_applies(const fs_conv_desc *d) { return d->cout % 16 == 0 && d->cin <= FS_DIRECT_MAX_CIN; }

typedef struct dpad {
    float *x; /* [n, hp, wp, cin], x at (pad_top, pad_left), zeros around it */
    int hp, wp;
    size_t row; /* floats per padded line */
} dpad;
static float *g_xpad;
static size_t g_xpad_cap; /* floats; grown lazily, one calling thread at a time */

static void pad_input(const fs_conv_desc *d, const float *x, dpad *p) {
    p->hp = (d->ho - 1) * d->stride + d->k, p->wp = (d->wo - 1) * d->stride + d->k;
    p->row = (size_t)p->wp * d->cin;
    size_t lines = (size_t)d->n * p->hp, cin = (size_t)d->cin;
    if (lines * p->row > g_xpad_cap) {
        free(g_xpad);
        g_xpad = fs_aligned_alloc(lines * p->row * sizeof(float));
        g_xpad_cap = lines * p->row;
    }
    p->x = g_xpad;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (lines * p->row > FS_FAST_PAR_MIN)
    for (size_t l = 0; l < lines; l++) {
        int img = (int)(l / p->hp), r = (int)(l % p->hp) - d->pad_top;
        float *o = p->x + l * p->row;
        memset(o, 0, p->row * sizeof(float));
        if (r >= 0 && r < d->h) {
            size_t cols = (size_t)FS_MIN(d->w, p->wp - d->pad_left);
            memcpy(o + d->pad_left * cin, x + ((size_t)img * d->h + r) * d->w * cin, cols * cin * sizeof(float));
        }
    }
}

/* ---------------------------------------------------------------- forward */
/* P output pixels x 16 channels; xp: padded x at the first pixel's window, w: weights at
 * the 16-channel group (rows of cout floats), y: output at the first pixel's group. */
AINLINE void fwd_block(int P, const fs_conv_desc *d, size_t row, const float *xp, const float *w, float *y) {
    __m256 a0[FWD_P], a1[FWD_P];
    size_t kc = (size_t)d->k * d->cin, cout = (size_t)d->cout, ps = (size_t)d->stride * d->cin;
    for (int p = 0; p < P; p++) a0[p] = a1[p] = _mm256_setzero_ps();
    for (int ky = 0; ky < d->k; ky++) {
        const float *xr = xp + ky * row, *wr = w + ky * kc * cout;
        for (size_t j = 0; j < kc; j++) {
            __m256 w0 = _mm256_loadu_ps(wr + j * cout), w1 = _mm256_loadu_ps(wr + j * cout + 8);
            for (int p = 0; p < P; p++) {
                __m256 xv = _mm256_broadcast_ss(xr + p * ps + j);
                a0[p] = _mm256_fmadd_ps(xv, w0, a0[p]);
                a1[p] = _mm256_fmadd_ps(xv, w1, a1[p]);
            }
        }
    }
    for (int p = 0; p < P; p++) {
        _mm256_storeu_ps(y + p * cout, a0[p]);
        _mm256_storeu_ps(y + p * cout + 8, a1[p]);
    }
}

/* One output line (image img, row oy), every 16-channel group. */
static void fwd_line(const fs_conv_desc *d, const dpad *p, const float *w, int img, int oy, float *y) {
    const float *xl = p->x + ((size_t)img * p->hp + (size_t)oy * d->stride) * p->row;
    size_t ps = (size_t)d->stride * d->cin, cout = (size_t)d->cout;
    for (size_t g = 0; g < cout; g += 16) {
        int ox = 0;
        for (; ox + FWD_P <= d->wo; ox += FWD_P) fwd_block(FWD_P, d, p->row, xl + ox * ps, w + g, y + ox * cout + g);
        for (; ox < d->wo; ox++) fwd_block(1, d, p->row, xl + ox * ps, w + g, y + ox * cout + g);
    }
}

void fs_direct_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, float *y) {
    dpad p;
    pad_input(d, x, &p);
    size_t lines = (size_t)d->n * d->ho;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads())
    for (size_t l = 0; l < lines; l++) fwd_line(d, &p, w, (int)(l / d->ho), (int)(l % d->ho), y + l * d->wo * d->cout);
}

/* ---------------------------------------------------------------- backward filter */
/* part[j][g..g+16) (rows of cout floats) = sum over the output pixels of lines [l0, l1) of
 * x[pixel window + j] * dz[pixel][g..g+16), for J entries j of kernel row ky from j0. */
AINLINE void filter_unit(int J, const fs_conv_desc *d, const dpad *p, const float *dz, size_t l0, size_t l1, int ky,
                         size_t j0, size_t g, float *part) {
    __m256 a0[FLT_J], a1[FLT_J];
    size_t cout = (size_t)d->cout, ps = (size_t)d->stride * d->cin;
    for (int j = 0; j < J; j++) a0[j] = a1[j] = _mm256_setzero_ps();
    for (size_t l = l0; l < l1; l++) {
        size_t img = l / d->ho, oy = l % d->ho;
        const float *xl = p->x + (img * p->hp + oy * d->stride + ky) * p->row + j0, *gl = dz + l * d->wo * cout + g;
        for (int ox = 0; ox < d->wo; ox++, xl += ps, gl += cout) {
            __m256 g0 = _mm256_loadu_ps(gl), g1 = _mm256_loadu_ps(gl + 8);
            for (int j = 0; j < J; j++) {
                __m256 xv = _mm256_broadcast_ss(xl + j);
                a0[j] = _mm256_fmadd_ps(xv, g0, a0[j]);
                a1[j] = _mm256_fmadd_ps(xv, g1, a1[j]);
            }
        }
    }
    for (int j = 0; j < J; j++) {
        _mm256_storeu_ps(part + j * cout, a0[j]);
        _mm256_storeu_ps(part + j * cout + 8, a1[j]);
    }
}

/* One block's partial dw (layout of dw) over output lines [l0, l1). */
static void filter_block(const fs_conv_desc *d, const dpad *p, const float *dz, size_t l0, size_t l1, float *part) {
    size_t kc = (size_t)d->k * d->cin, cout = (size_t)d->cout;
    for (int ky = 0; ky < d->k; ky++)
        for (size_t g = 0; g < cout; g += 16)
            for (size_t j0 = 0; j0 < kc; j0 += FLT_J) {
                float *pj = part + ((size_t)ky * kc + j0) * cout + g;
                switch (FS_MIN((size_t)FLT_J, kc - j0)) {
                case 6: filter_unit(6, d, p, dz, l0, l1, ky, j0, g, pj); break;
                case 5: filter_unit(5, d, p, dz, l0, l1, ky, j0, g, pj); break;
                case 4: filter_unit(4, d, p, dz, l0, l1, ky, j0, g, pj); break;
                case 3: filter_unit(3, d, p, dz, l0, l1, ky, j0, g, pj); break;
                case 2: filter_unit(2, d, p, dz, l0, l1, ky, j0, g, pj); break;
                default: filter_unit(1, d, p, dz, l0, l1, ky, j0, g, pj); break;
                }
            }
}

void fs_direct_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw) {
    dpad p;
    pad_input(d, x, &p);
    size_t lines = (size_t)d->n * d->ho, blocks = FS_MIN(lines, (size_t)FLT_BLOCKS);
    size_t len = (size_t)d->k * d->k * d->cin * d->cout;
    float *part = fs_aligned_alloc(blocks * len * sizeof(float));
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads())
    for (size_t b = 0; b < blocks; b++)
        filter_block(d, &p, dz, b * lines / blocks, (b + 1) * lines / blocks, part + b * len);
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (len * blocks > FS_FAST_PAR_MIN)
    for (size_t i = 0; i < len; i++) {
        double acc = 0.0;
        for (size_t b = 0; b < blocks; b++) acc += part[b * len + i];
        dw[i] += (float)acc;
    }
    free(part);
}
