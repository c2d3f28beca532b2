/* mma_kernels.cu — the test kernels of cuda_mma (tests/cuda/test_mma.c), written as a bf16
 * GEMM kernel would use kernels/cuda/mma.h. test_mma.c includes this file (gcc, the emulator);
 * with CUDA, nvcc also compiles it (compile only, tests/cuda.cmake) so that every primitive of
 * mma.h goes through ptxas for FACESWARM_CUDA_ARCHS with warnings as errors. Test code only. */
#ifndef FACESWARM_TEST_MMA_KERNELS
#define FACESWARM_TEST_MMA_KERNELS

#include <string.h>

#include "kernels/cuda/emu.h"
#include "kernels/cuda/fsk.h"
#include "kernels/cuda/mma.h"

/* ---------------------------------------------------------------- (1) ldmatrix layouts */
/* tile: 32 rows of 8 bf16 (16 bytes), row r = lane r's address; every variant's registers
 * of every lane go to out[variant][lane][4] (x1 1 register, x2 2, x4 4). */
enum { LDM_VARIANTS = 6 };
__global__ void ldmatrix_kernel(const fs_bf16 *in, uint32_t *out) {
    __shared__ __align__(16) fs_bf16 tile[32 * 8];
    int lane = threadIdx.x;
    for (int i = 0; i < 8; i++) tile[lane * 8 + i] = in[lane * 8 + i];
    __syncthreads();
    uint32_t r[4] = {0, 0, 0, 0};
    const fs_bf16 *row = &tile[lane * 8];
    uint32_t *o = out + lane * 4;
    fsk_ldmatrix_x1(r, row), memcpy(o + 0 * 128, r, 4);
    fsk_ldmatrix_x2(r, row), memcpy(o + 1 * 128, r, 8);
    fsk_ldmatrix_x4(r, row), memcpy(o + 2 * 128, r, 16);
    fsk_ldmatrix_x1_trans(r, row), memcpy(o + 3 * 128, r, 4);
    fsk_ldmatrix_x2_trans(r, row), memcpy(o + 4 * 128, r, 8);
    fsk_ldmatrix_x4_trans(r, row), memcpy(o + 5 * 128, r, 16);
}

/* ---------------------------------------------------------------- (2), (3) one mma per warp */
/* Per warp w (of blockDim.x / 32, over the grid): A_w 16x16 row-major, B_w 16x8 stored [k][n]
 * (bkn) and the same stored [n][k] (bnk), C_w and D_w 16x8 row-major. mode 0: fragments by
 * element from global memory; 1: A by x4, B by x2 from [n][k]; 2: A by x4, B by x2_trans from
 * [k][n]. wrong_rows: the planted defect (A rows g and g+8 swapped; mode 0 only). */
enum { MMA_WARPS_PER_BLOCK = 2, MMA_BLOCKS = 3, MMA_WARPS = MMA_WARPS_PER_BLOCK * MMA_BLOCKS };
__global__ void mma_kernel(const fs_bf16 *A, const fs_bf16 *bkn, const fs_bf16 *bnk, const float *C, float *D, int mode,
                           int wrong_rows) {
    __shared__ __align__(16) fs_bf16 as[MMA_WARPS_PER_BLOCK][16][16];
    __shared__ __align__(16) fs_bf16 bs_kn[MMA_WARPS_PER_BLOCK][16][8];
    __shared__ __align__(16) fs_bf16 bs_nk[MMA_WARPS_PER_BLOCK][8][16];
    int wl = threadIdx.x / 32, lane = threadIdx.x % 32, w = blockIdx.x * MMA_WARPS_PER_BLOCK + wl;
    int g = lane >> 2, t = lane & 3;
    const fs_bf16 *a = A + w * 256, *b = bkn + w * 128, *bt = bnk + w * 128;
    uint32_t af[4], bfr[2];
    if (mode == 0) {
        int r0 = wrong_rows ? g + 8 : g, r1 = wrong_rows ? g : g + 8;
        af[0] = fsk_pack_bf16x2(a[r0 * 16 + 2 * t], a[r0 * 16 + 2 * t + 1]);
        af[1] = fsk_pack_bf16x2(a[r1 * 16 + 2 * t], a[r1 * 16 + 2 * t + 1]);
        af[2] = fsk_pack_bf16x2(a[r0 * 16 + 2 * t + 8], a[r0 * 16 + 2 * t + 9]);
        af[3] = fsk_pack_bf16x2(a[r1 * 16 + 2 * t + 8], a[r1 * 16 + 2 * t + 9]);
        bfr[0] = fsk_pack_bf16x2(b[(2 * t) * 8 + g], b[(2 * t + 1) * 8 + g]);
        bfr[1] = fsk_pack_bf16x2(b[(2 * t + 8) * 8 + g], b[(2 * t + 9) * 8 + g]);
    } else {
        for (int i = lane; i < 256; i += 32) as[wl][i / 16][i % 16] = a[i];
        for (int i = lane; i < 128; i += 32) bs_kn[wl][i / 8][i % 8] = b[i], bs_nk[wl][i / 16][i % 16] = bt[i];
        __syncthreads();
        fsk_ldmatrix_x4(af, &as[wl][lane % 16][8 * (lane / 16)]);
        if (mode == 1) fsk_ldmatrix_x2(bfr, &bs_nk[wl][lane % 8][8 * ((lane / 8) % 2)]);
        else fsk_ldmatrix_x2_trans(bfr, &bs_kn[wl][lane % 16][0]);
    }
    float c[4], d[4];
    for (int i = 0; i < 4; i++) c[i] = C[w * 128 + (g + 8 * (i / 2)) * 8 + 2 * t + i % 2];
    fsk_mma_16816(d, af, bfr, c);
    for (int i = 0; i < 4; i++) D[w * 128 + (g + 8 * (i / 2)) * 8 + 2 * t + i % 2] = d[i];
}

/* ---------------------------------------------------------------- (4) cp.async semantics */
/* Thread t (of 32) copies src[t * 8 ..] (8 floats) into its 32 bytes of the tile as three
 * groups: group 0 = 16 bytes (src_bytes 16 - 4 (t % 5)), group 1 = 8 bytes (src_bytes
 * 8 - 4 (t % 3)... bounded), group 2 = 4 bytes + 4 bytes with src_bytes 0 from a NULL address.
 * It records the tile (as seen by itself) before any wait, after __syncthreads, after
 * wait_group 2, 1, 0: snap[stage][t][8]. The tile starts as -1 everywhere. */
__global__ void cp_async_kernel(const float *src, float *snap) {
    __shared__ __align__(16) float tile[32][8];
    int t = threadIdx.x;
    for (int i = 0; i < 8; i++) tile[t][i] = -1.0f;
    __syncthreads();
    const float *s = src + t * 8;
    fsk_cp_async_16(&tile[t][0], s, 16 - 4 * (t % 5));
    fsk_cp_async_commit();
    fsk_cp_async_8(&tile[t][4], s + 4, 8 - 4 * (t % 3 == 0));
    fsk_cp_async_commit();
    fsk_cp_async_4(&tile[t][6], s + 6, 4 * (t % 2));
    fsk_cp_async_4(&tile[t][7], NULL, 0);
    fsk_cp_async_commit();
    for (int i = 0; i < 8; i++) snap[(0 * 32 + t) * 8 + i] = tile[t][i];
    __syncthreads();
    for (int i = 0; i < 8; i++) snap[(1 * 32 + t) * 8 + i] = tile[t][i];
    FSK_CP_ASYNC_WAIT(2);
    for (int i = 0; i < 8; i++) snap[(2 * 32 + t) * 8 + i] = tile[t][i];
    FSK_CP_ASYNC_WAIT(1);
    for (int i = 0; i < 8; i++) snap[(3 * 32 + t) * 8 + i] = tile[t][i];
    FSK_CP_ASYNC_WAIT(0);
    for (int i = 0; i < 8; i++) snap[(4 * 32 + t) * 8 + i] = tile[t][i];
    /* wait_all also completes copies of a group not yet committed */
    fsk_cp_async_4(&tile[t][0], s + 7, 4);
    fsk_cp_async_wait_all();
    snap[(5 * 32 + t) * 8] = tile[t][0];
}

/* ---------------------------------------------------------------- (5) the 3-stage pipeline */
/* C[64][64] = A[64][K] B[K][64] over K = 256 in k-tiles of 32, one block of 4 warps (each a
 * 32x32 quarter: 2 m16 x 4 n8 mmas per k16 step). Valid: rows m < PM, columns n < PN,
 * k < PK; A is [PM][256] (k >= PK padding), B is [PK][64] (n >= PN padding): the tails are
 * cp.async with src_bytes < 16 or 0 (then from an address past B's end, never read). */
enum { PM = 59, PN = 61, PK = 250, PKP = 256, BK = 32, STAGES = 3, KT = PKP / BK, AST = BK + 8, BST = 64 + 8 };

/* The stages' tiles: static __shared__ arrays (pipeline_kernel) or carved from dynamic shared
 * memory (pipeline_dyn_kernel, PIPE_SMEM_BYTES). */
typedef fs_bf16 pipe_a_tile[64][AST];
typedef fs_bf16 pipe_b_tile[BK][BST];
#define PIPE_SMEM_BYTES (STAGES * (sizeof(pipe_a_tile) + sizeof(pipe_b_tile)))

FSK_DEVICE void pipeline_body(pipe_a_tile *as, pipe_b_tile *bs, const fs_bf16 *A, const fs_bf16 *B, float *C,
                              int skip_wait) {
    int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, wm = warp / 2, wn = warp % 2;
    float acc[2][4][4];
    memset(acc, 0, sizeof acc);
    /* Stage loads: A 64 rows x 4 chunks of 8 k, B 32 rows x 8 chunks of 8 n; 2 + 2 per thread. */
#define LOAD_TILE(kt)                                                                                                  \
    do {                                                                                                               \
        int st_ = (kt) % STAGES, k0_ = (kt)*BK;                                                                        \
        for (int c_ = tid; c_ < 256; c_ += 128) {                                                                      \
            int m_ = c_ / 4, k_ = k0_ + 8 * (c_ % 4);                                                                  \
            int v_ = m_ < PM ? (PK - k_ >= 8 ? 8 : (PK - k_ > 0 ? PK - k_ : 0)) : 0;                                   \
            fsk_cp_async_16(&as[st_][m_][8 * (c_ % 4)], A + (long)m_ * PKP + k_, 2 * v_);                              \
            int kb_ = c_ / 8, n_ = 8 * (c_ % 8), kk_ = k0_ + kb_;                                                      \
            int u_ = kk_ < PK ? (PN - n_ >= 8 ? 8 : (PN - n_ > 0 ? PN - n_ : 0)) : 0;                                  \
            fsk_cp_async_16(&bs[st_][kb_][n_], B + (long)kk_ * 64 + n_, 2 * u_);                                       \
        }                                                                                                              \
    } while (0)
    LOAD_TILE(0);
    fsk_cp_async_commit();
    LOAD_TILE(1);
    fsk_cp_async_commit();
    for (int kt = 0; kt < KT; kt++) {
        if (!skip_wait) FSK_CP_ASYNC_WAIT(STAGES - 2); /* tile kt has landed (tile kt + 1 may not) */
        __syncthreads(); /* every thread's part of tile kt; everyone is done with tile kt - 1 */
        if (kt + 2 < KT) LOAD_TILE(kt + 2);
        fsk_cp_async_commit(); /* an empty group near the end keeps the count */
        int st = kt % STAGES;
        for (int kk = 0; kk < BK; kk += 16) {
            uint32_t af[2][4], bfr[4][2];
            for (int i = 0; i < 2; i++)
                fsk_ldmatrix_x4(af[i], &as[st][32 * wm + 16 * i + lane % 16][kk + 8 * (lane / 16)]);
            for (int j = 0; j < 2; j++) {
                uint32_t r[4];
                fsk_ldmatrix_x4_trans(r, &bs[st][kk + lane % 16][32 * wn + 16 * j + 8 * (lane / 16)]);
                bfr[2 * j][0] = r[0], bfr[2 * j][1] = r[1], bfr[2 * j + 1][0] = r[2], bfr[2 * j + 1][1] = r[3];
            }
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 4; j++) fsk_mma_16816(acc[i][j], af[i], bfr[j], acc[i][j]);
        }
    }
#undef LOAD_TILE
    if (skip_wait) { /* the planted defect reads stale tiles, but ends clean (and race-free) */
        __syncthreads();
        fsk_cp_async_wait_all();
    }
    int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int e = 0; e < 4; e++)
                C[(32 * wm + 16 * i + g + 8 * (e / 2)) * 64 + 32 * wn + 8 * j + 2 * t + e % 2] = acc[i][j][e];
}

__global__ void pipeline_kernel(const fs_bf16 *A, const fs_bf16 *B, float *C, int skip_wait) {
    __shared__ __align__(16) pipe_a_tile as[STAGES];
    __shared__ __align__(16) pipe_b_tile bs[STAGES];
    pipeline_body(as, bs, A, B, C, skip_wait);
}

__global__ void pipeline_dyn_kernel(const fs_bf16 *A, const fs_bf16 *B, float *C) {
    FS_DYNAMIC_SHARED(smem);
    pipeline_body((pipe_a_tile *)smem, (pipe_b_tile *)(smem + STAGES * sizeof(pipe_a_tile)), A, B, C, 0);
}

/* The dynamic-shared-memory pipeline with `bytes` of it (PIPE_SMEM_BYTES: enough). */
void launch_pipeline_dyn(const fs_bf16 *A, const fs_bf16 *B, float *C, size_t bytes) {
    FS_LAUNCH_SMEM(pipeline_dyn_kernel, FS_DIM3(1, 1, 1), FS_DIM3(128, 1, 1), bytes, A, B, C);
}

/* ---------------------------------------------------------------- planted emulator errors */
__global__ void misaligned_kernel(uint32_t *out) {
    __shared__ __align__(16) fs_bf16 tile[33 * 8];
    int lane = threadIdx.x;
    for (int i = 0; i < 8; i++) tile[lane * 8 + i] = (fs_bf16)i;
    __syncthreads();
    uint32_t r[4];
    fsk_ldmatrix_x4(r, &tile[lane * 8 + (lane == 5)]); /* lane 5: 2 bytes off */
    out[lane] = r[0];
}

__global__ void pending_kernel(const float *src, float *out) {
    __shared__ __align__(16) float tile[32][4];
    int t = threadIdx.x;
    fsk_cp_async_16(&tile[t][0], src + 4 * t, 16);
    fsk_cp_async_commit();
    if (t != 7) FSK_CP_ASYNC_WAIT(0); /* thread 7 forgets its wait */
    out[t] = tile[t][0];
}

/* Lanes 0-15 call ldmatrix.x4, lanes 16-31 ldmatrix.x4.trans at the same time (a diverged warp). */
__global__ void diverged_kernel(uint32_t *out) {
    __shared__ __align__(16) fs_bf16 tile[32 * 8];
    int lane = threadIdx.x;
    for (int i = 0; i < 8; i++) tile[lane * 8 + i] = (fs_bf16)i;
    __syncthreads();
    uint32_t r[4] = {0, 0, 0, 0};
    if (lane < 16) fsk_ldmatrix_x4(r, &tile[lane * 8]);
    else fsk_ldmatrix_x4_trans(r, &tile[lane * 8]);
    out[lane] = r[0];
}

#endif
