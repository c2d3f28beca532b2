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
 * block. Both passes cost k^2 per window or pixel, fine up to 11 (faceswap's window keeps
 * this path and its bits).
 * Windows above 11 (SAEHD's int(res / 11.6) from 256 px) run separably instead, 2k per
 * output: the five products filtered along x into [5][n, h, wo, c] (scratch slot 1), then
 * along y into the window moments (pass 1's SSIM and coefficients); the gradient filters
 * the coefficients back along y into [3][n, h, wo, c] and along x into dpred. */
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
        coef[o] = d_mx;                   /* alpha: g * d_mx */
        coef[windows + o] = 2.0f * d_exx; /* beta: g * 2 p d_exx */
        coef[2 * windows + o] = d_exy;    /* gamma: g * t d_exy */
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

/* ---------------------------------------------------------------- separable (k > 11)
 * hx = [5][rows = n h wo c]: x, y, x^2, y^2, xy filtered along x; element r = ((b h + y) wo
 * + xo) c + ch. */
static __global__ void ssim_hpass_kernel(int n, int h, int w, int c, int k, const float *p, const float *t, float *hx) {
    __shared__ float g[FS_DSSIM_MAX_WIN];
    int wo = w - k + 1;
    size_t rows = (size_t)n * h * wo * c;
    gauss_shared(k, g);
    for (size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x; r < rows; r += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)(r % c), xo = (int)(r / c % wo);
        size_t by = r / c / wo; /* b h + y */
        const float *pr = p + (by * w + xo) * c + ch, *tr = t + (by * w + xo) * c + ch;
        float mx = 0, my = 0, exx = 0, eyy = 0, exy = 0;
        for (int j = 0; j < k; j++) {
            float a = pr[(size_t)j * c], e = tr[(size_t)j * c];
            mx += g[j] * a, my += g[j] * e, exx += g[j] * a * a, eyy += g[j] * e * e, exy += g[j] * a * e;
        }
        hx[r] = mx, hx[rows + r] = my, hx[2 * rows + r] = exx, hx[3 * rows + r] = eyy, hx[4 * rows + r] = exy;
    }
}

/* The window moments from hx along y; SSIM, coefficients and the partial sums as
 * ssim_window_kernel. */
static __global__ void ssim_vpass_kernel(int n, int h, int w, int c, int k, const float *hx, float *coef,
                                         double *partial) {
    __shared__ double warp_sums[FSK_THREADS / 32];
    __shared__ float g[FS_DSSIM_MAX_WIN];
    int ho = h - k + 1, wo = w - k + 1;
    size_t windows = (size_t)n * ho * wo * c, rows = (size_t)n * h * wo * c, line = (size_t)wo * c;
    gauss_shared(k, g);
    double s_sum = 0.0;
    for (size_t o = blockIdx.x * (size_t)blockDim.x + threadIdx.x; o < windows; o += (size_t)gridDim.x * blockDim.x) {
        size_t xc = o % line; /* xo c + ch */
        int y = (int)(o / line % ho), b = (int)(o / line / ho);
        size_t r0 = ((size_t)b * h + y) * line + xc;
        float st[5] = {0, 0, 0, 0, 0};
        for (int i = 0; i < k; i++)
            for (int q = 0; q < 5; q++) st[q] += g[i] * hx[q * rows + r0 + (size_t)i * line];
        float mx = st[0], my = st[1], exx = st[2], eyy = st[3], exy = st[4];
        float sx = exx - mx * mx, sy = eyy - my * my, sxy = exy - mx * my;
        float a1 = 2.0f * mx * my + SSIM_C1, a2 = 2.0f * sxy + SSIM_C2;
        float b1 = mx * mx + my * my + SSIM_C1, b2 = sx + sy + SSIM_C2, den = b1 * b2;
        float s = a1 * a2 / den;
        coef[o] = (2.0f * my * (a2 - a1) - 2.0f * mx * s * (b2 - b1)) / den;
        coef[windows + o] = 2.0f * (-s / b2);
        coef[2 * windows + o] = 2.0f * a1 / den;
        s_sum += s;
    }
    s_sum = block_sum(s_sum, warp_sums);
    if (threadIdx.x == 0) partial[blockIdx.x] = s_sum;
}

/* vy = [3][rows]: vy[r] = sum over i of g[i] coef[window row y - i] (0 outside the grid). */
static __global__ void ssim_vgrad_kernel(int n, int h, int w, int c, int k, const float *coef, float *vy) {
    __shared__ float g[FS_DSSIM_MAX_WIN];
    int ho = h - k + 1, wo = w - k + 1;
    size_t windows = (size_t)n * ho * wo * c, rows = (size_t)n * h * wo * c, line = (size_t)wo * c;
    gauss_shared(k, g);
    for (size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x; r < rows; r += (size_t)gridDim.x * blockDim.x) {
        size_t xc = r % line;
        int y = (int)(r / line % h), b = (int)(r / line / h);
        float sa = 0, sb = 0, sc = 0;
        for (int i = 0; i < k; i++) {
            int wy = y - i;
            if (wy < 0 || wy >= ho) continue;
            size_t o = ((size_t)b * ho + wy) * line + xc;
            sa += g[i] * coef[o], sb += g[i] * coef[windows + o], sc += g[i] * coef[2 * windows + o];
        }
        vy[r] = sa, vy[rows + r] = sb, vy[2 * rows + r] = sc;
    }
}

/* dpred[q] += gscale (sa + sb p + sc t), (sa, sb, sc) = sum over j of g[j] vy[x - j]. */
static __global__ void ssim_hgrad_kernel(int n, int h, int w, int c, int k, const float *p, const float *t,
                                         const float *vy, float *dpred, float gscale) {
    __shared__ float g[FS_DSSIM_MAX_WIN];
    int wo = w - k + 1;
    size_t rows = (size_t)n * h * wo * c, count = (size_t)n * h * w * c;
    gauss_shared(k, g);
    for (size_t q = blockIdx.x * (size_t)blockDim.x + threadIdx.x; q < count; q += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)(q % c), x = (int)(q / c % w);
        size_t by = q / c / w;
        float sa = 0, sb = 0, sc = 0;
        for (int j = 0; j < k; j++) {
            int xo = x - j;
            if (xo < 0 || xo >= wo) continue;
            size_t r = (by * wo + xo) * c + ch;
            sa += g[j] * vy[r], sb += g[j] * vy[rows + r], sc += g[j] * vy[2 * rows + r];
        }
        dpred[q] += gscale * (sa + sb * p[q] + sc * t[q]);
    }
}

#define DSSIM_BLOCK FS_DIM3(FSK_THREADS, 1, 1)

double FSK(dssim)(int n, int h, int w, int c, int win, const float *pred, const float *target, float *dpred,
                  float weight) {
    fs_dssim_check(h, w, win);
    int wo = w - win + 1, separable = win > FS_DSSIM_WIN;
    size_t windows = (size_t)n * (h - win + 1) * wo * c, rows = (size_t)n * h * wo * c;
    size_t count = (size_t)n * h * w * c;
    int grid = FSK(grid_for)(windows);
    float *coef = (float *)FSK(scratch)(0, sizeof(float) * 3 * windows);
    double *partial = (double *)FSK(scratch)(2, sizeof(double) * (size_t)grid);
    float *hx = separable ? (float *)FSK(scratch)(1, sizeof(float) * 5 * rows) : NULL;
    if (separable) {
        FS_LAUNCH(ssim_hpass_kernel, FS_DIM3(FSK(grid_for)(rows), 1, 1), DSSIM_BLOCK, n, h, w, c, win, pred, target,
                  hx);
        FS_LAUNCH(ssim_vpass_kernel, FS_DIM3(grid, 1, 1), DSSIM_BLOCK, n, h, w, c, win, hx, coef, partial);
    } else {
        FS_LAUNCH(ssim_window_kernel, FS_DIM3(grid, 1, 1), DSSIM_BLOCK, n, h, w, c, win, pred, target, coef, partial);
    }
    double ssim_sum = FSK(sum_partials)(grid, partial);
    if (dpred) {
        float gscale = (float)(weight * -0.5 / (double)windows);
        if (separable) {
            FS_LAUNCH(ssim_vgrad_kernel, FS_DIM3(FSK(grid_for)(rows), 1, 1), DSSIM_BLOCK, n, h, w, c, win, coef, hx);
            FS_LAUNCH(ssim_hgrad_kernel, FS_DIM3(FSK(grid_for)(count), 1, 1), DSSIM_BLOCK, n, h, w, c, win, pred,
                      target, hx, dpred, gscale);
        } else {
            FS_LAUNCH(ssim_grad_kernel, FS_DIM3(FSK(grid_for)(count), 1, 1), DSSIM_BLOCK, n, h, w, c, win, pred, target,
                      coef, dpred, gscale);
        }
    }
    return (1.0 - ssim_sum / (double)windows) / 2.0;
}
