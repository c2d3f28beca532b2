/* test_sgemm.c — kernels_sgemm: the own fp32 GEMM (kernels/cpu/fast_sgemm.c) against a
 * double-precision reference on odd shapes (m, n, k not multiples of the 12 x 32 or 6 x 16 tile or of
 * the KC / NC blocks, 1, k = 1), both transposes, beta 0 and 1 (onto nonzero C), leading
 * dimensions larger than the rows (lda > k); the promise on the sum order (each element of
 * C has the same bits computed alone, one row at a time, or in the whole product, and two
 * runs agree); and fs_cpu_set_gemm's refusals. Tolerance per element: 2 k u S, u = 2^-24 and
 * S = |C0| + sum |a b| (the error bound of an fp32 FMA chain of k terms, doubled), tight
 * enough that one term missing or counted twice fails; and bit for bit against the promised
 * sum order, one fmaf chain per element in k order from C (beta 1) or 0. Each own kernel this CPU has is
 * checked (own-avx512: 12 x 32 tiles, own-avx2: 6 x 16), a kernel it lacks must be refused,
 * and where it has both they must agree bit for bit; with neither the test exits 77. */
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
            float chain = beta ? c0[at] : 0.0f; /* the promised sum order: one fmaf chain in k order */
            for (int p = 0; p < s->k; p++) {
                double t = (double)a_at(s, a, lda, i, p) * b_at(s, b, ldb, p, j);
                want += t, mag += fabs(t);
                chain = fmaf(a_at(s, a, lda, i, p), b_at(s, b, ldb, p, j), chain);
            }
            if (memcmp(&chain, &c[at], sizeof chain))
                printf("FAIL sgemm ta=%d tb=%d %dx%dx%d beta=%d: C[%d][%d] = %a, the FMA chain in k order gives %a\n",
                       s->ta, s->tb, s->m, s->n, s->k, beta, i, j, c[at], chain),
                    bad++;
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

/* Each shape on the AVX-512 kernel and on the AVX2 one give the same bits (both: one FMA
 * chain per element in k order). */
static void cross_kernels(const shape *s, int beta) {
    int lda = (s->ta ? s->m : s->k) + s->pad, ldb = (s->tb ? s->k : s->n) + s->pad, ldc = s->n + s->pad;
    size_t na = (size_t)(s->ta ? s->k : s->m) * lda, nb = (size_t)(s->tb ? s->n : s->k) * ldb, nc = (size_t)s->m * ldc;
    float *a = kt_rand(na + 1, 31, (uint64_t)s->m, -1, 1), *b = kt_rand(nb + 1, 32, (uint64_t)s->n, -1, 1);
    float *c0 = kt_rand(nc, 33, (uint64_t)s->k, -1, 1), *c1 = kt_copy(c0, nc);
    fs_cpu_set_gemm("own-avx512");
    fs_sgemm(s->ta, s->tb, s->m, s->n, s->k, a, lda, b, ldb, beta, c0, ldc);
    fs_cpu_set_gemm("own-avx2");
    fs_sgemm(s->ta, s->tb, s->m, s->n, s->k, a, lda, b, ldb, beta, c1, ldc);
    char what[160];
    snprintf(what, sizeof what, "sgemm ta=%d tb=%d %dx%dx%d beta=%d avx2 vs avx512", s->ta, s->tb, s->m, s->n, s->k,
             beta);
    kt_check_bits(what, c1, c0, nc);
    free(a), free(b), free(c0), free(c1);
}

int main(void) {
    static const char *kernels[] = {"own-avx512", "own-avx2"};
    int has[] = {fs_cpu_has_avx512f(), fs_cpu_has_avx2_fma()}, ran = 0;
    if (fs_cpu_set_gemm("nope") != -1) printf("FAIL fs_cpu_set_gemm(\"nope\") accepted\n"), kt_failures++;
    if (fs_cpu_set_gemm("openblas") != 0 || fs_cpu_gemm_own() != 0 || strcmp(fs_cpu_gemm_name(), "openblas"))
        printf("FAIL fs_cpu_set_gemm(\"openblas\") not in effect\n"), kt_failures++;
    if (fs_cpu_set_gemm("own") != (has[0] || has[1] ? 0 : -1))
        printf("FAIL fs_cpu_set_gemm(\"own\") %s\n", has[0] || has[1] ? "refused" : "accepted without a kernel"),
            kt_failures++;
    else if ((has[0] || has[1]) && strcmp(fs_cpu_gemm_name(), has[0] ? "own-avx512" : "own-avx2"))
        printf("FAIL own took %s, not the best kernel\n", fs_cpu_gemm_name()), kt_failures++;
    static const shape shapes[] = {
        {0, 0, 1, 1, 1, 0},     {0, 0, 1, 1, 7, 0},     {0, 0, 13, 33, 1, 0},   {0, 0, 12, 32, 16, 0},
        {0, 0, 25, 65, 389, 3}, {0, 0, 7, 200, 800, 0}, {0, 0, 37, 545, 50, 5}, {1, 0, 29, 47, 401, 2},
        {1, 0, 12, 32, 17, 0},  {1, 0, 1, 3, 5, 1},     {0, 1, 31, 77, 395, 1}, {0, 1, 5, 1, 1, 0},
        {0, 1, 24, 64, 384, 0}, {1, 1, 19, 35, 770, 4}, {1, 1, 11, 31, 15, 0},  {0, 0, 100, 1030, 33, 0},
        {0, 0, 6, 16, 5, 0},    {1, 0, 7, 17, 9, 0},    {0, 1, 49, 271, 97, 2},
    };
    for (int q = 0; q < 2; q++) {
        if ((fs_cpu_set_gemm(kernels[q]) == 0) != has[q]) {
            printf("FAIL fs_cpu_set_gemm(\"%s\") %s\n", kernels[q],
                   has[q] ? "refused" : "accepted on a CPU without it");
            kt_failures++;
            continue;
        }
        if (!has[q]) continue;
        if (strcmp(fs_cpu_gemm_name(), kernels[q]) || !fs_cpu_gemm_own())
            printf("FAIL %s not in effect (%s)\n", kernels[q], fs_cpu_gemm_name()), kt_failures++;
        for (size_t i = 0; i < FS_ARRAY_LEN(shapes); i++) one_shape(&shapes[i], 0), one_shape(&shapes[i], 1);
        /* k = 0: C = 0 (beta 0) or left as it is (beta 1) */
        float c[6] = {1, 2, 3, 4, 5, 6}, a[1] = {0}, b[1] = {0};
        fs_sgemm(0, 0, 2, 3, 0, a, 1, b, 3, 1, c, 3);
        if (c[0] != 1 || c[5] != 6) printf("FAIL %s k=0 beta=1 changed C\n", kernels[q]), kt_failures++;
        fs_sgemm(0, 0, 2, 3, 0, a, 1, b, 3, 0, c, 3);
        if (c[0] != 0 || c[5] != 0) printf("FAIL %s k=0 beta=0 left C\n", kernels[q]), kt_failures++;
        printf("kernels_sgemm: %s: %zu shapes, beta 0 and 1\n", kernels[q], FS_ARRAY_LEN(shapes));
        ran++;
    }
    if (has[0] && has[1]) {
        for (size_t i = 0; i < FS_ARRAY_LEN(shapes); i++) cross_kernels(&shapes[i], 0), cross_kernels(&shapes[i], 1);
        printf("kernels_sgemm: own-avx2 and own-avx512 bit-identical on %zu shapes\n", FS_ARRAY_LEN(shapes));
    }
    fs_cpu_set_gemm("auto");
    if (!ran && !kt_failures) {
        printf("SKIP: this CPU has neither AVX-512F nor AVX2 + FMA: no own GEMM kernel runs here\n");
        return 77;
    }
    return kt_finish("kernels_sgemm");
}
