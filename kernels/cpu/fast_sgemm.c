/* fast_sgemm.c — the fast CPU path's own fp32 GEMM on AVX-512F (vfmadd231ps), the choice
 * between it and OpenBLAS sgemm (FACESWARM_CPU_GEMM), and the im2col-fused A operand of the
 * conv forward: C = (beta ? C : 0) + op(A) · op(B), row-major, single-threaded.
 *
 * Goto/BLIS blocking: B in blocks of KC x NC, packed into NR-column micro-panels (row p of a
 * panel = B[p][j0 .. j0 + NR), 64-byte aligned); A in blocks of MC = 4 MR rows, packed
 * row-major (row i at ap + i * KC: a plain copy of A's rows, so that the im2col packer of the
 * conv copies runs of x), each MR x KC micro-panel kept in L1 while the micro-kernel sweeps
 * the B panels of the block (in L2); the next B block's source lines are prefetched meanwhile. The MR x NR micro-kernel holds C in 24 zmm accumulators, loads two B vectors per k
 * and broadcasts each A value into its FMA. Packing zero-pads A's rows to MR and B's columns
 * to NR, so the micro-kernel always runs whole; edge tiles go through a local tile.
 *
 * Sum order: each element of C is one FMA chain in k order, started from C (beta 1, and the
 * KC blocks after the first) or from 0: the bits depend on the values only, not on the
 * blocking or on where the element lies in a tile. */
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
#else
#define FS_HAVE_OWN_SGEMM 0
#endif

enum { MR = 12, NR = 32, KC = FS_SGEMM_KC, MC = 4 * MR, NC = 512 };

/* ---------------------------------------------------------------- the choice */
static int g_own = -1; /* -1 not yet read from the environment */
static char g_why[96];

int fs_cpu_has_avx512f(void) {
#if FS_HAVE_OWN_SGEMM
    static int known = -1;
    if (known < 0) {
        unsigned a, b, c, d;
        known = 0;
        /* OSXSAVE (leaf 1 ecx bit 27), the OS saving zmm state (XCR0 bits 1, 2, 5-7), AVX-512F
         * (leaf 7 ebx bit 16) */
        if (__get_cpuid_count(1, 0, &a, &b, &c, &d) && (c & (1u << 27))) {
            unsigned lo, hi;
            __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            (void)hi;
            if ((lo & 0xE6u) == 0xE6u && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 16))) known = 1;
        }
    }
    return known;
#else
    return 0;
#endif
}

/* The CPU vendor string of cpuid leaf 0 ("GenuineIntel", "AuthenticAMD"), "" elsewhere. */
static const char *cpu_vendor(void) {
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

/* auto: own where it was measured faster than OpenBLAS (docs/cpu.md): CPUs with AVX-512F
 * from Intel (a Sapphire Rapids class host) and AMD (a Zen 4 host; Zen 4 and Zen 5 are the
 * AMD cores with AVX-512F). Every other CPU (no AVX-512F, other vendors) stays on OpenBLAS:
 * nothing measured there. The rule reads cpuid only: the same machine always takes the
 * same GEMM, so a resumed run sums as the first one did. */
static int auto_choice(void) {
    return fs_cpu_has_avx512f() && (!strcmp(cpu_vendor(), "GenuineIntel") || !strcmp(cpu_vendor(), "AuthenticAMD"));
}

int fs_cpu_set_gemm(const char *name) {
    if (!name || !strcasecmp(name, "auto")) {
        g_own = auto_choice();
        snprintf(g_why, sizeof g_why, "auto, %s%s", cpu_vendor()[0] ? cpu_vendor() : "no cpuid",
                 fs_cpu_has_avx512f() ? " + AVX-512F" : ", no AVX-512F");
        return 0;
    }
    if (!strcasecmp(name, "openblas")) {
        g_own = 0;
        snprintf(g_why, sizeof g_why, "chosen");
        return 0;
    }
    if (!strcasecmp(name, "own") && fs_cpu_has_avx512f()) {
        g_own = 1;
        snprintf(g_why, sizeof g_why, "chosen");
        return 0;
    }
    return -1;
}

int fs_cpu_gemm_own(void) {
    if (g_own < 0) {
        const char *env = getenv("FACESWARM_CPU_GEMM");
        if (fs_cpu_set_gemm(env && env[0] ? env : "auto") != 0)
            fs_die(2,
                   "FACESWARM_CPU_GEMM=%s: %s\n  hint: auto (the default), openblas, or own (needs AVX-512F; "
                   "this CPU %s it)",
                   env, !strcasecmp(env, "own") ? "this CPU has no AVX-512F" : "unknown GEMM",
                   fs_cpu_has_avx512f() ? "has" : "lacks");
        if (env && env[0] && strcasecmp(env, "auto")) snprintf(g_why, sizeof g_why, "FACESWARM_CPU_GEMM=%s", env);
    }
    return g_own;
}

const char *fs_cpu_gemm_name(void) { return fs_cpu_gemm_own() ? "own" : "openblas"; }

const char *fs_cpu_gemm_desc(void) {
    static char s[160];
    snprintf(s, sizeof s, "%s (%s)", fs_cpu_gemm_name(), (fs_cpu_gemm_own(), g_why));
    return s;
}

const char *fs_cpu_kernel_set(void) {
    static char s[96];
    if (fs_cpu_gemm_own()) snprintf(s, sizeof s, "own-avx512-%dx%d", MR, NR);
    else snprintf(s, sizeof s, "%s", fs_cpu_blas_core());
    return s;
}

#if FS_HAVE_OWN_SGEMM
/* ---------------------------------------------------------------- packing */
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

/* dst[j * dld + i] = src[i * sld + j] for i < ni, j < nj (both <= 16); the 16 - ni missing
 * columns of each written row are zero. */
SGEMM_TARGET static inline void transpose_block(const float *src, size_t sld, int ni, int nj, float *dst, size_t dld) {
    __m512 r[16];
    __mmask16 mj = mask_of(nj);
    for (int i = 0; i < 16; i++) r[i] = i < ni ? _mm512_maskz_loadu_ps(mj, src + (size_t)i * sld) : _mm512_setzero_ps();
    transpose16(r);
    for (int j = 0; j < nj; j++) _mm512_storeu_ps(dst + (size_t)j * dld, r[j]);
}

/* The same from 16 separate source rows (a NULL row reads as zeros). */
SGEMM_TARGET void fs_sgemm_transpose16(const float *const rows[16], int nj, float *dst, size_t dld) {
    __m512 r[16];
    __mmask16 mj = mask_of(nj);
    for (int i = 0; i < 16; i++) r[i] = rows[i] ? _mm512_maskz_loadu_ps(mj, rows[i]) : _mm512_setzero_ps();
    transpose16(r);
    for (int j = 0; j < nj; j++) _mm512_storeu_ps(dst + (size_t)j * dld, r[j]);
}

/* ap[i * KC + p] = op(A)[i0 + i][k0 + p] for i < rows, p < kb. */
SGEMM_TARGET static void pack_a_mat(const void *ctx, int i0, int rows, int k0, int kb, float *ap) {
    const fs_sgemm_mat *a = ctx;
    if (!a->trans) {
        for (int i = 0; i < rows; i++) memcpy(ap + (size_t)i * KC, a->p + (size_t)(i0 + i) * a->ld + k0, kb * 4u);
        return;
    }
    /* A stored k x m: 16 x 16 blocks of (p, i) transposed in registers, straight into the
     * panels (a block's columns past kb land in the row's padding, KC being a multiple of 16);
     * MC = 4 panels at once, so that each row of A is read in whole cache lines */
    for (int p = 0; p < kb; p += 16)
        for (int i = 0; i < rows; i += 16)
            transpose_block(a->p + (size_t)(k0 + p) * a->ld + i0 + i, (size_t)a->ld, FS_MIN(16, kb - p),
                            FS_MIN(16, rows - i), ap + (size_t)i * KC + p, KC);
}

/* bp: the NR-column panels of op(B)[k0, k0 + kb) x [j0, j0 + nb), each kb x NR, the columns
 * past nb zero. */
SGEMM_TARGET static void pack_b(const fs_sgemm_mat *b, int j0, int nb, int k0, int kb, float *bp) {
    for (int jb = 0; jb < nb; jb += NR, bp += (size_t)kb * NR) {
        int cols = FS_MIN(NR, nb - jb);
        if (!b->trans) {
            __mmask16 m0 = mask_of(cols), m1 = mask_of(cols - 16);
            for (int p = 0; p < kb; p++) {
                const float *r = b->p + (size_t)(k0 + p) * b->ld + j0 + jb;
                _mm512_store_ps(bp + (size_t)p * NR, _mm512_maskz_loadu_ps(m0, r));
                _mm512_store_ps(bp + (size_t)p * NR + 16, _mm512_maskz_loadu_ps(m1, r + 16));
            }
            continue;
        }
        /* B stored n x k: 16 x 16 blocks of (j, p) transposed (in groups of rows: each
         * block within one group, or element by element where a block crosses groups) */
        for (int jj = 0; jj < NR; jj += 16)
            for (int p = 0; p < kb; p += 16) {
                int r = k0 + p, nr = FS_MIN(16, kb - p), nc = FS_MAX(0, FS_MIN(16, cols - jj));
                const float *col0 = b->p + (size_t)(j0 + jb + jj) * b->ld;
                float *dst = bp + (size_t)p * NR + jj;
                if (!b->grp) {
                    transpose_block(col0 + r, (size_t)b->ld, nc, nr, dst, NR);
                } else if (r % b->grp + nr <= b->grp) {
                    transpose_block(col0 + (r / b->grp) * b->grp_step + r % b->grp, (size_t)b->ld, nc, nr, dst, NR);
                } else {
                    for (int u = 0; u < nr; u++)
                        for (int j = 0; j < 16; j++)
                            dst[(size_t)u * NR + j] =
                                j < nc
                                    ? col0[((r + u) / b->grp) * b->grp_step + (ptrdiff_t)j * b->ld + (r + u) % b->grp]
                                    : 0.0f;
                }
            }
    }
}

/* ---------------------------------------------------------------- micro-kernel */
/* c[MR x NR] (ldc) = (acc ? c : 0) + the kb-step product of panels ap (MR x KC) and bp. */
SGEMM_TARGET static void micro(int kb, const float *ap, const float *bp, float *c, size_t ldc, int acc) {
    __m512 s[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        s[i][0] = acc ? _mm512_loadu_ps(c + (size_t)i * ldc) : _mm512_setzero_ps();
        s[i][1] = acc ? _mm512_loadu_ps(c + (size_t)i * ldc + 16) : _mm512_setzero_ps();
    }
    for (int p = 0; p < kb; p++, ap++, bp += NR) {
        __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
        _mm_prefetch((const char *)(bp + 8 * NR), _MM_HINT_T0);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(ap[i * KC]);
            s[i][0] = _mm512_fmadd_ps(ai, b0, s[i][0]);
            s[i][1] = _mm512_fmadd_ps(ai, b1, s[i][1]);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        _mm512_storeu_ps(c + (size_t)i * ldc, s[i][0]);
        _mm512_storeu_ps(c + (size_t)i * ldc + 16, s[i][1]);
    }
}

/* One tile of rows x cols <= MR x NR at cij through a local tile. */
static void micro_edge(int kb, const float *ap, const float *bp, float *cij, size_t ldc, int rows, int cols, int acc) {
    float tile[MR * NR] __attribute__((aligned(64)));
    if (acc)
        for (int i = 0; i < rows; i++) memcpy(tile + i * NR, cij + (size_t)i * ldc, (size_t)cols * sizeof(float));
    micro(kb, ap, bp, tile, NR, acc);
    for (int i = 0; i < rows; i++) memcpy(cij + (size_t)i * ldc, tile + i * NR, (size_t)cols * sizeof(float));
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

static prefetcher prefetch_plan(const fs_sgemm_mat *b, int j0, int nb, int k0, int kb, int m, int n) {
    prefetcher pf = {0};
    if (b->trans || kb <= 0) return pf;
    int calls = (m + MR - 1) / MR * ((FS_MIN(NC, n - j0) + NR - 1) / NR);
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
SGEMM_TARGET static inline void prefetch_tile(const float *c, int ldc, int any) {
    if (any)
        for (int i = 0; i < MR; i++)
            _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0),
                _mm_prefetch((const char *)(c + (size_t)i * ldc + 16), _MM_HINT_T0);
}

/* Per-thread packing buffers, grown once (OpenMP threads persist: no allocation per call). */
static _Thread_local float *g_ap, *g_bp;

size_t fs_sgemm_pack_bytes(void) { return ((size_t)MC * KC + (size_t)(NC + NR) * KC) * sizeof(float); }

void fs_sgemm_ex(fs_sgemm_pack_a pack_a, const void *actx, const fs_sgemm_mat *b, int m, int n, int k, int beta,
                 float *c, int ldc) {
    if (fs_gemm_empty(m, n, k, beta, c, ldc)) return;
    if (!g_bp) {
        g_ap = fs_aligned_alloc((size_t)MC * KC * sizeof(float));
        g_bp = fs_aligned_alloc((size_t)(NC + NR) * KC * sizeof(float));
    }
    float *ap = g_ap, *bp = g_bp;
    for (int jc = 0; jc < n; jc += NC) {
        int nb = FS_MIN(NC, n - jc);
        for (int pc = 0; pc < k; pc += KC) {
            int kb = FS_MIN(KC, k - pc), acc = beta || pc > 0;
            pack_b(b, jc, nb, pc, kb, bp);
            prefetcher pf = prefetch_plan(b, jc, nb, pc + KC, FS_MIN(KC, k - pc - KC), m, n);
            for (int ic = 0; ic < m; ic += MC) {
                int mb = FS_MIN(MC, m - ic), mpad = (mb + MR - 1) / MR * MR;
                pack_a(actx, ic, mb, pc, kb, ap);
                for (int i = mb; i < mpad; i++) memset(ap + (size_t)i * KC, 0, (size_t)kb * sizeof(float));
                for (int ir = 0; ir < mb; ir += MR) {
                    int rows = FS_MIN(MR, mb - ir);
                    const float *apan = ap + (size_t)ir * KC;
                    for (int jr = 0; jr < nb; jr += NR) {
                        const float *bpan = bp + (size_t)(jr / NR) * kb * NR;
                        int cols = FS_MIN(NR, nb - jr);
                        float *cij = c + (size_t)(ic + ir) * ldc + jc + jr;
                        prefetch_some(&pf);
                        prefetch_tile(jr + NR < nb ? cij + NR : c + (size_t)(ic + ir + MR) * ldc + jc, ldc,
                                      ic + ir + MR < m || jr + NR < nb);
                        if (rows == MR && cols == NR) micro(kb, apan, bpan, cij, (size_t)ldc, acc);
                        else micro_edge(kb, apan, bpan, cij, (size_t)ldc, rows, cols, acc);
                    }
                }
            }
        }
    }
}

void fs_sgemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta, float *c,
              int ldc) {
    if (!fs_cpu_has_avx512f()) fs_die(1, "fs_sgemm: this CPU has no AVX-512F (fs_cpu_gemm_own() is 0 here)");
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
    fs_die(1, "fs_sgemm: this build has no AVX-512F GEMM (fs_cpu_gemm_own() is 0 here)");
}
void fs_sgemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta, float *c,
              int ldc) {
    (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)beta, (void)c,
        (void)ldc;
    fs_die(1, "fs_sgemm: this build has no AVX-512F GEMM (fs_cpu_gemm_own() is 0 here)");
}
#endif
