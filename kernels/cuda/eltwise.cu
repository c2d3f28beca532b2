/* eltwise.cu — the element-wise ops (kernels/ops.h): LeakyReLU and sigmoid forward and
 * backward (backward from the forward OUTPUT; in place allowed), pixel shuffle x2 forward
 * and backward, the uint8 -> float batch conversion, x *= s, the mask multiply of the
 * masked loss (y = x * mask[pixel], its own backward), and the Adam and AdaBelief updates.
 * All are grid-stride loops over the output (coalesced stores), every output written once
 * (=), except the optimizers which update p and their state in place. */
#include "kernels/cuda/fsk.h"
#include "kernels/cuda/emu.h"

#define GRID_STRIDE(i, count)                                                                                          \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (count); i += (size_t)gridDim.x * blockDim.x)

static __global__ void leaky_fwd_kernel(size_t count, float alpha, const float *x, float *y) {
    GRID_STRIDE(i, count) {
        float v = x[i];
        y[i] = v > 0.0f ? v : alpha * v;
    }
}

static __global__ void leaky_bwd_kernel(size_t count, float alpha, const float *y, const float *dy, float *dx) {
    GRID_STRIDE(i, count) dx[i] = y[i] > 0.0f ? dy[i] : alpha * dy[i];
}

static __global__ void sigmoid_fwd_kernel(size_t count, const float *x, float *y) {
    GRID_STRIDE(i, count) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

static __global__ void sigmoid_bwd_kernel(size_t count, const float *y, const float *dy, float *dx) {
    GRID_STRIDE(i, count) {
        float s = y[i];
        dx[i] = s * (1.0f - s) * dy[i];
    }
}

/* y[n, 2i+a, 2j+b, ch] = x[n, i, j, (2a+b) c + ch]; one thread per element of y. */
static __global__ void pixshuf_fwd_kernel(int n, int h, int w, int c4, const float *x, float *y) {
    int c = c4 / 4;
    size_t count = (size_t)n * h * w * c4;
    GRID_STRIDE(o, count) {
        int ch = (int)(o % c);
        size_t t = o / c;
        int X = (int)(t % (2 * w)), Y = (int)(t / (2 * w) % (2 * h)), b = (int)(t / (4 * (size_t)w * h));
        size_t src = (((size_t)b * h + Y / 2) * w + X / 2) * c4 + (size_t)(2 * (Y % 2) + X % 2) * c + ch;
        y[o] = x[src];
    }
}

/* The inverse gather: one thread per element of dx. */
static __global__ void pixshuf_bwd_kernel(int n, int h, int w, int c4, const float *dy, float *dx) {
    int c = c4 / 4;
    size_t count = (size_t)n * h * w * c4;
    GRID_STRIDE(o, count) {
        int q = (int)(o % c4);
        size_t t = o / c4;
        int j = (int)(t % w), i = (int)(t / w % h), b = (int)(t / ((size_t)w * h));
        int ab = q / c, ch = q % c;
        dx[o] = dy[(((size_t)b * 2 * h + 2 * i + ab / 2) * 2 * w + 2 * j + ab % 2) * c + ch];
    }
}

/* y[o] = x[o] * mask[o / c]: one thread per element of y (in place allowed). */
static __global__ void mask_mul_kernel(size_t count, int c, const float *mask, const float *x, float *y) {
    GRID_STRIDE(o, count) y[o] = x[o] * mask[o / c];
}

static __global__ void u8_to_float_kernel(size_t count, const uint8_t *src, float *dst) {
    GRID_STRIDE(i, count) dst[i] = (float)src[i] / 255.0f;
}

static __global__ void scale_kernel(size_t count, float *x, float s) { GRID_STRIDE(i, count) x[i] *= s; }

/* The constants come from fs_adam_consts_init on the host (ops.h): PAPER and LEGACY
 * c1 = 1 / (1 - b1^t), c2 = 1 / (1 - b2^t); KERAS c1 = sqrt(1 - b2^t) / (1 - b1^t), c2 = 1
 * (eps then adds to sqrt(v) itself). omb = 1 - b; lrwd = lr * wd. */
static __global__ void adam_kernel(size_t count, float *p, const float *g, float *m, float *v, float lr, float b1,
                                   float omb1, float b2, float omb2, float eps, float gscale, float lrwd, float c1,
                                   float c2) {
    GRID_STRIDE(i, count) {
        float gi = gscale * g[i];
        float mi = b1 * m[i] + omb1 * gi;
        float vi = b2 * v[i] + omb2 * gi * gi;
        m[i] = mi, v[i] = vi;
        float pi = p[i];
        p[i] = pi - lr * (mi * c1) / (sqrtf(vi * c2) + eps) - lrwd * pi;
    }
}

/* DeepFaceLab's AdaBelief (ops.h); k from fs_adabelief_consts_init on the host, passed by
 * value. A dropped element (fs_adabelief_draw >= keep_below) keeps p; m and s update. */
static __global__ void adabelief_kernel(size_t count, float *p, const float *g, float *m, float *s,
                                        fs_adabelief_consts k) {
    GRID_STRIDE(i, count) {
        float gi = k.gsc * g[i];
        float mi = k.b1 * m[i] + k.omb1 * gi, d = gi - mi;
        float si = k.b2 * s[i] + k.omb2 * d * d;
        m[i] = mi, s[i] = si;
        if (k.dropout && fs_adabelief_draw(k.drop_base, i) >= k.keep_below) continue;
        float pi = p[i];
        p[i] = pi - (k.lr * mi / (sqrtf(si) + k.eps) + k.lrwd * pi);
    }
}

#define BLOCK FS_DIM3(FSK_THREADS, 1, 1)
#define GRID(count) FS_DIM3(FSK(grid_for)(count), 1, 1)

void FSK(leaky_fwd)(size_t count, float alpha, const float *x, float *y) {
    if (count) FS_LAUNCH(leaky_fwd_kernel, GRID(count), BLOCK, count, alpha, x, y);
}
void FSK(leaky_bwd)(size_t count, float alpha, const float *y, const float *dy, float *dx) {
    if (count) FS_LAUNCH(leaky_bwd_kernel, GRID(count), BLOCK, count, alpha, y, dy, dx);
}
void FSK(sigmoid_fwd)(size_t count, const float *x, float *y) {
    if (count) FS_LAUNCH(sigmoid_fwd_kernel, GRID(count), BLOCK, count, x, y);
}
void FSK(sigmoid_bwd)(size_t count, const float *y, const float *dy, float *dx) {
    if (count) FS_LAUNCH(sigmoid_bwd_kernel, GRID(count), BLOCK, count, y, dy, dx);
}
void FSK(pixshuf_fwd)(int n, int h, int w, int c4, const float *x, float *y) {
    size_t count = (size_t)n * h * w * c4;
    if (count) FS_LAUNCH(pixshuf_fwd_kernel, GRID(count), BLOCK, n, h, w, c4, x, y);
}
void FSK(pixshuf_bwd)(int n, int h, int w, int c4, const float *dy, float *dx) {
    size_t count = (size_t)n * h * w * c4;
    if (count) FS_LAUNCH(pixshuf_bwd_kernel, GRID(count), BLOCK, n, h, w, c4, dy, dx);
}
void FSK(mask_mul)(int n, int h, int w, int c, const float *mask, const float *x, float *y) {
    size_t count = (size_t)n * h * w * c;
    if (count) FS_LAUNCH(mask_mul_kernel, GRID(count), BLOCK, count, c, mask, x, y);
}
void FSK(u8_to_float_dev)(size_t n, const uint8_t *src_dev, float *dst) {
    if (n) FS_LAUNCH(u8_to_float_kernel, GRID(n), BLOCK, n, src_dev, dst);
}
void FSK(scale)(size_t count, float *x, float s) {
    if (count) FS_LAUNCH(scale_kernel, GRID(count), BLOCK, count, x, s);
}

void FSK(adam)(size_t count, float *p, const float *g, float *m, float *v, const fs_adam_args *a) {
    if (!count) return;
    fs_adam_consts k;
    fs_adam_consts_init(&k, a);
    FS_LAUNCH(adam_kernel, GRID(count), BLOCK, count, p, g, m, v, k.lr, k.b1, k.omb1, k.b2, k.omb2, k.eps,
              a->grad_scale, k.lrwd, k.c1, k.c2);
}

void FSK(adabelief)(size_t count, float *p, const float *g, float *m, float *s, const fs_adam_args *a) {
    if (!count) return;
    fs_adabelief_consts k;
    fs_adabelief_consts_init(&k, a);
    FS_LAUNCH(adabelief_kernel, GRID(count), BLOCK, count, p, g, m, s, k);
}
