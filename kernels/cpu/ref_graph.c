/* ref_graph.c — the specification of the model graph's plumbing (kernels/ops.h): add, acc,
 * concat (channels last) and DeepFaceLab's pixel norm. pixnorm sums in double in element
 * order, forms r = 1 / sqrt(mean x^2 + eps) in double and rounds each output once. */
#include <math.h>

#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/ref.h"

void fs_ref_add(size_t count, const float *a, const float *b, float *y) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_add(count, a, b, y);
        return;
    }
    for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}

void fs_ref_acc(size_t count, const float *x, float *y) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_acc(count, x, y);
        return;
    }
    for (size_t i = 0; i < count; i++) y[i] += x[i];
}

void fs_ref_concat_fwd(size_t rows, int ca, int cb, const float *a, const float *b, float *y) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_concat_fwd(rows, ca, cb, a, b, y);
        return;
    }
    size_t ct = (size_t)ca + cb;
    for (size_t r = 0; r < rows; r++) {
        for (int j = 0; j < ca; j++) y[r * ct + j] = a[r * ca + j];
        for (int j = 0; j < cb; j++) y[r * ct + ca + j] = b[r * cb + j];
    }
}

void fs_ref_concat_bwd(size_t rows, int ca, int cb, const float *dy, float *da, float *db) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_concat_bwd(rows, ca, cb, dy, da, db);
        return;
    }
    size_t ct = (size_t)ca + cb;
    for (size_t r = 0; r < rows; r++) {
        for (int j = 0; da && j < ca; j++) da[r * ca + j] = dy[r * ct + j];
        for (int j = 0; db && j < cb; j++) db[r * cb + j] = dy[r * ct + ca + j];
    }
}

/* r = 1 / sqrt(mean x^2 + eps) of one row. */
static double pixnorm_r(int c, const float *x) {
    double ss = 0.0;
    for (int i = 0; i < c; i++) ss += (double)x[i] * x[i];
    return 1.0 / sqrt(ss / c + FS_PIXNORM_EPS);
}

void fs_ref_pixnorm_fwd(size_t rows, int c, const float *x, float *y) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_pixnorm_fwd(rows, c, x, y);
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        double s = pixnorm_r(c, xr);
        for (int i = 0; i < c; i++) y[r * c + i] = (float)(xr[i] * s);
    }
}

/* d(x_j r)/dx_i = r [i == j] - r^3 x_i x_j / c, so dx_i = r dy_i - (r^3 / c) (dy . x) x_i. */
void fs_ref_pixnorm_bwd(size_t rows, int c, const float *x, const float *dy, float *dx) {
    if (fs_cpu_act_bf16()) {
        fs_ref16_pixnorm_bwd(rows, c, x, dy, dx);
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c, *dyr = dy + r * c;
        double s = pixnorm_r(c, xr), dot = 0.0;
        for (int i = 0; i < c; i++) dot += (double)dyr[i] * xr[i];
        double k = s * s * s * dot / c;
        for (int i = 0; i < c; i++) dx[r * c + i] = (float)(s * dyr[i] - k * xr[i]);
    }
}
