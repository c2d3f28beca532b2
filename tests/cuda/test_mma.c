/* test_mma.c — cuda_mma MODE: the tensor-core primitives of kernels/cuda/mma.h under the CPU
 * emulator, with the test kernels of mma_kernels.cu (written as a bf16 GEMM kernel would use
 * them). Expected values are computed here by plain loops from the PTX ISA's layouts (mma.h
 * gives them).
 *   all          (1) ldmatrix x1/x2/x4 and .trans: every lane's registers against the layout;
 *                (2) one m16n8k16 mma per warp, fragments loaded element by element from
 *                global memory, against the double-precision product of the bf16 inputs;
 *                (3) the same with ldmatrix: A by x4, B by x2 from an [n][k] tile and by
 *                x2_trans from a [k][n] tile;
 *                (4) cp.async 4/8/16 bytes with src_bytes < size (zero fill), the commit
 *                groups completed in order by wait_group n, nothing by __syncthreads;
 *                (5) a 3-stage cp.async pipeline (wait_group 1) over the K loop of a 64x64
 *                product with K 256 (59 rows, 61 columns and 250 k valid: the tails are
 *                zero-filled copies, the padding holds NaNs that must never be read), with
 *                its stages in static __shared__ arrays and in dynamic shared memory;
 *                and the planted defects the same checks must catch: an A fragment with
 *                rows g and g+8 swapped, the pipeline without its waits (stale tiles);
 *                each must be reported as a mismatch. Exit 0 when all of that holds.
 *   misaligned   an ldmatrix row address not 16-byte aligned: the emulator must stop the
 *                program, naming the kernel (ctest checks the message)
 *   pending      a thread ending its block with a cp.async not waited for: likewise
 *   diverged     half of a warp calling ldmatrix.x4, the other half ldmatrix.x4.trans: likewise
 *   dyn_overflow the pipeline launched with its dynamic shared memory one B stage short: the
 *                cp.async past its end is reported, likewise
 * Exactness: the emulator sums each mma in double in k order from c and rounds once to fp32
 * (mma.h), so the checks here compute the same and compare bit for bit; they also compare with
 * the plain double product within 2^-22 relative (one fp32 rounding per mma in the chain). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/emu.h"
#include "kernels/cuda/mma.h"
#include "kernels/ops.h"
#include "tests/cuda/mma_kernels.cu"

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static double urand(void) { /* splitmix64 -> [-1, 1) */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    return (double)(z >> 11) / 4503599627370496.0 - 1.0;
}
/* Random bf16 values of varied magnitude (exponents -8 .. 7) and sign. */
static fs_bf16 rand_bf16(void) {
    double v = urand() * ldexp(1.0, (int)floor((urand() + 1.0) * 8.0) - 8);
    return fs_bf16_from_f32((float)v);
}
static float bf(fs_bf16 h) { return fs_bf16_to_f32(h); }

static const fs_backend *be;
static int fails;
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            if (fails < 20) printf(__VA_ARGS__), printf("\n");                                                         \
            fails++;                                                                                                   \
        }                                                                                                              \
    } while (0)

/* ---------------------------------------------------------------- (1) ldmatrix layouts */
static void test_ldmatrix(void) {
    fs_bf16 h[32 * 8];
    for (int i = 0; i < 32 * 8; i++) h[i] = (fs_bf16)(0x3000 + i); /* distinct values */
    fs_bf16 *in = be->alloc(sizeof h);
    uint32_t *out = be->alloc(sizeof(uint32_t) * LDM_VARIANTS * 128), got[LDM_VARIANTS * 128];
    be->upload(in, h, sizeof h);
    FS_LAUNCH(ldmatrix_kernel, FS_DIM3(1, 1, 1), FS_DIM3(32, 1, 1), in, out);
    be->download(got, out, sizeof got);
    static const int counts[LDM_VARIANTS] = {1, 2, 4, 1, 2, 4};
    for (int v = 0; v < LDM_VARIANTS; v++)
        for (int lane = 0; lane < 32; lane++)
            for (int j = 0; j < counts[v]; j++) {
                /* matrix j = rows 8j..8j+7 of the tile; M[r][c] = h[(8j + r) * 8 + c] */
                int r = lane / 4, c = 2 * (lane % 4);
                fs_bf16 lo, hi;
                if (v < 3) lo = h[(8 * j + r) * 8 + c], hi = h[(8 * j + r) * 8 + c + 1];
                else lo = h[(8 * j + c) * 8 + r], hi = h[(8 * j + c + 1) * 8 + r];
                uint32_t want = fsk_pack_bf16x2(lo, hi);
                CHECK(got[v * 128 + lane * 4 + j] == want, "ldmatrix x%d%s lane %d r[%d]: got %08x, want %08x",
                      counts[v], v < 3 ? "" : ".trans", lane, j, got[v * 128 + lane * 4 + j], want);
            }
    be->free(in), be->free(out);
}

/* ---------------------------------------------------------------- (2), (3) one mma per warp */
/* Mismatches of D against c + A B (the emulator's order, bit for bit, and the double product
 * within one rounding). */
static int check_mma(const fs_bf16 *A, const fs_bf16 *B, const float *C, const float *D, const char *what, int quiet) {
    int bad = 0;
    for (int w = 0; w < MMA_WARPS; w++)
        for (int m = 0; m < 16; m++)
            for (int n = 0; n < 8; n++) {
                double acc = C[w * 128 + m * 8 + n], mag = fabs(acc);
                for (int k = 0; k < 16; k++) {
                    double p = (double)bf(A[w * 256 + m * 16 + k]) * bf(B[w * 128 + k * 8 + n]);
                    acc += p, mag += fabs(p);
                }
                float got = D[w * 128 + m * 8 + n];
                int ok = got == (float)acc && fabs(got - acc) <= 0x1p-24 * mag + 1e-30;
                if (!ok) {
                    bad++;
                    if (!quiet && bad <= 5)
                        printf("%s: warp %d D[%d][%d] = %.9g, want %.9g\n", what, w, m, n, got, (float)acc);
                }
            }
    return bad;
}

static void test_mma(void) {
    enum { NA = MMA_WARPS * 256, NB = MMA_WARPS * 128 };
    fs_bf16 *hA = malloc(sizeof(fs_bf16) * NA), *hB = malloc(sizeof(fs_bf16) * NB), *hBt = malloc(sizeof(fs_bf16) * NB);
    float *hC = malloc(sizeof(float) * NB), *hD = malloc(sizeof(float) * NB);
    for (int i = 0; i < NA; i++) hA[i] = rand_bf16();
    for (int i = 0; i < NB; i++) hB[i] = rand_bf16(), hC[i] = (float)urand();
    for (int w = 0; w < MMA_WARPS; w++)
        for (int k = 0; k < 16; k++)
            for (int n = 0; n < 8; n++) hBt[w * 128 + n * 16 + k] = hB[w * 128 + k * 8 + n];
    fs_bf16 *A = be->alloc(sizeof(fs_bf16) * NA), *B = be->alloc(sizeof(fs_bf16) * NB),
            *Bt = be->alloc(sizeof(fs_bf16) * NB);
    float *C = be->alloc(sizeof(float) * NB), *D = be->alloc(sizeof(float) * NB);
    be->upload(A, hA, sizeof(fs_bf16) * NA), be->upload(B, hB, sizeof(fs_bf16) * NB);
    be->upload(Bt, hBt, sizeof(fs_bf16) * NB), be->upload(C, hC, sizeof(float) * NB);
    static const char *names[3] = {"mma (fragments from global)", "mma (ldmatrix x4, x2 of [n][k])",
                                   "mma (ldmatrix x4, x2.trans of [k][n])"};
    for (int mode = 0; mode < 3; mode++) {
        memset(hD, 0, sizeof(float) * NB), be->upload(D, hD, sizeof(float) * NB);
        FS_LAUNCH(mma_kernel, FS_DIM3(MMA_BLOCKS, 1, 1), FS_DIM3(32 * MMA_WARPS_PER_BLOCK, 1, 1), A, B, Bt, C, D, mode,
                  0);
        be->download(hD, D, sizeof(float) * NB);
        int bad = check_mma(hA, hB, hC, hD, names[mode], 0);
        CHECK(bad == 0, "%s: %d of %d outputs wrong", names[mode], bad, NB);
        if (!bad) printf("%s: %d outputs exact\n", names[mode], NB);
    }
    /* planted: rows g and g+8 of A swapped in the fragment */
    FS_LAUNCH(mma_kernel, FS_DIM3(MMA_BLOCKS, 1, 1), FS_DIM3(32 * MMA_WARPS_PER_BLOCK, 1, 1), A, B, Bt, C, D, 0, 1);
    be->download(hD, D, sizeof(float) * NB);
    int bad = check_mma(hA, hB, hC, hD, "planted", 1);
    CHECK(bad > NB / 2, "planted wrong A layout (rows g, g+8 swapped): only %d of %d outputs reported wrong", bad, NB);
    printf("planted wrong A layout: %d of %d outputs reported wrong (detected)\n", bad, NB);
    be->free(A), be->free(B), be->free(Bt), be->free(C), be->free(D);
    free(hA), free(hB), free(hBt), free(hC), free(hD);
}

/* ---------------------------------------------------------------- (4) cp.async semantics */
static void test_cp_async(void) {
    float hs[256], got[6 * 256];
    for (int i = 0; i < 256; i++) hs[i] = (float)(i + 1);
    float *src = be->alloc(sizeof hs), *snap = be->alloc(sizeof got);
    be->upload(src, hs, sizeof hs);
    FS_LAUNCH(cp_async_kernel, FS_DIM3(1, 1, 1), FS_DIM3(32, 1, 1), src, snap);
    be->download(got, snap, sizeof got);
    for (int t = 0; t < 32; t++) {
        float fin[8]; /* the tile after all three groups */
        int n0 = (16 - 4 * (t % 5)) / 4, n1 = (8 - 4 * (t % 3 == 0)) / 4;
        for (int i = 0; i < 4; i++) fin[i] = i < n0 ? hs[t * 8 + i] : 0.0f;
        for (int i = 0; i < 2; i++) fin[4 + i] = i < n1 ? hs[t * 8 + 4 + i] : 0.0f;
        fin[6] = t % 2 ? hs[t * 8 + 6] : 0.0f, fin[7] = 0.0f;
        for (int i = 0; i < 8; i++) {
            float w0 = -1.0f, w2 = i < 4 ? fin[i] : -1.0f, w3 = i < 6 ? fin[i] : -1.0f;
            CHECK(got[(0 * 32 + t) * 8 + i] == w0,
                  "cp.async: thread %d [%d] before any wait = %g, want -1 (copied early)", t, i,
                  got[(0 * 32 + t) * 8 + i]);
            CHECK(got[(1 * 32 + t) * 8 + i] == w0, "cp.async: thread %d [%d] after __syncthreads = %g, want -1", t, i,
                  got[(1 * 32 + t) * 8 + i]);
            CHECK(got[(2 * 32 + t) * 8 + i] == w2, "cp.async: thread %d [%d] after wait_group 2 = %g, want %g", t, i,
                  got[(2 * 32 + t) * 8 + i], w2);
            CHECK(got[(3 * 32 + t) * 8 + i] == w3, "cp.async: thread %d [%d] after wait_group 1 = %g, want %g", t, i,
                  got[(3 * 32 + t) * 8 + i], w3);
            CHECK(got[(4 * 32 + t) * 8 + i] == fin[i], "cp.async: thread %d [%d] after wait_group 0 = %g, want %g", t,
                  i, got[(4 * 32 + t) * 8 + i], fin[i]);
        }
        CHECK(got[(5 * 32 + t) * 8] == hs[t * 8 + 7], "cp.async: thread %d: wait_all left an uncommitted copy undone",
              t);
    }
    be->free(src), be->free(snap);
}

/* ---------------------------------------------------------------- (5) the 3-stage pipeline */
/* Mismatches of C against the emulator's order (per k16 step: double sum from the fp32
 * accumulator, rounded once: bit for bit) and the double product (2^-22 relative). */
static int check_pipeline(const fs_bf16 *hA, const fs_bf16 *hB, const float *got, int quiet) {
    int bad = 0;
    for (int m = 0; m < 64; m++)
        for (int n = 0; n < 64; n++) {
            float acc = 0;
            double exact = 0, mag = 0;
            for (int k0 = 0; k0 < PKP; k0 += 16) {
                double s = acc;
                for (int k = k0; k < k0 + 16; k++) {
                    double p = m < PM && n < PN && k < PK ? (double)bf(hA[m * PKP + k]) * bf(hB[k * 64 + n]) : 0.0;
                    s += p, exact += p, mag += fabs(p);
                }
                acc = (float)s;
            }
            float c = got[m * 64 + n];
            if (!(c == acc && fabs(c - exact) <= 0x1p-22 * mag + 1e-30)) {
                bad++;
                if (!quiet && bad <= 5)
                    printf("pipeline: C[%d][%d] = %.9g, want %.9g (double %.12g)\n", m, n, c, acc, exact);
            }
        }
    return bad;
}

static void test_pipeline(void) {
    fs_bf16 *hA = malloc(sizeof(fs_bf16) * PM * PKP), *hB = malloc(sizeof(fs_bf16) * PK * 64);
    float *hC = malloc(sizeof(float) * 64 * 64);
    for (int m = 0; m < PM; m++)
        for (int k = 0; k < PKP; k++) hA[m * PKP + k] = k < PK ? rand_bf16() : 0x7FC0; /* NaN padding */
    for (int k = 0; k < PK; k++)
        for (int n = 0; n < 64; n++) hB[k * 64 + n] = n < PN ? rand_bf16() : 0x7FC0;
    fs_bf16 *A = be->alloc(sizeof(fs_bf16) * PM * PKP), *B = be->alloc(sizeof(fs_bf16) * PK * 64);
    float *C = be->alloc(sizeof(float) * 64 * 64);
    be->upload(A, hA, sizeof(fs_bf16) * PM * PKP), be->upload(B, hB, sizeof(fs_bf16) * PK * 64);
    FS_LAUNCH(pipeline_kernel, FS_DIM3(1, 1, 1), FS_DIM3(128, 1, 1), A, B, C, 0);
    be->download(hC, C, sizeof(float) * 64 * 64);
    int bad = check_pipeline(hA, hB, hC, 0);
    CHECK(bad == 0, "pipeline (3 stages, wait_group 1): %d of 4096 outputs wrong", bad);
    if (!bad) printf("pipeline 64x64x256 (3 cp.async stages, wait_group 1, zero-filled tails): 4096 outputs exact\n");
    /* planted: no waits in the K loop (stale or not yet copied tiles are read) */
    FS_LAUNCH(pipeline_kernel, FS_DIM3(1, 1, 1), FS_DIM3(128, 1, 1), A, B, C, 1);
    be->download(hC, C, sizeof(float) * 64 * 64);
    bad = check_pipeline(hA, hB, hC, 1);
    CHECK(bad > 4096 / 2, "planted pipeline without cp.async waits: only %d of 4096 outputs reported wrong", bad);
    printf("planted pipeline without cp.async waits: %d of 4096 outputs reported wrong (detected)\n", bad);
    /* the same with its stages in dynamic shared memory (which starts as NaNs) */
    memset(hC, 0, sizeof(float) * 64 * 64), be->upload(C, hC, sizeof(float) * 64 * 64);
    launch_pipeline_dyn(A, B, C, PIPE_SMEM_BYTES);
    be->download(hC, C, sizeof(float) * 64 * 64);
    bad = check_pipeline(hA, hB, hC, 0);
    CHECK(bad == 0, "pipeline in dynamic shared memory (%zu bytes): %d of 4096 outputs wrong", PIPE_SMEM_BYTES, bad);
    if (!bad)
        printf("pipeline with its stages in %zu bytes of dynamic shared memory: 4096 outputs exact\n", PIPE_SMEM_BYTES);
    be->free(A), be->free(B), be->free(C);
    free(hA), free(hB), free(hC);
}

/* A planted defect the emulator must stop the program for (ctest checks its message): returns
 * 1 when the launch came back (not reported), -1 for an unknown mode. */
static int planted_error(const char *mode) {
    uint32_t *out = be->alloc(sizeof(uint32_t) * 32);
    if (!strcmp(mode, "misaligned")) {
        FS_LAUNCH(misaligned_kernel, FS_DIM3(1, 1, 1), FS_DIM3(32, 1, 1), out);
    } else if (!strcmp(mode, "diverged")) {
        FS_LAUNCH(diverged_kernel, FS_DIM3(1, 1, 1), FS_DIM3(32, 1, 1), out);
    } else if (!strcmp(mode, "pending")) {
        float h[128];
        for (int i = 0; i < 128; i++) h[i] = (float)i;
        float *src = be->alloc(sizeof h);
        be->upload(src, h, sizeof h);
        FS_LAUNCH(pending_kernel, FS_DIM3(1, 1, 1), FS_DIM3(32, 1, 1), src, (float *)out);
    } else if (!strcmp(mode, "dyn_overflow")) { /* dynamic shared memory one B stage short */
        fs_bf16 *A = be->alloc(sizeof(fs_bf16) * PM * PKP), *B = be->alloc(sizeof(fs_bf16) * PK * 64);
        float *C = be->alloc(sizeof(float) * 64 * 64);
        launch_pipeline_dyn(A, B, C, PIPE_SMEM_BYTES - sizeof(pipe_b_tile));
    } else {
        return -1;
    }
    printf("cuda_mma %s: the planted defect was NOT reported\n", mode);
    return 1;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "all";
    be = fs_backend_cuda_emulated();
    if (!be) {
        fprintf(stderr, "cuda_mma: no emulated backend in this build\n");
        return 1;
    }
    if (strcmp(mode, "all")) {
        int rc = planted_error(mode);
        if (rc >= 0) return rc;
        fprintf(stderr, "usage: cuda_mma [all|misaligned|pending|diverged|dyn_overflow]\n");
        return 2;
    }
    test_ldmatrix();
    if (!fails) printf("ldmatrix x1/x2/x4 (.trans): every lane's registers match the PTX layout\n");
    test_mma();
    int before = fails;
    test_cp_async();
    if (fails == before) printf("cp.async: deferred, zero-filled, completed group by group in order\n");
    test_pipeline();
    printf("cuda_mma: %s\n", fails ? "FAILED" : "all checks passed");
    return fails != 0;
}
