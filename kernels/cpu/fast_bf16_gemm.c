/* fast_bf16_gemm.c — the fast CPU path's bf16 GEMM on AVX512_BF16 (vdpbf16ps), for
 * FS_PREC_BF16 (kernels/ops.h): C = (beta ? C : 0) + bf16(op(A)) · bf16(op(B)), row-major,
 * both operands rounded to bf16 (nearest even, kernels/bf16.h) as they are packed, products
 * summed in fp32.
 *
 * Goto/BLIS blocking: B in blocks of KC x NC, packed into NR-column micro-panels of k pairs
 * (vdpbf16ps multiplies two bf16 pairs per fp32 lane: lane j of panel word p holds
 * B[2p][j] in its low half and B[2p+1][j] in its high half); A in blocks of MC x KC, packed
 * into MR-row micro-panels of the same pairs, broadcast one 32-bit pair at a time. Packing
 * zero-pads k to even and the panels to MR / NR, so the MR x NR micro-kernel always runs
 * whole; edge tiles go through a local tile. Each element of C is its value before (beta 1)
 * plus, per KC block in order, that block's sum: the order depends on the shape only.
 *
 * vdpbf16ps treats bf16 denormals (|x| < 2^-126) as zero, in and out, and rounds each of its
 * two additions to fp32 (nearest even): the results differ from the reference's double sums
 * of the same rounded operands by fp32 summation error, as the fp32 path's do. */
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

#if defined(__x86_64__) && defined(__GNUC__) && (__GNUC__ >= 11 || defined(__clang__))
#define FS_HAVE_BF16_GEMM 1
#include <cpuid.h>
#include <immintrin.h>
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define FS_HAVE_BF16_GEMM 0
#endif

enum { MR = 12, NR = 32, KCP = 128 /* k pairs per block */, MC = 12 * MR, NC = 512 };

static int g_mode = -2;     /* -2 unread (FACESWARM_CPU_BF16 on first use), -1 automatic, 0 off, 1 on */
static char g_why[96] = ""; /* how g_mode was chosen, for fs_cpu_bf16_desc */

int fs_cpu_has_bf16_dot(void) {
#if FS_HAVE_BF16_GEMM
    static int known = -1;
    if (known < 0) {
        unsigned a, b, c, d;
        /* AVX-512F with the OS saving zmm state (fast_sgemm.c), AVX512BW (leaf 7 ebx bit 30),
         * AVX512_BF16 (leaf 7 sub-leaf 1 eax bit 5) */
        known = fs_cpu_has_avx512f() && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 30)) &&
                __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
    }
    return known;
#else
    return 0;
#endif
}

/* Automatic: vdpbf16ps where it was measured faster than the fp32 path, AMD CPUs with
 * AVX512_BF16 (a Zen 4 host: the bf16 GEMM at 1.1-1.3x the fp32 FMA roof, docs/cpu.md). An
 * Intel Emerald Rapids core issues one vdpbf16ps zmm every 2 cycles against two FMAs a cycle
 * (its roof 0.49 of the fp32 one; the GEMM on it ran at 0.41-0.44 of fp32's peak where the
 * fp32 GEMM ran at 0.76-0.87), so Intel CPUs take the rounded copies onto the fp32 GEMM. */
static int auto_dot(void) { return fs_cpu_has_bf16_dot() && !strcmp(fs_cpu_vendor(), "AuthenticAMD"); }

int fs_cpu_set_bf16_dot(int mode) {
    if (mode < -1 || mode > 1 || (mode == 1 && !fs_cpu_has_bf16_dot())) return -1;
    g_mode = mode;
    if (mode == -1)
        snprintf(g_why, sizeof g_why, "auto, %s%s", fs_cpu_vendor()[0] ? fs_cpu_vendor() : "no cpuid",
                 !fs_cpu_has_bf16_dot() ? ", no AVX512_BF16"
                 : auto_dot()           ? " + AVX512_BF16"
                                        : " + AVX512_BF16, vdpbf16ps at half the FMA rate");
    else snprintf(g_why, sizeof g_why, "chosen");
    return 0;
}

static void read_env(void) {
    const char *env = getenv("FACESWARM_CPU_BF16");
    int mode = !env || !env[0] || !strcasecmp(env, "auto") ? -1
               : !strcasecmp(env, "dot")                   ? 1
               : !strcasecmp(env, "round")                 ? 0
                                                           : 2;
    if (fs_cpu_set_bf16_dot(mode) != 0)
        fs_die(2,
               "FACESWARM_CPU_BF16=%s: %s\n  hint: auto (the default), dot (the vdpbf16ps GEMM, needs "
               "AVX512_BF16) or round (operands rounded into copies for the fp32 GEMM); this CPU %s AVX512_BF16",
               env, mode == 1 ? "this CPU lacks AVX512_BF16" : "unknown bf16 path",
               fs_cpu_has_bf16_dot() ? "has" : "has no");
    if (mode != -1) snprintf(g_why, sizeof g_why, "FACESWARM_CPU_BF16=%s", env);
}

int fs_cpu_bf16_dot_on(void) {
    if (g_mode == -2) read_env();
    return g_mode == -1 ? auto_dot() : g_mode;
}

const char *fs_cpu_bf16_path(void) { return fs_cpu_bf16_dot_on() ? "dot" : "round"; }

const char *fs_cpu_bf16_desc(void) {
    static char s[160];
    snprintf(s, sizeof s, "%s (%s)", fs_cpu_bf16_path(), (fs_cpu_bf16_dot_on(), g_why));
    return s;
}

#if FS_HAVE_BF16_GEMM
/* Packing converts with vcvtne2ps2bf16 (nearest even, as fs_bf16_from_f32, except that it
 * flushes denormals to zero: vdpbf16ps reads bf16 denormals as zero anyway, so the products
 * are the same). */
static const uint16_t g_interleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                          8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};

/* d[0..cnt) = the pairs (r0[j], r1[j]) of cnt <= 16 columns (r1 NULL: zeros). */
BF16_TARGET static inline void pairs_of_rows(const float *r0, const float *r1, int cnt, uint32_t *d) {
    __mmask16 m = (__mmask16)((1u << cnt) - 1u);
    __m512 lo = _mm512_maskz_loadu_ps(m, r0), hi = r1 ? _mm512_maskz_loadu_ps(m, r1) : _mm512_setzero_ps();
    __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo); /* lo[0..15], hi[0..15] */
    __m512i pairs = _mm512_permutexvar_epi16(_mm512_loadu_si512(g_interleave), both);
    _mm512_mask_storeu_epi32(d, m, pairs);
}

/* d[q * stride] for q < (cnt + 1) / 2 = the pairs (r[2q], r[2q + 1]) of cnt <= 32 floats of one
 * row (an odd cnt: the last pair's high half 0). */
BF16_TARGET static inline void pairs_along_row(const float *r, int cnt, uint32_t *d, size_t stride) {
    __mmask16 m0 = (__mmask16)(cnt >= 16 ? 0xFFFFu : (1u << cnt) - 1u);
    __mmask16 m1 = (__mmask16)(cnt >= 32 ? 0xFFFFu : cnt <= 16 ? 0u : (1u << (cnt - 16)) - 1u);
    __m512 lo = _mm512_maskz_loadu_ps(m0, r), hi = _mm512_maskz_loadu_ps(m1, r + 16);
    uint32_t t[16];
    _mm512_storeu_si512(t, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    for (int q = 0; q < (cnt + 1) / 2; q++) d[q * stride] = t[q];
}

/* ap[p * MR + i] = pair of op(A)[i0 + i][k0 + 2p, +1], rows [i0, i0 + mb), k [k0, k0 + kb). */
BF16_TARGET static void pack_a(int ta, const float *a, int lda, int i0, int mb, int k0, int kb, uint32_t *ap) {
    int kp = (kb + 1) / 2;
    for (int ib = 0; ib < mb; ib += MR, ap += (size_t)kp * MR) {
        int rows = FS_MIN(MR, mb - ib);
        if (rows < MR) memset(ap, 0, (size_t)kp * MR * sizeof *ap);
        if (ta) /* A stored k x m: rows k and k + 1 hold the pairs of MR consecutive i */
            for (int p = 0; p < kp; p++) {
                const float *r0 = a + (size_t)(k0 + 2 * p) * lda + i0 + ib;
                pairs_of_rows(r0, 2 * p + 1 < kb ? r0 + lda : NULL, rows, ap + (size_t)p * MR);
            }
        else
            for (int i = 0; i < rows; i++) {
                const float *r = a + (size_t)(i0 + ib + i) * lda + k0;
                for (int kk = 0; kk < kb; kk += 32)
                    pairs_along_row(r + kk, FS_MIN(32, kb - kk), ap + (size_t)(kk / 2) * MR + i, MR);
            }
    }
}

/* bp[p * NR + j] = pair of op(B)[k0 + 2p, +1][j0 + j], per NR-column panel of [j0, j0 + nb). */
BF16_TARGET static void pack_b(int tb, const float *b, int ldb, int j0, int nb, int k0, int kb, uint32_t *bp) {
    int kp = (kb + 1) / 2;
    for (int jb = 0; jb < nb; jb += NR, bp += (size_t)kp * NR) {
        int cols = FS_MIN(NR, nb - jb);
        if (cols < NR) memset(bp, 0, (size_t)kp * NR * sizeof *bp);
        if (tb) /* B stored n x k: a row of B^T holds the pairs of one column */
            for (int j = 0; j < cols; j++) {
                const float *r = b + (size_t)(j0 + jb + j) * ldb + k0;
                for (int kk = 0; kk < kb; kk += 32)
                    pairs_along_row(r + kk, FS_MIN(32, kb - kk), bp + (size_t)(kk / 2) * NR + j, NR);
            }
        else
            for (int p = 0; p < kp; p++) {
                const float *r0 = b + (size_t)(k0 + 2 * p) * ldb + j0 + jb, *r1 = 2 * p + 1 < kb ? r0 + ldb : NULL;
                uint32_t *dst = bp + (size_t)p * NR;
                for (int j = 0; j < cols; j += 16)
                    pairs_of_rows(r0 + j, r1 ? r1 + j : NULL, FS_MIN(16, cols - j), dst + j);
            }
    }
}

/* c[MR x NR] (ldc) = (acc ? c : 0) + the kp pairs of panels ap and bp. */
BF16_TARGET static void micro(int kp, const uint32_t *ap, const uint32_t *bp, float *c, size_t ldc, int acc) {
    __m512 s[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) s[i][0] = _mm512_setzero_ps(), s[i][1] = _mm512_setzero_ps();
    for (int p = 0; p < kp; p++, ap += MR, bp += NR) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(bp), b1 = (__m512bh)_mm512_load_si512(bp + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)ap[i]);
            s[i][0] = _mm512_dpbf16_ps(s[i][0], ai, b0);
            s[i][1] = _mm512_dpbf16_ps(s[i][1], ai, b1);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        float *ci = c + (size_t)i * ldc;
        if (acc) {
            s[i][0] = _mm512_add_ps(_mm512_loadu_ps(ci), s[i][0]);
            s[i][1] = _mm512_add_ps(_mm512_loadu_ps(ci + 16), s[i][1]);
        }
        _mm512_storeu_ps(ci, s[i][0]);
        _mm512_storeu_ps(ci + 16, s[i][1]);
    }
}

void fs_bf16_gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta,
                  float *c, int ldc) {
    if (fs_gemm_empty(m, n, k, beta, c, ldc)) return;
    uint32_t *ap = fs_aligned_alloc((size_t)MC * KCP * sizeof(uint32_t));
    uint32_t *bp = fs_aligned_alloc((size_t)(NC + NR) * KCP * sizeof(uint32_t));
    float tile[MR * NR];
    for (int jc = 0; jc < n; jc += NC) {
        int nb = FS_MIN(NC, n - jc);
        for (int pc = 0; pc < k; pc += 2 * KCP) {
            int kb = FS_MIN(2 * KCP, k - pc), kp = (kb + 1) / 2, acc = beta || pc > 0;
            pack_b(tb, b, ldb, jc, nb, pc, kb, bp);
            for (int ic = 0; ic < m; ic += MC) {
                int mb = FS_MIN(MC, m - ic);
                pack_a(ta, a, lda, ic, mb, pc, kb, ap);
                for (int jr = 0; jr < nb; jr += NR) {
                    const uint32_t *bpan = bp + (size_t)(jr / NR) * kp * NR;
                    int cols = FS_MIN(NR, nb - jr);
                    for (int ir = 0; ir < mb; ir += MR) {
                        const uint32_t *apan = ap + (size_t)(ir / MR) * kp * MR;
                        int rows = FS_MIN(MR, mb - ir);
                        float *cij = c + (size_t)(ic + ir) * ldc + jc + jr;
                        if (rows == MR && cols == NR) {
                            micro(kp, apan, bpan, cij, (size_t)ldc, acc);
                            continue;
                        }
                        micro(kp, apan, bpan, tile, NR, 0);
                        for (int i = 0; i < rows; i++)
                            for (int j = 0; j < cols; j++)
                                cij[(size_t)i * ldc + j] = (acc ? cij[(size_t)i * ldc + j] : 0.0f) + tile[i * NR + j];
                    }
                }
            }
        }
    }
    free(ap);
    free(bp);
}
#else
void fs_bf16_gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta,
                  float *c, int ldc) {
    (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)beta, (void)c,
        (void)ldc;
    fs_die(1, "fs_bf16_gemm: this build has no AVX512_BF16 GEMM (fs_cpu_bf16_dot_on() is 0 here)");
}
#endif
