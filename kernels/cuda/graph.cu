/* graph.cu — the model graph's plumbing (kernels/ops.h): add, acc (+=), channels-last
 * concat forward and backward, and DeepFaceLab's pixel norm. The elementwise ops and concat
 * are grid-stride loops over the output (coalesced stores). pixnorm sums each row in double
 * in a fixed order (results are reproducible) and scales it in float with r (and k) rounded
 * once: rows of up to PIXNORM_THREAD_ROW values run one thread per row (no barriers), longer
 * ones (the flattened encoder output) one block per row with the block-wide sum of
 * blocksum.h. */
#include "kernels/cuda/fsk.h"
#include "kernels/cuda/emu.h"
#include "kernels/cuda/blocksum.h"

#define GRID_STRIDE(i, count)                                                                                          \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (count); i += (size_t)gridDim.x * blockDim.x)

static __global__ void add_kernel(size_t count, const float *a, const float *b, float *y) {
    GRID_STRIDE(i, count) y[i] = a[i] + b[i];
}

static __global__ void acc_kernel(size_t count, const float *x, float *y) { GRID_STRIDE(i, count) y[i] += x[i]; }

/* One thread per element of y [rows, ca + cb]. */
static __global__ void concat_fwd_kernel(size_t rows, int ca, int cb, const float *a, const float *b, float *y) {
    size_t ct = (size_t)ca + cb;
    GRID_STRIDE(o, rows * ct) {
        size_t r = o / ct;
        int j = (int)(o % ct);
        y[o] = j < ca ? a[r * ca + j] : b[r * cb + (j - ca)];
    }
}

/* One thread per element of dy; da or db may be NULL (that part is not written). */
static __global__ void concat_bwd_kernel(size_t rows, int ca, int cb, const float *dy, float *da, float *db) {
    size_t ct = (size_t)ca + cb;
    GRID_STRIDE(o, rows * ct) {
        size_t r = o / ct;
        int j = (int)(o % ct);
        if (j < ca) {
            if (da) da[r * ca + j] = dy[o];
        } else if (db) {
            db[r * cb + (j - ca)] = dy[o];
        }
    }
}

#define PIXNORM_THREAD_ROW 128

/* dy == NULL: y = x r; else dx = r dy - k x with k = r^3 (dy . x) / c. One thread per row. */
static __global__ void pixnorm_row_kernel(size_t rows, int c, const float *x, const float *dy, float *out) {
    GRID_STRIDE(row, rows) {
        const float *xr = x + row * c, *dyr = dy ? dy + row * c : NULL;
        float *o = out + row * c;
        double ss = 0.0, dot = 0.0;
        for (int i = 0; i < c; i++) {
            ss += (double)xr[i] * xr[i];
            if (dyr) dot += (double)dyr[i] * xr[i];
        }
        double rd = 1.0 / sqrt(ss / c + FS_PIXNORM_EPS);
        float r = (float)rd, k = (float)(rd * rd * rd * dot / c);
        if (dyr)
            for (int i = 0; i < c; i++) o[i] = r * dyr[i] - k * xr[i];
        else
            for (int i = 0; i < c; i++) o[i] = xr[i] * r;
    }
}

/* The same, one block per row: every thread of the block runs every row of the block
 * (block_sum needs them all). */
static __global__ void pixnorm_kernel(size_t rows, int c, const float *x, const float *dy, float *out) {
    __shared__ double warp_ss[FSK_THREADS / 32];
    __shared__ double warp_dot[FSK_THREADS / 32];
    __shared__ float row_r, row_k;
    for (size_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const float *xr = x + row * c, *dyr = dy ? dy + row * c : NULL;
        float *o = out + row * c;
        double ss = 0.0, dot = 0.0;
        for (int i = threadIdx.x; i < c; i += blockDim.x) {
            ss += (double)xr[i] * xr[i];
            if (dyr) dot += (double)dyr[i] * xr[i];
        }
        ss = block_sum(ss, warp_ss);
        if (dyr) dot = block_sum(dot, warp_dot);
        if (threadIdx.x == 0) {
            double r = 1.0 / sqrt(ss / c + FS_PIXNORM_EPS);
            row_r = (float)r, row_k = (float)(r * r * r * dot / c);
        }
        __syncthreads();
        float r = row_r, k = row_k;
        if (dyr)
            for (int i = threadIdx.x; i < c; i += blockDim.x) o[i] = r * dyr[i] - k * xr[i];
        else
            for (int i = threadIdx.x; i < c; i += blockDim.x) o[i] = xr[i] * r;
        __syncthreads(); /* row_r, row_k are rewritten for the next row */
    }
}

#define BLOCK FS_DIM3(FSK_THREADS, 1, 1)
#define GRID(count) FS_DIM3(FSK(grid_for)(count), 1, 1)

void FSK(add)(size_t count, const float *a, const float *b, float *y) {
    if (count) FS_LAUNCH(add_kernel, GRID(count), BLOCK, count, a, b, y);
}
void FSK(acc)(size_t count, const float *x, float *y) {
    if (count) FS_LAUNCH(acc_kernel, GRID(count), BLOCK, count, x, y);
}
void FSK(concat_fwd)(size_t rows, int ca, int cb, const float *a, const float *b, float *y) {
    size_t count = rows * ((size_t)ca + cb);
    if (count) FS_LAUNCH(concat_fwd_kernel, GRID(count), BLOCK, rows, ca, cb, a, b, y);
}
void FSK(concat_bwd)(size_t rows, int ca, int cb, const float *dy, float *da, float *db) {
    size_t count = rows * ((size_t)ca + cb);
    if (count && (da || db)) FS_LAUNCH(concat_bwd_kernel, GRID(count), BLOCK, rows, ca, cb, dy, da, db);
}

/* Short rows: one thread per row; long rows: one block per row, at most max_grid blocks. */
static void pixnorm(size_t rows, int c, const float *x, const float *dy, float *out) {
    if (!rows || c < 1) return;
    if (c <= PIXNORM_THREAD_ROW) {
        FS_LAUNCH(pixnorm_row_kernel, GRID(rows), BLOCK, rows, c, x, dy, out);
        return;
    }
    size_t most = (size_t)FSK(max_grid)();
    int grid = (int)(rows < most ? rows : most);
    FS_LAUNCH(pixnorm_kernel, FS_DIM3(grid, 1, 1), BLOCK, rows, c, x, dy, out);
}
void FSK(pixnorm_fwd)(size_t rows, int c, const float *x, float *y) { pixnorm(rows, c, x, NULL, y); }
void FSK(pixnorm_bwd)(size_t rows, int c, const float *x, const float *dy, float *dx) { pixnorm(rows, c, x, dy, dx); }
