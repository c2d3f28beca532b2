/* test_sgemm.c — kernels_sgemm: the own fp32 GEMM (kernels/cpu/fast_sgemm.c) against a
 * double-precision reference on odd shapes (m, n, k not multiples of the 12 x 32 tile or of
 * the KC / NC blocks, 1, k = 1), both transposes, beta 0 and 1 (onto nonzero C), leading
 * dimensions larger than the rows (lda > k); the promise on the sum order (each element of
 * C has the same bits computed alone, one row at a time, or in the whole product, and two
 * runs agree); and fs_cpu_set_gemm's refusals. Tolerance per element: 2 k u S, u = 2^-24 and
 * S = |C0| + sum |a b| (the error bound of an fp32 FMA chain of k terms, doubled), tight
 * enough that one term missing or counted twice fails. Without AVX-512F the GEMM parts exit
 * 77 (skipped), after checking that "own" is refused there. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/fast.h"
#include "tests/kernels/ktest.h"

typedef struct shape {
    int ta, tb, m, n, k, pad; /* pad: extra floats per stored row of A, B and C */
} shape;

static float a_at(const shape *s, const float *a, int lda, int i, int p) {
    return s->ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
}
static float b_at(const shape *s, const float *b, int ldb, int p, int j) {
    return s->tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
}

static void one_shape(const shape *s, int beta) {
    int lda = (s->ta ? s->m : s->k) + s->pad, ldb = (s->tb ? s->k : s->n) + s->pad, ldc = s->n + s->pad;
    size_t na = (size_t)(s->ta ? s->k : s->m) * lda, nb = (size_t)(s->tb ? s->n : s->k) * ldb, nc = (size_t)s->m * ldc;
    float *a = kt_rand(na + 1, 21, (uint64_t)s->m, -1, 1), *b = kt_rand(nb + 1, 22, (uint64_t)s->n, -1, 1);
    float *c0 = kt_rand(nc, 23, (uint64_t)s->k, -1, 1), *c = kt_copy(c0, nc), *c2 = kt_copy(c0, nc);
    fs_sgemm(s->ta, s->tb, s->m, s->n, s->k, a, lda, b, ldb, beta, c, ldc);
    int bad = 0;
    for (int i = 0; i < s->m && bad < 3; i++)
        for (int j = 0; j < s->n + s->pad && bad < 3; j++) {
            size_t at = (size_t)i * ldc + j;
            if (j >= s->n) { /* the padding of C's rows is not written */
                if (c[at] != c0[at])
                    printf("FAIL sgemm ta=%d tb=%d %dx%dx%d: wrote C[%d][%d] past n\n", s->ta, s->tb, s->m, s->n, s->k,
                           i, j),
                        bad++;
                continue;
            }
            double want = beta ? c0[at] : 0.0, mag = fabs(want);
            for (int p = 0; p < s->k; p++) {
                double t = (double)a_at(s, a, lda, i, p) * b_at(s, b, ldb, p, j);
                want += t, mag += fabs(t);
            }
            if (fabs(c[at] - want) > 2.0 * (s->k + 1) * ldexp(1.0, -24) * mag)
                printf("FAIL sgemm ta=%d tb=%d %dx%dx%d beta=%d lda=%d: C[%d][%d] = %.9g, want %.9g\n", s->ta, s->tb,
                       s->m, s->n, s->k, beta, lda, i, j, c[at], want),
                    bad++;
        }
    kt_failures += bad;
    /* the sum order: the same product again, and row by row, give the same bits */
    float *c3 = kt_copy(c0, nc);
    fs_sgemm(s->ta, s->tb, s->m, s->n, s->k, a, lda, b, ldb, beta, c2, ldc);
    for (int i = 0; i < s->m; i++)
        fs_sgemm(s->ta, s->tb, 1, s->n, s->k, s->ta ? a + i : a + (size_t)i * lda, lda, b, ldb, beta,
                 c3 + (size_t)i * ldc, ldc);
    char what[160];
    snprintf(what, sizeof what, "sgemm ta=%d tb=%d %dx%dx%d beta=%d twice", s->ta, s->tb, s->m, s->n, s->k, beta);
    kt_check_bits(what, c, c2, nc);
    snprintf(what, sizeof what, "sgemm ta=%d tb=%d %dx%dx%d beta=%d row by row", s->ta, s->tb, s->m, s->n, s->k, beta);
    kt_check_bits(what, c, c3, nc);
    free(a), free(b), free(c0), free(c), free(c2), free(c3);
}

int main(void) {
    if (fs_cpu_set_gemm("nope") != -1) printf("FAIL fs_cpu_set_gemm(\"nope\") accepted\n"), kt_failures++;
    if (fs_cpu_set_gemm("openblas") != 0 || fs_cpu_gemm_own() != 0 || strcmp(fs_cpu_gemm_name(), "openblas"))
        printf("FAIL fs_cpu_set_gemm(\"openblas\") not in effect\n"), kt_failures++;
    if (!fs_cpu_has_avx512f()) {
        if (fs_cpu_set_gemm("own") != -1)
            printf("FAIL fs_cpu_set_gemm(\"own\") accepted without AVX-512F\n"), kt_failures++;
        if (kt_failures) return kt_finish("kernels_sgemm");
        printf("SKIP: this CPU has no AVX-512F: the own GEMM is not built for it (auto takes OpenBLAS)\n");
        return 77;
    }
    if (fs_cpu_set_gemm("own") != 0 || fs_cpu_gemm_own() != 1 || strcmp(fs_cpu_gemm_name(), "own"))
        printf("FAIL fs_cpu_set_gemm(\"own\") not in effect\n"), kt_failures++;
    static const shape shapes[] = {
        {0, 0, 1, 1, 1, 0},     {0, 0, 1, 1, 7, 0},     {0, 0, 13, 33, 1, 0},   {0, 0, 12, 32, 16, 0},
        {0, 0, 25, 65, 389, 3}, {0, 0, 7, 200, 800, 0}, {0, 0, 37, 545, 50, 5}, {1, 0, 29, 47, 401, 2},
        {1, 0, 12, 32, 17, 0},  {1, 0, 1, 3, 5, 1},     {0, 1, 31, 77, 395, 1}, {0, 1, 5, 1, 1, 0},
        {0, 1, 24, 64, 384, 0}, {1, 1, 19, 35, 770, 4}, {1, 1, 11, 31, 15, 0},  {0, 0, 100, 1030, 33, 0},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(shapes); i++) one_shape(&shapes[i], 0), one_shape(&shapes[i], 1);
    /* k = 0: C = 0 (beta 0) or left as it is (beta 1) */
    float c[6] = {1, 2, 3, 4, 5, 6}, a[1] = {0}, b[1] = {0};
    fs_sgemm(0, 0, 2, 3, 0, a, 1, b, 3, 1, c, 3);
    if (c[0] != 1 || c[5] != 6) printf("FAIL sgemm k=0 beta=1 changed C\n"), kt_failures++;
    fs_sgemm(0, 0, 2, 3, 0, a, 1, b, 3, 0, c, 3);
    if (c[0] != 0 || c[5] != 0) printf("FAIL sgemm k=0 beta=0 left C\n"), kt_failures++;
    printf("kernels_sgemm: %zu shapes, beta 0 and 1\n", FS_ARRAY_LEN(shapes));
    fs_cpu_set_gemm("auto");
    return kt_finish("kernels_sgemm");
}
