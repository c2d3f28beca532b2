/* graph.cu — the model graph's plumbing (kernels/ops.h): add, acc (+=), channels-last
 * concat forward and backward, and DeepFaceLab's pixel norm. The elementwise ops and concat
 * are grid-stride loops over the output (coalesced stores). pixnorm sums each row in double
 * in a fixed order (results are reproducible) and scales it in float with r (and k) rounded
 * once: rows of up to PIXNORM_THREAD_ROW values run one thread per row (no barriers), longer
 * ones (the flattened encoder output) one block per row with the block-wide sum of
 * blocksum.h. Every tensor is float32 or, under FS_PREC_BF16_ACT, bf16 (act.h: each value
 * widened as it is read, each output rounded once as it is stored). */
#include "kernels/cuda/fsk.h"
#include "kernels/cuda/emu.h"
#include "kernels/cuda/blocksum.h"
#include "kernels/cuda/act.h"

#define GRID_STRIDE(i, count)                                                                                          \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (count); i += (size_t)gridDim.x * blockDim.x)

static __global__ void add_kernel(size_t count, const float *a, const float *b, float *y, int bf) {
    GRID_STRIDE(i, count) act_st(y, i, act_ld(a, i, bf) + act_ld(b, i, bf), bf);
}

static __global__ void acc_kernel(size_t count, const float *x, float *y, int bf) {
    GRID_STRIDE(i, count) act_st(y, i, act_ld(y, i, bf) + act_ld(x, i, bf), bf);
}

/* One thread per element of y [rows, ca + cb]. */
static __global__ void concat_fwd_kernel(size_t rows, int ca, int cb, const float *a, const float *b, float *y,
                                         int bf) {
    size_t ct = (size_t)ca + cb;
    GRID_STRIDE(o, rows * ct) {
        size_t r = o / ct;
        int j = (int)(o % ct);
        act_st(y, o, j < ca ? act_ld(a, r * ca + j, bf) : act_ld(b, r * cb + (j - ca), bf), bf);
    }
}

/* One thread per element of dy; da or db may be NULL (that part is not written). */
static __global__ void concat_bwd_kernel(size_t rows, int ca, int cb, const float *dy, float *da, float *db, int bf) {
    size_t ct = (size_t)ca + cb;
    GRID_STRIDE(o, rows * ct) {
        size_t r = o / ct;
        int j = (int)(o % ct);
        if (j < ca) {
            if (da) act_st(da, r * ca + j, act_ld(dy, o, bf), bf);
        } else if (db) {
            act_st(db, r * cb + (j - ca), act_ld(dy, o, bf), bf);
        }
    }
}

#define PIXNORM_THREAD_ROW 128

/* dy == NULL: y = x r; else dx = r dy - k x with k = r^3 (dy . x) / c. One thread per row. */
static __global__ void pixnorm_row_kernel(size_t rows, int c, const float *x, const float *dy, float *out, int bf) {
    GRID_STRIDE(row, rows) {
        size_t r0 = row * c;
        double ss = 0.0, dot = 0.0;
        for (int i = 0; i < c; i++) {
            double xi = act_ld(x, r0 + i, bf);
            ss += xi * xi;
            if (dy) dot += (double)act_ld(dy, r0 + i, bf) * xi;
        }
        double rd = 1.0 / sqrt(ss / c + FS_PIXNORM_EPS);
        float r = (float)rd, k = (float)(rd * rd * rd * dot / c);
        if (dy)
            for (int i = 0; i < c; i++) act_st(out, r0 + i, r * act_ld(dy, r0 + i, bf) - k * act_ld(x, r0 + i, bf), bf);
        else
            for (int i = 0; i < c; i++) act_st(out, r0 + i, act_ld(x, r0 + i, bf) * r, bf);
    }
}

/* The same, one block per row: every thread of the block runs every row of the block
 * (block_sum needs them all). */
static __global__ void pixnorm_kernel(size_t rows, int c, const float *x, const float *dy, float *out, int bf) {
    __shared__ double warp_ss[FSK_THREADS / 32];
    __shared__ double warp_dot[FSK_THREADS / 32];
    __shared__ float row_r, row_k;
    for (size_t row = blockIdx.x; row < rows; row += gridDim.x) {
        size_t r0 = row * c;
        double ss = 0.0, dot = 0.0;
        for (int i = threadIdx.x; i < c; i += blockDim.x) {
            double xi = act_ld(x, r0 + i, bf);
            ss += xi * xi;
            if (dy) dot += (double)act_ld(dy, r0 + i, bf) * xi;
        }
        ss = block_sum(ss, warp_ss);
        if (dy) dot = block_sum(dot, warp_dot);
        if (threadIdx.x == 0) {
            double r = 1.0 / sqrt(ss / c + FS_PIXNORM_EPS);
            row_r = (float)r, row_k = (float)(r * r * r * dot / c);
        }
        __syncthreads();
        float r = row_r, k = row_k;
        if (dy)
            for (int i = threadIdx.x; i < c; i += blockDim.x)
                act_st(out, r0 + i, r * act_ld(dy, r0 + i, bf) - k * act_ld(x, r0 + i, bf), bf);
        else
            for (int i = threadIdx.x; i < c; i += blockDim.x) act_st(out, r0 + i, act_ld(x, r0 + i, bf) * r, bf);
        __syncthreads(); /* row_r, row_k are rewritten for the next row */
    }
}

#define BLOCK FS_DIM3(FSK_THREADS, 1, 1)
#define GRID(count) FS_DIM3(FSK(grid_for)(count), 1, 1)

void FSK(add)(size_t count, const float *a, const float *b, float *y) {
    if (count) FS_LAUNCH(add_kernel, GRID(count), BLOCK, count, a, b, y, FSK(act_bf16));
}
void FSK(acc)(size_t count, const float *x, float *y) {
    if (count) FS_LAUNCH(acc_kernel, GRID(count), BLOCK, count, x, y, FSK(act_bf16));
}
void FSK(concat_fwd)(size_t rows, int ca, int cb, const float *a, const float *b, float *y) {
    size_t count = rows * ((size_t)ca + cb);
    if (count) FS_LAUNCH(concat_fwd_kernel, GRID(count), BLOCK, rows, ca, cb, a, b, y, FSK(act_bf16));
}
void FSK(concat_bwd)(size_t rows, int ca, int cb, const float *dy, float *da, float *db) {
    size_t count = rows * ((size_t)ca + cb);
    if (count && (da || db)) FS_LAUNCH(concat_bwd_kernel, GRID(count), BLOCK, rows, ca, cb, dy, da, db, FSK(act_bf16));
}

/* Short rows: one thread per row; long rows: one block per row, at most max_grid blocks. */
static void pixnorm(size_t rows, int c, const float *x, const float *dy, float *out) {
    if (!rows || c < 1) return;
    if (c <= PIXNORM_THREAD_ROW) {
        FS_LAUNCH(pixnorm_row_kernel, GRID(rows), BLOCK, rows, c, x, dy, out, FSK(act_bf16));
        return;
    }
    size_t most = (size_t)FSK(max_grid)();
    int grid = (int)(rows < most ? rows : most);
    FS_LAUNCH(pixnorm_kernel, FS_DIM3(grid, 1, 1), BLOCK, rows, c, x, dy, out, FSK(act_bf16));
}
void FSK(pixnorm_fwd)(size_t rows, int c, const float *x, float *y) { pixnorm(rows, c, x, NULL, y); }
void FSK(pixnorm_bwd)(size_t rows, int c, const float *x, const float *dy, float *dx) { pixnorm(rows, c, x, dy, dx); }
