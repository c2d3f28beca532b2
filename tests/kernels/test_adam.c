/* test_adam.c — kernels_adam: the Adam update of both CPU backends against a computation in
 * double written here from the formula of kernels/ops.h, over several steps, with
 * grad_scale != 1 and decoupled weight decay; and step 1 against its closed form
 * p1 = p0 - lr * g'/(|g'| + eps) - lr * wd * p0 (m and v start at zero, so the bias
 * corrections cancel exactly). Tolerance: 1e-6 relative to max |p|, m, v (float32 state). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/ops.h"
#include "tests/kernels/ktest.h"

#define N 257
#define STEPS 5

typedef struct state {
    double p[N], m[N], v[N];
} state;

static void adam_d(state *s, const float *g, const fs_adam_args *a) {
    double b1 = a->beta1, b2 = a->beta2, t = (double)a->step;
    for (int i = 0; i < N; i++) {
        double gs = (double)a->grad_scale * g[i];
        s->m[i] = b1 * s->m[i] + (1 - b1) * gs;
        s->v[i] = b2 * s->v[i] + (1 - b2) * gs * gs;
        double mh = s->m[i] / (1 - pow(b1, t)), vh = s->v[i] / (1 - pow(b2, t));
        s->p[i] -= (double)a->lr * mh / (sqrt(vh) + a->eps) + (double)a->lr * a->weight_decay * s->p[i];
    }
}

static void check_state(const char *be, long step, const float *p, const float *m, const float *v, const state *s) {
    char what[96];
    snprintf(what, sizeof what, "%s adam step %ld p", be, step), kt_check_d(what, p, s->p, N, 1e-6, 0);
    snprintf(what, sizeof what, "%s adam step %ld m", be, step), kt_check_d(what, m, s->m, N, 1e-6, 0);
    snprintf(what, sizeof what, "%s adam step %ld v", be, step), kt_check_d(what, v, s->v, N, 1e-6, 0);
}

static void run(const fs_backend *be) {
    fs_adam_args a = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-7f, .grad_scale = 0.25f,
                      .weight_decay = 0.05f};
    float *p = kt_rand(N, 21, 1, -1, 1), *m = be->alloc(N * sizeof(float)), *v = be->alloc(N * sizeof(float));
    state s;
    for (int i = 0; i < N; i++) s.p[i] = p[i], s.m[i] = 0, s.v[i] = 0;
    for (long t = 1; t <= STEPS; t++) {
        float *g = kt_rand(N, 21, 100 + (uint64_t)t, -2, 2);
        a.step = t;
        if (t == 1) { /* closed form of the first step */
            double closed[N];
            for (int i = 0; i < N; i++) {
                double gs = 0.25 * g[i];
                closed[i] = s.p[i] - 1e-2 * gs / (fabs(gs) + 1e-7) - 1e-2 * 0.05 * s.p[i];
            }
            be->adam(N, p, g, m, v, &a);
            char what[64];
            snprintf(what, sizeof what, "%s adam step 1 closed form", be->name);
            kt_check_d(what, p, closed, N, 1e-6, 0);
        } else {
            be->adam(N, p, g, m, v, &a);
        }
        adam_d(&s, g, &a);
        check_state(be->name, t, p, m, v, &s);
        free(g);
    }
    free(p), be->free(m), be->free(v);
}

int main(void) {
    run(fs_backend_cpu_ref());
    run(fs_backend_cpu());
    return kt_finish("kernels_adam");
}
