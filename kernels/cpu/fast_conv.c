/* fast_conv.c — conv2d and dense on an fp32 GEMM (semantics: kernels/ops.h, ref_conv.c):
 * OpenBLAS sgemm or the own one (fast_sgemm.c, AVX-512 or AVX2), as fs_cpu_gemm_own() says.
 *
 * Threading: the GEMM runs single-threaded and the work is split over OpenMP threads, each
 * calling it on its own slice. Two thread pools (OpenMP for im2col, OpenBLAS for GEMM)
 * would fight for the cores on small machines, and a thread that packs its own rows
 * multiplies them while they are still in its cache.
 *
 * conv2d, with col = im2col(x): [rows = n * ho * wo, kk = k * k * cin] in (ky, kx, ci) order
 * = the rows of the HWIO weights:
 *   fwd:        each thread packs blocks of its rows and runs y_rows = col_rows · W,
 *               then bias + activation on them; on the own GEMM, the GEMM packs its A
 *               panels straight from x (no col buffer), each thread in one call for its
 *               rows, or, with fewer than FWD_MIN_ROWS rows a thread, for all rows and its
 *               slice of the output channels (each thread then reads only its part of W)  (=)
 *   bwd_data:   stride 1, odd k, W smaller than col: a forward conv of dz with the
 *               flipped, transposed weights; otherwise dcol = dz · W^T (rows split),
 *               then col2im as a gather                                               (=)
 *   bwd_filter: per block of rows, the threads pack col together, then each runs
 *               dW[:, its output channels] += col^T · dz; on the own GEMM, each thread
 *               runs dW[its rows, :] += col^T · dz over all rows in one call, its A
 *               panels packed from x by 16 x 16 transposes (no col buffer, no barrier) (+=)
 * Convs with at most FS_SMALL_COUT output channels use fast_conv_small.c; convs with few
 * input channels (fs_direct_conv_applies) run fwd and bwd_filter on fast_conv_direct.c. Every split
 * depends only on the shape and the thread count, so results are deterministic. The col
 * and flipped-weight buffers are owned here and grown lazily: one calling thread at a time. */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/fast.h"
#include "kernels/cpu/fast_vec.h"
#include "kernels/bf16.h"
#include "kernels/cpu/fast_conv.h"

/* fwd: a thread packs and multiplies blocks of about this many col floats; fewer, larger
 * GEMMs pay OpenBLAS's packing of W fewer times (256-row blocks lost ~25% on 3x3 convs). */
#define FWD_COL_FLOATS ((size_t)2 << 20)
/* fwd on the own GEMM: below this many rows a thread, the threads split the output channels */
#define FWD_MIN_ROWS 512
#define COL_MAX_FLOATS ((size_t)4 << 20) /* shared col buffer of bwd_data / bwd_filter blocks */

typedef struct scratch {
    float *p;
    size_t cap; /* floats */
} scratch;
static scratch g_col, g_wflip;

static float *scratch_get(scratch *s, size_t floats) {
    if (floats > s->cap) {
        free(s->p);
        s->p = fs_aligned_alloc(floats * sizeof(float));
        s->cap = floats;
    }
    return s->p;
}

/* ---------------------------------------------------------------- bf16 (set_precision)
 * With FS_PREC_BF16, where fs_cpu_bf16_dot_on() and the op's GEMM path applies (not the
 * direct loops of few channels), each op runs its float32 code on its own operands with every
 * GEMM on fs_bf16_gemm (vdpbf16ps), which rounds the operands as it packs them: im2col, the
 * flipped weights and col2im only move values, so rounding at the GEMM is rounding the op's
 * operands. Otherwise the op rounds its two GEMM operands into copies (kernels/bf16.h) and
 * runs its float32 path on them. Either way the precision is set back to fp32 for the call
 * (so that nested calls, bwd_data as a forward conv, do not round again into the same
 * buffers). */
static scratch g_bf16[2];
static int g_dot; /* the GEMMs of the op in progress run on fs_bf16_gemm */

/* C = (beta ? C : 0) + op(A) op(B), row-major; beta is 0 or 1. */
static void gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float beta,
                 float *c, int ldc) {
    if (g_dot) fs_bf16_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta != 0.0f, c, ldc);
    else if (fs_cpu_gemm_own()) fs_sgemm(ta, tb, m, n, k, a, lda, b, ldb, beta != 0.0f, c, ldc);
    else
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
                    lda, b, ldb, beta, c, ldc);
}

static const float *bf16_copy(int slot, const float *src, size_t n) {
    float *dst = scratch_get(&g_bf16[slot], n);
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (n > FS_FAST_PAR_MIN)
    for (size_t i = 0; i < n; i++) dst[i] = fs_bf16_round(src[i]);
    return dst;
}
#define BF16_ROUNDED(call)                                                                                             \
    do {                                                                                                               \
        fs_cpu_set_precision(FS_PREC_FP32);                                                                            \
        call;                                                                                                          \
        fs_cpu_set_precision(FS_PREC_BF16);                                                                            \
    } while (0)
#define BF16_ON() (fs_cpu_precision() == FS_PREC_BF16)
#define BF16_DOT(call)                                                                                                 \
    do {                                                                                                               \
        g_dot = 1;                                                                                                     \
        BF16_ROUNDED(call);                                                                                            \
        g_dot = 0;                                                                                                     \
    } while (0)
/* A conv whose fwd (and bwd_filter) runs on the GEMMs, not on the direct loops. */
static int conv_on_gemm(const fs_conv_desc *d) { return d->cout > FS_SMALL_COUT && !fs_direct_conv_applies(d); }

/* [lo, hi) of part i of n items split in parts, boundaries on multiples of align. */
static void split(size_t n, int parts, int i, size_t align, size_t *lo, size_t *hi) {
    size_t units = (n + align - 1) / align;
    *lo = FS_MIN(n, units * (size_t)i / (size_t)parts * align);
    *hi = FS_MIN(n, units * (size_t)(i + 1) / (size_t)parts * align);
}

static size_t col_width(const fs_conv_desc *d) { return (size_t)d->k * d->k * d->cin; }
static int conv_is_pointwise(const fs_conv_desc *d) { return d->k == 1 && d->stride == 1; }

static const float *x_at(const fs_conv_desc *d, const float *x, int img, int iy, int ix) {
    return x + (((size_t)img * d->h + iy) * d->w + ix) * d->cin;
}

/* col rows [r0, r1) (global row = (img * ho + oy) * wo + ox), row stride kk. */
static void im2col_rows(const fs_conv_desc *d, const float *x, size_t r0, size_t r1, float *col) {
    size_t kk = col_width(d), cin = (size_t)d->cin;
    for (size_t r = r0; r < r1; r++) {
        int img = (int)(r / ((size_t)d->ho * d->wo)), oy = (int)(r / d->wo % d->ho), ox = (int)(r % d->wo);
        float *dst = col + (r - r0) * kk;
        for (int ky = 0; ky < d->k; ky++) {
            int iy = oy * d->stride - d->pad_top + ky;
            for (int kx = 0; kx < d->k; kx++, dst += cin) {
                int ix = ox * d->stride - d->pad_left + kx;
                if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) memset(dst, 0, cin * sizeof(float));
                else memcpy(dst, x + (((size_t)img * d->h + iy) * d->w + ix) * cin, cin * sizeof(float));
            }
        }
    }
}

/* dx input lines [l0, l1) (line = img * h + iy) of images from img0 on, gathered from dcol
 * whose row 0 is image img0's first output pixel. */
static void col2im_lines(const fs_conv_desc *d, const float *col, int img0, size_t l0, size_t l1, float *dx) {
    size_t kk = col_width(d), cin = (size_t)d->cin;
    for (size_t l = l0; l < l1; l++) {
        int b = (int)(l / d->h) - img0, iy = (int)(l % d->h);
        float *out = dx + l * d->w * cin;
        memset(out, 0, (size_t)d->w * cin * sizeof(float));
        for (int ky = 0; ky < d->k; ky++) {
            int ty = iy + d->pad_top - ky;
            if (ty < 0 || ty % d->stride || ty / d->stride >= d->ho) continue;
            for (int ix = 0; ix < d->w; ix++)
                for (int kx = 0; kx < d->k; kx++) {
                    int tx = ix + d->pad_left - kx;
                    if (tx < 0 || tx % d->stride || tx / d->stride >= d->wo) continue;
                    size_t row = ((size_t)b * d->ho + ty / d->stride) * d->wo + tx / d->stride;
                    const float *src = col + row * kk + ((size_t)ky * d->k + kx) * cin;
                    float *o = out + (size_t)ix * cin;
                    for (size_t c = 0; c < cin; c++) o[c] += src[c];
                }
        }
    }
}

/* y[r, :] = act(y[r, :] + b) for rows [r0, r1). One loop per case, so that gcc vectorises
 * the bias and LeakyReLU ones (a per-element switch kept them scalar). */
static void bias_act_rows(size_t r0, size_t r1, int cols, const float *b, float *y, fs_act act, float alpha) {
    if (!b && act == FS_ACT_NONE) return;
    for (size_t r = r0; r < r1; r++) {
        float *yr = y + r * cols;
        if (b)
            for (int c = 0; c < cols; c++) yr[c] += b[c];
        if (act == FS_ACT_LEAKY) fs_vec_leaky_mul((size_t)cols, alpha, yr, yr, yr);
        else if (act != FS_ACT_NONE)
            for (int c = 0; c < cols; c++) yr[c] = fs_cpu_act(yr[c], act, alpha);
    }
}

static void bias_act(size_t rows, int cols, const float *b, float *y, fs_act act, float alpha) {
    if (!b && act == FS_ACT_NONE) return;
#pragma omp parallel num_threads(fs_cpu_threads()) if (rows * (size_t)cols > FS_FAST_PAR_MIN)
    {
        size_t lo, hi;
        split(rows, omp_get_num_threads(), omp_get_thread_num(), 1, &lo, &hi);
        bias_act_rows(lo, hi, cols, b, y, act, alpha);
    }
}

/* db[c] += sum over rows of dz[r, c], each column summed in row order (in double). */
static void column_sums(size_t rows, int cols, const float *dz, float *db) {
    enum { BLK = 64 };
    int blocks = (cols + BLK - 1) / BLK;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (rows * (size_t)cols > FS_FAST_PAR_MIN)
    for (int bl = 0; bl < blocks; bl++) {
        int c0 = bl * BLK, nc = FS_MIN(BLK, cols - c0);
        double acc[BLK] = {0};
        for (size_t r = 0; r < rows; r++)
            for (int c = 0; c < nc; c++) acc[c] += dz[r * cols + c0 + c];
        for (int c = 0; c < nc; c++) db[c0 + c] += (float)acc[c];
    }
}

/* ---------------------------------------------------------------- conv2d forward */
/* Rows of one fwd block: FWD_COL_FLOATS worth of col, between 128 and 2048 rows. */
static size_t fwd_block_rows(const fs_conv_desc *d) {
    return FS_MIN((size_t)2048, FS_MAX((size_t)128, FWD_COL_FLOATS / col_width(d)));
}

/* The col rows of one thread's part: a block, or fewer when its rows (split on multiples of
 * 8) are fewer, so that no allocated col page goes untouched (the estimate counts them all). */
static size_t fwd_thread_rows(const fs_conv_desc *d, int threads) {
    size_t units = ((size_t)d->n * d->ho * d->wo + 7) / 8, per = (units + (size_t)threads - 1) / (size_t)threads;
    return FS_MIN(fwd_block_rows(d), per * 8);
}
/* The col floats of each pass (the conv ops and fs_cpu_conv_scratch_bytes). */
static size_t fwd_col_floats(const fs_conv_desc *d, int threads) {
    return (size_t)threads * fwd_thread_rows(d, threads) * col_width(d);
}
static int bwd_data_step(const fs_conv_desc *d) {
    size_t img_rows = (size_t)d->ho * d->wo;
    return (int)FS_MAX(1, FS_MIN((size_t)d->n, COL_MAX_FLOATS / (img_rows * col_width(d))));
}
static size_t bwd_filter_block(const fs_conv_desc *d) {
    return FS_MIN((size_t)d->n * d->ho * d->wo, FS_MAX((size_t)64, COL_MAX_FLOATS / col_width(d)));
}

/* One thread's rows [r0, r1): pack a block of rows (at most `block`), multiply, bias + activation. */
static void fwd_rows(const fs_conv_desc *d, const float *x, const float *w, const float *b, float *y, fs_act act,
                     float alpha, size_t r0, size_t r1, size_t block, float *col) {
    size_t kk = col_width(d);
    for (size_t rb = r0; rb < r1; rb += block) {
        size_t re = FS_MIN(r1, rb + block);
        const float *a = x + rb * kk; /* pointwise: x rows are the col rows */
        if (!conv_is_pointwise(d)) {
            im2col_rows(d, x, rb, re, col);
            a = col;
        }
        gemm(0, 0, (int)(re - rb), d->cout, (int)kk, a, (int)kk, w, d->cout, 0.0f, y + rb * d->cout, d->cout);
        bias_act_rows(rb, re, d->cout, b, y, act, alpha);
    }
}

/* The own GEMM's A operand of the forward conv: the col rows from r0 on, packed from x. */
typedef struct conv_a {
    const fs_conv_desc *d;
    const float *x;
    size_t r0;
} conv_a;

static void pack_a_conv(const void *ctx, int i0, int rows, int k0, int kb, float *ap) {
    const conv_a *ca = ctx;
    const fs_conv_desc *d = ca->d;
    int cin = d->cin;
    for (int i = 0; i < rows; i++) {
        size_t r = ca->r0 + (size_t)(i0 + i);
        int img = (int)(r / ((size_t)d->ho * d->wo)), oy = (int)(r / d->wo % d->ho), ox = (int)(r % d->wo);
        float *dst = ap + (size_t)i * FS_SGEMM_KC - k0;
        for (int q = k0, len; q < k0 + kb; q += len) { /* one run of a tap's channels at a time */
            int tap = q / cin, ci = q % cin, iy = oy * d->stride - d->pad_top + tap / d->k,
                ix = ox * d->stride - d->pad_left + tap % d->k;
            len = FS_MIN(cin - ci, k0 + kb - q);
            if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) memset(dst + q, 0, (size_t)len * sizeof(float));
            else memcpy(dst + q, x_at(d, ca->x, img, iy, ix) + ci, (size_t)len * sizeof(float));
        }
    }
}

/* Own GEMM, rows [r0, r1) x output channels [c0, c1): A packed from x (pointwise, HWIO
 * weights: x itself); w, the weights as op(B) (kk x cout). */
static void fwd_fused(const fs_conv_desc *d, const float *x, const fs_sgemm_mat *w, float *y, size_t r0, size_t r1,
                      int c0, int c1) {
    size_t kk = col_width(d);
    fs_sgemm_mat bm = *w;
    if (r1 <= r0 || c1 <= c0) return;
    bm.p += w->trans ? (size_t)c0 * w->ld : (size_t)c0;
    if (conv_is_pointwise(d) && !w->trans) {
        fs_sgemm(0, 0, (int)(r1 - r0), c1 - c0, (int)kk, x + r0 * kk, (int)kk, bm.p, w->ld, 0, y + r0 * d->cout + c0,
                 d->cout);
        return;
    }
    conv_a ca = {d, x, r0};
    fs_sgemm_ex(pack_a_conv, &ca, &bm, (int)(r1 - r0), c1 - c0, (int)kk, 0, y + r0 * d->cout + c0, d->cout);
}

static void fwd_own(const fs_conv_desc *d, const float *x, const fs_sgemm_mat *w, const float *b, float *y, fs_act act,
                    float alpha) {
    size_t rows = (size_t)d->n * d->ho * d->wo;
    int threads = fs_cpu_threads(), by_cols = rows < (size_t)FWD_MIN_ROWS * threads && d->cout >= 64 * threads;
#pragma omp parallel num_threads(threads)
    {
        size_t lo, hi;
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        if (by_cols) {
            split((size_t)d->cout, nt, t, 32, &lo, &hi);
            fwd_fused(d, x, w, y, 0, rows, (int)lo, (int)hi);
#pragma omp barrier
            split(rows, nt, t, 1, &lo, &hi);
        } else {
            split(rows, nt, t, 8, &lo, &hi);
            fwd_fused(d, x, w, y, lo, hi, 0, d->cout);
        }
        bias_act_rows(lo, hi, d->cout, b, y, act, alpha);
    }
}

void fs_fast_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, const float *b, float *y, fs_act act,
                        float alpha) {
    if (BF16_ON() && fs_cpu_bf16_dot_on() && conv_on_gemm(d)) {
        BF16_DOT(fs_fast_conv2d_fwd(d, x, w, b, y, act, alpha));
        return;
    }
    if (BF16_ON()) {
        const float *xr = bf16_copy(0, x, (size_t)d->n * d->h * d->w * d->cin),
                    *wr = bf16_copy(1, w, (size_t)d->k * d->k * d->cin * d->cout);
        BF16_ROUNDED(fs_fast_conv2d_fwd(d, xr, wr, b, y, act, alpha));
        return;
    }
    size_t rows = (size_t)d->n * d->ho * d->wo;
    if (d->cout <= FS_SMALL_COUT) {
        fs_small_conv2d_fwd(d, x, w, y);
        bias_act(rows, d->cout, b, y, act, alpha);
        return;
    }
    if (fs_direct_conv_applies(d)) {
        fs_direct_conv2d_fwd(d, x, w, y);
        bias_act(rows, d->cout, b, y, act, alpha);
        return;
    }
    if (fs_cpu_gemm_own() && !g_dot) {
        fs_sgemm_mat wm = {.p = w, .ld = d->cout};
        fwd_own(d, x, &wm, b, y, act, alpha);
        return;
    }
    int threads = fs_cpu_threads();
    size_t block = fwd_thread_rows(d, threads), per_thread = block * col_width(d);
    float *col = scratch_get(&g_col, fwd_col_floats(d, threads));
#pragma omp parallel num_threads(threads)
    {
        size_t lo, hi;
        int t = omp_get_thread_num();
        split(rows, omp_get_num_threads(), t, 8, &lo, &hi);
        fwd_rows(d, x, w, b, y, act, alpha, lo, hi, block, col + (size_t)t * per_thread);
    }
}

/* ---------------------------------------------------------------- conv2d backward data */
/* Stride 1 with odd k: dx = same-conv(dz, W') with W'[ky][kx][co][ci] = W[k-1-ky][k-1-kx][ci][co]
 * (the padding k-1-pad equals pad). Taken when W is smaller than col, since flipping W
 * costs a pass over it where col2im costs a pass over col. Returns 0 if not taken. */
static int as_conv_desc(const fs_conv_desc *d, fs_conv_desc *t) {
    size_t k = (size_t)d->k, cin = (size_t)d->cin, cout = (size_t)d->cout;
    return !(d->stride != 1 || d->k % 2 == 0 || k * k * cin * cout > (size_t)d->n * d->ho * d->wo * col_width(d) ||
             fs_conv_desc_init(t, d->n, d->ho, d->wo, d->cout, d->cin, d->k, 1) != 0);
}

static int bwd_data_as_conv(const fs_conv_desc *d, const float *dz, const float *w, float *dx) {
    fs_conv_desc t;
    size_t k = (size_t)d->k, cin = (size_t)d->cin, cout = (size_t)d->cout;
    if (!as_conv_desc(d, &t) || (g_dot && !conv_on_gemm(&t)))
        return 0; /* (on fs_bf16_gemm, the forward conv must run on the GEMMs too) */
    if (fs_cpu_gemm_own() && !g_dot && conv_on_gemm(&t)) {
        /* the own GEMM reads W' in place: row (tap, co) of op(B) is column co of W[k*k-1-tap],
         * the same values in the same order as the copy below, so the same bits */
        fs_sgemm_mat wm = {w + (k * k - 1) * cin * cout, d->cout, 1, d->cout, -(ptrdiff_t)(cin * cout)};
        fwd_own(&t, dz, &wm, NULL, dx, FS_ACT_NONE, 0.0f);
        return 1;
    }
    float *wf = scratch_get(&g_wflip, k * k * cin * cout);
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (k * k * cin * cout > FS_FAST_PAR_MIN)
    for (size_t tap = 0; tap < k * k; tap++) {
        const float *src = w + (k * k - 1 - tap) * cin * cout; /* (k-1-ky, k-1-kx) */
        float *dst = wf + tap * cin * cout;
        for (size_t co = 0; co < cout; co++)
            for (size_t ci = 0; ci < cin; ci++) dst[co * cin + ci] = src[ci * cout + co];
    }
    fs_fast_conv2d_fwd(&t, dz, wf, NULL, dx, FS_ACT_NONE, 0.0f);
    return 1;
}

/* bwd_data through dcol + col2im on the own GEMM, with at least as many images as threads:
 * each thread its images, in groups of bwd_data_own_group(d, threads) images through its own
 * part of the col buffer (dcol of a group, then col2im of its lines), no barrier. A dcol
 * element is one FMA chain over the output channels whatever the group, and col2im sums
 * the taps in the same order, so the bits are those of the shared-block path. */
static int bwd_data_own_group(const fs_conv_desc *d, int threads) {
    size_t img_floats = (size_t)d->ho * d->wo * col_width(d), per = (size_t)(d->n + threads - 1) / (size_t)threads;
    return (int)FS_MAX((size_t)1, FS_MIN(per, COL_MAX_FLOATS / (size_t)threads / img_floats));
}

static void bwd_data_own(const fs_conv_desc *d, const float *dz, const float *w, float *dx) {
    size_t kk = col_width(d), img_rows = (size_t)d->ho * d->wo;
    int threads = fs_cpu_threads(), group = bwd_data_own_group(d, threads);
    float *col = scratch_get(&g_col, (size_t)threads * group * img_rows * kk);
#pragma omp parallel num_threads(threads)
    {
        size_t lo, hi;
        int t = omp_get_thread_num();
        float *mine = col + (size_t)t * group * img_rows * kk;
        split((size_t)d->n, omp_get_num_threads(), t, 1, &lo, &hi);
        for (size_t img0 = lo; img0 < hi; img0 += (size_t)group) {
            size_t nb = FS_MIN((size_t)group, hi - img0);
            fs_sgemm(0, 1, (int)(nb * img_rows), (int)kk, d->cout, dz + img0 * img_rows * d->cout, d->cout, w, d->cout,
                     0, mine, (int)kk);
            col2im_lines(d, mine, (int)img0, img0 * d->h, (img0 + nb) * d->h, dx);
        }
    }
}

void fs_fast_conv2d_bwd_data(const fs_conv_desc *d, const float *dz, const float *w, float *dx) {
    if (BF16_ON() && fs_cpu_bf16_dot_on() && d->cout > FS_SMALL_COUT) {
        BF16_DOT(fs_fast_conv2d_bwd_data(d, dz, w, dx));
        return;
    }
    if (BF16_ON()) {
        const float *dzr = bf16_copy(0, dz, (size_t)d->n * d->ho * d->wo * d->cout),
                    *wr = bf16_copy(1, w, (size_t)d->k * d->k * d->cin * d->cout);
        BF16_ROUNDED(fs_fast_conv2d_bwd_data(d, dzr, wr, dx));
        return;
    }
    if (d->cout <= FS_SMALL_COUT) return fs_small_conv2d_bwd_data(d, dz, w, dx);
    if (bwd_data_as_conv(d, dz, w, dx)) return;
    if (fs_cpu_gemm_own() && !g_dot && !conv_is_pointwise(d) && d->n >= fs_cpu_threads())
        return bwd_data_own(d, dz, w, dx);
    size_t kk = col_width(d), img_rows = (size_t)d->ho * d->wo;
    int step = bwd_data_step(d);
    float *col = conv_is_pointwise(d) ? NULL : scratch_get(&g_col, (size_t)step * img_rows * kk);
    for (int img0 = 0; img0 < d->n; img0 += step) {
        int nb = FS_MIN(step, d->n - img0);
        size_t rows = (size_t)nb * img_rows;
        const float *dzc = dz + (size_t)img0 * img_rows * d->cout;
        float *out = col ? col : dx + (size_t)img0 * img_rows * d->cin;
#pragma omp parallel num_threads(fs_cpu_threads())
        {
            size_t lo, hi;
            split(rows, omp_get_num_threads(), omp_get_thread_num(), 8, &lo, &hi);
            if (hi > lo)
                gemm(0, 1, (int)(hi - lo), (int)kk, d->cout, dzc + lo * d->cout, d->cout, w, d->cout, 0.0f,
                     out + lo * kk, (int)kk);
#pragma omp barrier
            split((size_t)nb * d->h, omp_get_num_threads(), omp_get_thread_num(), 1, &lo, &hi);
            if (col) col2im_lines(d, col, img0, (size_t)img0 * d->h + lo, (size_t)img0 * d->h + hi, dx);
        }
    }
}

/* ---------------------------------------------------------------- conv2d backward filter */
/* The own GEMM's A operand of bwd_filter: op(A) = col^T from dW row q0 on (row q = tap * cin
 * + ci, column = col row, i.e. output pixel), packed from x by 16 x 16 transposes: 16 pixels'
 * runs of 16 channels of one tap (no col buffer). */
typedef struct conv_at {
    const fs_conv_desc *d;
    const float *x;
    size_t q0;
} conv_at;

static void pack_at_conv(const void *ctx, int i0, int rows, int k0, int kb, float *ap) {
    const conv_at *ca = ctx;
    const fs_conv_desc *d = ca->d;
    int cin = d->cin, by[16], bx[16];
    const float *img[16], *src[16];
    for (int p = 0; p < kb; p += 16, ap += 16) {
        int np = FS_MIN(16, kb - p);
        for (int j = 0; j < np; j++) { /* pixel k0 + p + j: its image and the input corner of its window */
            size_t r = (size_t)k0 + (size_t)(p + j);
            int oy = (int)(r / d->wo % d->ho), ox = (int)(r % d->wo);
            img[j] = x_at(d, ca->x, (int)(r / ((size_t)d->ho * d->wo)), 0, 0);
            by[j] = oy * d->stride - d->pad_top, bx[j] = ox * d->stride - d->pad_left;
        }
        for (int i = 0; i < rows; i += 16) {
            int nq = FS_MIN(16, rows - i);
            size_t q = ca->q0 + (size_t)(i0 + i);
            int tap = (int)(q / (size_t)cin), ci = (int)(q % (size_t)cin);
            if (ci + nq <= cin) { /* one tap: a run of channels per pixel */
                int ky = tap / d->k, kx = tap % d->k;
                for (int j = 0; j < 16; j++) {
                    int iy = j < np ? by[j] + ky : -1, ix = j < np ? bx[j] + kx : -1;
                    src[j] = iy >= 0 && iy < d->h && ix >= 0 && ix < d->w ? img[j] + ((size_t)iy * d->w + ix) * cin + ci
                                                                          : NULL;
                }
                fs_sgemm_transpose16(src, nq, ap + (size_t)i * FS_SGEMM_KC, FS_SGEMM_KC);
                continue;
            }
            for (int u = 0; u < nq; u++) { /* the run crosses taps (cin not a multiple of 16) */
                int t = (int)((q + (size_t)u) / (size_t)cin), c = (int)((q + (size_t)u) % (size_t)cin);
                float *dst = ap + (size_t)(i + u) * FS_SGEMM_KC;
                for (int j = 0; j < 16; j++) {
                    int iy = j < np ? by[j] + t / d->k : -1, ix = j < np ? bx[j] + t % d->k : -1;
                    dst[j] = iy >= 0 && iy < d->h && ix >= 0 && ix < d->w ? img[j][((size_t)iy * d->w + ix) * cin + c]
                                                                          : 0.0f;
                }
            }
        }
    }
}

/* Own GEMM: dW[its rows, :] += col^T · dz over all rows in one call per thread, A packed
 * from x (pointwise: x itself). Each element of dW is one FMA chain in row order, on one
 * thread: the bits of the block-by-block path, for any thread count. */
static void bwd_filter_own(const fs_conv_desc *d, const float *x, const float *dz, float *dw) {
    size_t rows = (size_t)d->n * d->ho * d->wo, kk = col_width(d);
#pragma omp parallel num_threads(fs_cpu_threads())
    {
        size_t k0, k1;
        split(kk, omp_get_num_threads(), omp_get_thread_num(), 16, &k0, &k1);
        fs_sgemm_mat bm = {.p = dz, .ld = d->cout};
        conv_at ca = {d, x, k0};
        if (k1 > k0 && conv_is_pointwise(d))
            fs_sgemm(1, 0, (int)(k1 - k0), d->cout, (int)rows, x + k0, (int)kk, dz, d->cout, 1, dw + k0 * d->cout,
                     d->cout);
        else if (k1 > k0)
            fs_sgemm_ex(pack_at_conv, &ca, &bm, (int)(k1 - k0), d->cout, (int)rows, 1, dw + k0 * d->cout, d->cout);
    }
}

void fs_fast_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw, float *db) {
    if (BF16_ON() && fs_cpu_bf16_dot_on() && conv_on_gemm(d)) { /* db: from the unrounded dz, as below */
        BF16_DOT(fs_fast_conv2d_bwd_filter(d, x, dz, dw, db));
        return;
    }
    if (BF16_ON()) { /* db sums dz itself, not a GEMM operand: from the unrounded dz */
        if (db) column_sums((size_t)d->n * d->ho * d->wo, d->cout, dz, db);
        const float *xr = bf16_copy(0, x, (size_t)d->n * d->h * d->w * d->cin),
                    *dzr = bf16_copy(1, dz, (size_t)d->n * d->ho * d->wo * d->cout);
        BF16_ROUNDED(fs_fast_conv2d_bwd_filter(d, xr, dzr, dw, NULL));
        return;
    }
    size_t rows = (size_t)d->n * d->ho * d->wo, kk = col_width(d);
    if (db) column_sums(rows, d->cout, dz, db);
    if (d->cout <= FS_SMALL_COUT) return fs_small_conv2d_bwd_filter(d, x, dz, dw);
    if (fs_direct_conv_applies(d)) return fs_direct_conv2d_bwd_filter(d, x, dz, dw);
    if (fs_cpu_gemm_own() && !g_dot) return bwd_filter_own(d, x, dz, dw);
    size_t block = bwd_filter_block(d);
    float *col = conv_is_pointwise(d) ? NULL : scratch_get(&g_col, block * kk);
#pragma omp parallel num_threads(fs_cpu_threads())
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t c0, c1, lo, hi;
        split((size_t)d->cout, nt, t, 16, &c0, &c1);
        for (size_t rb = 0; rb < rows; rb += block) {
            size_t re = FS_MIN(rows, rb + block);
            if (col) {
                split(re - rb, nt, t, 1, &lo, &hi);
                im2col_rows(d, x, rb + lo, rb + hi, col + lo * kk);
#pragma omp barrier
            }
            const float *a = col ? col : x + rb * kk;
            if (c1 > c0)
                gemm(1, 0, (int)kk, (int)(c1 - c0), (int)(re - rb), a, (int)kk, dz + rb * d->cout + c0, d->cout, 1.0f,
                     dw + c0, d->cout);
#pragma omp barrier
        }
    }
}

/* ---------------------------------------------------------------- dense */
void fs_fast_dense_fwd(int n, int in, int out, const float *x, const float *w, const float *b, float *y, fs_act act,
                       float alpha) {
    if (BF16_ON() && fs_cpu_bf16_dot_on()) {
        BF16_DOT(fs_fast_dense_fwd(n, in, out, x, w, b, y, act, alpha));
        return;
    }
    if (BF16_ON()) {
        const float *xr = bf16_copy(0, x, (size_t)n * in), *wr = bf16_copy(1, w, (size_t)in * out);
        BF16_ROUNDED(fs_fast_dense_fwd(n, in, out, xr, wr, b, y, act, alpha));
        return;
    }
#pragma omp parallel num_threads(fs_cpu_threads())
    {
        size_t lo, hi;
        split((size_t)out, omp_get_num_threads(), omp_get_thread_num(), 16, &lo, &hi);
        if (hi > lo) gemm(0, 0, n, (int)(hi - lo), in, x, in, w + lo, out, 0.0f, y + lo, out);
    }
    bias_act((size_t)n, out, b, y, act, alpha);
}

void fs_fast_dense_bwd_data(int n, int in, int out, const float *dz, const float *w, float *dx) {
    if (BF16_ON() && fs_cpu_bf16_dot_on()) {
        BF16_DOT(fs_fast_dense_bwd_data(n, in, out, dz, w, dx));
        return;
    }
    if (BF16_ON()) {
        const float *dzr = bf16_copy(0, dz, (size_t)n * out), *wr = bf16_copy(1, w, (size_t)in * out);
        BF16_ROUNDED(fs_fast_dense_bwd_data(n, in, out, dzr, wr, dx));
        return;
    }
#pragma omp parallel num_threads(fs_cpu_threads())
    {
        size_t lo, hi;
        split((size_t)in, omp_get_num_threads(), omp_get_thread_num(), 16, &lo, &hi);
        if (hi > lo) gemm(0, 1, n, (int)(hi - lo), out, dz, out, w + lo * out, out, 0.0f, dx + lo, in);
    }
}

void fs_fast_dense_bwd_filter(int n, int in, int out, const float *x, const float *dz, float *dw, float *db) {
    if (BF16_ON() && fs_cpu_bf16_dot_on()) {
        BF16_DOT(fs_fast_dense_bwd_filter(n, in, out, x, dz, dw, db));
        return;
    }
    if (BF16_ON()) {
        if (db) column_sums((size_t)n, out, dz, db);
        const float *xr = bf16_copy(0, x, (size_t)n * in), *dzr = bf16_copy(1, dz, (size_t)n * out);
        BF16_ROUNDED(fs_fast_dense_bwd_filter(n, in, out, xr, dzr, dw, NULL));
        return;
    }
#pragma omp parallel num_threads(fs_cpu_threads())
    {
        size_t lo, hi;
        split((size_t)in, omp_get_num_threads(), omp_get_thread_num(), 16, &lo, &hi);
        if (hi > lo) gemm(1, 0, (int)(hi - lo), out, n, x + lo, in, dz, out, 1.0f, dw + lo * out, out);
    }
    if (db) column_sums((size_t)n, out, dz, db);
}

/* ---------------------------------------------------------------- scratch sizes
 * Follows the dispatch of the three ops above (and of fast_conv_direct.c, fast_conv_small.c:
 * the padded copies are [n, ho-1)*stride + k, ..., c] there, the partial sums of bwd_filter
 * blocks x len, the small loops' weight copies taps x cin x cout). fp32 path. */
static void ws_max(size_t *a, size_t b) { *a = FS_MAX(*a, b); }

static void fwd_scratch(const fs_conv_desc *d, int threads, int own, fs_cpu_conv_scratch *s) {
    size_t taps = (size_t)d->k * d->k;
    if (d->cout <= FS_SMALL_COUT) {
        int three = d->stride == 1 && d->cout == 3 && d->cin % 8 == 0;
        if (three) ws_max(&s->pad, (size_t)d->n * (d->ho + d->k - 1) * (d->wo + d->k - 1) * d->cin * sizeof(float));
        ws_max(&s->transient, taps * d->cin * d->cout * sizeof(float));
    } else if (fs_direct_conv_applies(d)) {
        ws_max(&s->xpad, (size_t)d->n * ((d->ho - 1) * d->stride + d->k) * ((d->wo - 1) * d->stride + d->k) * d->cin *
                             sizeof(float));
    } else if (!own) { /* the own GEMM packs its A panels from x: no col */
        ws_max(&s->col, fwd_col_floats(d, threads) * sizeof(float));
    }
}

void fs_cpu_conv_scratch_bytes(const fs_conv_desc *d, int threads, fs_cpu_conv_scratch *s) {
    size_t taps = (size_t)d->k * d->k, len = taps * d->cin * d->cout, lines = (size_t)d->n * d->ho;
    fs_conv_desc t;
    int own = fs_cpu_gemm_own();
    fwd_scratch(d, threads, own, s);
    /* bwd_data */
    if (d->cout <= FS_SMALL_COUT) {
        int three = d->stride == 1 && d->cout == 3 && d->cin % 8 == 0;
        if (three) ws_max(&s->pad, (size_t)d->n * (d->h + d->k - 1) * (d->w + d->k - 1) * 3 * sizeof(float));
        ws_max(&s->transient, len * sizeof(float));
    } else if (as_conv_desc(d, &t)) { /* the own GEMM reads W' in place where t runs on it */
        if (!own || !conv_on_gemm(&t)) ws_max(&s->wflip, len * sizeof(float));
        fwd_scratch(&t, threads, own, s);
    } else if (own && !conv_is_pointwise(d) && d->n >= threads) { /* each thread's group */
        ws_max(&s->col,
               (size_t)threads * bwd_data_own_group(d, threads) * d->ho * d->wo * col_width(d) * sizeof(float));
    } else if (!conv_is_pointwise(d)) { /* the shared blocks */
        ws_max(&s->col, (size_t)bwd_data_step(d) * d->ho * d->wo * col_width(d) * sizeof(float));
    }
    /* bwd_filter: partial sums of at most 256 (small loops) or 64 (direct) blocks */
    if (d->cout <= FS_SMALL_COUT) {
        int three = d->stride == 1 && d->cout == 3 && d->cin % 8 == 0;
        if (three) ws_max(&s->pad, (size_t)d->n * (d->ho + d->k - 1) * (d->wo + d->k - 1) * d->cin * sizeof(float));
        ws_max(&s->transient, FS_MIN(lines, (size_t)256) * len * sizeof(float));
    } else if (fs_direct_conv_applies(d)) {
        ws_max(&s->xpad, (size_t)d->n * ((d->ho - 1) * d->stride + d->k) * ((d->wo - 1) * d->stride + d->k) * d->cin *
                             sizeof(float));
        ws_max(&s->transient, FS_MIN(lines, (size_t)64) * len * sizeof(float));
    } else if (!own && !conv_is_pointwise(d)) { /* the own GEMM packs col^T from x: no col */
        ws_max(&s->col, bwd_filter_block(d) * col_width(d) * sizeof(float));
    }
}
