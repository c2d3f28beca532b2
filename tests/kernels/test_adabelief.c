/* test_adabelief.c — kernels_adabelief: DeepFaceLab's AdaBelief (kernels/ops.h) on both CPU
 * backends against a computation in double written here from DFL's formulas (no bias
 * correction, s from (g' - m_new)^2, eps added to sqrt(s)), over several steps with
 * grad_scale != 1 and decoupled weight decay; step 1 against its closed form (m0 = s0 = 0:
 * p1 = p0 - lr (1-b1) g' / (b1 sqrt(1-b2) |g'| + eps) - lr wd p0), once with gradients
 * of ~1e-6 where eps outweighs sqrt(s) (eps under the square root would be off by orders
 * of magnitude); the fast path's vector body and scalar tail give the same bits; and
 * lr_dropout: about lr_dropout of the elements move, the others keep p bit for bit while
 * m and s update as without dropout, the mask is the same on both backends and thread
 * counts, and changes with the step and the seed. Tolerance: adabelief's fwd row of the op
 * case table (kernels/op_cases.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/op_cases.h"
#include "kernels/ops.h"
#include "tests/kernels/ktest.h"

#define N 257
#define STEPS 5

typedef struct state {
    double p[N], m[N], s[N];
} state;

/* DFL's update in double. */
static void adabelief_d(state *st, const float *g, const fs_adam_args *a) {
    for (int i = 0; i < N; i++) {
        double gs = (double)a->grad_scale * g[i];
        st->m[i] = a->beta1 * st->m[i] + (1 - a->beta1) * gs;
        double d = gs - st->m[i];
        st->s[i] = a->beta2 * st->s[i] + (1 - a->beta2) * d * d;
        st->p[i] -= a->lr * st->m[i] / (sqrt(st->s[i]) + a->eps) + a->lr * a->weight_decay * st->p[i];
    }
}

static fs_adam_args args(long step) {
    return (fs_adam_args){.lr = 1e-2,
                          .beta1 = 0.9,
                          .beta2 = 0.999,
                          .eps = 1e-6,
                          .step = step,
                          .grad_scale = 0.25f,
                          .weight_decay = 0.05f};
}

/* STEPS updates of backend be vs adabelief_d; step 1 vs the closed form. */
static void run(const fs_backend *be, double gmax) {
    fs_tol tol = fs_op_tol_of("adabelief")->fwd;
    float *p = kt_rand(N, 31, 1, -1, 1), *m = be->alloc(N * sizeof(float)), *s = be->alloc(N * sizeof(float));
    state st;
    for (int i = 0; i < N; i++) st.p[i] = p[i], st.m[i] = 0, st.s[i] = 0;
    char what[160];
    for (long t = 1; t <= STEPS; t++) {
        float *g = kt_rand(N, 31, 100 + (uint64_t)t, -gmax, gmax);
        fs_adam_args a = args(t);
        if (t == 1) {
            double closed[N];
            for (int i = 0; i < N; i++) {
                double gs = 0.25 * g[i];
                closed[i] =
                    st.p[i] - a.lr * 0.1 * gs / (0.9 * sqrt(1 - a.beta2) * fabs(gs) + a.eps) - a.lr * 0.05 * st.p[i];
            }
            be->adabelief(N, p, g, m, s, &a);
            snprintf(what, sizeof what, "%s adabelief |g| < %g step 1 closed form", be->name, gmax);
            kt_check_d(what, p, closed, N, tol.rtol, tol.atol);
        } else {
            be->adabelief(N, p, g, m, s, &a);
        }
        adabelief_d(&st, g, &a);
        snprintf(what, sizeof what, "%s adabelief |g| < %g step %ld p", be->name, gmax, t);
        kt_check_d(what, p, st.p, N, tol.rtol, tol.atol);
        snprintf(what, sizeof what, "%s adabelief |g| < %g step %ld m", be->name, gmax, t);
        kt_check_d(what, m, st.m, N, tol.rtol, tol.atol);
        snprintf(what, sizeof what, "%s adabelief |g| < %g step %ld s", be->name, gmax, t);
        kt_check_d(what, s, st.s, N, tol.rtol, tol.atol);
        free(g);
    }
    free(p), be->free(m), be->free(s);
}

/* One update of n elements from fixed random state; the caller frees *p, *m, *s. */
static void update(const fs_backend *be, size_t n, const fs_adam_args *a, float **p, float **m, float **s) {
    float *g = kt_rand(n, 41, 4, -1, 1);
    *p = kt_rand(n, 41, 1, -1, 1), *m = kt_rand(n, 41, 2, -0.1, 0.1), *s = kt_rand(n, 41, 3, 0, 0.01);
    be->adabelief(n, *p, g, *m, *s, a);
    free(g);
}

/* Elements one at a time (the scalar tail) vs all at once (the 8-wide body). */
static void simd_vs_scalar(const fs_backend *fast) {
    const size_t n = 1031;
    fs_adam_args a = args(3);
    float *p, *m, *s, *g = kt_rand(n, 41, 4, -1, 1);
    update(fast, n, &a, &p, &m, &s);
    float *p1 = kt_rand(n, 41, 1, -1, 1), *m1 = kt_rand(n, 41, 2, -0.1, 0.1), *s1 = kt_rand(n, 41, 3, 0, 0.01);
    for (size_t i = 0; i < n; i++) fast->adabelief(1, p1 + i, g + i, m1 + i, s1 + i, &a);
    kt_check_bits("adabelief fast: vector body vs scalar tail p", p, p1, n);
    kt_check_bits("adabelief fast: vector body vs scalar tail m", m, m1, n);
    kt_check_bits("adabelief fast: vector body vs scalar tail s", s, s1, n);
    free(p), free(m), free(s), free(g), free(p1), free(m1), free(s1);
}

/* Which elements moved (1) or kept p bit for bit (0) in an update with dropout. */
static unsigned char *moved(const float *p0, const float *p, size_t n) {
    unsigned char *k = malloc(n);
    for (size_t i = 0; i < n; i++) k[i] = memcmp(p0 + i, p + i, sizeof(float)) != 0;
    return k;
}

static void dropout(const fs_backend *ref, const fs_backend *fast) {
    const size_t n = 100003;
    fs_adam_args a = args(3), off = args(3);
    a.lr_dropout = 0.3f, a.dropout_seed = 1234;
    float *p0 = kt_rand(n, 41, 1, -1, 1), *p, *m, *s, *po, *mo, *so, *pr, *mr, *sr;
    update(fast, n, &a, &p, &m, &s);
    update(fast, n, &off, &po, &mo, &so);
    update(ref, n, &a, &pr, &mr, &sr);
    unsigned char *k = moved(p0, p, n), *kr = moved(p0, pr, n);
    size_t kept = 0, same_mask = 1;
    for (size_t i = 0; i < n; i++) {
        kept += k[i];
        same_mask &= k[i] == kr[i];
        if (k[i] && memcmp(p + i, po + i, sizeof(float)))
            printf("FAIL adabelief dropout: element %zu moved but not as without dropout\n", i), kt_failures++, i = n;
    }
    double frac = (double)kept / n;
    if (fabs(frac - 0.3) > 0.01)
        printf("FAIL adabelief lr_dropout 0.3: %.4f of the elements moved\n", frac), kt_failures++;
    if (!same_mask) printf("FAIL adabelief dropout: cpu and cpu-ref drop different elements\n"), kt_failures++;
    kt_check_bits("adabelief dropout: m updates as without dropout", m, mo, n);
    kt_check_bits("adabelief dropout: s updates as without dropout", s, so, n);
    fs_tol tol = fs_op_tol_of("adabelief")->fast;
    kt_check_tol("adabelief dropout cpu vs cpu-ref p", p, pr, n, tol);
    /* 1 and 3 threads, another step, another seed */
    float *p3, *m3, *s3, *p4, *m4, *s4, *p5, *m5, *s5;
    fs_cpu_set_threads(3);
    update(fast, n, &a, &p3, &m3, &s3);
    fs_cpu_set_threads(1);
    fs_adam_args a4 = a, a5 = a;
    a4.step = 4, a5.dropout_seed = 99;
    update(fast, n, &a4, &p4, &m4, &s4);
    update(fast, n, &a5, &p5, &m5, &s5);
    fs_cpu_set_threads(0);
    kt_check_bits("adabelief dropout: 3 threads vs all p", p3, p, n);
    unsigned char *k4 = moved(p0, p4, n), *k5 = moved(p0, p5, n);
    size_t both4 = 0, both5 = 0;
    for (size_t i = 0; i < n; i++) both4 += k[i] && k4[i], both5 += k[i] && k5[i];
    /* independent masks overlap on about 0.3^2 = 9 % of the elements; the same mask on 30 % */
    if (both4 > 0.12 * n || both5 > 0.12 * n)
        printf("FAIL adabelief dropout: the mask of step 3 overlaps step 4's on %zu and seed 99's on %zu of %zu\n",
               both4, both5, n),
            kt_failures++;
    free(p0), free(p), free(m), free(s), free(po), free(mo), free(so), free(pr), free(mr), free(sr), free(k), free(kr);
    free(p3), free(m3), free(s3), free(p4), free(m4), free(s4), free(p5), free(m5), free(s5), free(k4), free(k5);
}

int main(void) {
    const fs_backend *bes[2] = {fs_backend_cpu_ref(), fs_backend_cpu()};
    for (int b = 0; b < 2; b++) run(bes[b], 2), run(bes[b], 1e-6);
    simd_vs_scalar(bes[1]);
    dropout(bes[0], bes[1]);
    return kt_finish("kernels_adabelief");
}
