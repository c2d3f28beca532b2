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
 * On CPUs with AMX-BF16 (Intel Sapphire Rapids and newer) the same packed pairs feed the tile
 * unit instead (fs_cpu_bf16_path "amx"): a 32 x 32 micro-tile of C is four 16 x 16 fp32 tile
 * registers, the A panel two 16-row tiles of 16 pairs, the B panel two 16-pair tiles of 16
 * columns, one tdpbf16ps per (A, B) tile pair per 32 k; k is zero-padded to a multiple of 32.
 * A is packed for it as [k/32][32 rows][16 pairs] (a tile row is 16 pairs of one row of A),
 * B as for vdpbf16ps (a tile row is one pair of 16 columns, which is the vdpbf16ps panel).
 *
 * vdpbf16ps and tdpbf16ps treat bf16 denormals (|x| < 2^-126) as zero, in and out, and round
 * their additions to fp32 (nearest even): the results differ from the reference's double sums
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
#define AMX_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#else
#define FS_HAVE_BF16_GEMM 0
#endif

enum { MR = 12, NR = 32, KCP = 128 /* k pairs per block */, MC = 12 * MR, NC = 512 };
/* AMX: 32 x 32 micro-tiles, k in chunks of 16 pairs (one tile row of bf16 is 64 bytes) */
enum { AMX_MR = 32, AMX_Q = 16, AMX_MC = 4 * AMX_MR };

/* -2 unread (FACESWARM_CPU_BF16 on first use), -1 automatic, 0 round, 1 dot, 2 amx */
static int g_mode = -2;
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

/* AMX-TILE (leaf 7 edx bit 24) and AMX-BF16 (bit 22), the OS saving the tile state (XCR0 bits
 * 17 and 18) and, on Linux, granting this process the tile data (arch_prctl
 * ARCH_REQ_XCOMP_PERM, once: the permission covers every thread of the process). */
int fs_cpu_has_bf16_amx(void) {
#if FS_HAVE_BF16_GEMM && defined(__linux__)
    static int known = -1;
    if (known < 0) {
        unsigned a, b, c, d, lo, hi;
        known = 0;
        if (fs_cpu_has_bf16_dot() && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d & (1u << 24)) && (d & (1u << 22))) {
            __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
            known = (lo & (3u << 17)) == (3u << 17) &&
                    syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
        }
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
/* ... and the tile unit wherever it is (an Intel host with AMX-BF16: the GEMM at several times
 * the fp32 FMA roof, docs/cpu.md). */
static int auto_mode(void) { return fs_cpu_has_bf16_amx() ? 2 : auto_dot() ? 1 : 0; }

int fs_cpu_set_bf16_dot(int mode) {
    if (mode < -1 || mode > 2 || (mode == 1 && !fs_cpu_has_bf16_dot()) || (mode == 2 && !fs_cpu_has_bf16_amx()))
        return -1;
    g_mode = mode;
    if (mode == -1)
        snprintf(g_why, sizeof g_why, "auto, %s%s", fs_cpu_vendor()[0] ? fs_cpu_vendor() : "no cpuid",
                 !fs_cpu_has_bf16_dot()  ? ", no AVX512_BF16"
                 : fs_cpu_has_bf16_amx() ? " + AMX-BF16"
                 : auto_dot()            ? " + AVX512_BF16"
                                         : " + AVX512_BF16, vdpbf16ps at half the FMA rate, no AMX");
    else snprintf(g_why, sizeof g_why, "chosen");
    return 0;
}

static void read_env(void) {
    const char *env = getenv("FACESWARM_CPU_BF16");
    int mode = !env || !env[0] || !strcasecmp(env, "auto") ? -1
               : !strcasecmp(env, "dot")                   ? 1
               : !strcasecmp(env, "amx")                   ? 2
               : !strcasecmp(env, "round")                 ? 0
                                                           : 3;
    if (fs_cpu_set_bf16_dot(mode) != 0)
        fs_die(2,
               "FACESWARM_CPU_BF16=%s: %s\n  hint: auto (the default), amx (the tile unit, needs AMX-BF16), dot "
               "(the vdpbf16ps GEMM, needs AVX512_BF16) or round (operands rounded into copies for the fp32 "
               "GEMM); this CPU %s AVX512_BF16 and %s AMX-BF16",
               env,
               mode == 1   ? "this CPU lacks AVX512_BF16"
               : mode == 2 ? "this CPU (or its OS) does not run AMX-BF16"
                           : "unknown bf16 path",
               fs_cpu_has_bf16_dot() ? "has" : "has no", fs_cpu_has_bf16_amx() ? "runs" : "does not run");
    if (mode != -1) snprintf(g_why, sizeof g_why, "FACESWARM_CPU_BF16=%s", env);
}

int fs_cpu_bf16_dot_on(void) {
    if (g_mode == -2) read_env();
    return g_mode == -1 ? auto_mode() : g_mode;
}

const char *fs_cpu_bf16_path(void) {
    int m = fs_cpu_bf16_dot_on();
    return m == 2 ? "amx" : m == 1 ? "dot" : "round";
}

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

/* bp[p * NR + j] = pair of op(B)[k0 + 2p, +1][j0 + j], per NR-column panel of [j0, j0 + nb) of
 * kpad >= (kb + 1) / 2 pairs (those past kb zero). */
BF16_TARGET static void pack_b(int tb, const float *b, int ldb, int j0, int nb, int k0, int kb, int kpad,
                               uint32_t *bp) {
    int kp = (kb + 1) / 2;
    for (int jb = 0; jb < nb; jb += NR, bp += (size_t)kpad * NR) {
        int cols = FS_MIN(NR, nb - jb);
        if (cols < NR) memset(bp, 0, (size_t)kpad * NR * sizeof *bp);
        else if (kpad > kp) memset(bp + (size_t)kp * NR, 0, (size_t)(kpad - kp) * NR * sizeof *bp);
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

static void amx_gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta,
                     float *c, int ldc);

void fs_bf16_gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta,
                  float *c, int ldc) {
    if (fs_gemm_empty(m, n, k, beta, c, ldc)) return;
    if (fs_cpu_bf16_dot_on() == 2) {
        amx_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    uint32_t *ap = fs_aligned_alloc((size_t)MC * KCP * sizeof(uint32_t));
    uint32_t *bp = fs_aligned_alloc((size_t)(NC + NR) * KCP * sizeof(uint32_t));
    float tile[MR * NR];
    for (int jc = 0; jc < n; jc += NC) {
        int nb = FS_MIN(NC, n - jc);
        for (int pc = 0; pc < k; pc += 2 * KCP) {
            int kb = FS_MIN(2 * KCP, k - pc), kp = (kb + 1) / 2, acc = beta || pc > 0;
            pack_b(tb, b, ldb, jc, nb, pc, kb, kp, bp);
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

/* ---------------------------------------------------------------- AMX-BF16 */

/* ap: per AMX_MR-row panel of rows [i0, i0 + mb), kq chunks of AMX_Q pairs of k [k0, k0 + kb),
 * ap[(q * AMX_MR + i) * AMX_Q + r] = pair of op(A)[i0 + i][k0 + 2 (q AMX_Q + r), +1]; rows
 * past mb and pairs past kb zero. */
BF16_TARGET static void amx_pack_a(int ta, const float *a, int lda, int i0, int mb, int k0, int kb, int kq,
                                   uint32_t *ap) {
    int kp = (kb + 1) / 2;
    size_t panel = (size_t)kq * AMX_MR * AMX_Q;
    for (int ib = 0; ib < mb; ib += AMX_MR, ap += panel) {
        int rows = FS_MIN(AMX_MR, mb - ib);
        if (ta) { /* A stored k x m: rows k and k + 1 hold the pairs of 32 consecutive i, t[p][i]:
                   * 16 of them transposed to 16 pairs of each i (fs_sgemm_transpose16 moves
                   * 32-bit words, a pair as a float's bits; past kp its NULL rows are zeros) */
            uint32_t t[AMX_Q][AMX_MR] __attribute__((aligned(64)));
            if (rows < AMX_MR) memset(t, 0, sizeof t);
            for (int q = 0; q < kq; q++) {
                int np = FS_MIN(AMX_Q, kp - AMX_Q * q);
                const float *tr[2][16];
                for (int pp = 0; pp < AMX_Q; pp++) {
                    int p = AMX_Q * q + pp;
                    tr[0][pp] = pp < np ? (const float *)(const void *)t[pp] : NULL;
                    tr[1][pp] = pp < np ? (const float *)(const void *)(t[pp] + 16) : NULL;
                    if (pp >= np) continue;
                    const float *r0 = a + (size_t)(k0 + 2 * p) * lda + i0 + ib, *r1 = 2 * p + 1 < kb ? r0 + lda : NULL;
                    for (int i = 0; i < rows; i += 16)
                        pairs_of_rows(r0 + i, r1 ? r1 + i : NULL, FS_MIN(16, rows - i), t[pp] + i);
                }
                uint32_t *d = ap + (size_t)q * AMX_MR * AMX_Q;
                fs_sgemm_transpose16(tr[0], 16, (float *)(void *)d, AMX_Q);
                fs_sgemm_transpose16(tr[1], 16, (float *)(void *)(d + 16 * AMX_Q), AMX_Q);
            }
            continue;
        }
        /* a chunk of 32 k of a row is one 64-byte tile row: converted and stored whole (the
         * masked loads past kb give the zero pairs) */
        for (int q = 0; q < kq; q++) {
            int cnt = kb - 2 * AMX_Q * q;
            __mmask16 m0 = (__mmask16)(cnt >= 16 ? 0xFFFFu : (1u << cnt) - 1u);
            __mmask16 m1 = (__mmask16)(cnt >= 32 ? 0xFFFFu : cnt <= 16 ? 0u : (1u << (cnt - 16)) - 1u);
            uint32_t *d = ap + (size_t)q * AMX_MR * AMX_Q;
            const float *r = a + (size_t)(i0 + ib) * lda + k0 + 2 * AMX_Q * q;
            for (int i = 0; i < rows; i++, r += lda) {
                __m512 lo = _mm512_maskz_loadu_ps(m0, r), hi = _mm512_maskz_loadu_ps(m1, r + 16);
                _mm512_store_si512(d + (size_t)i * AMX_Q, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
            }
            if (rows < AMX_MR) memset(d + (size_t)rows * AMX_Q, 0, (size_t)(AMX_MR - rows) * AMX_Q * sizeof *d);
        }
    }
}

/* The tile shapes: every tile 16 rows of 64 bytes (C: 16 x 16 fp32; A: 16 rows x 16 pairs;
 * B: 16 pairs x 16 columns). Loaded per GEMM call (the configuration is per thread), released
 * at its end (no tile state left for the OS to save). */
typedef struct amx_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;

/* c[32 x 32] (ldc) = (acc ? c : 0) + the kq chunks of AMX_Q pairs of panels ap and bp. Tiles
 * 0-3 hold C (rows 0-15 x cols 0-15, 0-15 x 16-31, 16-31 x 0-15, 16-31 x 16-31), 4-5 A's two
 * row halves, 6-7 B's two column halves. */
AMX_TARGET static void amx_micro(int kq, const uint32_t *ap, const uint32_t *bp, float *c, size_t ldc, int acc) {
    size_t ld = ldc * sizeof(float);
    if (acc) {
        _tile_loadd(0, c, ld);
        _tile_loadd(1, c + 16, ld);
        _tile_loadd(2, c + 16 * ldc, ld);
        _tile_loadd(3, c + 16 * ldc + 16, ld);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    for (int q = 0; q < kq; q++, ap += AMX_MR * AMX_Q, bp += AMX_Q * NR) {
        _tile_loadd(4, ap, AMX_Q * sizeof(uint32_t));
        _tile_loadd(5, ap + 16 * AMX_Q, AMX_Q * sizeof(uint32_t));
        _tile_loadd(6, bp, NR * sizeof(uint32_t));
        _tile_loadd(7, bp + 16, NR * sizeof(uint32_t));
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, c, ld);
    _tile_stored(1, c + 16, ld);
    _tile_stored(2, c + 16 * ldc, ld);
    _tile_stored(3, c + 16 * ldc + 16, ld);
}

/* A constant object: GCC 12 drops the stores into a local configuration before
 * _tile_loadconfig (it does not see the builtin read them), and ldtilecfg faults on the zero
 * shapes. */
static const amx_config g_amx_cfg = {.palette = 1,
                                     .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
                                     .rows = {16, 16, 16, 16, 16, 16, 16, 16}};

AMX_TARGET static void amx_begin(void) { _tile_loadconfig(&g_amx_cfg); }

AMX_TARGET static void amx_end(void) { _tile_release(); }

/* Per-thread packing buffers, grown once (OpenMP threads persist), as fast_sgemm.c's. */
static _Thread_local uint32_t *g_amx_ap, *g_amx_bp;

static void amx_gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta,
                     float *c, int ldc) {
    if (!g_amx_ap) {
        g_amx_ap = fs_aligned_alloc((size_t)AMX_MC * KCP * sizeof(uint32_t));
        g_amx_bp = fs_aligned_alloc((size_t)(NC + NR) * KCP * sizeof(uint32_t));
    }
    uint32_t *ap = g_amx_ap, *bp = g_amx_bp;
    float tile[AMX_MR * NR] __attribute__((aligned(64)));
    amx_begin();
    for (int jc = 0; jc < n; jc += NC) {
        int nb = FS_MIN(NC, n - jc);
        for (int pc = 0; pc < k; pc += 2 * KCP) {
            int kb = FS_MIN(2 * KCP, k - pc), kq = (kb + 2 * AMX_Q - 1) / (2 * AMX_Q), acc = beta || pc > 0;
            pack_b(tb, b, ldb, jc, nb, pc, kb, kq * AMX_Q, bp);
            for (int ic = 0; ic < m; ic += AMX_MC) {
                int mb = FS_MIN(AMX_MC, m - ic);
                amx_pack_a(ta, a, lda, ic, mb, pc, kb, kq, ap);
                for (int jr = 0; jr < nb; jr += NR) {
                    const uint32_t *bpan = bp + (size_t)(jr / NR) * kq * AMX_Q * NR;
                    int cols = FS_MIN(NR, nb - jr);
                    for (int ir = 0; ir < mb; ir += AMX_MR) {
                        const uint32_t *apan = ap + (size_t)(ir / AMX_MR) * kq * AMX_MR * AMX_Q;
                        int rows = FS_MIN(AMX_MR, mb - ir);
                        float *cij = c + (size_t)(ic + ir) * ldc + jc + jr;
                        if (rows == AMX_MR && cols == NR) {
                            amx_micro(kq, apan, bpan, cij, (size_t)ldc, acc);
                            continue;
                        }
                        if (acc) /* (the rest of the tile: computed on, never read) */
                            for (int i = 0; i < rows; i++)
                                memcpy(tile + i * NR, cij + (size_t)i * ldc, (size_t)cols * sizeof(float));
                        amx_micro(kq, apan, bpan, tile, NR, acc);
                        for (int i = 0; i < rows; i++)
                            memcpy(cij + (size_t)i * ldc, tile + i * NR, (size_t)cols * sizeof(float));
                    }
                }
            }
        }
    }
    amx_end();
}
#else
void fs_bf16_gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta,
                  float *c, int ldc) {
    (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)beta, (void)c,
        (void)ldc;
    fs_die(1, "fs_bf16_gemm: this build has no AVX512_BF16 GEMM (fs_cpu_bf16_dot_on() is 0 here)");
}
#endif
