/* ref_elem.c — the specification of the elementwise ops, pixel shuffle and the optimizer
 * (kernels/ops.h), and the host memory ops both CPU backends use.
 *   u8_to_float: dst = src / 255 (=)
 *   leaky/sigmoid fwd: y = f(x) (=, in place allowed); bwd: dx = f'(y) dy (=, in place allowed)
 *   pixshuf: x [n,h,w,4c] <-> y [n,2h,2w,c], y[n,2i+a,2j+b,ch] = x[n,i,j,(2a+b)c+ch] (=)
 *   mask_mul: y[n,i,j,ch] = x[n,i,j,ch] * mask[n,i,j] (=, in place allowed; its own backward)
 *   sumsq: sum x^2 in double; adam: in place on p, m, v; adabelief: in place on p, m, s;
 *   scale: x *= s. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/host_mem.h"
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/ref.h"

void *fs_cpu_alloc(size_t bytes) {
    void *p = fs_aligned_alloc(bytes);
    memset(p, 0, bytes);
    return p;
}
void fs_cpu_free(void *p) { free(p); }
/* Host memory: upload, download and copy are all one memcpy. */
static void host_memcpy(void *dst, const void *src, size_t bytes) {
    if (bytes) memcpy(dst, src, bytes);
}
void fs_cpu_upload(void *dst, const void *src, size_t bytes) { host_memcpy(dst, src, bytes); }
void fs_cpu_download(void *dst, const void *src, size_t bytes) { host_memcpy(dst, src, bytes); }
void fs_cpu_copy(void *dst, const void *src, size_t bytes) { host_memcpy(dst, src, bytes); }
void fs_cpu_zero(void *p, size_t bytes) {
    if (bytes) memset(p, 0, bytes);
}
void fs_cpu_sync(void) {}
size_t fs_cpu_mem_available(void) { return fs_host_mem_available(); } /* kernels/host_mem.h */

/* Both CPU backends' conv/dense precision (one process-wide setting, as a device's), and
 * the reference's bf16 activation storage (FS_PREC_BF16_ACT: FS_PREC_BF16 + storage; the fast
 * backend refuses that mode, kernels/cpu/fast.c). */
static int g_cpu_precision = FS_PREC_FP32, g_cpu_act_bf16;
int fs_cpu_set_precision(int precision) {
    if (precision != FS_PREC_FP32 && precision != FS_PREC_BF16 && precision != FS_PREC_BF16_ACT) return -1;
    g_cpu_precision = precision == FS_PREC_FP32 ? FS_PREC_FP32 : FS_PREC_BF16;
    g_cpu_act_bf16 = precision == FS_PREC_BF16_ACT;
    return 0;
}
int fs_cpu_precision(void) { return g_cpu_precision; }
int fs_cpu_act_bf16(void) { return g_cpu_act_bf16; }
void fs_cpu_set_act_bf16(int on) { g_cpu_act_bf16 = on; }

void fs_ref_u8_to_float(size_t n, const uint8_t *src, float *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i] / 255.0f;
}

void fs_ref_leaky_fwd(size_t count, float alpha, const float *x, float *y) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_leaky_fwd(count, alpha, x, y);
        return;
    }
    for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
}
void fs_ref_leaky_bwd(size_t count, float alpha, const float *y, const float *dy, float *dx) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_leaky_bwd(count, alpha, y, dy, dx);
        return;
    }
    for (size_t i = 0; i < count; i++) dx[i] = y[i] > 0.0f ? dy[i] : alpha * dy[i];
}
void fs_ref_sigmoid_fwd(size_t count, const float *x, float *y) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_sigmoid_fwd(count, x, y);
        return;
    }
    for (size_t i = 0; i < count; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}
void fs_ref_sigmoid_bwd(size_t count, const float *y, const float *dy, float *dx) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_sigmoid_bwd(count, y, dy, dx);
        return;
    }
    for (size_t i = 0; i < count; i++) dx[i] = y[i] * (1.0f - y[i]) * dy[i];
}

/* Offsets of y[img, 2i+a, 2j+b, 0] and x[img, i, j, (2a+b)c] for the same element block. */
static size_t shuf_y(int img, int i, int j, int a, int b, int h, int w, int c) {
    return (((size_t)img * 2 * h + 2 * i + a) * 2 * w + 2 * j + b) * c;
}
static size_t shuf_x(int img, int i, int j, int a, int b, int h, int w, int c4) {
    return (((size_t)img * h + i) * w + j) * c4 + (size_t)(2 * a + b) * (c4 / 4);
}

void fs_ref_pixshuf_fwd(int n, int h, int w, int c4, const float *x, float *y) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_pixshuf_fwd(n, h, w, c4, x, y);
        return;
    }
    int c = c4 / 4;
    for (int img = 0; img < n; img++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                        for (int ch = 0; ch < c; ch++)
                            y[shuf_y(img, i, j, a, b, h, w, c) + ch] = x[shuf_x(img, i, j, a, b, h, w, c4) + ch];
}

void fs_ref_pixshuf_bwd(int n, int h, int w, int c4, const float *dy, float *dx) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_pixshuf_bwd(n, h, w, c4, dy, dx);
        return;
    }
    int c = c4 / 4;
    for (int img = 0; img < n; img++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                        for (int ch = 0; ch < c; ch++)
                            dx[shuf_x(img, i, j, a, b, h, w, c4) + ch] = dy[shuf_y(img, i, j, a, b, h, w, c) + ch];
}

void fs_ref_mask_mul(int n, int h, int w, int c, const float *mask, const float *x, float *y) {
    for (int img = 0; img < n; img++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                size_t pix = ((size_t)img * h + i) * w + j;
                for (int ch = 0; ch < c; ch++) y[pix * c + ch] = x[pix * c + ch] * mask[pix];
            }
}

double fs_ref_sumsq(size_t count, const float *x) {
    double acc = 0.0;
    for (size_t i = 0; i < count; i++) acc += (double)x[i] * x[i];
    return acc;
}

/* The update in double per element (the specification), stored as float. LEGACY takes the
 * hyper-parameters rounded to float32, as 0.1.0 held them. */
void fs_ref_adam(size_t count, float *p, const float *g, float *m, float *v, const fs_adam_args *a) {
    int legacy = a->variant == FS_ADAM_LEGACY, keras = a->variant == FS_ADAM_KERAS;
    double b1 = legacy ? (float)a->beta1 : a->beta1, b2 = legacy ? (float)a->beta2 : a->beta2;
    double lr = legacy ? (float)a->lr : a->lr, eps = legacy ? (float)a->eps : a->eps;
    double bc1 = 1.0 - pow(b1, (double)a->step), bc2 = 1.0 - pow(b2, (double)a->step);
    for (size_t i = 0; i < count; i++) {
        double gs = (double)a->grad_scale * g[i];
        double mi = b1 * m[i] + (1.0 - b1) * gs;
        double vi = b2 * v[i] + (1.0 - b2) * gs * gs;
        double upd = (keras ? sqrt(bc2) / bc1 * mi / (sqrt(vi) + eps) : (mi / bc1) / (sqrt(vi / bc2) + eps)) +
                     (double)a->weight_decay * p[i];
        m[i] = (float)mi;
        v[i] = (float)vi;
        p[i] = (float)(p[i] - lr * upd);
    }
}

/* DeepFaceLab's AdaBelief (ops.h) in double per element, stored as float; the dropout
 * mask from the same draw as every backend. */
void fs_ref_adabelief(size_t count, float *p, const float *g, float *m, float *s, const fs_adam_args *a) {
    fs_adabelief_consts k;
    fs_adabelief_consts_init(&k, a);
    double b1 = a->beta1, b2 = a->beta2, lr = a->lr, eps = a->eps, wd = a->weight_decay;
    for (size_t i = 0; i < count; i++) {
        double gs = (double)a->grad_scale * g[i];
        double mi = b1 * m[i] + (1.0 - b1) * gs, d = gs - mi;
        double si = b2 * s[i] + (1.0 - b2) * d * d;
        m[i] = (float)mi;
        s[i] = (float)si;
        if (k.dropout && fs_adabelief_draw(k.drop_base, i) >= k.keep_below) continue;
        p[i] = (float)(p[i] - (lr * mi / (sqrt(si) + eps) + lr * wd * p[i]));
    }
}

void fs_ref_scale(size_t count, float *x, float s) {
    for (size_t i = 0; i < count; i++) x[i] *= s;
}
