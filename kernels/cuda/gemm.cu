/* gemm.cu — the tiled implicit GEMM that every convolution and dense pass runs on.
 *
 * C[M, N] = A[M, K] * B[K, N] (see fsk_gemm in fsk.h for the operand modes). One block of
 * 256 threads computes a 64 x 64 tile of C: it walks K in 16-deep slices, staging an A
 * slice (64 x 16) and a B slice (16 x 64) in shared memory with coalesced loads (the load
 * mapping follows whichever index is contiguous in memory), and each thread keeps a 4 x 4
 * register block of C (rows 4 ty + i, columns 4 tx + j: per k step two 16-byte shared
 * loads, 3 shared wavefronts per warp for 16 FMAs, so the FMA pipe, not shared memory,
 * limits; a warp stores 2 rows x 64 contiguous floats). The epilogue fuses bias + activation (=) or accumulates (+=).
 * Grid: (ceil(N / 64), ceil(M / 64), classes * splits). Split-K writes partials that a
 * second kernel adds in split order: results never depend on scheduling.
 * Under train.precision bf16 (FSK(precision)) FSK(gemm) and FSK(gemm_split_k) hand the products
 * to the tensor-core GEMM of gemm_tc.cu; the split-K reduction stays here. */
#include "kernels/cuda/fsk.h"
#include "kernels/cuda/emu.h"
#include "kernels/cuda/gemm_util.h"
#include "kernels/bf16.h"

/* im2col(x)[m][kk] of the forward convolution, 0 in the padding. */
FSK_DEVICE float conv_x_at(const fs_conv_desc *d, const float *x, int m, int kk) {
    int ci = kk % d->cin, j = kk / d->cin;
    int kx = j % d->k, ky = j / d->k;
    int ox = m % d->wo, t = m / d->wo;
    int oy = t % d->ho, n = t / d->ho;
    int iy = oy * d->stride - d->pad_top + ky, ix = ox * d->stride - d->pad_left + kx;
    if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) return 0.0f;
    return x[(((long)n * d->h + iy) * d->w + ix) * d->cin + ci];
}

/* dz at the output position that input (row m of class q) sees through tap kk, or 0. */
FSK_DEVICE float conv_dz_at(const fs_conv_desc *d, const cls_geom *q, const float *dz, int m, int kk) {
    int co = kk % d->cout, j = kk / d->cout;
    int ky = q->ky0 + d->stride * (j / q->nkx), kx = q->kx0 + d->stride * (j % q->nkx);
    int ix = q->px + d->stride * (m % q->wc), t = m / q->wc;
    int iy = q->py + d->stride * (t % q->hc), n = t / q->hc;
    int oy = (iy + d->pad_top - ky) / d->stride, ox = (ix + d->pad_left - kx) / d->stride;
    if (iy + d->pad_top - ky < 0 || oy >= d->ho || ix + d->pad_left - kx < 0 || ox >= d->wo) return 0.0f;
    return dz[(((long)n * d->ho + oy) * d->wo + ox) * d->cout + co];
}

FSK_DEVICE float load_a(const fsk_gemm *g, const cls_geom *q, int m, int k) {
    switch (g->amode) {
    case FSK_A_CONV_FWD: return conv_x_at(&g->conv, g->a, m, k);
    case FSK_A_CONV_BWD_DATA: return conv_dz_at(&g->conv, q, g->a, m, k);
    case FSK_A_CONV_BWD_FILTER: return conv_x_at(&g->conv, g->a, k, m);
    default: return g->a[m * g->lda_m + k * g->lda_k];
    }
}

FSK_DEVICE float load_b(const fsk_gemm *g, const cls_geom *q, int k, int n) {
    if (g->bmode == FSK_B_CONV_BWD_DATA) {
        const fs_conv_desc *d = &g->conv;
        int co = k % d->cout, j = k / d->cout;
        int ky = q->ky0 + d->stride * (j / q->nkx), kx = q->kx0 + d->stride * (j % q->nkx);
        return g->b[(((long)ky * d->k + kx) * d->cin + n) * d->cout + co];
    }
    return g->b[k * g->ldb_k + n * g->ldb_n];
}

/* Stages A[m0.., k0..] into As[k][m] and B[k0.., n0..] into Bs[k][n]; consecutive threads
 * walk the operand's contiguous index. */
FSK_DEVICE void load_tiles(const fsk_gemm *g, const cls_geom *q, int M, int k0, int k1, int m0, int n0,
                           float As[FSK_BK][FSK_BM], float Bs[FSK_BK][FSK_BN]) {
    int tid = threadIdx.x;
    int a_m_fast = g->amode == FSK_A_CONV_BWD_FILTER || (g->amode == FSK_A_STRIDED && g->lda_m == 1);
    int b_k_fast = g->bmode == FSK_B_CONV_BWD_DATA || g->ldb_k == 1;
    for (int e = tid; e < FSK_BM * FSK_BK; e += FSK_THREADS) {
        int am = a_m_fast ? e % FSK_BM : e / FSK_BK, ak = a_m_fast ? e / FSK_BM : e % FSK_BK;
        int m = m0 + am, k = k0 + ak;
        As[ak][am] = (m < M && k < k1) ? load_a(g, q, m, k) : 0.0f;
        int bk = b_k_fast ? e % FSK_BK : e / FSK_BN, bn = b_k_fast ? e / FSK_BK : e % FSK_BN;
        int kb = k0 + bk, n = n0 + bn;
        Bs[bk][bn] = (kb < k1 && n < g->N) ? load_b(g, q, kb, n) : 0.0f;
    }
}

/* Writes the 4 x 4 register block: split-K partial, +=, or act(. + bias). */
FSK_DEVICE void store_tile(const fsk_gemm *g, const cls_geom *q, int M, int m0, int n0, int split, float acc[4][4]) {
    int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    for (int i = 0; i < 4; i++) {
        int m = m0 + 4 * ty + i;
        if (m >= M) continue;
        float *row = g->splits > 1 ? g->partial + ((long)split * M + m) * g->N : g->c + c_row(g, q, m);
        for (int j = 0; j < 4; j++) {
            int n = n0 + 4 * tx + j;
            if (n >= g->N) continue;
            if (g->splits > 1) row[n] = acc[i][j];
            else if (g->accumulate) row[n] += acc[i][j];
            else row[n] = activate(acc[i][j] + (g->bias ? g->bias[n] : 0.0f), g->act, g->alpha);
        }
    }
}

static __global__ void __launch_bounds__(FSK_THREADS) gemm_kernel(fsk_gemm g) {
    __shared__ __align__(16) float As[FSK_BK][FSK_BM];
    __shared__ __align__(16) float Bs[FSK_BK][FSK_BN];
    int cls = blockIdx.z / g.splits, split = blockIdx.z % g.splits;
    cls_geom q = class_geom(&g, cls);
    int M = g.amode == FSK_A_CONV_BWD_DATA ? q.M : g.M;
    int K = g.amode == FSK_A_CONV_BWD_DATA ? q.K : g.K;
    int m0 = blockIdx.y * FSK_BM, n0 = blockIdx.x * FSK_BN;
    if (m0 >= M) return; /* the whole block leaves: a class smaller than the grid */
    int chunk = (K + g.splits - 1) / g.splits;
    int kb = split * chunk, ke = kb + chunk < K ? kb + chunk : K;
    int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    float acc[4][4] = {{0}};
    for (int k0 = kb; k0 < ke; k0 += FSK_BK) {
        load_tiles(&g, &q, M, k0, ke, m0, n0, As, Bs);
        __syncthreads();
        for (int kk = 0; kk < FSK_BK; kk++) {
            float a[4], b[4];
            for (int i = 0; i < 4; i++) a[i] = As[kk][4 * ty + i]; /* one 16-byte shared load */
            for (int j = 0; j < 4; j++) b[j] = Bs[kk][4 * tx + j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
    store_tile(&g, &q, M, m0, n0, split, acc);
}

/* C[m, n] = act(sum over s of partial[s, m, n] + bias[n]), or C += the sum; s in order. */
static __global__ void splitk_reduce_kernel(int M, int N, int splits, const float *partial, float *c, long ldc,
                                            const float *bias, int act, float alpha, int accumulate, int c_bf16) {
    long total = (long)M * N;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < total; i += (long)gridDim.x * blockDim.x) {
        float s = 0.0f;
        for (int k = 0; k < splits; k++) s += partial[k * total + i];
        long at = (i / N) * ldc + i % N;
        int n = (int)(i % N);
        if (c_bf16) /* a bf16 activation (never accumulated) */
            ((fs_bf16 *)c)[at] = fs_bf16_from_f32(activate(s + (bias ? bias[n] : 0.0f), act, alpha));
        else c[at] = accumulate ? c[at] + s : activate(s + (bias ? bias[n] : 0.0f), act, alpha);
    }
}

static void reduce_splits(int M, int N, int splits, const float *partial, float *c, long ldc, const float *bias,
                          int act, float alpha, int accumulate, int c_bf16) {
    size_t total = (size_t)M * N;
    if (total == 0) return;
    FS_LAUNCH(splitk_reduce_kernel, FS_DIM3(FSK(grid_for)(total), 1, 1), FS_DIM3(FSK_THREADS, 1, 1), M, N, splits,
              partial, c, ldc, bias, act, alpha, accumulate, c_bf16);
}

void FSK(gemm_split_k)(fsk_gemm *g) {
    if (FSK(precision) == FS_PREC_BF16) {
        FSK(gemm_tc_split_k)(g);
        return;
    }
    int tiles = ((g->M + FSK_BM - 1) / FSK_BM) * ((g->N + FSK_BN - 1) / FSK_BN);
    int want = (FSK(max_grid)() + tiles - 1) / tiles;
    int most = (g->K + 4 * FSK_BK - 1) / (4 * FSK_BK);
    int s = want < most ? want : most;
    g->splits = s < 1 ? 1 : (s > 32 ? 32 : s);
    if (g->splits > 1) g->partial = (float *)FSK(scratch)(0, sizeof(float) * (size_t)g->splits * g->M * g->N);
}

void FSK(gemm)(const fsk_gemm *g) {
    if (g->M < 1 || g->N < 1) return;
    if (FSK(precision) == FS_PREC_BF16) FSK(gemm_tc)(g); /* bf16 operands on the tensor cores */
    else {
        int zs = g->classes * g->splits;
        dim3 grid = FS_DIM3((g->N + FSK_BN - 1) / FSK_BN, (g->M + FSK_BM - 1) / FSK_BM, zs);
        FS_LAUNCH(gemm_kernel, grid, FS_DIM3(FSK_THREADS, 1, 1), *g);
    }
    if (g->splits > 1)
        reduce_splits(g->M, g->N, g->splits, g->partial, g->c, g->ldc, g->bias, g->act, g->alpha, g->accumulate,
                      g->c_bf16);
}

void FSK(add_partials)(int M, int N, int splits, const float *partial, float *c, long ldc) {
    reduce_splits(M, N, splits, partial, c, ldc, NULL, FS_ACT_NONE, 0.0f, 1, 0);
}
