/* dssim.cu — DSSIM loss (kernels/ops.h): (1 - mean SSIM) / 2 over every valid k x k
 * Gaussian window (sigma 1.5, k = win) of every channel of every image, C1 = 0.01^2,
 * C2 = 0.03^2; adds weight * dLoss/dpred into dpred (+=).
 *
 * Pass 1, one thread per window: the five window moments, SSIM S, and S's derivative
 * written as dS/dp_q = g_q (alpha + beta p_q + gamma t_q) for pixel q of the window; the
 * three coefficient maps go to scratch, S to a per-block partial (deterministic sum).
 * Pass 2, one thread per pixel: gathers g * (alpha, beta, gamma) from the (up to k^2)
 * windows that cover it — a transposed k x k correlation, no atomics. The taps sit in
 * shared memory, formed by thread 0 of each block with the same float code for every
 * block. Both passes cost k^2 per window or pixel (not separable): fine at 11, slow at
 * SAEHD's largest windows. */
#include "kernels/cuda/fsk.h"
#include "kernels/cuda/emu.h"
#include "kernels/cuda/blocksum.h"

#define SSIM_C1 (0.01f * 0.01f)
#define SSIM_C2 (0.03f * 0.03f)

/* The normalised taps g[k] (taps at i - (k - 1) / 2; k = 11: i - 5, exactly), into the
 * block's shared g by thread 0; every thread of the block must call it. */
FSK_DEVICE void gauss_shared(int k, float *g) {
    if (threadIdx.x == 0) {
        float sum = 0.0f;
        for (int i = 0; i < k; i++) {
            float t = (float)i - (float)(k - 1) * 0.5f;
            g[i] = expf(-t * t / (2.0f * 1.5f * 1.5f));
            sum += g[i];
        }
        for (int i = 0; i < k; i++) g[i] /= sum;
    }
    __syncthreads();
}

/* Window o = ((b * ho + y) * wo + x) * c + ch; coef = [3][windows] (alpha, beta, gamma). */
static __global__ void ssim_window_kernel(int n, int h, int w, int c, int k, const float *p, const float *t,
                                          float *coef, double *partial) {
    __shared__ double warp_sums[FSK_THREADS / 32];
    __shared__ float g[FS_DSSIM_MAX_WIN];
    int ho = h - k + 1, wo = w - k + 1;
    size_t windows = (size_t)n * ho * wo * c;
    gauss_shared(k, g);
    double s_sum = 0.0;
    for (size_t o = blockIdx.x * (size_t)blockDim.x + threadIdx.x; o < windows; o += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)(o % c), x = (int)(o / c % wo), y = (int)(o / c / wo % ho), b = (int)(o / c / wo / ho);
        float mx = 0, my = 0, exx = 0, eyy = 0, exy = 0;
        for (int i = 0; i < k; i++) {
            const float *pr = p + (((size_t)b * h + y + i) * w + x) * c + ch;
            const float *tr = t + (((size_t)b * h + y + i) * w + x) * c + ch;
            for (int j = 0; j < k; j++) {
                float gw = g[i] * g[j], a = pr[j * c], e = tr[j * c];
                mx += gw * a, my += gw * e, exx += gw * a * a, eyy += gw * e * e, exy += gw * a * e;
            }
        }
        float sx = exx - mx * mx, sy = eyy - my * my, sxy = exy - mx * my;
        float a1 = 2.0f * mx * my + SSIM_C1, a2 = 2.0f * sxy + SSIM_C2;
        float b1 = mx * mx + my * my + SSIM_C1, b2 = sx + sy + SSIM_C2, den = b1 * b2;
        float s = a1 * a2 / den;
        /* dS/dmx, dS/dexx, dS/dexy (my and the t moments are constants) */
        float d_mx = (2.0f * my * (a2 - a1) - 2.0f * mx * s * (b2 - b1)) / den;
        float d_exx = -s / b2, d_exy = 2.0f * a1 / den;
        coef[o] = d_mx;                 /* alpha: g * d_mx */
        coef[windows + o] = 2.0f * d_exx; /* beta: g * 2 p d_exx */
        coef[2 * windows + o] = d_exy;  /* gamma: g * t d_exy */
        s_sum += s;
    }
    s_sum = block_sum(s_sum, warp_sums);
    if (threadIdx.x == 0) partial[blockIdx.x] = s_sum;
}

/* dpred[q] += gscale * sum over windows covering q of g(q - window) (alpha + beta p + gamma t). */
static __global__ void ssim_grad_kernel(int n, int h, int w, int c, int k, const float *p, const float *t,
                                        const float *coef, float *dpred, float gscale) {
    __shared__ float g[FS_DSSIM_MAX_WIN];
    int ho = h - k + 1, wo = w - k + 1;
    size_t windows = (size_t)n * ho * wo * c, count = (size_t)n * h * w * c;
    gauss_shared(k, g);
    for (size_t q = blockIdx.x * (size_t)blockDim.x + threadIdx.x; q < count; q += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)(q % c), x = (int)(q / c % w), y = (int)(q / c / w % h), b = (int)(q / c / w / h);
        float sa = 0, sb = 0, sc = 0;
        for (int i = 0; i < k; i++) {
            int wy = y - i;
            if (wy < 0 || wy >= ho) continue;
            for (int j = 0; j < k; j++) {
                int wx = x - j;
                if (wx < 0 || wx >= wo) continue;
                size_t o = (((size_t)b * ho + wy) * wo + wx) * c + ch;
                float gw = g[i] * g[j];
                sa += gw * coef[o], sb += gw * coef[windows + o], sc += gw * coef[2 * windows + o];
            }
        }
        dpred[q] += gscale * (sa + sb * p[q] + sc * t[q]);
    }
}

double FSK(dssim)(int n, int h, int w, int c, int win, const float *pred, const float *target, float *dpred,
                  float weight) {
    fs_dssim_check(h, w, win);
    size_t windows = (size_t)n * (h - win + 1) * (w - win + 1) * c;
    int grid = FSK(grid_for)(windows);
    float *coef = (float *)FSK(scratch)(0, sizeof(float) * 3 * windows);
    double *partial = (double *)FSK(scratch)(2, sizeof(double) * (size_t)grid);
    FS_LAUNCH(ssim_window_kernel, FS_DIM3(grid, 1, 1), FS_DIM3(FSK_THREADS, 1, 1), n, h, w, c, win, pred, target,
              coef, partial);
    double ssim_sum = FSK(sum_partials)(grid, partial);
    if (dpred) {
        size_t count = (size_t)n * h * w * c;
        float gscale = (float)(weight * -0.5 / (double)windows);
        FS_LAUNCH(ssim_grad_kernel, FS_DIM3(FSK(grid_for)(count), 1, 1), FS_DIM3(FSK_THREADS, 1, 1), n, h, w, c,
                  win, pred, target, coef, dpred, gscale);
    }
    return (1.0 - ssim_sum / (double)windows) / 2.0;
}
