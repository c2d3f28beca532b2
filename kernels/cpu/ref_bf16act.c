/* ref_bf16act.c — the specification of bf16 activation storage (FS_PREC_BF16_ACT,
 * kernels/ops.h): each activation op of the reference, when that mode is set, comes here.
 * It widens its bf16 inputs exactly into float copies, runs the reference's own FS_PREC_BF16
 * op on them (the GEMM operands rounded to bf16: the identity on x and dz, which already
 * are), and rounds each activation output once to bf16 (nearest even) as it stores it. So
 * the mode is defined by one rule on top of the float ops, and in-place calls (y aliasing x)
 * stay correct: every input is copied before any output is written. bf16_pack / unpack too. */
#include <stdlib.h>

#include "core/alloc.h"
#include "kernels/bf16.h"
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/ref.h"

void fs_ref_bf16_pack(size_t count, const float *x, float *y16) {
    fs_bf16 *y = (fs_bf16 *)y16;
    for (size_t i = 0; i < count; i++) y[i] = fs_bf16_from_f32(x[i]);
}
void fs_ref_bf16_unpack(size_t count, const float *x16, float *y) {
    const fs_bf16 *x = (const fs_bf16 *)x16;
    for (size_t i = 0; i < count; i++) y[i] = fs_bf16_to_f32(x[i]);
}

/* A float copy of count bf16 values (NULL stays NULL). */
static float *wide(const float *p16, size_t count) {
    if (!p16) return NULL;
    float *t = fs_malloc(count ? count * sizeof(float) : 1);
    fs_ref_bf16_unpack(count, p16, t);
    return t;
}
static float *out(const float *p16, size_t count) { return p16 ? fs_malloc(count ? count * sizeof(float) : 1) : NULL; }
/* Stores t rounded into the bf16 array p16 and frees t. */
static void store(float *p16, float *t, size_t count) {
    if (p16) fs_ref_bf16_pack(count, t, p16);
    free(t);
}

/* The float op itself: the mode off for the call (FS_PREC_BF16's operand rounding stays). */
#define FLOAT_OP(call)                                                                                                 \
    do {                                                                                                               \
        fs_cpu_set_act_bf16(0);                                                                                        \
        call;                                                                                                          \
        fs_cpu_set_act_bf16(1);                                                                                        \
    } while (0)

void fs_ref16_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, const float *b, float *y, fs_act act,
                         float alpha) {
    size_t nx = (size_t)d->n * d->h * d->w * d->cin, ny = (size_t)d->n * d->ho * d->wo * d->cout;
    float *xf = wide(x, nx), *yf = out(y, ny);
    FLOAT_OP(fs_ref_conv2d_fwd(d, xf, w, b, yf, act, alpha));
    store(y, yf, ny), free(xf);
}
void fs_ref16_conv2d_bwd_data(const fs_conv_desc *d, const float *dz, const float *w, float *dx) {
    size_t nx = (size_t)d->n * d->h * d->w * d->cin, ny = (size_t)d->n * d->ho * d->wo * d->cout;
    float *dzf = wide(dz, ny), *dxf = out(dx, nx);
    FLOAT_OP(fs_ref_conv2d_bwd_data(d, dzf, w, dxf));
    store(dx, dxf, nx), free(dzf);
}
void fs_ref16_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw, float *db) {
    size_t nx = (size_t)d->n * d->h * d->w * d->cin, ny = (size_t)d->n * d->ho * d->wo * d->cout;
    float *xf = wide(x, nx), *dzf = wide(dz, ny);
    FLOAT_OP(fs_ref_conv2d_bwd_filter(d, xf, dzf, dw, db)); /* dw, db: float32 */
    free(xf), free(dzf);
}
void fs_ref16_dense_fwd(int n, int in, int outc, const float *x, const float *w, const float *b, float *y, fs_act act,
                        float alpha) {
    float *xf = wide(x, (size_t)n * in), *yf = out(y, (size_t)n * outc);
    FLOAT_OP(fs_ref_dense_fwd(n, in, outc, xf, w, b, yf, act, alpha));
    store(y, yf, (size_t)n * outc), free(xf);
}
void fs_ref16_dense_bwd_data(int n, int in, int outc, const float *dz, const float *w, float *dx) {
    float *dzf = wide(dz, (size_t)n * outc), *dxf = out(dx, (size_t)n * in);
    FLOAT_OP(fs_ref_dense_bwd_data(n, in, outc, dzf, w, dxf));
    store(dx, dxf, (size_t)n * in), free(dzf);
}
void fs_ref16_dense_bwd_filter(int n, int in, int outc, const float *x, const float *dz, float *dw, float *db) {
    float *xf = wide(x, (size_t)n * in), *dzf = wide(dz, (size_t)n * outc);
    FLOAT_OP(fs_ref_dense_bwd_filter(n, in, outc, xf, dzf, dw, db));
    free(xf), free(dzf);
}
void fs_ref16_leaky_fwd(size_t count, float alpha, const float *x, float *y) {
    float *xf = wide(x, count), *yf = out(y, count);
    FLOAT_OP(fs_ref_leaky_fwd(count, alpha, xf, yf));
    store(y, yf, count), free(xf);
}
void fs_ref16_leaky_bwd(size_t count, float alpha, const float *y, const float *dy, float *dx) {
    float *yf = wide(y, count), *dyf = wide(dy, count), *dxf = out(dx, count);
    FLOAT_OP(fs_ref_leaky_bwd(count, alpha, yf, dyf, dxf));
    store(dx, dxf, count), free(yf), free(dyf);
}
void fs_ref16_sigmoid_fwd(size_t count, const float *x, float *y) {
    float *xf = wide(x, count), *yf = out(y, count);
    FLOAT_OP(fs_ref_sigmoid_fwd(count, xf, yf));
    store(y, yf, count), free(xf);
}
void fs_ref16_sigmoid_bwd(size_t count, const float *y, const float *dy, float *dx) {
    float *yf = wide(y, count), *dyf = wide(dy, count), *dxf = out(dx, count);
    FLOAT_OP(fs_ref_sigmoid_bwd(count, yf, dyf, dxf));
    store(dx, dxf, count), free(yf), free(dyf);
}
void fs_ref16_pixshuf_fwd(int n, int h, int w, int c4, const float *x, float *y) {
    size_t count = (size_t)n * h * w * c4;
    float *xf = wide(x, count), *yf = out(y, count);
    FLOAT_OP(fs_ref_pixshuf_fwd(n, h, w, c4, xf, yf));
    store(y, yf, count), free(xf);
}
void fs_ref16_pixshuf_bwd(int n, int h, int w, int c4, const float *dy, float *dx) {
    size_t count = (size_t)n * h * w * c4;
    float *dyf = wide(dy, count), *dxf = out(dx, count);
    FLOAT_OP(fs_ref_pixshuf_bwd(n, h, w, c4, dyf, dxf));
    store(dx, dxf, count), free(dyf);
}
void fs_ref16_add(size_t count, const float *a, const float *b, float *y) {
    float *af = wide(a, count), *bf = wide(b, count), *yf = out(y, count);
    FLOAT_OP(fs_ref_add(count, af, bf, yf));
    store(y, yf, count), free(af), free(bf);
}
void fs_ref16_acc(size_t count, const float *x, float *y) {
    float *xf = wide(x, count), *yf = wide(y, count);
    FLOAT_OP(fs_ref_acc(count, xf, yf));
    store(y, yf, count), free(xf);
}
void fs_ref16_concat_fwd(size_t rows, int ca, int cb, const float *a, const float *b, float *y) {
    size_t ny = rows * ((size_t)ca + cb);
    float *af = wide(a, rows * ca), *bf = wide(b, rows * cb), *yf = out(y, ny);
    FLOAT_OP(fs_ref_concat_fwd(rows, ca, cb, af, bf, yf));
    store(y, yf, ny), free(af), free(bf);
}
void fs_ref16_concat_bwd(size_t rows, int ca, int cb, const float *dy, float *da, float *db) {
    float *dyf = wide(dy, rows * ((size_t)ca + cb)), *daf = out(da, rows * ca), *dbf = out(db, rows * cb);
    FLOAT_OP(fs_ref_concat_bwd(rows, ca, cb, dyf, daf, dbf));
    store(da, daf, rows * ca), store(db, dbf, rows * cb), free(dyf);
}
void fs_ref16_pixnorm_fwd(size_t rows, int c, const float *x, float *y) {
    size_t count = rows * c;
    float *xf = wide(x, count), *yf = out(y, count);
    FLOAT_OP(fs_ref_pixnorm_fwd(rows, c, xf, yf));
    store(y, yf, count), free(xf);
}
void fs_ref16_pixnorm_bwd(size_t rows, int c, const float *x, const float *dy, float *dx) {
    size_t count = rows * c;
    float *xf = wide(x, count), *dyf = wide(dy, count), *dxf = out(dx, count);
    FLOAT_OP(fs_ref_pixnorm_bwd(rows, c, xf, dyf, dxf));
    store(dx, dxf, count), free(xf), free(dyf);
}
