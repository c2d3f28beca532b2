/* gemm_tc.cu — the tensor-core implicit GEMM of train.precision bf16: the same operand modes
 * and epilogue as gemm.cu (fsk_gemm in fsk.h), on operands rounded to bf16 (nearest even,
 * kernels/bf16.h: the CPU backends' rounding), products summed in fp32 by mma.sync m16n8k16.
 *
 * Operands: a conversion kernel first writes bf16 copies of the two GEMM operands into device
 * scratch (slots 4 and 5), except for an operand that is bf16 already (fsk_gemm's a_bf16,
 * b_bf16: activations under FS_PREC_BF16_ACT), which is read in place when its layout allows
 * (a convolution tensor always; a plain matrix when its rows are K-contiguous runs of a
 * multiple of 8, 16-byte aligned) and repacked bf16 to bf16 otherwise (bwd_filter's dz, whose
 * K is its row index). A bf16 output (c_bf16) is rounded once as the epilogue stores it. A plain matrix (dense, conv weights, bwd_filter's dz) is copied
 * with K contiguous, [rows][Kp] with Kp = K rounded up to 8 and zeros in the tail, so every
 * row is a run of 16-byte chunks of 8 bf16. A convolution tensor (x, dz, the bwd_data
 * weights) is copied in its own layout and gathered on the fly (no im2col buffer): along K
 * its contiguous run is the channel count, so it moves in 16-byte chunks when that count is
 * a multiple of 8, and element by element otherwise (cin = 3 of the first conv; bwd_filter's
 * im2col^T, whose K is spatial).
 *
 * Block: 256 threads (8 warps, 2 along M x 4 along N), a 128 x 128 tile of C (128 x 64 when
 * N <= 64), K in slices of 32; a 3-stage cp.async pipeline (commit / wait_group 1: slice
 * i + 2 is in flight while slice i is multiplied); tiles in shared memory as [row][32 k] bf16
 * with the 16-byte chunks of a row XOR-swizzled by (row / 2) % 4, so that the 8 rows of an
 * ldmatrix hit distinct banks; A fragments by ldmatrix.x4, B fragments (B stored as [n][k])
 * by ldmatrix.x4 for two n8 tiles. Each warp holds a 64 x 32 (64 x 16) block of C in
 * registers: 4 x 4 (4 x 2) m16n8 accumulators. 3 stages x 2 operands x 128 x 32 bf16 =
 * 48 KiB: the static shared memory limit.
 * Loads: thread t stages row t / 2 of both tiles, k = 16 (t % 2) .. + 16 of the slice; its
 * row's gather base is computed once per block, and the k index (ky, kx, ci), (jy, jx, co)
 * or (n, oy, ox) is a mixed-radix counter advanced by additions with carries (no div/mod in
 * the K loop).
 * Determinism: each output is one thread's fixed sequence of mma in k order; split-K partials
 * are added in split order by gemm.cu; bwd_data keeps the stride-parity classes (grid z). */
#include "kernels/cuda/fsk.h"
#include "kernels/cuda/emu.h"
#include "kernels/cuda/gemm_util.h"
#include "kernels/cuda/mma.h"

#define TC_BM 128
#define TC_BK 32
#define TC_STAGES 3

int FSK(gemm_tc_drop_last_slice) = 0;
int FSK(gemm_tc_skip_stage_sync) = 0;

/* Where an operand's rows come from (both operands are staged as [row][k]). */
enum {
    TC_ROWS = 0,     /* p[row * ld + k]: a bf16 copy with K contiguous */
    TC_FWD_X,        /* A of conv fwd: row (n, oy, ox), k (ky, kx, ci) -> x[n, iy, ix, ci] */
    TC_BWD_DATA_DZ,  /* A of bwd_data: row (n, iy, ix) of the class, k (jy, jx, co) -> dz[n, oy, ox, co] */
    TC_BWD_FILTER_X, /* A of bwd_filter: row (ky, kx, ci), k (n, oy, ox) -> x[n, iy, ix, ci] */
    TC_BWD_DATA_W    /* B of bwd_data: row ci, k (jy, jx, co) -> w[ky, kx, ci, co] */
};

typedef struct tc_args {
    fsk_gemm g;
    const fs_bf16 *a, *b; /* the bf16 copies */
    long lda, ldb;        /* TC_ROWS: row stride (Kp) */
    int asrc, bsrc;       /* TC_* */
    int achunk, bchunk;   /* 1: 16-byte cp.async chunks; 0: element by element */
    int bn;               /* 128 or 64 */
    int drop_last;        /* test only: skip the last K slice's products */
    int skip_sync;        /* test only: no __syncthreads between the stages (a race) */
} tc_args;

/* A mixed-radix k index: k = (c2 * d1 + c1) * d0 + c0. */
typedef struct tc_cnt {
    int c0, c1, c2;
} tc_cnt;
typedef struct tc_radix {
    int d0, d1;
} tc_radix;

FSK_DEVICE tc_cnt cnt_of(tc_radix r, int k) {
    tc_cnt c;
    c.c0 = k % r.d0, c.c1 = (k / r.d0) % r.d1, c.c2 = k / (r.d0 * r.d1);
    return c;
}
/* c += s (s given by its digits, s.c0 < d0 and s.c1 < d1): two compares, no division. */
FSK_DEVICE void cnt_add(tc_cnt *c, tc_cnt s, tc_radix r) {
    c->c0 += s.c0;
    int carry = c->c0 >= r.d0;
    c->c0 -= carry ? r.d0 : 0;
    c->c1 += s.c1 + carry;
    carry = c->c1 >= r.d1;
    c->c1 -= carry ? r.d1 : 0;
    c->c2 += s.c2 + carry;
}

/* One thread's view of one operand: its row's gather base, fixed for the block. */
typedef struct tc_row {
    int src, chunk, valid;
    const fs_bf16 *p; /* the row's base */
    int y, x;         /* FWD_X: iy0, ix0; BWD_DATA_DZ: iy + pad_top, ix + pad_left; BWD_FILTER_X: ky - pt, kx - pl */
    tc_radix r;
    tc_cnt one, eight, slice; /* the digits of 1, 8 and TC_BK */
    tc_cnt k;                 /* the counter at this thread's first k of the next slice */
} tc_row;

FSK_DEVICE tc_radix radix_of(const fsk_gemm *g, const cls_geom *q, int src) {
    tc_radix r;
    const fs_conv_desc *d = &g->conv;
    r.d0 = 1 << 30, r.d1 = 1;
    if (src == TC_FWD_X) r.d0 = d->cin, r.d1 = d->k;
    if (src == TC_BWD_DATA_DZ || src == TC_BWD_DATA_W) r.d0 = d->cout, r.d1 = q->nkx > 0 ? q->nkx : 1;
    if (src == TC_BWD_FILTER_X) r.d0 = d->wo, r.d1 = d->ho;
    return r;
}

FSK_DEVICE tc_row row_init(const tc_args *t, const cls_geom *q, int src, int chunk, const fs_bf16 *p, long ld, int row,
                           int rows, int k_first) {
    const fs_conv_desc *d = &t->g.conv;
    tc_row w;
    memset(&w, 0, sizeof w);
    w.src = src, w.chunk = chunk, w.valid = row < rows, w.p = p;
    w.r = radix_of(&t->g, q, src);
    w.one = cnt_of(w.r, 1), w.eight = cnt_of(w.r, 8), w.slice = cnt_of(w.r, TC_BK);
    w.k = cnt_of(w.r, k_first);
    if (!w.valid) return w;
    if (src == TC_ROWS) w.p = p + row * ld;
    else if (src == TC_FWD_X) {
        int ox = row % d->wo, tt = row / d->wo, oy = tt % d->ho, n = tt / d->ho;
        w.p = p + (long)n * d->h * d->w * d->cin;
        w.y = oy * d->stride - d->pad_top, w.x = ox * d->stride - d->pad_left;
    } else if (src == TC_BWD_DATA_DZ) {
        int ix = q->px + d->stride * (row % q->wc), tt = row / q->wc;
        int iy = q->py + d->stride * (tt % q->hc), n = tt / q->hc;
        w.p = p + (long)n * d->ho * d->wo * d->cout;
        w.y = iy + d->pad_top, w.x = ix + d->pad_left;
    } else if (src == TC_BWD_FILTER_X) {
        int ci = row % d->cin, j = row / d->cin, kx = j % d->k, ky = j / d->k;
        w.p = p + ci;
        w.y = ky - d->pad_top, w.x = kx - d->pad_left;
    } else { /* TC_BWD_DATA_W: the class's taps of input channel `row` */
        w.p = p + (long)row * d->cout;
    }
    return w;
}

/* The operand's element at counter c, or NULL (a zero: padding, a tap off the image). */
FSK_DEVICE const fs_bf16 *row_at(const tc_args *t, const cls_geom *q, const tc_row *w, tc_cnt c) {
    const fs_conv_desc *d = &t->g.conv;
    int s = d->stride;
    switch (w->src) {
    case TC_FWD_X: {
        int iy = w->y + c.c2, ix = w->x + c.c1;
        if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) return NULL;
        return w->p + ((long)iy * d->w + ix) * d->cin + c.c0;
    }
    case TC_BWD_DATA_DZ: {
        int ty = w->y - (q->ky0 + s * c.c2), tx = w->x - (q->kx0 + s * c.c1);
        if (ty < 0 || tx < 0) return NULL;
        int oy = s == 1 ? ty : ty >> 1, ox = s == 1 ? tx : tx >> 1; /* exact: ty, tx are multiples of s */
        if (oy >= d->ho || ox >= d->wo) return NULL;
        return w->p + ((long)oy * d->wo + ox) * d->cout + c.c0;
    }
    case TC_BWD_FILTER_X: {
        int iy = c.c1 * s + w->y, ix = c.c0 * s + w->x;
        if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) return NULL;
        return w->p + (((long)c.c2 * d->h + iy) * d->w + ix) * d->cin;
    }
    case TC_BWD_DATA_W: {
        int ky = q->ky0 + s * c.c2, kx = q->kx0 + s * c.c1;
        return w->p + ((long)ky * d->k + kx) * d->cin * d->cout + c.c0;
    }
    default: return w->p + c.c0;
    }
}

/* Offset in a [row][32] tile of (row, k): 16-byte chunk k / 8 swizzled by (row / 2) % 4. */
FSK_DEVICE int swz(int row, int k) { return row * TC_BK + ((((k >> 3) ^ (row >> 1)) & 3) << 3) + (k & 7); }

/* Stages this thread's 16 k of its row (k0 = its first k in the slice, ke the split's end),
 * then moves the row's counter on by one slice. */
FSK_DEVICE void row_load(const tc_args *t, const cls_geom *q, tc_row *w, fs_bf16 *tile, int row, int kofs, int k0,
                         int ke) {
    if (w->chunk) {
        tc_cnt c = w->k;
        for (int h = 0; h < 2; h++) {
            const fs_bf16 *src = w->valid && k0 + 8 * h < ke ? row_at(t, q, w, c) : NULL;
            fsk_cp_async_16(tile + swz(row, kofs + 8 * h), src ? (const void *)src : (const void *)w->p, src ? 16 : 0);
            cnt_add(&c, w->eight, w->r);
        }
    } else {
        tc_cnt c = w->k;
        for (int e = 0; e < 16; e++) {
            const fs_bf16 *src = w->valid && k0 + e < ke ? row_at(t, q, w, c) : NULL;
            tile[swz(row, kofs + e)] = src ? *src : (fs_bf16)0;
            cnt_add(&c, w->one, w->r);
        }
    }
    cnt_add(&w->k, w->slice, w->r);
}

static __global__ void __launch_bounds__(FSK_THREADS) gemm_tc_kernel(tc_args t) {
    __shared__ __align__(128) fs_bf16 As[TC_STAGES][TC_BM * TC_BK];
    __shared__ __align__(128) fs_bf16 Bs[TC_STAGES][TC_BM * TC_BK];
    const fsk_gemm *g = &t.g;
    int cls = blockIdx.z / g->splits, split = blockIdx.z % g->splits;
    cls_geom q = class_geom(g, cls);
    int M = g->amode == FSK_A_CONV_BWD_DATA ? q.M : g->M;
    int K = g->amode == FSK_A_CONV_BWD_DATA ? q.K : g->K;
    int bn = t.bn, m0 = blockIdx.y * TC_BM, n0 = blockIdx.x * bn;
    if (m0 >= M) return; /* the whole block leaves: a class smaller than the grid */
    int chunk = ((K + g->splits - 1) / g->splits + TC_BK - 1) / TC_BK * TC_BK;
    int kb = split * chunk, ke = kb + chunk < K ? kb + chunk : K;
    int nk = ke > kb ? (ke - kb + TC_BK - 1) / TC_BK : 0;

    int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    int lrow = tid >> 1, kofs = (tid & 1) * 16;
    tc_row ra = row_init(&t, &q, t.asrc, t.achunk, t.a, t.lda, m0 + lrow, M, kb + kofs);
    int has_b = lrow < bn;
    tc_row rb = row_init(&t, &q, t.bsrc, t.bchunk, t.b, t.ldb, n0 + lrow, has_b ? g->N : 0, kb + kofs);

    int wm = warp & 1, wn = warp >> 1, wn_cols = bn / 4, nt_count = wn_cols / 8;
    float acc[4][4][4];
    memset(acc, 0, sizeof acc);

    for (int s = 0; s < TC_STAGES - 1; s++) {
        if (s < nk) {
            row_load(&t, &q, &ra, As[s], lrow, kofs, kb + s * TC_BK + kofs, ke);
            if (has_b) row_load(&t, &q, &rb, Bs[s], lrow, kofs, kb + s * TC_BK + kofs, ke);
        }
        fsk_cp_async_commit();
    }
    for (int it = 0; it < nk; it++) {
        FSK_CP_ASYNC_WAIT(1);              /* this thread's copies of slice it have landed */
        if (!t.skip_sync) __syncthreads(); /* everyone's; and stage (it + 2) % 3 is no longer read */
        int nx = it + TC_STAGES - 1;
        if (nx < nk) {
            int st = nx % TC_STAGES;
            row_load(&t, &q, &ra, As[st], lrow, kofs, kb + nx * TC_BK + kofs, ke);
            if (has_b) row_load(&t, &q, &rb, Bs[st], lrow, kofs, kb + nx * TC_BK + kofs, ke);
        }
        fsk_cp_async_commit();
        if (t.drop_last && it == nk - 1) continue; /* test only: a wrong result to catch */
        const fs_bf16 *at = As[it % TC_STAGES], *bt = Bs[it % TC_STAGES];
        for (int kk = 0; kk < TC_BK; kk += 16) {
            uint32_t af[4][4], bf[4][2];
            for (int mt = 0; mt < 4; mt++) {
                int r = wm * 64 + mt * 16 + (lane & 15);
                fsk_ldmatrix_x4(af[mt], at + swz(r, kk + (lane >> 4) * 8));
            }
            for (int np = 0; np < nt_count / 2; np++) {
                int r = wn * wn_cols + np * 16 + (lane >> 4) * 8 + (lane & 7);
                uint32_t x[4];
                fsk_ldmatrix_x4(x, bt + swz(r, kk + ((lane >> 3) & 1) * 8));
                bf[2 * np][0] = x[0], bf[2 * np][1] = x[1], bf[2 * np + 1][0] = x[2], bf[2 * np + 1][1] = x[3];
            }
            for (int mt = 0; mt < 4; mt++)
                for (int nt = 0; nt < nt_count; nt++) fsk_mma_16816(acc[mt][nt], af[mt], bf[nt], acc[mt][nt]);
        }
    }
    fsk_cp_async_wait_all();

    /* Epilogue: the accumulator layout of m16n8 (mma.h): c[0], c[1] at row g, c[2], c[3] at
     * row g + 8, columns 2t, 2t + 1. */
    for (int mt = 0; mt < 4; mt++)
        for (int half = 0; half < 2; half++) {
            int m = m0 + wm * 64 + mt * 16 + (lane >> 2) + 8 * half;
            if (m >= M) continue;
            float *row = g->splits > 1 ? g->partial + ((long)split * M + m) * g->N
                         : g->c_bf16   ? NULL
                                       : g->c + c_row(g, &q, m);
            for (int nt = 0; nt < nt_count; nt++)
                for (int j = 0; j < 2; j++) {
                    int n = n0 + wn * wn_cols + nt * 8 + 2 * (lane & 3) + j;
                    if (n >= g->N) continue;
                    float v = acc[mt][nt][2 * half + j];
                    if (g->splits > 1) row[n] = v;
                    else if (g->accumulate) row[n] += v;
                    else {
                        v = activate(v + (g->bias ? g->bias[n] : 0.0f), g->act, g->alpha);
                        if (g->c_bf16) ((fs_bf16 *)g->c)[c_row(g, &q, m) + n] = fs_bf16_from_f32(v);
                        else row[n] = v;
                    }
                }
        }
}

/* dst[i] = bf16(src[i]) */
static __global__ void to_bf16_kernel(long n, const float *src, fs_bf16 *dst) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        dst[i] = fs_bf16_from_f32(src[i]);
}

/* dst[r * kp + k] = bf16(src[r * ld_r + k * ld_k]) for k < K, 0 for K <= k < kp; src float,
 * or bf16 already (src_bf16: a repack). */
static __global__ void to_bf16_rows_kernel(long rows, int K, int kp, const float *src, int src_bf16, long ld_r,
                                           long ld_k, fs_bf16 *dst) {
    long total = rows * kp;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < total; i += (long)gridDim.x * blockDim.x) {
        long r = i / kp, at = r * ld_r + (i % kp) * ld_k;
        int k = (int)(i % kp);
        dst[i] = k >= K ? (fs_bf16)0 : src_bf16 ? ((const fs_bf16 *)src)[at] : fs_bf16_from_f32(src[at]);
    }
}

static const fs_bf16 *to_bf16(int slot, long n, const float *src) {
    fs_bf16 *dst = (fs_bf16 *)FSK(scratch)(slot, sizeof(fs_bf16) * (size_t)(n > 0 ? n : 1));
    if (n > 0)
        FS_LAUNCH(to_bf16_kernel, FS_DIM3(FSK(grid_for)((size_t)n), 1, 1), FS_DIM3(FSK_THREADS, 1, 1), n, src, dst);
    return dst;
}

static const fs_bf16 *to_bf16_rows(int slot, long rows, int K, int kp, const float *src, int src_bf16, long ld_r,
                                   long ld_k) {
    size_t total = (size_t)rows * (size_t)kp;
    fs_bf16 *dst = (fs_bf16 *)FSK(scratch)(slot, sizeof(fs_bf16) * (total > 0 ? total : 1));
    if (total > 0)
        FS_LAUNCH(to_bf16_rows_kernel, FS_DIM3(FSK(grid_for)(total), 1, 1), FS_DIM3(FSK_THREADS, 1, 1), rows, K, kp,
                  src, src_bf16, ld_r, ld_k, dst);
    return dst;
}

/* A plain operand's rows [rows][K] (element (r, k) at src[r * ld_r + k * ld_k]) as the kernel
 * reads them, K contiguous in rows of kp: a bf16 source (bf) whose rows already are that, 16-
 * byte aligned, is read in place (*ld = ld_r); otherwise a copy in scratch `slot` (converted
 * from float, or repacked from bf16). */
static const fs_bf16 *rows_operand(int slot, int bf, long rows, int K, int kp, const float *src, long ld_r, long ld_k,
                                   long *ld) {
    int in_place = bf && ld_k == 1 && K == kp && ld_r % 8 == 0 && ((uintptr_t)src & 15) == 0;
    *ld = in_place ? ld_r : kp;
    return in_place ? (const fs_bf16 *)src : to_bf16_rows(slot, rows, K, kp, src, bf, ld_r, ld_k);
}

/* A convolution tensor of n values: itself when bf16 already, else a bf16 copy in `slot`. */
static const fs_bf16 *tensor_operand(int slot, int bf, long n, const float *src) {
    return bf ? (const fs_bf16 *)src : to_bf16(slot, n, src);
}

/* 16-byte chunks need the channel run (a multiple of 8) and the base 16-byte aligned. */
static int chunked(int run, const fs_bf16 *p) { return run % 8 == 0 && ((uintptr_t)p & 15) == 0; }

static int tc_bn(int N) { return N <= 64 ? 64 : 128; }

void FSK(gemm_tc_split_k)(fsk_gemm *g) {
    int tiles = ((g->M + TC_BM - 1) / TC_BM) * ((g->N + tc_bn(g->N) - 1) / tc_bn(g->N));
    int want = (FSK(max_grid)() + tiles - 1) / tiles;
    int most = (g->K + 4 * TC_BK - 1) / (4 * TC_BK);
    int s = want < most ? want : most;
    s = s < 1 ? 1 : (s > 32 ? 32 : s);
    if (s > 1) { /* slices of whole TC_BK: s = the splits that the rounded chunk needs */
        int chunk = ((g->K + s - 1) / s + TC_BK - 1) / TC_BK * TC_BK;
        s = (g->K + chunk - 1) / chunk;
    }
    g->splits = s;
    if (g->splits > 1) g->partial = (float *)FSK(scratch)(0, sizeof(float) * (size_t)g->splits * g->M * g->N);
}

void FSK(gemm_tc)(const fsk_gemm *g) {
    tc_args t;
    memset(&t, 0, sizeof t);
    t.g = *g;
    t.bn = tc_bn(g->N);
    t.drop_last = FSK(gemm_tc_drop_last_slice);
    t.skip_sync = FSK(gemm_tc_skip_stage_sync);
    const fs_conv_desc *d = &g->conv;
    int kp = (g->K + 7) / 8 * 8;
    switch (g->amode) {
    case FSK_A_CONV_FWD:
    case FSK_A_CONV_BWD_FILTER:
        t.asrc = g->amode == FSK_A_CONV_FWD ? TC_FWD_X : TC_BWD_FILTER_X;
        t.a = tensor_operand(4, g->a_bf16, (long)d->n * d->h * d->w * d->cin, g->a);
        t.achunk = g->amode == FSK_A_CONV_FWD && chunked(d->cin, t.a);
        break;
    case FSK_A_CONV_BWD_DATA:
        t.asrc = TC_BWD_DATA_DZ;
        t.a = tensor_operand(4, g->a_bf16, (long)d->n * d->ho * d->wo * d->cout, g->a);
        t.achunk = chunked(d->cout, t.a);
        break;
    default:
        t.asrc = TC_ROWS, t.achunk = 1;
        t.a = rows_operand(4, g->a_bf16, g->M, g->K, kp, g->a, g->lda_m, g->lda_k, &t.lda);
    }
    if (g->bmode == FSK_B_CONV_BWD_DATA) {
        t.bsrc = TC_BWD_DATA_W, t.bchunk = d->cout % 8 == 0;
        t.b = to_bf16(5, (long)d->k * d->k * d->cin * d->cout, g->b);
    } else {
        t.bsrc = TC_ROWS, t.bchunk = 1;
        t.b = rows_operand(5, g->b_bf16, g->N, g->K, kp, g->b, g->ldb_n, g->ldb_k, &t.ldb);
    }
    int zs = g->classes * g->splits;
    dim3 grid = FS_DIM3((g->N + t.bn - 1) / t.bn, (g->M + TC_BM - 1) / TC_BM, zs);
    FS_LAUNCH(gemm_tc_kernel, grid, FS_DIM3(FSK_THREADS, 1, 1), t);
}
