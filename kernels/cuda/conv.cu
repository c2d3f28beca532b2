/* conv.cu — 2-D convolution, "same" padding (kernels/ops.h), as implicit GEMMs (gemm.cu):
 *   fwd:        y [n*ho*wo, cout] = act(im2col(x) [., k*k*cin] * w [k*k*cin, cout] + b)   (=)
 *               (split-K when the output has few tiles; bias + activation after the sum)
 *   bwd_data:   dx = conv^T(dz, w), one dense GEMM per stride parity class             (=)
 *   bwd_filter: dw [k*k*cin, cout] += im2col(x)^T * dz (split-K), db += column sums     (+=)
 * and the bias gradient as a two-pass column reduction. Under FS_PREC_BF16_ACT x, y, dz and
 * dx are bf16 (the GEMM reads and writes them so); w, b, dw and db stay float32. */
#include "kernels/cuda/fsk.h"
#include "kernels/cuda/emu.h"
#include "kernels/cuda/act.h"

static fsk_gemm gemm_base(const fs_conv_desc *d) {
    fsk_gemm g;
    memset(&g, 0, sizeof g);
    g.conv = *d;
    g.classes = 1, g.splits = 1;
    g.a_bf16 = FSK(act_bf16); /* x or dz: activations */
    return g;
}

void FSK(conv2d_fwd)(const fs_conv_desc *d, const float *x, const float *w, const float *b, float *y, fs_act act,
                     float alpha) {
    fsk_gemm g = gemm_base(d);
    g.M = d->n * d->ho * d->wo, g.N = d->cout, g.K = d->k * d->k * d->cin;
    g.amode = FSK_A_CONV_FWD, g.a = x;
    g.bmode = FSK_B_STRIDED, g.b = w, g.ldb_k = d->cout, g.ldb_n = 1;
    g.c = y, g.ldc = d->cout;
    g.bias = b, g.act = (int)act, g.alpha = alpha, g.c_bf16 = FSK(act_bf16);
    FSK(gemm_split_k)(&g); /* few output tiles (the deep encoder layers): split K, epilogue after the sum */
    FSK(gemm)(&g);
}

void FSK(conv2d_bwd_data)(const fs_conv_desc *d, const float *dz, const float *w, float *dx) {
    fsk_gemm g = gemm_base(d);
    int s = d->stride;
    g.classes = s * s;
    g.M = d->n * ((d->h + s - 1) / s) * ((d->w + s - 1) / s); /* class (0, 0), the largest */
    g.N = d->cin;
    g.amode = FSK_A_CONV_BWD_DATA, g.a = dz;
    g.bmode = FSK_B_CONV_BWD_DATA, g.b = w;
    g.c = dx, g.ldc = d->cin, g.c_bf16 = FSK(act_bf16);
    FSK(gemm)(&g);
}

void FSK(conv2d_bwd_filter)(const fs_conv_desc *d, const float *x, const float *dz, float *dw, float *db) {
    fsk_gemm g = gemm_base(d);
    g.M = d->k * d->k * d->cin, g.N = d->cout, g.K = d->n * d->ho * d->wo;
    g.amode = FSK_A_CONV_BWD_FILTER, g.a = x;
    g.bmode = FSK_B_STRIDED, g.b = dz, g.ldb_k = d->cout, g.ldb_n = 1;
    g.c = dw, g.ldc = d->cout, g.accumulate = 1, g.b_bf16 = FSK(act_bf16); /* dz */
    FSK(gemm_split_k)(&g);
    FSK(gemm)(&g);
    if (db) FSK(bias_grad)((long)d->n * d->ho * d->wo, d->cout, dz, db);
}

/* partial[blockIdx.y, j] = sum of dz[r, j] over the block's rows; a block is 32 columns x 8
 * row lanes (warps read 32 consecutive floats), lanes combined in order in shared memory. */
static __global__ void colsum_kernel(long rows, int cols, long rows_per_part, const float *dz, float *partial, int bf) {
    __shared__ float part[8][32];
    int c = blockIdx.x * 32 + threadIdx.x % 32, lane = threadIdx.x / 32;
    long r0 = blockIdx.y * rows_per_part;
    long r1 = r0 + rows_per_part < rows ? r0 + rows_per_part : rows;
    float s = 0.0f;
    if (c < cols)
        for (long r = r0 + lane; r < r1; r += 8) s += act_ld(dz, (size_t)(r * cols + c), bf);
    part[lane][threadIdx.x % 32] = s;
    __syncthreads();
    if (lane == 0 && c < cols) {
        float t = 0.0f;
        for (int i = 0; i < 8; i++) t += part[i][threadIdx.x];
        partial[(long)blockIdx.y * cols + c] = t;
    }
}

void FSK(bias_grad)(long rows, int cols, const float *dz, float *db) {
    if (rows < 1 || cols < 1) return;
    int col_blocks = (cols + 31) / 32;
    long parts = (rows + 1023) / 1024; /* about 128 rows per row lane */
    long most = FSK(max_grid)() / col_blocks;
    if (parts > most) parts = most;
    if (parts > 1024) parts = 1024;
    if (parts < 1) parts = 1;
    long per = (rows + parts - 1) / parts;
    float *partial = (float *)FSK(scratch)(1, sizeof(float) * (size_t)parts * cols);
    FS_LAUNCH(colsum_kernel, FS_DIM3(col_blocks, parts, 1), FS_DIM3(FSK_THREADS, 1, 1), rows, cols, per, dz, partial,
              FSK(act_bf16));
    FSK(add_partials)(1, cols, (int)parts, partial, db, cols);
}
