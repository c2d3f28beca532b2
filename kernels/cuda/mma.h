/* mma.h — the tensor-core primitives of a bf16 implicit GEMM, one source API for nvcc (inline
 * PTX, sm_80 and newer) and for gcc under the CPU emulator (emu.c), which follows the PTX
 * ISA's per-lane fragment layouts exactly. Include it after emu.h.
 *
 * Warp-collective (all 32 lanes of a full warp call them, with the same arguments' meaning):
 *   fsk_mma_16816   mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32: D = A B + C, A 16x16
 *                   (row), B 16x8 (col), C and D 16x8 fp32;
 *   fsk_ldmatrix_*  ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16.
 * Per thread (asynchronous copies global -> shared, deferred until waited for):
 *   fsk_cp_async_{16,8,4}, fsk_cp_async_commit, FSK_CP_ASYNC_WAIT(n), fsk_cp_async_wait_all.
 *
 * Fragment layouts (PTX ISA section "Matrix Fragments for mma.m16n8k16 with floating point
 * type", docs.nvidia.com/cuda/parallel-thread-execution/#warp-level-matrix-fragment-mma-16816-float
 * ; groupID = lane >> 2, threadID_in_group = lane % 4, written g and t; a .b32 register holds two bf16, the element
 * with the lower index in its low 16 bits):
 *   A (16 x 16, row m, column k): a[0] = A[g][2t, 2t+1]      a[1] = A[g+8][2t, 2t+1]
 *                                 a[2] = A[g][2t+8, 2t+9]    a[3] = A[g+8][2t+8, 2t+9]
 *   B (16 x 8, row k, column n):  b[0] = B[2t, 2t+1][g]      b[1] = B[2t+8, 2t+9][g]
 *   C, D (16 x 8 fp32):           c[0], c[1] = C[g][2t, 2t+1]   c[2], c[3] = C[g+8][2t, 2t+1]
 * ldmatrix (PTX ISA section "Warp-level matrix load instruction: ldmatrix", same page,
 * #warp-level-matrix-instructions-ldmatrix): matrix j of an .x4 (.x2,
 * .x1) takes its 8 rows of 8 b16 (16 bytes each) from the addresses that lanes 8j .. 8j+7 pass;
 * lane i receives in r[j] row i/4, elements 2(i%4), 2(i%4)+1 of matrix j (low, high half), or
 * with .trans the same of the transposed matrix (elements [2(i%4)][i/4] and [2(i%4)+1][i/4]).
 * So an x4 of a row-major 16x16 A tile (lanes 0-15 rows 0-15 at column 0, lanes 16-31 rows
 * 0-15 at column 8) gives a[0..3] directly, and an x2 of B stored as [n][k] (lanes 0-7 rows
 * n at k 0, lanes 8-15 at k 8) gives b[0..1]; B stored as [k][n] needs x2_trans (lanes 0-15
 * rows k = 0..15 at column n0).
 *
 * Under the emulator (docs/cuda.md): mma computes each lane's D from the whole A and B that the
 * warp's lanes deposited; every product of two bf16 is exact in fp32 and in double; the sum is
 * taken in double, starting from c, adding the 16 products in k order 0..15, and rounded once to
 * fp32 (round to nearest even). PTX leaves the hardware's order, internal precision and
 * rounding unspecified (not IEEE fp32 adds in a fixed order): GPU results may differ from the
 * emulator's by a few fp32 ulps of the largest terms, so GPU tests need a relative tolerance.
 * ldmatrix checks that every row address it uses is 16-byte aligned and lies in shared memory
 * (a static __shared__ array or the launch's dynamic shared memory); cp.async checks sizes, its
 * destination and alignment, and copies only when a wait completes its group (__syncthreads
 * completes nothing, as on a GPU); a thread that ends its block with copies not waited for is
 * an error. Errors name the kernel and stop the program at the end of the launch. */
#ifndef FACESWARM_CUDA_MMA_H
#define FACESWARM_CUDA_MMA_H

#include <stdint.h>

#include "kernels/bf16.h"

#ifndef FS_DIM3
#error "kernels/cuda/mma.h: include kernels/cuda/emu.h first"
#endif

/* Two bf16 in one .b32 register: lo in bits 0-15 (the lower k or column index), hi in 16-31. */
FSK_DEVICE uint32_t fsk_pack_bf16x2(fs_bf16 lo, fs_bf16 hi) { return (uint32_t)lo | ((uint32_t)hi << 16); }
/* Two floats rounded to bf16 (nearest even) and packed. */
FSK_DEVICE uint32_t fsk_pack_f32x2_bf16(float lo, float hi) {
    return fsk_pack_bf16x2(fs_bf16_from_f32(lo), fs_bf16_from_f32(hi));
}

#ifdef __CUDACC__
/* ---------------------------------------------------------------- nvcc: inline PTX */
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error                                                                                                                 \
    "kernels/cuda/mma.h: mma.sync .bf16, ldmatrix and cp.async need sm_80 or newer; remove the older architectures from FACESWARM_CUDA_ARCHS (e.g. -DFACESWARM_CUDA_ARCHS=\"80;90\")"
#endif

FSK_DEVICE uint32_t fsk_smem_addr_(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }

FSK_DEVICE void fsk_mma_16816(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
                   "f"(c[3]));
}

FSK_DEVICE void fsk_ldmatrix_x1(uint32_t r[1], const void *smem_row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n"
                 : "=r"(r[0])
                 : "r"(fsk_smem_addr_(smem_row))
                 : "memory");
}
FSK_DEVICE void fsk_ldmatrix_x2(uint32_t r[2], const void *smem_row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
                 : "=r"(r[0]), "=r"(r[1])
                 : "r"(fsk_smem_addr_(smem_row))
                 : "memory");
}
FSK_DEVICE void fsk_ldmatrix_x4(uint32_t r[4], const void *smem_row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(fsk_smem_addr_(smem_row))
                 : "memory");
}
FSK_DEVICE void fsk_ldmatrix_x1_trans(uint32_t r[1], const void *smem_row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n"
                 : "=r"(r[0])
                 : "r"(fsk_smem_addr_(smem_row))
                 : "memory");
}
FSK_DEVICE void fsk_ldmatrix_x2_trans(uint32_t r[2], const void *smem_row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];\n"
                 : "=r"(r[0]), "=r"(r[1])
                 : "r"(fsk_smem_addr_(smem_row))
                 : "memory");
}
FSK_DEVICE void fsk_ldmatrix_x4_trans(uint32_t r[4], const void *smem_row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(fsk_smem_addr_(smem_row))
                 : "memory");
}

FSK_DEVICE void fsk_cp_async_16(void *smem, const void *gmem, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(fsk_smem_addr_(smem)), "l"(gmem),
                 "r"(src_bytes)
                 : "memory");
}
FSK_DEVICE void fsk_cp_async_8(void *smem, const void *gmem, int src_bytes) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(fsk_smem_addr_(smem)), "l"(gmem), "r"(src_bytes)
                 : "memory");
}
FSK_DEVICE void fsk_cp_async_4(void *smem, const void *gmem, int src_bytes) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(fsk_smem_addr_(smem)), "l"(gmem), "r"(src_bytes)
                 : "memory");
}
FSK_DEVICE void fsk_cp_async_commit(void) { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
#define FSK_CP_ASYNC_WAIT(n) asm volatile("cp.async.wait_group %0;\n" ::"n"(n) : "memory")
FSK_DEVICE void fsk_cp_async_wait_all(void) { asm volatile("cp.async.wait_all;\n" ::: "memory"); }

#else
/* ---------------------------------------------------------------- gcc: the emulator (emu.c) */
void fsemu_mma_16816(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]);
/* count = 1, 2, 4 matrices; trans 0/1 */
void fsemu_ldmatrix(uint32_t *r, int count, int trans, const void *smem_row);
void fsemu_cp_async(void *smem, const void *gmem, int cp_bytes, int src_bytes);
void fsemu_cp_async_commit(void);
void fsemu_cp_async_wait(int n); /* n < 0: wait_all */

FSK_DEVICE void fsk_mma_16816(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
    fsemu_mma_16816(d, a, b, c);
}
FSK_DEVICE void fsk_ldmatrix_x1(uint32_t r[1], const void *smem_row) { fsemu_ldmatrix(r, 1, 0, smem_row); }
FSK_DEVICE void fsk_ldmatrix_x2(uint32_t r[2], const void *smem_row) { fsemu_ldmatrix(r, 2, 0, smem_row); }
FSK_DEVICE void fsk_ldmatrix_x4(uint32_t r[4], const void *smem_row) { fsemu_ldmatrix(r, 4, 0, smem_row); }
FSK_DEVICE void fsk_ldmatrix_x1_trans(uint32_t r[1], const void *smem_row) { fsemu_ldmatrix(r, 1, 1, smem_row); }
FSK_DEVICE void fsk_ldmatrix_x2_trans(uint32_t r[2], const void *smem_row) { fsemu_ldmatrix(r, 2, 1, smem_row); }
FSK_DEVICE void fsk_ldmatrix_x4_trans(uint32_t r[4], const void *smem_row) { fsemu_ldmatrix(r, 4, 1, smem_row); }

FSK_DEVICE void fsk_cp_async_16(void *smem, const void *gmem, int src_bytes) {
    fsemu_cp_async(smem, gmem, 16, src_bytes);
}
FSK_DEVICE void fsk_cp_async_8(void *smem, const void *gmem, int src_bytes) {
    fsemu_cp_async(smem, gmem, 8, src_bytes);
}
FSK_DEVICE void fsk_cp_async_4(void *smem, const void *gmem, int src_bytes) {
    fsemu_cp_async(smem, gmem, 4, src_bytes);
}
FSK_DEVICE void fsk_cp_async_commit(void) { fsemu_cp_async_commit(); }
/* n must be an integer constant, as PTX requires (checked here too). */
#define FSK_CP_ASYNC_WAIT(n)                                                                                           \
    do {                                                                                                               \
        _Static_assert((n) >= 0, "FSK_CP_ASYNC_WAIT(n): n is a non-negative integer constant");                        \
        fsemu_cp_async_wait(n);                                                                                        \
    } while (0)
FSK_DEVICE void fsk_cp_async_wait_all(void) { fsemu_cp_async_wait(-1); }
#endif

#endif
