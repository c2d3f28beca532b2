/* test_fast_ops.c — perf_fast_ops: the vectorised loss and elementwise paths of the fast CPU
 * backend against the plain-loop reference.
 *   dssim (fast_loss.c, streamed separable filters; odd and even windows): value to 1e-9 and the gradient alone
 *     (dpred from zero) to 1e-6 of max |reference| on shapes with 1-4 channels, 11-px sides
 *     (one window row or column), widths that leave partial vectors, and n below and above
 *     the thread count; dpred += onto nonzero values; the value without dpred is the same
 *     double; 1 and 3 threads give the same bits.
 *   leaky fwd/bwd (AVX2 select): bit-identical to the reference, specials (NaN, +-0, +-inf,
 *     subnormals) and tails included, in place too.
 *   adam (AVX2 body + scalar tail): bit-identical whether an element goes through the
 *     vector body or the scalar tail, and within 1e-6 of the double reference.
 *   sumsq (lane sums): within 1e-12 of the reference, the same bits on 1 and 3 threads,
 *     NaN and Inf propagate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/op_cases.h"
#include "kernels/ops.h"
#include "tests/kernels/ktest.h"

static const fs_backend *ref, *fast;
static const fs_op_tol *tol; /* the tolerances of the op being checked */

static void dssim_case(int n, int h, int w, int c, int k) {
    size_t count = (size_t)n * h * w * c;
    float *p = kt_rand(count, 21, 1, 0, 1), *t = kt_rand(count, 21, 2, 0, 1);
    float *gr = calloc(count, sizeof(float)), *gf = calloc(count, sizeof(float)), *g1 = calloc(count, sizeof(float));
    float *ar = kt_rand(count, 21, 3, -1, 1), *af = kt_copy(ar, count);
    char what[160];
    double vr = ref->dssim(n, h, w, c, k, p, t, gr, 0.7f), vf = fast->dssim(n, h, w, c, k, p, t, gf, 0.7f);
    snprintf(what, sizeof what, "dssim value %dx%dx%dx%d win %d", n, h, w, c, k);
    kt_check_scalar_tol(what, vf, vr, tol->fast_value);
    snprintf(what, sizeof what, "dssim gradient %dx%dx%dx%d win %d", n, h, w, c, k);
    kt_check_tol(what, gf, gr, count, tol->fast);
    ref->dssim(n, h, w, c, k, p, t, ar, 0.7f), fast->dssim(n, h, w, c, k, p, t, af, 0.7f);
    snprintf(what, sizeof what, "dssim dpred (+=) %dx%dx%dx%d win %d", n, h, w, c, k);
    kt_check_tol(what, af, ar, count, tol->fast);
    double vn = fast->dssim(n, h, w, c, k, p, t, NULL, 0.7f);
    if (vn != vf)
        printf("FAIL dssim %dx%dx%dx%d win %d: value without dpred %.17g != %.17g\n", n, h, w, c, k, vn, vf),
            kt_failures++;
    fs_cpu_set_threads(1);
    double v1 = fast->dssim(n, h, w, c, k, p, t, g1, 0.7f);
    fs_cpu_set_threads(3);
    memset(gf, 0, count * sizeof(float));
    double v3 = fast->dssim(n, h, w, c, k, p, t, gf, 0.7f);
    fs_cpu_set_threads(0);
    snprintf(what, sizeof what, "dssim gradient 1 vs 3 threads %dx%dx%dx%d win %d", n, h, w, c, k);
    kt_check_bits(what, g1, gf, count);
    if (v1 != v3)
        printf("FAIL dssim %dx%dx%dx%d win %d: value on 1 thread %.17g != on 3 %.17g\n", n, h, w, c, k, v1, v3),
            kt_failures++;
    free(p), free(t), free(gr), free(gf), free(g1), free(ar), free(af);
}

/* Random values with specials sprinkled in, so that both sides of the select and the tails
 * of the 8-wide loop see them. */
static float *special_values(size_t count) {
    static const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -1e-40f, 1.0f, -1.0f};
    float *x = kt_rand(count, 22, 1, -2, 2);
    for (size_t i = 0; i < count; i += 5) x[i] = specials[(i / 5) % FS_ARRAY_LEN(specials)];
    return x;
}

static void leaky_case(size_t count) {
    float *x = special_values(count), *dy = kt_rand(count, 22, 2, -1, 1);
    float *yr = malloc(count * sizeof(float)), *yf = malloc(count * sizeof(float));
    float *dr = malloc(count * sizeof(float)), *df = malloc(count * sizeof(float));
    char what[120];
    ref->leaky_fwd(count, 0.1f, x, yr), fast->leaky_fwd(count, 0.1f, x, yf);
    snprintf(what, sizeof what, "leaky fwd [%zu]", count), kt_check_bits(what, yf, yr, count);
    memcpy(yf, x, count * sizeof(float)), fast->leaky_fwd(count, 0.1f, yf, yf);
    snprintf(what, sizeof what, "leaky fwd in place [%zu]", count), kt_check_bits(what, yf, yr, count);
    ref->leaky_bwd(count, 0.1f, x, dy, dr), fast->leaky_bwd(count, 0.1f, x, dy, df);
    snprintf(what, sizeof what, "leaky bwd [%zu]", count), kt_check_bits(what, df, dr, count);
    memcpy(df, dy, count * sizeof(float)), fast->leaky_bwd(count, 0.1f, x, df, df);
    snprintf(what, sizeof what, "leaky bwd in place [%zu]", count), kt_check_bits(what, df, dr, count);
    free(x), free(dy), free(yr), free(yf), free(dr), free(df);
}

static void adam_case(size_t count) {
    float *p = kt_rand(count, 23, 1, -1, 1), *g = kt_rand(count, 23, 2, -1, 1), *m = kt_rand(count, 23, 3, -.1, .1);
    float *v = kt_rand(count, 23, 4, 0, 0.01), *ps = kt_copy(p, count), *ms = kt_copy(m, count),
          *vs = kt_copy(v, count), *pr = kt_copy(p, count), *mr = kt_copy(m, count), *vr = kt_copy(v, count);
    fs_adam_args a = {.lr = 1e-3f,
                      .beta1 = 0.9f,
                      .beta2 = 0.999f,
                      .eps = 1e-7f,
                      .step = 5,
                      .grad_scale = 0.25f,
                      .weight_decay = 0.01f};
    char what[120];
    fast->adam(count, p, g, m, v, &a);
    for (size_t i = 0; i < count; i++) fast->adam(1, ps + i, g + i, ms + i, vs + i, &a); /* scalar tail only */
    snprintf(what, sizeof what, "adam p vector body vs scalar tail [%zu]", count), kt_check_bits(what, p, ps, count);
    snprintf(what, sizeof what, "adam m vector body vs scalar tail [%zu]", count), kt_check_bits(what, m, ms, count);
    snprintf(what, sizeof what, "adam v vector body vs scalar tail [%zu]", count), kt_check_bits(what, v, vs, count);
    ref->adam(count, pr, g, mr, vr, &a);
    snprintf(what, sizeof what, "adam p vs reference [%zu]", count), kt_check_tol(what, p, pr, count, tol->fast);
    snprintf(what, sizeof what, "adam v vs reference [%zu]", count), kt_check_tol(what, v, vr, count, tol->fast);
    free(p), free(g), free(m), free(v), free(ps), free(ms), free(vs), free(pr), free(mr), free(vr);
}

static void sumsq_case(size_t count) {
    float *x = kt_rand(count, 24, 1, -3, 3);
    char what[120];
    double r = ref->sumsq(count, x), f = fast->sumsq(count, x);
    snprintf(what, sizeof what, "sumsq [%zu]", count), kt_check_scalar_tol(what, f, r, tol->fast_value);
    fs_cpu_set_threads(1);
    double f1 = fast->sumsq(count, x);
    fs_cpu_set_threads(3);
    double f3 = fast->sumsq(count, x);
    fs_cpu_set_threads(0);
    if (f1 != f3) printf("FAIL sumsq [%zu]: %.17g on 1 thread, %.17g on 3\n", count, f1, f3), kt_failures++;
    x[count - 1] = NAN;
    if (!isnan(fast->sumsq(count, x))) printf("FAIL sumsq [%zu]: a NaN does not propagate\n", count), kt_failures++;
    x[count - 1] = INFINITY;
    if (!isinf(fast->sumsq(count, x))) printf("FAIL sumsq [%zu]: an Inf does not propagate\n", count), kt_failures++;
    free(x);
}

int main(void) {
    ref = fs_backend_cpu_ref();
    fast = fs_backend_cpu();
    size_t count;
    const fs_op_case *cases = fs_op_cases(&count);
    for (size_t i = 0; i < count; i++) {
        const fs_op_case *c = &cases[i];
        if (!(c->where & FS_OPC_VEC)) continue;
        tol = fs_op_tol_of(c->op);
        if (!strcmp(c->op, "dssim")) dssim_case(c->n, c->h, c->w, c->c, c->k);
        else if (!strcmp(c->op, "leaky")) leaky_case(fs_op_case_count(c));
        else if (!strcmp(c->op, "adam")) adam_case(fs_op_case_count(c));
        else if (!strcmp(c->op, "sumsq")) sumsq_case(fs_op_case_count(c));
        else printf("FAIL op case '%s' is marked for perf_fast_ops, which has no check for it\n", c->op), kt_failures++;
    }
    return kt_finish("perf_fast_ops");
}
