/* eltwise.cu — the element-wise ops (kernels/ops.h): LeakyReLU and sigmoid forward and
 * backward (backward from the forward OUTPUT; in place allowed), pixel shuffle x2 forward
 * and backward, the uint8 -> float batch conversion, x *= s, the mask multiply of the
 * masked loss (y = x * mask[pixel], its own backward), the bf16 pack / unpack of bf16 storage,
 * and the Adam and AdaBelief updates. The activations and pixel shuffle read and write float32
 * or, under FS_PREC_BF16_ACT, bf16 (act.h).
 * All are grid-stride loops over the output (coalesced stores), every output written once
 * (=), except the optimizers which update p and their state in place. */
#include "kernels/cuda/fsk.h"
#include "kernels/cuda/emu.h"
#include "kernels/cuda/act.h"

#define GRID_STRIDE(i, count)                                                                                          \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (count); i += (size_t)gridDim.x * blockDim.x)

static __global__ void leaky_fwd_kernel(size_t count, float alpha, const float *x, float *y, int bf) {
    GRID_STRIDE(i, count) {
        float v = act_ld(x, i, bf);
        act_st(y, i, v > 0.0f ? v : alpha * v, bf);
    }
}

static __global__ void leaky_bwd_kernel(size_t count, float alpha, const float *y, const float *dy, float *dx, int bf) {
    GRID_STRIDE(i, count) {
        float g = act_ld(dy, i, bf);
        act_st(dx, i, act_ld(y, i, bf) > 0.0f ? g : alpha * g, bf);
    }
}

static __global__ void sigmoid_fwd_kernel(size_t count, const float *x, float *y, int bf) {
    GRID_STRIDE(i, count) act_st(y, i, 1.0f / (1.0f + expf(-act_ld(x, i, bf))), bf);
}

static __global__ void sigmoid_bwd_kernel(size_t count, const float *y, const float *dy, float *dx, int bf) {
    GRID_STRIDE(i, count) {
        float s = act_ld(y, i, bf);
        act_st(dx, i, s * (1.0f - s) * act_ld(dy, i, bf), bf);
    }
}

/* y[n, 2i+a, 2j+b, ch] = x[n, i, j, (2a+b) c + ch]; one thread per element of y. */
static __global__ void pixshuf_fwd_kernel(int n, int h, int w, int c4, const float *x, float *y, int bf) {
    int c = c4 / 4;
    size_t count = (size_t)n * h * w * c4;
    GRID_STRIDE(o, count) {
        int ch = (int)(o % c);
        size_t t = o / c;
        int X = (int)(t % (2 * w)), Y = (int)(t / (2 * w) % (2 * h)), b = (int)(t / (4 * (size_t)w * h));
        size_t src = (((size_t)b * h + Y / 2) * w + X / 2) * c4 + (size_t)(2 * (Y % 2) + X % 2) * c + ch;
        act_st(y, o, act_ld(x, src, bf), bf);
    }
}

/* The inverse gather: one thread per element of dx. */
static __global__ void pixshuf_bwd_kernel(int n, int h, int w, int c4, const float *dy, float *dx, int bf) {
    int c = c4 / 4;
    size_t count = (size_t)n * h * w * c4;
    GRID_STRIDE(o, count) {
        int q = (int)(o % c4);
        size_t t = o / c4;
        int j = (int)(t % w), i = (int)(t / w % h), b = (int)(t / ((size_t)w * h));
        int ab = q / c, ch = q % c;
        act_st(dx, o, act_ld(dy, (((size_t)b * 2 * h + 2 * i + ab / 2) * 2 * w + 2 * j + ab % 2) * c + ch, bf), bf);
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

/* bf16 storage's boundary conversions (ops.h): y16 = bf16(x) (nearest even), y = x16. */
static __global__ void bf16_pack_kernel(size_t count, const float *x, fs_bf16 *y) {
    GRID_STRIDE(i, count) y[i] = fs_bf16_from_f32(x[i]);
}
static __global__ void bf16_unpack_kernel(size_t count, const fs_bf16 *x, float *y) {
    GRID_STRIDE(i, count) y[i] = fs_bf16_to_f32(x[i]);
}

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
    if (count) FS_LAUNCH(leaky_fwd_kernel, GRID(count), BLOCK, count, alpha, x, y, FSK(act_bf16));
}
void FSK(leaky_bwd)(size_t count, float alpha, const float *y, const float *dy, float *dx) {
    if (count) FS_LAUNCH(leaky_bwd_kernel, GRID(count), BLOCK, count, alpha, y, dy, dx, FSK(act_bf16));
}
void FSK(sigmoid_fwd)(size_t count, const float *x, float *y) {
    if (count) FS_LAUNCH(sigmoid_fwd_kernel, GRID(count), BLOCK, count, x, y, FSK(act_bf16));
}
void FSK(sigmoid_bwd)(size_t count, const float *y, const float *dy, float *dx) {
    if (count) FS_LAUNCH(sigmoid_bwd_kernel, GRID(count), BLOCK, count, y, dy, dx, FSK(act_bf16));
}
void FSK(pixshuf_fwd)(int n, int h, int w, int c4, const float *x, float *y) {
    size_t count = (size_t)n * h * w * c4;
    if (count) FS_LAUNCH(pixshuf_fwd_kernel, GRID(count), BLOCK, n, h, w, c4, x, y, FSK(act_bf16));
}
void FSK(pixshuf_bwd)(int n, int h, int w, int c4, const float *dy, float *dx) {
    size_t count = (size_t)n * h * w * c4;
    if (count) FS_LAUNCH(pixshuf_bwd_kernel, GRID(count), BLOCK, n, h, w, c4, dy, dx, FSK(act_bf16));
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
void FSK(bf16_pack)(size_t count, const float *x, float *y16) {
    if (count) FS_LAUNCH(bf16_pack_kernel, GRID(count), BLOCK, count, x, (fs_bf16 *)y16);
}
void FSK(bf16_unpack)(size_t count, const float *x16, float *y) {
    if (count) FS_LAUNCH(bf16_unpack_kernel, GRID(count), BLOCK, count, (const fs_bf16 *)x16, y);
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
