/* test_conv_paths.c — perf_conv_paths: the fast CPU conv's direct paths against the
 * plain-loop reference: the few-input-channel loops (fast_conv_direct.c: cin <= 8, cout a
 * multiple of 16, any stride) and the stride-1, 3-output-channel loops (fast_conv_small.c:
 * the model's output conv), on shapes whose widths leave partial register blocks. Checks
 * fwd (bias + LeakyReLU, and no bias), bwd_data (=), bwd_filter dw and db (+= onto nonzero
 * values) to 2e-5 of max |reference|, and that fwd and bwd_filter give the same bits on 1
 * and on 2 threads (results must not depend on the thread count). */
#include <stdio.h>
#include <stdlib.h>

#include "kernels/cpu/cpu.h"
#include "kernels/ops.h"
#include "tests/kernels/ktest.h"

#define RTOL 2e-5

typedef struct outs {
    float *y, *dx, *dw, *db;
} outs;

/* All three passes of backend be; dw and db start from the same nonzero values. */
static outs run_passes(const fs_backend *be, const fs_conv_desc *d, const float *x, const float *w, const float *b,
                       const float *dz, fs_act act) {
    size_t nx = (size_t)d->n * d->h * d->w * d->cin, ny = (size_t)d->n * d->ho * d->wo * d->cout;
    size_t nw = (size_t)d->k * d->k * d->cin * d->cout;
    outs o = {malloc(ny * sizeof(float)), kt_rand(nx, 5, 1, -1, 1), kt_rand(nw, 5, 2, -1, 1),
              kt_rand((size_t)d->cout, 5, 3, -1, 1)};
    be->conv2d_fwd(d, x, w, b, o.y, act, 0.1f);
    be->conv2d_bwd_data(d, dz, w, o.dx);
    be->conv2d_bwd_filter(d, x, dz, o.dw, o.db);
    return o;
}

static void outs_free(outs *o) { free(o->y), free(o->dx), free(o->dw), free(o->db); }

static void check_outs(const char *name, const char *pass, const fs_conv_desc *d, const outs *got, const outs *want,
                       int bits) {
    size_t nx = (size_t)d->n * d->h * d->w * d->cin, ny = (size_t)d->n * d->ho * d->wo * d->cout;
    size_t nw = (size_t)d->k * d->k * d->cin * d->cout;
    char what[256];
    snprintf(what, sizeof what, "%s %s fwd", name, pass);
    bits ? kt_check_bits(what, got->y, want->y, ny) : kt_check(what, got->y, want->y, ny, RTOL, 1e-12);
    snprintf(what, sizeof what, "%s %s bwd_filter dw", name, pass);
    bits ? kt_check_bits(what, got->dw, want->dw, nw) : kt_check(what, got->dw, want->dw, nw, RTOL, 1e-12);
    snprintf(what, sizeof what, "%s %s bwd_filter db", name, pass);
    bits ? kt_check_bits(what, got->db, want->db, (size_t)d->cout)
         : kt_check(what, got->db, want->db, (size_t)d->cout, RTOL, 1e-12);
    snprintf(what, sizeof what, "%s %s bwd_data", name, pass);
    if (!bits) kt_check(what, got->dx, want->dx, nx, RTOL, 1e-12);
}

static void conv_case(int n, int h, int w, int cin, int cout, int k, int s) {
    fs_conv_desc d;
    char name[128];
    snprintf(name, sizeof name, "conv n=%d %dx%dx%d->%d k=%d s=%d", n, h, w, cin, cout, k, s);
    if (fs_conv_desc_init(&d, n, h, w, cin, cout, k, s) != 0) {
        fprintf(stderr, "FAIL %s: fs_conv_desc_init refused the shape\n", name);
        kt_failures++;
        return;
    }
    size_t nx = (size_t)n * h * w * cin, ny = (size_t)n * d.ho * d.wo * cout, nw = (size_t)k * k * cin * cout;
    float *x = kt_rand(nx, 3, 1, -1, 1), *wt = kt_rand(nw, 3, 2, -0.2, 0.2), *b = kt_rand((size_t)cout, 3, 3, -1, 1);
    float *dz = kt_rand(ny, 3, 4, -1, 1);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        fs_act act = with_bias ? FS_ACT_LEAKY : FS_ACT_NONE;
        const float *bias = with_bias ? b : NULL;
        fs_cpu_set_threads(2);
        outs ref = run_passes(fs_backend_cpu_ref(), &d, x, wt, bias, dz, act);
        outs two = run_passes(fs_backend_cpu(), &d, x, wt, bias, dz, act);
        fs_cpu_set_threads(1);
        outs one = run_passes(fs_backend_cpu(), &d, x, wt, bias, dz, act);
        check_outs(name, with_bias ? "(bias, leaky) vs reference" : "(no bias) vs reference", &d, &two, &ref, 0);
        check_outs(name, "1 thread vs 2 threads", &d, &one, &two, 1);
        outs_free(&ref), outs_free(&two), outs_free(&one);
    }
    free(x), free(wt), free(b), free(dz);
}

int main(void) {
    /* fast_conv_direct.c: the encoder's first conv and odd variants (tails of 6-pixel blocks,
     * kernel rows of k * cin not a multiple of 6, 32 output channels = two groups). */
    conv_case(3, 64, 64, 3, 16, 5, 2);
    conv_case(2, 17, 13, 3, 32, 5, 2);
    conv_case(2, 9, 11, 8, 16, 3, 1);
    conv_case(1, 7, 5, 1, 16, 4, 1);
    /* fast_conv_small.c, stride 1 and 3 output channels: the quickstart and original output
     * convs, and widths that leave partial 4- and 8-pixel blocks. */
    conv_case(2, 64, 64, 8, 3, 5, 1);
    conv_case(1, 32, 32, 64, 3, 5, 1);
    conv_case(2, 13, 11, 16, 3, 3, 1);
    conv_case(3, 6, 7, 8, 3, 5, 1);
    return kt_finish("perf_conv_paths");
}
