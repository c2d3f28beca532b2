/* test_adam.c — kernels_adam: the Adam update of both CPU backends, for each placement of eps
 * (kernels/ops.h fs_adam_variant), against a computation in double written here from the
 * formulas, with double hyper-parameters (1 - 0.999 exactly, not 1 - float32(0.999)), over
 * several steps, grad_scale != 1 and decoupled weight decay; step 1 against its closed form
 * (m and v start at zero, so p1 = p0 - lr g'/(|g'| + eps') - lr wd p0 with eps' = eps for
 * paper and eps / sqrt(1 - b2) for keras); the two placements must differ where eps matters
 * (which proves the comparison can tell them apart); and LEGACY bit for bit against
 * faceswarm 0.1.0's code, copied here verbatim, so that old checkpoints resume exactly.
 * Tolerance: adam's fwd row of the op case table (kernels/op_cases.c), 1e-6 relative to
 * max |p|, m, v (float32 state). N is this test's own: its double state is a fixed array. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/op_cases.h"
#include "kernels/ops.h"
#include "tests/kernels/ktest.h"

#define N 257
#define STEPS 5

typedef struct state {
    double p[N], m[N], v[N];
} state;

static const char *variant_name(fs_adam_variant v) {
    return v == FS_ADAM_KERAS ? "keras" : v == FS_ADAM_PAPER ? "paper" : "legacy";
}

/* The specification in double: keras adds eps to sqrt(v), paper to sqrt(v_hat). */
static void adam_d(state *s, const float *g, const fs_adam_args *a, fs_adam_variant placement) {
    double b1 = a->beta1, b2 = a->beta2, t = (double)a->step, bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
    for (int i = 0; i < N; i++) {
        double gs = (double)a->grad_scale * g[i];
        s->m[i] = b1 * s->m[i] + (1 - b1) * gs;
        s->v[i] = b2 * s->v[i] + (1 - b2) * gs * gs;
        double upd = placement == FS_ADAM_KERAS ? sqrt(bc2) / bc1 * s->m[i] / (sqrt(s->v[i]) + a->eps)
                                                : (s->m[i] / bc1) / (sqrt(s->v[i] / bc2) + a->eps);
        s->p[i] -= a->lr * upd + a->lr * a->weight_decay * s->p[i];
    }
}

static void check_state(const char *what0, long step, const float *p, const float *m, const float *v, const state *s) {
    char what[128];
    fs_tol tol = fs_op_tol_of("adam")->fwd;
    snprintf(what, sizeof what, "%s step %ld p", what0, step), kt_check_d(what, p, s->p, N, tol.rtol, tol.atol);
    snprintf(what, sizeof what, "%s step %ld m", what0, step), kt_check_d(what, m, s->m, N, tol.rtol, tol.atol);
    snprintf(what, sizeof what, "%s step %ld v", what0, step), kt_check_d(what, v, s->v, N, tol.rtol, tol.atol);
}

/* Several steps of one backend and variant vs adam_d; returns the parameters after step 1. */
static double *run(const fs_backend *be, fs_adam_variant variant, double eps, double gmax) {
    fs_adam_args a = {.lr = 1e-2,
                      .beta1 = 0.9,
                      .beta2 = 0.999,
                      .eps = eps,
                      .grad_scale = 0.25f,
                      .weight_decay = 0.05f,
                      .variant = variant};
    if (variant == FS_ADAM_LEGACY) /* 0.1.0 held these in float32: its reference does too */
        a.lr = (float)a.lr, a.beta1 = (float)a.beta1, a.beta2 = (float)a.beta2, a.eps = (float)a.eps;
    fs_adam_variant placement = variant == FS_ADAM_KERAS ? FS_ADAM_KERAS : FS_ADAM_PAPER;
    float *p = kt_rand(N, 21, 1, -1, 1), *m = be->alloc(N * sizeof(float)), *v = be->alloc(N * sizeof(float));
    double *first = malloc(sizeof(double) * N);
    state s;
    for (int i = 0; i < N; i++) s.p[i] = p[i], s.m[i] = 0, s.v[i] = 0;
    char what[96];
    snprintf(what, sizeof what, "%s adam %s eps %g", be->name, variant_name(variant), eps);
    for (long t = 1; t <= STEPS; t++) {
        float *g = kt_rand(N, 21, 100 + (uint64_t)t, -gmax, gmax);
        a.step = t;
        if (t == 1) {
            double closed[N], e1 = placement == FS_ADAM_KERAS ? a.eps / sqrt(1 - a.beta2) : a.eps;
            for (int i = 0; i < N; i++) {
                double gs = 0.25 * g[i];
                closed[i] = s.p[i] - a.lr * gs / (fabs(gs) + e1) - a.lr * 0.05 * s.p[i];
            }
            be->adam(N, p, g, m, v, &a);
            char w1[160];
            snprintf(w1, sizeof w1, "%s step 1 closed form", what);
            fs_tol tol = fs_op_tol_of("adam")->fwd;
            kt_check_d(w1, p, closed, N, tol.rtol, tol.atol);
            for (int i = 0; i < N; i++) first[i] = p[i];
        } else {
            be->adam(N, p, g, m, v, &a);
        }
        adam_d(&s, g, &a, placement);
        check_state(what, t, p, m, v, &s);
        free(g);
    }
    free(p), be->free(m), be->free(v);
    return first;
}

/* Where |g'| is near eps the placements differ by far more than the tolerance. */
static void placements_differ(const fs_backend *be) {
    double *k = run(be, FS_ADAM_KERAS, 1e-4, 1e-3), *q = run(be, FS_ADAM_PAPER, 1e-4, 1e-3);
    double worst = 0, pmax = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(k[i] - q[i])), pmax = fmax(pmax, fabs(q[i]));
    if (worst < 1e-3 * pmax)
        printf("FAIL %s: keras and paper placements agree to %g of max |p|: the test cannot tell them apart\n",
               be->name, worst / pmax),
            kt_failures++;
    free(k), free(q);
}

/* ---- faceswarm 0.1.0's Adam, verbatim but for names (kernels/cpu/ref_elem.c, fast_elem.c) */
typedef struct v01_args {
    float lr, beta1, beta2, eps;
    long step;
    float grad_scale, weight_decay;
} v01_args;

static void v01_ref_adam(size_t count, float *p, const float *g, float *m, float *v, const v01_args *a) {
    double bc1 = 1.0 - pow(a->beta1, (double)a->step), bc2 = 1.0 - pow(a->beta2, (double)a->step);
    for (size_t i = 0; i < count; i++) {
        double gs = (double)a->grad_scale * g[i];
        double mi = (double)a->beta1 * m[i] + (1.0 - (double)a->beta1) * gs;
        double vi = (double)a->beta2 * v[i] + (1.0 - (double)a->beta2) * gs * gs;
        double upd = (mi / bc1) / (sqrt(vi / bc2) + a->eps) + (double)a->weight_decay * p[i];
        m[i] = (float)mi;
        v[i] = (float)vi;
        p[i] = (float)(p[i] - (double)a->lr * upd);
    }
}

static void v01_fast_adam(size_t count, float *p, const float *g, float *m, float *v, const v01_args *a) {
    float bc1 = (float)(1.0 - pow(a->beta1, (double)a->step));
    float b1 = a->beta1, b2 = a->beta2, gsc = a->grad_scale, eps = a->eps, wd = a->weight_decay, lr = a->lr;
    float step = a->lr / bc1, rbc2 = (float)(1.0 / sqrt(1.0 - pow(a->beta2, (double)a->step)));
    for (size_t i = 0; i < count; i++) {
        float gi = gsc * g[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * mi / (sqrtf(vi) * rbc2 + eps) + lr * wd * p[i];
    }
}

static void legacy_bits(const fs_backend *be, int fast) {
    const size_t n = 1031; /* SIMD body and scalar tail */
    v01_args o = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-7f, .grad_scale = 0.5f, .weight_decay = 0.01f};
    fs_adam_args a = {.lr = 1e-3f,
                      .beta1 = 0.9f,
                      .beta2 = 0.999f,
                      .eps = 1e-7f,
                      .grad_scale = 0.5f,
                      .weight_decay = 0.01f,
                      .variant = FS_ADAM_LEGACY};
    float *p = kt_rand(n, 5, 1, -1, 1), *m = kt_rand(n, 5, 2, -.1, .1), *v = kt_rand(n, 5, 3, 0, .01);
    float *p0 = kt_copy(p, n), *m0 = kt_copy(m, n), *v0 = kt_copy(v, n);
    for (long t = 1; t <= 3; t++) {
        float *g = kt_rand(n, 5, 10 + (uint64_t)t, -1, 1);
        o.step = a.step = t;
        be->adam(n, p, g, m, v, &a);
        (fast ? v01_fast_adam : v01_ref_adam)(n, p0, g, m0, v0, &o);
        free(g);
    }
    char what[96];
    snprintf(what, sizeof what, "%s adam legacy vs 0.1.0 p", be->name), kt_check_bits(what, p, p0, n);
    snprintf(what, sizeof what, "%s adam legacy vs 0.1.0 m", be->name), kt_check_bits(what, m, m0, n);
    snprintf(what, sizeof what, "%s adam legacy vs 0.1.0 v", be->name), kt_check_bits(what, v, v0, n);
    free(p), free(m), free(v), free(p0), free(m0), free(v0);
}

int main(void) {
    const fs_backend *bes[2] = {fs_backend_cpu_ref(), fs_backend_cpu()};
    for (int b = 0; b < 2; b++) {
        for (int variant = FS_ADAM_KERAS; variant <= FS_ADAM_LEGACY; variant++) {
            free(run(bes[b], (fs_adam_variant)variant, 1e-7, 2));
            free(run(bes[b], (fs_adam_variant)variant, 1e-4, 1e-3));
        }
        placements_differ(bes[b]);
        legacy_bits(bes[b], b == 1);
    }
    if (fs_adam_variant_parse("keras") != FS_ADAM_KERAS || fs_adam_variant_parse("paper") != FS_ADAM_PAPER ||
        fs_adam_variant_parse("legacy") != FS_ADAM_LEGACY || fs_adam_variant_parse("hat") != -1)
        printf("FAIL fs_adam_variant_parse\n"), kt_failures++;
    return kt_finish("kernels_adam");
}
