/* reduce.cu — reductions to one host double, deterministic (no atomics): the sum of
 * squares (gradient norm, non-finite guard), the MSE and L1 losses with their gradients
 * (+= weight * dLoss/dpred), and the shared two-pass machinery: pass 1 leaves one partial
 * per block (grid-stride loop in double, warp shuffles, then the block's warps in order),
 * pass 2 sums the partials in one block in a fixed order; the host reads one scalar. */
#include "kernels/cuda/fsk.h"
#include "kernels/cuda/emu.h"
#include "kernels/cuda/blocksum.h"

static __global__ void sum_partials_kernel(int count, const double *partial, double *out) {
    __shared__ double warp_sums[FSK_THREADS / 32];
    double s = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) s += partial[i];
    s = block_sum(s, warp_sums);
    if (threadIdx.x == 0) out[0] = s;
}

static __global__ void sumsq_kernel(size_t count, const float *x, double *partial) {
    __shared__ double warp_sums[FSK_THREADS / 32];
    double s = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x)
        s += (double)x[i] * x[i];
    s = block_sum(s, warp_sums);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

/* l1 = 0: sum (p - t)^2 and dpred += gscale (p - t); l1 = 1: sum |p - t|, dpred += gscale sign. */
static __global__ void pointwise_loss_kernel(size_t count, int l1, const float *pred, const float *target, float *dpred,
                                             float gscale, double *partial) {
    __shared__ double warp_sums[FSK_THREADS / 32];
    double s = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x) {
        float d = pred[i] - target[i];
        if (l1) {
            s += fabsf(d);
            if (dpred) dpred[i] += d > 0.0f ? gscale : (d < 0.0f ? -gscale : 0.0f);
        } else {
            s += (double)d * d;
            if (dpred) dpred[i] += gscale * d;
        }
    }
    s = block_sum(s, warp_sums);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

int FSK(grid_for)(size_t count) {
    size_t g = (count + FSK_THREADS - 1) / FSK_THREADS, most = (size_t)FSK(max_grid)();
    return g < 1 ? 1 : (int)(g < most ? g : most);
}

double FSK(sum_partials)(int count, const double *partial) {
    double *out = (double *)FSK(scratch)(3, sizeof(double)), r = 0.0;
    FS_LAUNCH(sum_partials_kernel, FS_DIM3(1, 1, 1), FS_DIM3(FSK_THREADS, 1, 1), count, partial, out);
    FSK(to_host)(&r, out, sizeof r);
    return r;
}

double FSK(sumsq)(size_t count, const float *x) {
    if (!count) return 0.0;
    int grid = FSK(grid_for)(count);
    double *partial = (double *)FSK(scratch)(2, sizeof(double) * (size_t)grid);
    FS_LAUNCH(sumsq_kernel, FS_DIM3(grid, 1, 1), FS_DIM3(FSK_THREADS, 1, 1), count, x, partial);
    return FSK(sum_partials)(grid, partial);
}

static double pointwise_loss(int l1, size_t count, const float *pred, const float *target, float *dpred, float weight) {
    if (!count) return 0.0;
    int grid = FSK(grid_for)(count);
    double *partial = (double *)FSK(scratch)(2, sizeof(double) * (size_t)grid);
    float gscale = (float)((l1 ? 1.0 : 2.0) * weight / (double)count);
    FS_LAUNCH(pointwise_loss_kernel, FS_DIM3(grid, 1, 1), FS_DIM3(FSK_THREADS, 1, 1), count, l1, pred, target, dpred,
              gscale, partial);
    return FSK(sum_partials)(grid, partial) / (double)count;
}

double FSK(mse)(int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight) {
    return pointwise_loss(0, (size_t)n * h * w * c, pred, target, dpred, weight);
}

double FSK(l1)(int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight) {
    return pointwise_loss(1, (size_t)n * h * w * c, pred, target, dpred, weight);
}
