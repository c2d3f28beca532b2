/* fsk.h — the CUDA backend's internal interface: one host launcher per op (same signature
 * as the op in kernels/ops.h), the implicit-GEMM descriptor that conv and dense share, and
 * the few memory hooks a launcher needs from its backend.
 *
 * The same sources build twice: with nvcc into fs_cuda (the GPU backend) and with gcc into
 * fs_cuda_emu (the CPU emulator, FSK_EMULATED defined). FSK(name) gives the two builds
 * different symbols (fs_cuda_name / fs_emu_name) so that both can live in one program. */
#ifndef FACESWARM_CUDA_FSK_H
#define FACESWARM_CUDA_FSK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
/* nvcc compiles .cu files as C++; core/common.h is C11. */
#define _Noreturn [[noreturn]]
extern "C" {
#endif

#include "kernels/ops.h"

#ifdef FSK_EMULATED
#define FSK_PREFIX fs_emu
#else
#define FSK_PREFIX fs_cuda
#endif
#define FSK(name) FS_OP_CAT(FSK_PREFIX, name)

/* ---------------------------------------------------------------- launch geometry */
#define FSK_THREADS 256 /* threads per block of every kernel */
#define FSK_BM 64       /* GEMM output tile rows */
#define FSK_BN 64       /* GEMM output tile columns */
#define FSK_BK 16       /* GEMM K slice held in shared memory */

/* ---------------------------------------------------------------- memory hooks (per backend) */
/* Device scratch buffer number `slot` (0..FSK_SCRATCH_SLOTS-1) of at least `bytes`, kept
 * and grown across calls; its content is undefined. */
#define FSK_SCRATCH_SLOTS 6 /* 4, 5: the bf16 operand copies of gemm_tc.cu */
void *FSK(scratch)(int slot, size_t bytes);
/* Copies device memory to the host and waits for it (losses and norms return one scalar). */
void FSK(to_host)(void *dst_host, const void *src_dev, size_t bytes);
/* Most blocks a grid-stride kernel launches (small under the emulator, where every block
 * costs a team barrier; many on a GPU). */
int FSK(max_grid)(void);

#ifdef __CUDACC__
cudaStream_t fsk_stream(void);
void fsk_check_launch(const char *kernel, const char *file, int line);
#endif

/* ---------------------------------------------------------------- implicit GEMM
 * C[M, N] (=, += or split-K partials) = A[M, K] * B[K, N], with A and B read through a
 * "mode" (plain strided matrices, or gathered on the fly from a convolution's tensors, so
 * no im2col buffer exists) and a fused epilogue: + bias[n], activation. */
typedef enum {
    FSK_A_STRIDED = 0,    /* A(m, k) = a[m * lda_m + k * lda_k] */
    FSK_A_CONV_FWD,       /* A(m = n,oy,ox ; k = ky,kx,ci) = x[n, oy*s-pt+ky, ox*s-pl+kx, ci] or 0 */
    FSK_A_CONV_BWD_DATA,  /* A(m = n,iy,ix of a parity class ; k = jy,jx,co) = dz[n, oy, ox, co] */
    FSK_A_CONV_BWD_FILTER /* A(m = ky,kx,ci ; k = n,oy,ox) = FSK_A_CONV_FWD transposed */
} fsk_amode;
typedef enum {
    FSK_B_STRIDED = 0,  /* B(k, n) = b[k * ldb_k + n * ldb_n] */
    FSK_B_CONV_BWD_DATA /* B(k = jy,jx,co ; n = ci) = w[ky, kx, ci, co] */
} fsk_bmode;

typedef struct fsk_gemm {
    int M, N, K;      /* for FSK_A_CONV_BWD_DATA: derived per parity class in the kernel */
    int amode, bmode; /* fsk_amode, fsk_bmode */
    const float *a;
    long lda_m, lda_k;
    const float *b;
    long ldb_k, ldb_n;
    float *c; /* C(m, n) = c[m * ldc + n]; bwd_data: dx at the class's position */
    long ldc;
    const float *bias; /* [N] or NULL */
    int act;           /* fs_act, fused after the bias */
    float alpha;       /* LeakyReLU slope */
    int accumulate;    /* 1: C += A B (no bias/act), 0: C = act(A B + bias) */
    fs_conv_desc conv; /* the convolution for the CONV modes */
    int classes;       /* bwd_data: stride^2 parity classes (grid z), else 1 */
    int splits;        /* split-K count (grid z), >= 1; not with classes > 1 */
    float *partial;    /* split-K partials [splits, M, N] (device scratch) */
    int a_bf16;        /* 1: a holds bf16 (an activation under FS_PREC_BF16_ACT), read as it is */
    int b_bf16;        /* 1: b holds bf16 (bwd_filter's dz) */
    int c_bf16;        /* 1: c is bf16, each output rounded once as it is stored (not with accumulate) */
} fsk_gemm;

/* Launches the GEMM (and, for splits > 1, the fixed-order reduction of the partials). */
void FSK(gemm)(const fsk_gemm *g);
/* Sets g's split-K count (enough blocks for about max_grid in all, each split at least 4 K
 * slices deep, at most 32) and, when > 1, its partial buffer (scratch slot 0). */
void FSK(gemm_split_k)(fsk_gemm *g);
/* The conv/dense precision (fs_precision) that set_precision chose; FS_PREC_BF16 sends
 * FSK(gemm) and FSK(gemm_split_k) to the tensor-core GEMM (gemm_tc.cu). */
extern int FSK(precision);
/* 1 under FS_PREC_BF16_ACT (set_precision; FSK(precision) is then FS_PREC_BF16): the
 * activation tensors of the conv, dense, activation, pixel-shuffle and graph ops are bf16
 * (kernels/ops.h); each launcher passes it on to its kernels (kernels/cuda/act.h). */
extern int FSK(act_bf16);
/* The tensor-core implicit GEMM (bf16 operands, fp32 accumulation, gemm_tc.cu): the same
 * contract as FSK(gemm) / FSK(gemm_split_k) on operands rounded to bf16 (nearest even). */
void FSK(gemm_tc)(const fsk_gemm *g);
void FSK(gemm_tc_split_k)(fsk_gemm *g);
/* Test only (cuda_bf16_planted): when set, the tensor-core kernel skips the products of each
 * block's last K slice, a wrong result that cuda_bf16_ops must catch. */
extern int FSK(gemm_tc_drop_last_slice);
/* Test only (racecheck_race): when set, the tensor-core kernel leaves out the __syncthreads
 * between its pipeline stages, so one thread's cp.async into a stage races with the other
 * warps' ldmatrix reads of it; TSan must report it. */
extern int FSK(gemm_tc_skip_stage_sync);
/* c[m * ldc + n] += sum over s = 0, 1, ... of partial[s, m, n] (fixed order). */
void FSK(add_partials)(int M, int N, int splits, const float *partial, float *c, long ldc);

/* ---------------------------------------------------------------- the ops (see kernels/ops.h) */
/* FSK(<op>) for every row of FS_KERNEL_OPS (kernels/ops.h): a missing launcher fails to
 * link. u8_to_float is the backend's own (backend_cuda.c stages the host bytes, the
 * emulator reads them in place); both run FSK(u8_to_float_dev). */
FS_KERNEL_OPS(FS_OP_DECL, FSK_PREFIX)

/* db[j] += sum over rows of dz[rows, cols] (column sums, fixed order). */
void FSK(bias_grad)(long rows, int cols, const float *dz, float *db);
/* dst[i] = src[i] / 255, src already on the device. */
void FSK(u8_to_float_dev)(size_t n, const uint8_t *src_dev, float *dst);

/* Deterministic sum of partial[0..count) (device) in a fixed order, as a host double. */
double FSK(sum_partials)(int count, const double *partial);

/* Blocks for a grid-stride kernel over count items (at least 1, at most max_grid). */
int FSK(grid_for)(size_t count);

#ifdef __cplusplus
}
#endif

#endif
