/* ktest.c — see ktest.h. */
#include "tests/kernels/ktest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

int kt_failures;

float *kt_rand(size_t n, uint64_t seed, uint64_t stream, double lo, double hi) {
    fs_rng r;
    fs_rng_init(&r, seed, stream, 0);
    float *a = fs_aligned_alloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) a[i] = (float)fs_rng_range(&r, lo, hi);
    return a;
}

double *kt_to_double(const float *a, size_t n) {
    double *d = fs_malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

float *kt_copy(const float *a, size_t n) {
    float *c = fs_aligned_alloc(n * sizeof(float));
    memcpy(c, a, n * sizeof(float));
    return c;
}

static int report(const char *what, size_t n, size_t worst, double err, double scale, double got, double want,
                  double tol) {
    if (err <= tol && !isnan(err)) return 0;
    kt_failures++;
    printf("FAIL %s: max |got - want| = %.3g at [%zu] of %zu (got %.9g, want %.9g), max |want| = %.3g, "
           "tolerance %.3g\n",
           what, err, worst, n, got, want, scale, tol);
    return 1;
}

int kt_check_d(const char *what, const float *got, const double *want, size_t n, double rtol, double atol) {
    double scale = 0.0, err = 0.0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
        if (e > err || isnan(e)) err = e, worst = i;
    }
    return report(what, n, worst, err, scale, n ? got[worst] : 0, n ? want[worst] : 0, fmax(rtol * scale, atol));
}

int kt_check(const char *what, const float *got, const float *want, size_t n, double rtol, double atol) {
    double *w = kt_to_double(want, n);
    int bad = kt_check_d(what, got, w, n, rtol, atol);
    free(w);
    return bad;
}

int kt_check_tol(const char *what, const float *got, const float *want, size_t n, fs_tol tol) {
    if (tol.rtol == 0.0 && tol.atol == 0.0) return kt_check_bits(what, got, want, n);
    return kt_check(what, got, want, n, tol.rtol, tol.atol);
}

int kt_check_scalar(const char *what, double got, double want, double rtol, double atol) {
    return report(what, 1, 0, fabs(got - want), fabs(want), got, want, rtol * fabs(want) + atol);
}

int kt_check_scalar_tol(const char *what, double got, double want, fs_tol tol) {
    return kt_check_scalar(what, got, want, tol.rtol, tol.atol);
}

int kt_check_bits(const char *what, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof(float)) != 0) {
            kt_failures++;
            printf("FAIL %s: not bit-identical at [%zu] of %zu: %.9g vs %.9g\n", what, i, n, a[i], b[i]);
            return 1;
        }
    return 0;
}

int kt_finish(const char *test) {
    if (kt_failures) printf("%s: %d check(s) FAILED\n", test, kt_failures);
    else printf("%s: all checks passed\n", test);
    return kt_failures != 0;
}
