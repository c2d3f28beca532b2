/* fast_sgemm.c — the fast CPU path's own fp32 GEMM, with a micro-kernel for AVX-512F
 * (12 x 32) and one for AVX2 + FMA (6 x 16), the choice between it and OpenBLAS sgemm
 * (FACESWARM_CPU_GEMM), and the packing helpers of the conv's fused A operands:
 * C = (beta ? C : 0) + op(A) · op(B), row-major, single-threaded.
 *
 * Goto/BLIS blocking: B in blocks of KC x NC, packed into NR-column micro-panels (row p of a
 * panel = B[p][j0 .. j0 + NR), 64-byte aligned); A in blocks of MC = 48 rows (4 MR of 12, or
 * 8 MR of 6), packed row-major (row i at ap + i * KC: a plain copy of A's rows, so that the
 * im2col packer of the conv copies runs of x), each MR x KC micro-panel kept in L1 while the
 * micro-kernel sweeps the B panels of the block (in L2); the next B block's source lines are
 * prefetched meanwhile. The MR x NR micro-kernel holds C in 24 zmm (AVX-512) or 12 ymm (AVX2)
 * accumulators, loads two B vectors per k and broadcasts each A value into its FMA. Packing
 * zero-pads A's rows to MR and B's columns to NR, so the micro-kernel always runs whole; edge
 * tiles go through a local tile.
 *
 * Sum order: each element of C is one FMA chain in k order, started from C (beta 1, and the
 * KC blocks after the first) or from 0: the bits depend on the values only, not on the
 * blocking, on where the element lies in a tile, or on which micro-kernel ran (AVX-512 and
 * AVX2 give the same bits; kernels_sgemm and model_bitident check it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/common.h"
#include "core/log.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/fast.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define FS_HAVE_OWN_SGEMM 1
#include <cpuid.h>
#include <immintrin.h>
#define SGEMM_TARGET __attribute__((target("avx512f")))
#define AVX2_TARGET __attribute__((target("avx2,fma")))
#else
#define FS_HAVE_OWN_SGEMM 0
#endif

enum { KC = FS_SGEMM_KC, MC = 48, NC = 512, MR_MAX = 12, NR_MAX = 32 };

/* ---------------------------------------------------------------- the choice */
enum { GEMM_OPENBLAS, GEMM_AVX512, GEMM_AVX2 };
static int g_gemm = -1; /* -1 not yet read from the environment */
static char g_why[96];

/* cpuid leaf 1 ecx bit 27 (OSXSAVE) and the XCR0 state bits `want` all saved by the OS. */
static int os_saves(unsigned want) {
#if FS_HAVE_OWN_SGEMM
    unsigned a, b, c, d, lo, hi;
    if (!__get_cpuid_count(1, 0, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return (lo & want) == want;
#else
    (void)want;
    return 0;
#endif
}

int fs_cpu_has_avx512f(void) {
    static int known = -1;
#if FS_HAVE_OWN_SGEMM
    unsigned a, b, c, d;
    /* the OS saving zmm state (XCR0 bits 1, 2, 5-7), AVX-512F (leaf 7 ebx bit 16) */
    if (known < 0) known = os_saves(0xE6u) && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 16));
#else
    known = 0;
#endif
    return known;
}

int fs_cpu_has_avx2_fma(void) {
    static int known = -1;
#if FS_HAVE_OWN_SGEMM
    unsigned a, b, c, d;
    /* ymm state saved (XCR0 bits 1, 2), FMA (leaf 1 ecx bit 12), AVX2 (leaf 7 ebx bit 5) */
    if (known < 0)
        known = os_saves(0x6u) && __get_cpuid_count(1, 0, &a, &b, &c, &d) && (c & (1u << 12)) &&
                __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 5));
#else
    known = 0;
#endif
    return known;
}

/* The CPU vendor string of cpuid leaf 0 ("GenuineIntel", "AuthenticAMD"), "" elsewhere. */
const char *fs_cpu_vendor(void) {
    static char v[13];
#if FS_HAVE_OWN_SGEMM
    unsigned a, b, c, d;
    if (!v[0] && __get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(v, &b, 4), memcpy(v + 4, &d, 4), memcpy(v + 8, &c, 4);
        v[12] = 0;
    }
#endif
    return v;
}

/* The best own micro-kernel this CPU runs, GEMM_OPENBLAS if none. */
static int best_own(void) { return fs_cpu_has_avx512f() ? GEMM_AVX512 : fs_cpu_has_avx2_fma() ? GEMM_AVX2 : 0; }

/* auto: own where it was measured faster than OpenBLAS (docs/cpu.md): CPUs with AVX-512F
 * from Intel (a Sapphire Rapids class host) and AMD (a Zen 4 host; Zen 4 and Zen 5 are the
 * AMD cores with AVX-512F), and AMD CPUs with AVX2 + FMA only (a Zen 3 host: the AVX2
 * kernel). Every other CPU (Intel without AVX-512F, other vendors) stays on OpenBLAS:
 * nothing measured there. The rule reads cpuid only: the same machine always takes the
 * same GEMM, so a resumed run sums as the first one did. */
static int auto_choice(void) {
    if (fs_cpu_has_avx512f() && (!strcmp(fs_cpu_vendor(), "GenuineIntel") || !strcmp(fs_cpu_vendor(), "AuthenticAMD")))
        return GEMM_AVX512;
    if (fs_cpu_has_avx2_fma() && !strcmp(fs_cpu_vendor(), "AuthenticAMD")) return GEMM_AVX2;
    return GEMM_OPENBLAS;
}

int fs_cpu_set_gemm(const char *name) {
    int want;
    if (!name || !strcasecmp(name, "auto")) {
        g_gemm = auto_choice();
        snprintf(g_why, sizeof g_why, "auto, %s%s", fs_cpu_vendor()[0] ? fs_cpu_vendor() : "no cpuid",
                 fs_cpu_has_avx512f()    ? " + AVX-512F"
                 : fs_cpu_has_avx2_fma() ? " + AVX2 + FMA, no AVX-512F"
                                         : ", no AVX2 + FMA");
        return 0;
    }
    if (!strcasecmp(name, "openblas")) want = GEMM_OPENBLAS;
    else if (!strcasecmp(name, "own")) want = best_own();
    else if (!strcasecmp(name, "own-avx512")) want = fs_cpu_has_avx512f() ? GEMM_AVX512 : 0;
    else if (!strcasecmp(name, "own-avx2")) want = fs_cpu_has_avx2_fma() ? GEMM_AVX2 : 0;
    else return -1;
    if (want == GEMM_OPENBLAS && strcasecmp(name, "openblas")) return -1; /* an own kernel this CPU lacks */
    g_gemm = want;
    snprintf(g_why, sizeof g_why, "chosen");
    return 0;
}

int fs_cpu_gemm_own(void) {
    if (g_gemm < 0) {
        const char *env = getenv("FACESWARM_CPU_GEMM");
        if (fs_cpu_set_gemm(env && env[0] ? env : "auto") != 0) {
            int known = !strcasecmp(env, "own") || !strcasecmp(env, "own-avx512") || !strcasecmp(env, "own-avx2");
            fs_die(2,
                   "FACESWARM_CPU_GEMM=%s: %s\n  hint: auto (the default), openblas, own (the best own kernel "
                   "for this CPU), own-avx512 (needs AVX-512F) or own-avx2 (needs AVX2 + FMA); this CPU has %s",
                   env, known ? "this CPU lacks the instructions that kernel needs" : "unknown GEMM",
                   fs_cpu_has_avx512f()    ? "AVX-512F"
                   : fs_cpu_has_avx2_fma() ? "AVX2 + FMA, no AVX-512F"
                                           : "neither");
        }
        if (env && env[0] && strcasecmp(env, "auto")) snprintf(g_why, sizeof g_why, "FACESWARM_CPU_GEMM=%s", env);
    }
    return g_gemm != GEMM_OPENBLAS;
}

const char *fs_cpu_gemm_name(void) {
    static const char *names[] = {"openblas", "own-avx512", "own-avx2"};
    return fs_cpu_gemm_own(), names[g_gemm];
}

const char *fs_cpu_gemm_desc(void) {
    static char s[160];
    snprintf(s, sizeof s, "%s (%s)", fs_cpu_gemm_name(), g_why);
    return s;
}

const char *fs_cpu_kernel_set(void) {
    static char s[96];
    if (!fs_cpu_gemm_own()) snprintf(s, sizeof s, "%s", fs_cpu_blas_core());
    else snprintf(s, sizeof s, "%s", g_gemm == GEMM_AVX512 ? "own-avx512-12x32" : "own-avx2-6x16");
    return s;
}

int fs_cpu_kernel_sets_agree(const char *a, const char *b) {
    return !strcmp(a, b) || (!strncmp(a, "own-", 4) && !strncmp(b, "own-", 4));
}

#if FS_HAVE_OWN_SGEMM
/* One micro-kernel and its packing helpers. */
typedef struct gemm_isa {
    int mr, nr;
    /* c[mr x nr] (ldc) = (acc ? c : 0) + the kb-step product of panels ap (mr x KC) and bp */
    void (*micro)(int kb, const float *ap, const float *bp, float *c, size_t ldc, int acc);
    /* the B panels of op(B)[k0, k0 + kb) x [j0, j0 + nb), each kb x nr, the columns past nb zero */
    void (*pack_b)(const fs_sgemm_mat *b, int j0, int nb, int k0, int kb, float *bp);
    /* dst[j * dld + i] = rows[i][j] for i < 16, j < nj <= 16 (a NULL row reads as zeros):
     * each written row gets 16 floats */
    void (*transpose_rows)(const float *const rows[16], int nj, float *dst, size_t dld);
} gemm_isa;

/* ---------------------------------------------------------------- AVX-512F: 12 x 32 */
/* r[0..16) := its transpose (r[i][j] <-> r[j][i]). */
SGEMM_TARGET static inline void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i += 2)
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    for (int g = 0; g < 16; g += 4) { /* u[g + q], 128-bit lane L: column 4L + q of rows g .. g + 3 */
        __m512d t0 = _mm512_castps_pd(t[g]), t1 = _mm512_castps_pd(t[g + 1]), t2 = _mm512_castps_pd(t[g + 2]),
                t3 = _mm512_castps_pd(t[g + 3]);
        u[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2)), u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3)),
              u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int q = 0; q < 4; q++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x88), v1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xDD);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x88),
               v3 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xDD);
        r[q] = _mm512_shuffle_f32x4(v0, v2, 0x88), r[4 + q] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        r[8 + q] = _mm512_shuffle_f32x4(v0, v2, 0xDD), r[12 + q] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
}

static __mmask16 mask_of(int cnt) { return (__mmask16)(cnt >= 16 ? 0xFFFFu : (1u << FS_MAX(cnt, 0)) - 1u); }

SGEMM_TARGET static void transpose_rows_512(const float *const rows[16], int nj, float *dst, size_t dld) {
    __m512 r[16];
    __mmask16 mj = mask_of(nj);
    for (int i = 0; i < 16; i++) r[i] = rows[i] ? _mm512_maskz_loadu_ps(mj, rows[i]) : _mm512_setzero_ps();
    transpose16(r);
    for (int j = 0; j < nj; j++) _mm512_storeu_ps(dst + (size_t)j * dld, r[j]);
}

/* dst[0 .. 32) = src[0 .. cols), zero past cols (dst 64-byte aligned). */
SGEMM_TARGET static inline void copy_row_512(const float *src, int cols, float *dst) {
    _mm512_store_ps(dst, _mm512_maskz_loadu_ps(mask_of(cols), src));
    _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(mask_of(cols - 16), src + 16));
}

/* ---------------------------------------------------------------- AVX2 + FMA: 6 x 16 */
/* r[0..8) := its transpose. */
AVX2_TARGET static inline void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2)
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    for (int g = 0; g < 8; g += 4) { /* u[g + q], lane L: column 4L + q of rows g .. g + 3 */
        u[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44), u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xEE);
        u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44), u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
    }
    for (int q = 0; q < 4; q++)
        r[q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x20), r[4 + q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x31);
}

AVX2_TARGET static inline __m256i mask8(int cnt) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The 16 x 16 transpose as four 8 x 8 ones. */
AVX2_TARGET static void transpose_rows_256(const float *const rows[16], int nj, float *dst, size_t dld) {
    for (int bj = 0; bj < nj; bj += 8) {
        __m256i m = mask8(nj - bj);
        for (int bi = 0; bi < 16; bi += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++)
                r[i] = rows[bi + i] ? _mm256_maskload_ps(rows[bi + i] + bj, m) : _mm256_setzero_ps();
            transpose8(r);
            for (int j = 0; j < 8 && bj + j < nj; j++) _mm256_storeu_ps(dst + (size_t)(bj + j) * dld + bi, r[j]);
        }
    }
}

/* dst[0 .. 16) = src[0 .. cols), zero past cols (dst 32-byte aligned). */
AVX2_TARGET static inline void copy_row_256(const float *src, int cols, float *dst) {
    _mm256_store_ps(dst, _mm256_maskload_ps(src, mask8(cols)));
    _mm256_store_ps(dst + 8, _mm256_maskload_ps(src + 8, mask8(cols - 8)));
}

/* ---------------------------------------------------------------- packing */
/* dst[j * dld + i] = src[i * sld + j] for i < ni, j < nj (both <= 16); each written row gets
 * 16 floats (the 16 - ni past the source's rows zero). */
__attribute__((always_inline)) static inline void transpose_block(const float *src, size_t sld, int ni, int nj,
                                                                  float *dst, size_t dld,
                                                                  void (*rows_fn)(const float *const[16], int, float *,
                                                                                  size_t)) {
    const float *rows[16];
    for (int i = 0; i < 16; i++) rows[i] = i < ni ? src + (size_t)i * sld : NULL;
    rows_fn(rows, nj, dst, dld);
}

/* pack_b's body for one micro-kernel's panel width and helpers (inlined into each). */
__attribute__((always_inline)) static inline void pack_b_with(
    const fs_sgemm_mat *b, int j0, int nb, int k0, int kb, float *bp, int nr,
    void (*copy_row)(const float *, int, float *), void (*trows)(const float *const[16], int, float *, size_t)) {
    if (!b->trans) { /* B's rows in order (its lines as they lie), each row into every panel */
        for (int p = 0; p < kb; p++) {
            const float *row = b->p + (size_t)(k0 + p) * b->ld + j0;
            for (int jb = 0; jb < nb; jb += nr)
                copy_row(row + jb, FS_MIN(nr, nb - jb), bp + (size_t)jb * kb + (size_t)p * nr);
        }
        return;
    }
    for (int jb = 0; jb < nb; jb += nr, bp += (size_t)kb * nr) {
        int cols = FS_MIN(nr, nb - jb);
        /* B stored n x k: 16 x 16 blocks of (j, p) transposed (in groups of rows: each
         * block within one group, or element by element where a block crosses groups) */
        for (int jj = 0; jj < nr; jj += 16)
            for (int p = 0; p < kb; p += 16) {
                int r = k0 + p, rn = FS_MIN(16, kb - p), nc = FS_MAX(0, FS_MIN(16, cols - jj));
                const float *col0 = b->p + (size_t)(j0 + jb + jj) * b->ld;
                float *dst = bp + (size_t)p * nr + jj;
                if (!b->grp) {
                    transpose_block(col0 + r, (size_t)b->ld, nc, rn, dst, (size_t)nr, trows);
                } else if (r % b->grp + rn <= b->grp) {
                    transpose_block(col0 + (r / b->grp) * b->grp_step + r % b->grp, (size_t)b->ld, nc, rn, dst,
                                    (size_t)nr, trows);
                } else {
                    for (int u = 0; u < rn; u++)
                        for (int j = 0; j < 16; j++)
                            dst[(size_t)u * nr + j] =
                                j < nc
                                    ? col0[((r + u) / b->grp) * b->grp_step + (ptrdiff_t)j * b->ld + (r + u) % b->grp]
                                    : 0.0f;
                }
            }
    }
}

SGEMM_TARGET static void pack_b_512(const fs_sgemm_mat *b, int j0, int nb, int k0, int kb, float *bp) {
    pack_b_with(b, j0, nb, k0, kb, bp, 32, copy_row_512, transpose_rows_512);
}
AVX2_TARGET static void pack_b_256(const fs_sgemm_mat *b, int j0, int nb, int k0, int kb, float *bp) {
    pack_b_with(b, j0, nb, k0, kb, bp, 16, copy_row_256, transpose_rows_256);
}

/* ---------------------------------------------------------------- micro-kernels */
SGEMM_TARGET static void micro_512(int kb, const float *ap, const float *bp, float *c, size_t ldc, int acc) {
    enum { R = 12, NRV = 32 };
    __m512 s[R][2];
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
        s[i][0] = acc ? _mm512_loadu_ps(c + (size_t)i * ldc) : _mm512_setzero_ps();
        s[i][1] = acc ? _mm512_loadu_ps(c + (size_t)i * ldc + 16) : _mm512_setzero_ps();
    }
    for (int p = 0; p < kb; p++, ap++, bp += NRV) {
        __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
        _mm_prefetch((const char *)(bp + 8 * NRV), _MM_HINT_T0);
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            __m512 ai = _mm512_set1_ps(ap[i * KC]);
            s[i][0] = _mm512_fmadd_ps(ai, b0, s[i][0]);
            s[i][1] = _mm512_fmadd_ps(ai, b1, s[i][1]);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
        _mm512_storeu_ps(c + (size_t)i * ldc, s[i][0]);
        _mm512_storeu_ps(c + (size_t)i * ldc + 16, s[i][1]);
    }
}

AVX2_TARGET static void micro_256(int kb, const float *ap, const float *bp, float *c, size_t ldc, int acc) {
    enum { R = 6, NRV = 16 };
    __m256 s[R][2];
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
        s[i][0] = acc ? _mm256_loadu_ps(c + (size_t)i * ldc) : _mm256_setzero_ps();
        s[i][1] = acc ? _mm256_loadu_ps(c + (size_t)i * ldc + 8) : _mm256_setzero_ps();
    }
    /* unrolled by 4: on a Zen 3 host, from L1, the loop one k a turn with its B prefetch ran at
     * 49 GFLOP/s of a 93 peak (94 without the prefetch), four a turn with it at 95 */
#pragma GCC unroll 4
    for (int p = 0; p < kb; p++, ap++, bp += NRV) {
        __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
        _mm_prefetch((const char *)(bp + 16 * NRV), _MM_HINT_T0);
#pragma GCC unroll 6
        for (int i = 0; i < R; i++) {
            __m256 ai = _mm256_broadcast_ss(ap + i * KC);
            s[i][0] = _mm256_fmadd_ps(ai, b0, s[i][0]);
            s[i][1] = _mm256_fmadd_ps(ai, b1, s[i][1]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
        _mm256_storeu_ps(c + (size_t)i * ldc, s[i][0]);
        _mm256_storeu_ps(c + (size_t)i * ldc + 8, s[i][1]);
    }
}

/* NC = 512 on both: on the Zen 3 host (1 MB L2 per core as the VM reports it) the AVX2 kernel
 * read 0.66-0.87 of the peak on original-64's large convs at 512 and no better at 256
 * (docs/cpu.md). */
static const gemm_isa g_isa[] = {
    [GEMM_AVX512] = {12, 32, micro_512, pack_b_512, transpose_rows_512},
    [GEMM_AVX2] = {6, 16, micro_256, pack_b_256, transpose_rows_256},
};

/* The kernel the own GEMM runs: the one chosen, or (a direct call with OpenBLAS chosen) the
 * best this CPU has. */
static const gemm_isa *kernel(void) {
    int k = fs_cpu_gemm_own() ? g_gemm : best_own();
    if (k == GEMM_OPENBLAS) fs_die(1, "fs_sgemm: this CPU has neither AVX-512F nor AVX2 + FMA");
    return &g_isa[k];
}

/* ap[i * KC + p] = op(A)[i0 + i][k0 + p] for i < rows, p < kb. */
static void pack_a_mat(const void *ctx, int i0, int rows, int k0, int kb, float *ap) {
    const fs_sgemm_mat *a = ctx;
    if (!a->trans) {
        for (int i = 0; i < rows; i++) memcpy(ap + (size_t)i * KC, a->p + (size_t)(i0 + i) * a->ld + k0, kb * 4u);
        return;
    }
    /* A stored k x m: 16 x 16 blocks of (p, i) transposed in registers, straight into the
     * panels (a block's columns past kb land in the row's padding, KC being a multiple of 16);
     * MC = 48 rows at once, so that each row of A is read in whole cache lines */
    const gemm_isa *g = kernel();
    for (int p = 0; p < kb; p += 16)
        for (int i = 0; i < rows; i += 16)
            transpose_block(a->p + (size_t)(k0 + p) * a->ld + i0 + i, (size_t)a->ld, FS_MIN(16, kb - p),
                            FS_MIN(16, rows - i), ap + (size_t)i * KC + p, KC, g->transpose_rows);
}

void fs_sgemm_transpose16(const float *const rows[16], int nj, float *dst, size_t dld) {
    kernel()->transpose_rows(rows, nj, dst, dld);
}

/* One tile of rows x cols <= mr x nr at cij through a local tile. */
static void micro_edge(const gemm_isa *g, int kb, const float *ap, const float *bp, float *cij, size_t ldc, int rows,
                       int cols, int acc) {
    float tile[MR_MAX * NR_MAX] __attribute__((aligned(64)));
    if (acc)
        for (int i = 0; i < rows; i++) memcpy(tile + i * g->nr, cij + (size_t)i * ldc, (size_t)cols * sizeof(float));
    g->micro(kb, ap, bp, tile, (size_t)g->nr, acc);
    for (int i = 0; i < rows; i++) memcpy(cij + (size_t)i * ldc, tile + i * g->nr, (size_t)cols * sizeof(float));
}

/* The source lines of the next B block, fetched towards L2 a few per micro-kernel call while
 * this block is multiplied: its packing then reads L2, not memory (large k: the weights of
 * a layer stream through once per call). Row-major B only. */
typedef struct prefetcher {
    const char *base;   /* the block's first row, at its first column */
    size_t row_bytes;   /* B's row stride */
    int lines, rows;    /* lines per row, rows */
    int next, per_call; /* the next line to fetch (row-major over rows x lines), lines per call */
} prefetcher;

static prefetcher prefetch_plan(const gemm_isa *g, const fs_sgemm_mat *b, int j0, int nb, int k0, int kb, int m,
                                int n) {
    prefetcher pf = {0};
    if (b->trans || kb <= 0) return pf;
    int calls = (m + g->mr - 1) / g->mr * ((FS_MIN(NC, n - j0) + g->nr - 1) / g->nr);
    pf.base = (const char *)(b->p + (size_t)k0 * b->ld + j0), pf.row_bytes = (size_t)b->ld * sizeof(float);
    pf.lines = (int)(((size_t)nb * sizeof(float) + 63) / 64), pf.rows = kb;
    pf.per_call = (pf.lines * kb + calls - 1) / calls;
    return pf;
}

static inline void prefetch_some(prefetcher *pf) {
    for (int q = 0; q < pf->per_call && pf->next < pf->lines * pf->rows; q++, pf->next++)
        _mm_prefetch(pf->base + (size_t)(pf->next / pf->lines) * pf->row_bytes + (size_t)(pf->next % pf->lines) * 64,
                     _MM_HINT_T1);
}

/* The C tile the next micro-kernel call starts from: fetched while this one runs (its loads
 * would stall the FMAs from the first k on). */
static inline void prefetch_tile(const gemm_isa *g, const float *c, int ldc, int any) {
    if (any)
        for (int i = 0; i < g->mr; i++)
            for (int j = 0; j < g->nr; j += 16) _mm_prefetch((const char *)(c + (size_t)i * ldc + j), _MM_HINT_T0);
}

/* Per-thread packing buffers, grown once (OpenMP threads persist: no allocation per call). */
static _Thread_local float *g_ap, *g_bp;

size_t fs_sgemm_pack_bytes(void) { return ((size_t)MC * KC + (size_t)(NC + NR_MAX) * KC) * sizeof(float); }

void fs_sgemm_ex(fs_sgemm_pack_a pack_a, const void *actx, const fs_sgemm_mat *b, int m, int n, int k, int beta,
                 float *c, int ldc) {
    if (fs_gemm_empty(m, n, k, beta, c, ldc)) return;
    const gemm_isa *g = kernel();
    int mr = g->mr, nr = g->nr;
    if (!g_bp) {
        g_ap = fs_aligned_alloc((size_t)MC * KC * sizeof(float));
        g_bp = fs_aligned_alloc((size_t)(NC + NR_MAX) * KC * sizeof(float));
    }
    float *ap = g_ap, *bp = g_bp;
    for (int jc = 0; jc < n; jc += NC) {
        int nb = FS_MIN(NC, n - jc);
        for (int pc = 0; pc < k; pc += KC) {
            int kb = FS_MIN(KC, k - pc), acc = beta || pc > 0;
            g->pack_b(b, jc, nb, pc, kb, bp);
            prefetcher pf = prefetch_plan(g, b, jc, nb, pc + KC, FS_MIN(KC, k - pc - KC), m, n);
            for (int ic = 0; ic < m; ic += MC) {
                int mb = FS_MIN(MC, m - ic), mpad = (mb + mr - 1) / mr * mr;
                pack_a(actx, ic, mb, pc, kb, ap);
                for (int i = mb; i < mpad; i++) memset(ap + (size_t)i * KC, 0, (size_t)kb * sizeof(float));
                for (int ir = 0; ir < mb; ir += mr) {
                    int rows = FS_MIN(mr, mb - ir);
                    const float *apan = ap + (size_t)ir * KC;
                    for (int jr = 0; jr < nb; jr += nr) {
                        const float *bpan = bp + (size_t)(jr / nr) * kb * nr;
                        int cols = FS_MIN(nr, nb - jr);
                        float *cij = c + (size_t)(ic + ir) * ldc + jc + jr;
                        prefetch_some(&pf);
                        prefetch_tile(g, jr + nr < nb ? cij + nr : c + (size_t)(ic + ir + mr) * ldc + jc, ldc,
                                      ic + ir + mr < m || jr + nr < nb);
                        if (rows == mr && cols == nr) g->micro(kb, apan, bpan, cij, (size_t)ldc, acc);
                        else micro_edge(g, kb, apan, bpan, cij, (size_t)ldc, rows, cols, acc);
                    }
                }
            }
        }
    }
}

void fs_sgemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta, float *c,
              int ldc) {
    fs_sgemm_mat am = {.p = a, .ld = lda, .trans = ta}, bm = {.p = b, .ld = ldb, .trans = tb};
    fs_sgemm_ex(pack_a_mat, &am, &bm, m, n, k, beta, c, ldc);
}
#else
size_t fs_sgemm_pack_bytes(void) { return 0; }
void fs_sgemm_transpose16(const float *const rows[16], int nj, float *dst, size_t dld) {
    for (int j = 0; j < nj; j++)
        for (int i = 0; i < 16; i++) dst[(size_t)j * dld + i] = rows[i] ? rows[i][j] : 0.0f;
}
void fs_sgemm_ex(fs_sgemm_pack_a pack_a, const void *actx, const fs_sgemm_mat *b, int m, int n, int k, int beta,
                 float *c, int ldc) {
    (void)pack_a, (void)actx, (void)b, (void)m, (void)n, (void)k, (void)beta, (void)c, (void)ldc;
    fs_die(1, "fs_sgemm: this build has no own GEMM (x86-64 only) (fs_cpu_gemm_own() is 0 here)");
}
void fs_sgemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta, float *c,
              int ldc) {
    (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)beta, (void)c,
        (void)ldc;
    fs_die(1, "fs_sgemm: this build has no own GEMM (x86-64 only) (fs_cpu_gemm_own() is 0 here)");
}
#endif
