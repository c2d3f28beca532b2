/* test_conv_paths.c — perf_conv_paths: the fast CPU conv's direct paths against the
 * plain-loop reference: the few-input-channel loops (fast_conv_direct.c: cin <= 8, cout a
 * multiple of 16, any stride) and the stride-1, 3-output-channel loops (fast_conv_small.c:
 * the model's output conv), on shapes whose widths leave partial register blocks. Checks
 * fwd (bias + LeakyReLU, and no bias), bwd_data (=), bwd_filter dw and db (+= onto nonzero
 * values) to 2e-5 of max |reference|, and that fwd and bwd_filter give the same bits on 1
 * and on 2 threads (results must not depend on the thread count). The shapes are the op case
 * table's rows marked FS_OPC_PATHS (kernels/op_cases.c). */
#include <stdio.h>
#include <stdlib.h>

#include "kernels/cpu/cpu.h"
#include "kernels/op_cases.h"
#include "kernels/ops.h"
#include "tests/kernels/ktest.h"

#define RTOL (fs_op_tol_of("conv2d")->fast.rtol)

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

static void conv_case(const fs_op_case *c) {
    int n = c->n, h = c->h, w = c->w, cin = c->c, cout = c->cout, k = c->k;
    fs_conv_desc d;
    char name[128];
    fs_op_case_name(c, name, sizeof name);
    if (fs_op_case_conv(c, &d) != 0) {
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
    size_t count;
    const fs_op_case *cases = fs_op_cases(&count);
    for (size_t i = 0; i < count; i++)
        if (cases[i].where & FS_OPC_PATHS) conv_case(&cases[i]);
    return kt_finish("perf_conv_paths");
}
