/* ref_conv.c — the specification of conv2d and dense: plain loops, single-threaded, sums in
 * double. Shapes and "=" / "+=" semantics as in kernels/ops.h:
 *   conv2d_fwd        x [n,h,w,cin], w [k,k,cin,cout], b [cout] -> y [n,ho,wo,cout]   (=)
 *   conv2d_bwd_data   dz [n,ho,wo,cout], w -> dx [n,h,w,cin]                          (=)
 *   conv2d_bwd_filter x, dz -> dw [k,k,cin,cout] (+=), db [cout] (+=, may be NULL)
 *   dense_fwd/bwd_*   the same with x [n,in], w [in,out], y [n,out].
 * With FS_PREC_BF16 (set_precision) every GEMM operand is read through OP(): rounded to bf16
 * (kernels/bf16.h) before the product; the sums stay in double. */
#include <string.h>

#include "kernels/cpu/cpu_internal.h"
#include "kernels/bf16.h"
#include "kernels/cpu/ref.h"

/* A GEMM operand as the set precision sees it. */
#define OP(v) (bf16 ? (double)fs_bf16_round(v) : (double)(v))

/* Input row/column read by output position o and kernel tap t (may be outside the image). */
static inline int conv_in(int o, int t, int stride, int pad) { return o * stride - pad + t; }

static double conv_one(const fs_conv_desc *d, const float *x, const float *w, int img, int oy, int ox, int co) {
    int bf16 = fs_cpu_precision() == FS_PREC_BF16;
    double acc = 0.0;
    for (int ky = 0; ky < d->k; ky++) {
        int iy = conv_in(oy, ky, d->stride, d->pad_top);
        if (iy < 0 || iy >= d->h) continue;
        for (int kx = 0; kx < d->k; kx++) {
            int ix = conv_in(ox, kx, d->stride, d->pad_left);
            if (ix < 0 || ix >= d->w) continue;
            const float *xp = x + (((size_t)img * d->h + iy) * d->w + ix) * d->cin;
            const float *wp = w + ((size_t)ky * d->k + kx) * d->cin * d->cout + co;
            for (int ci = 0; ci < d->cin; ci++) acc += OP(xp[ci]) * OP(wp[(size_t)ci * d->cout]);
        }
    }
    return acc;
}

void fs_ref_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, const float *b, float *y, fs_act act,
                       float alpha) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_conv2d_fwd(d, x, w, b, y, act, alpha);
        return;
    }
    for (int img = 0; img < d->n; img++)
        for (int oy = 0; oy < d->ho; oy++)
            for (int ox = 0; ox < d->wo; ox++)
                for (int co = 0; co < d->cout; co++) {
                    double z = conv_one(d, x, w, img, oy, ox, co) + (b ? b[co] : 0.0f);
                    y[(((size_t)img * d->ho + oy) * d->wo + ox) * d->cout + co] = fs_cpu_act((float)z, act, alpha);
                }
}

/* dx[img, iy, ix, ci]: every (output position, tap) pair that reads input (iy, ix). */
static double conv_bwd_one(const fs_conv_desc *d, const float *dz, const float *w, int img, int iy, int ix, int ci) {
    int bf16 = fs_cpu_precision() == FS_PREC_BF16;
    double acc = 0.0;
    for (int ky = 0; ky < d->k; ky++) {
        int ty = iy + d->pad_top - ky; /* = oy * stride */
        if (ty < 0 || ty % d->stride || ty / d->stride >= d->ho) continue;
        for (int kx = 0; kx < d->k; kx++) {
            int tx = ix + d->pad_left - kx;
            if (tx < 0 || tx % d->stride || tx / d->stride >= d->wo) continue;
            const float *dzp = dz + (((size_t)img * d->ho + ty / d->stride) * d->wo + tx / d->stride) * d->cout;
            const float *wp = w + (((size_t)ky * d->k + kx) * d->cin + ci) * d->cout;
            for (int co = 0; co < d->cout; co++) acc += OP(dzp[co]) * OP(wp[co]);
        }
    }
    return acc;
}

void fs_ref_conv2d_bwd_data(const fs_conv_desc *d, const float *dz, const float *w, float *dx) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_conv2d_bwd_data(d, dz, w, dx);
        return;
    }
    for (int img = 0; img < d->n; img++)
        for (int iy = 0; iy < d->h; iy++)
            for (int ix = 0; ix < d->w; ix++)
                for (int ci = 0; ci < d->cin; ci++)
                    dx[(((size_t)img * d->h + iy) * d->w + ix) * d->cin + ci] =
                        (float)conv_bwd_one(d, dz, w, img, iy, ix, ci);
}

static double conv_dw_one(const fs_conv_desc *d, const float *x, const float *dz, int ky, int kx, int ci, int co) {
    int bf16 = fs_cpu_precision() == FS_PREC_BF16;
    double acc = 0.0;
    for (int img = 0; img < d->n; img++)
        for (int oy = 0; oy < d->ho; oy++) {
            int iy = conv_in(oy, ky, d->stride, d->pad_top);
            if (iy < 0 || iy >= d->h) continue;
            for (int ox = 0; ox < d->wo; ox++) {
                int ix = conv_in(ox, kx, d->stride, d->pad_left);
                if (ix < 0 || ix >= d->w) continue;
                acc += OP(x[(((size_t)img * d->h + iy) * d->w + ix) * d->cin + ci]) *
                       OP(dz[(((size_t)img * d->ho + oy) * d->wo + ox) * d->cout + co]);
            }
        }
    return acc;
}

void fs_ref_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw, float *db) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_conv2d_bwd_filter(d, x, dz, dw, db);
        return;
    }
    for (int ky = 0; ky < d->k; ky++)
        for (int kx = 0; kx < d->k; kx++)
            for (int ci = 0; ci < d->cin; ci++)
                for (int co = 0; co < d->cout; co++)
                    dw[(((size_t)ky * d->k + kx) * d->cin + ci) * d->cout + co] +=
                        (float)conv_dw_one(d, x, dz, ky, kx, ci, co);
    if (!db) return;
    size_t pixels = (size_t)d->n * d->ho * d->wo;
    for (int co = 0; co < d->cout; co++) {
        double acc = 0.0;
        for (size_t p = 0; p < pixels; p++) acc += dz[p * d->cout + co];
        db[co] += (float)acc;
    }
}

void fs_ref_dense_fwd(int n, int in, int out, const float *x, const float *w, const float *b, float *y, fs_act act,
                      float alpha) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_dense_fwd(n, in, out, x, w, b, y, act, alpha);
        return;
    }
    int bf16 = fs_cpu_precision() == FS_PREC_BF16;
    for (int r = 0; r < n; r++)
        for (int o = 0; o < out; o++) {
            double acc = b ? b[o] : 0.0f;
            for (int i = 0; i < in; i++) acc += OP(x[(size_t)r * in + i]) * OP(w[(size_t)i * out + o]);
            y[(size_t)r * out + o] = fs_cpu_act((float)acc, act, alpha);
        }
}

void fs_ref_dense_bwd_data(int n, int in, int out, const float *dz, const float *w, float *dx) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_dense_bwd_data(n, in, out, dz, w, dx);
        return;
    }
    int bf16 = fs_cpu_precision() == FS_PREC_BF16;
    for (int r = 0; r < n; r++)
        for (int i = 0; i < in; i++) {
            double acc = 0.0;
            for (int o = 0; o < out; o++) acc += OP(dz[(size_t)r * out + o]) * OP(w[(size_t)i * out + o]);
            dx[(size_t)r * in + i] = (float)acc;
        }
}

void fs_ref_dense_bwd_filter(int n, int in, int out, const float *x, const float *dz, float *dw, float *db) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_dense_bwd_filter(n, in, out, x, dz, dw, db);
        return;
    }
    int bf16 = fs_cpu_precision() == FS_PREC_BF16;
    for (int i = 0; i < in; i++)
        for (int o = 0; o < out; o++) {
            double acc = 0.0;
            for (int r = 0; r < n; r++) acc += OP(x[(size_t)r * in + i]) * OP(dz[(size_t)r * out + o]);
            dw[(size_t)i * out + o] += (float)acc;
        }
    if (!db) return;
    for (int o = 0; o < out; o++) {
        double acc = 0.0;
        for (int r = 0; r < n; r++) acc += dz[(size_t)r * out + o];
        db[o] += (float)acc;
    }
}
