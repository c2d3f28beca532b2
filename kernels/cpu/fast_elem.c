/* fast_elem.c — the elementwise ops, pixel shuffle and the optimizer with OpenMP (static
 * schedules; reductions in fixed blocks summed in order). Semantics: kernels/ops.h and
 * ref_elem.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/fast.h"

#define PAR_FOR _Pragma("omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (count > FS_FAST_PAR_MIN)")

void fs_fast_u8_to_float(size_t count, const uint8_t *src, float *dst) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) dst[i] = (float)src[i] / 255.0f;
}

void fs_fast_leaky_fwd(size_t count, float alpha, const float *x, float *y) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
}
void fs_fast_leaky_bwd(size_t count, float alpha, const float *y, const float *dy, float *dx) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) dx[i] = y[i] > 0.0f ? dy[i] : alpha * dy[i];
}
void fs_fast_sigmoid_fwd(size_t count, const float *x, float *y) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}
void fs_fast_sigmoid_bwd(size_t count, const float *y, const float *dy, float *dx) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) dx[i] = y[i] * (1.0f - y[i]) * dy[i];
}

/* One input pixel (4c values) <-> its 2x2 output block; fwd copies x -> y, bwd y -> x. */
static void shuf_pixel(int h, int w, int c4, size_t pix, float *x, float *y, int fwd) {
    size_t c = (size_t)c4 / 4, img = pix / ((size_t)h * w);
    int i = (int)(pix / w % h), j = (int)(pix % w);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            float *yp = y + ((img * 2 * h + 2 * i + a) * 2 * w + 2 * j + b) * c;
            float *xp = x + pix * c4 + (size_t)(2 * a + b) * c;
            if (fwd)
                memcpy(yp, xp, c * sizeof(float));
            else
                memcpy(xp, yp, c * sizeof(float));
        }
}

void fs_fast_pixshuf_fwd(int n, int h, int w, int c4, const float *x, float *y) {
    size_t pixels = (size_t)n * h * w, count = pixels * c4;
    PAR_FOR
    for (size_t p = 0; p < pixels; p++) shuf_pixel(h, w, c4, p, (float *)x, y, 1);
}
void fs_fast_pixshuf_bwd(int n, int h, int w, int c4, const float *dy, float *dx) {
    size_t pixels = (size_t)n * h * w, count = pixels * c4;
    PAR_FOR
    for (size_t p = 0; p < pixels; p++) shuf_pixel(h, w, c4, p, dx, (float *)dy, 0);
}

/* Over pixels (one mask value each), channels innermost; count = elements, for PAR_FOR. */
void fs_fast_mask_mul(int n, int h, int w, int c, const float *mask, const float *x, float *y) {
    size_t pixels = (size_t)n * h * w, count = pixels * c;
    PAR_FOR
    for (size_t p = 0; p < pixels; p++) {
        const float m = mask[p];
        for (int ch = 0; ch < c; ch++) y[p * c + ch] = x[p * c + ch] * m;
    }
}

double fs_fast_sumsq(size_t count, const float *x) {
    size_t blocks = (count + FS_FAST_RED_BLOCK - 1) / FS_FAST_RED_BLOCK;
    double *part = fs_malloc((blocks ? blocks : 1) * sizeof(double)), acc = 0.0;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (count > FS_FAST_PAR_MIN)
    for (size_t bl = 0; bl < blocks; bl++) {
        size_t end = FS_MIN(count, (bl + 1) * FS_FAST_RED_BLOCK);
        double s = 0.0;
        for (size_t i = bl * FS_FAST_RED_BLOCK; i < end; i++) s += (double)x[i] * x[i];
        part[bl] = s;
    }
    for (size_t bl = 0; bl < blocks; bl++) acc += part[bl];
    free(part);
    return acc;
}

/* The update in float with the bias corrections folded into two constants. */
void fs_fast_adam(size_t count, float *p, const float *g, float *m, float *v, const fs_adam_args *a) {
    float bc1 = (float)(1.0 - pow(a->beta1, (double)a->step));
    float rbc2 = (float)(1.0 / sqrt(1.0 - pow(a->beta2, (double)a->step)));
    float b1 = a->beta1, b2 = a->beta2, lr = a->lr, gsc = a->grad_scale, eps = a->eps, wd = a->weight_decay;
    float step = lr / bc1;
    PAR_FOR
    for (size_t i = 0; i < count; i++) {
        float gi = gsc * g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * mi / (sqrtf(vi) * rbc2 + eps) + lr * wd * p[i];
    }
}

void fs_fast_scale(size_t count, float *x, float s) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) x[i] *= s;
}
