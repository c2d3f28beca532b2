/* fast.h — the fast CPU ops (BLAS + OpenMP) that fs_backend_cpu() gathers into its table.
 * Semantics are those of kernels/ops.h; each is checked against kernels/cpu/ref_*.c.
 * Every parallel loop uses a static schedule and every reduction is combined in a fixed
 * order, so results are bit-identical run to run for a fixed thread count. */
#ifndef FACESWARM_CPU_FAST_H
#define FACESWARM_CPU_FAST_H

#include <stddef.h>
#include <string.h>

#include "kernels/ops.h"

/* fs_fast_<op> for every row of FS_KERNEL_OPS: a missing one fails to link. */
FS_KERNEL_OPS(FS_OP_DECL, fs_fast)
/* The fast backend's memory ops, fs_fast_mem_<op> for every row of FS_MEMORY_OPS: those of
 * the reference (fs_cpu_<op>, host memory) but zero, which splits a large buffer over the
 * threads and writes it with streaming stores (fast_elem.c). */
FS_MEMORY_OPS(FS_OP_DECL, fs_fast_mem)

/* Convs with at most FS_SMALL_COUT output channels run on direct loops (fast_conv_small.c):
 * fwd without bias/activation (=), bwd_data (=), bwd_filter dw only (+=). */
#define FS_SMALL_COUT 8
void fs_small_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, float *y);
void fs_small_conv2d_bwd_data(const fs_conv_desc *d, const float *dz, const float *w, float *dx);
void fs_small_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw);

/* C[m x n] (row-major, ldc) = (beta ? C : 0) + op(A) op(B), op(A) m x k (ta: A is stored
 * k x m), op(B) k x n (tb: stored n x k), both rounded to bf16 as they are read, summed in
 * fp32 on vdpbf16ps, or on AMX tiles where fs_cpu_bf16_dot_on() is 2; single-threaded. Only
 * where fs_cpu_has_bf16_dot() (fast_bf16_gemm.c). */
void fs_bf16_gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta,
                  float *c, int ldc);

/* The GEMMs' cases with nothing to multiply (m, n or k <= 0): does them (k <= 0, beta 0:
 * C = 0) and returns 1, else returns 0. */
static inline int fs_gemm_empty(int m, int n, int k, int beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return 1;
    if (k > 0) return 0;
    if (!beta)
        for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof(float));
    return 1;
}

/* The own fp32 GEMM (fast_sgemm.c, AVX-512F or AVX2 + FMA; only where fs_cpu_has_avx512f()
 * or fs_cpu_has_avx2_fma()):
 * C[m x n] (row-major, ldc) = (beta ? C : 0) + op(A) op(B), op(A) m x k (ta: A is stored
 * k x m), op(B) k x n (tb: stored n x k); single-threaded. Each element of C is one FMA chain
 * in k order from (beta ? C : 0): the bits depend on the operands only. */
void fs_sgemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta, float *c,
              int ldc);
/* A stored matrix operand: element (r, q) of op(M) at p[r * ld + q], or p[q * ld + r] with
 * trans. As B with trans and grp > 0, op(M)'s rows come in groups of grp, group g stored
 * from p + g * grp_step: element (r, q) at p[(r / grp) * grp_step + q * ld + r % grp] (the
 * flipped, transposed weights of a stride-1 bwd_data, read in place). */
typedef struct fs_sgemm_mat {
    const float *p;
    int ld, trans;
    int grp;
    ptrdiff_t grp_step;
} fs_sgemm_mat;
/* The A panels' row stride, floats: a packer writes row i of its panel at ap + i * FS_SGEMM_KC. */
#define FS_SGEMM_KC 384
/* Packs op(A)[i0 + i][k0 + p] to ap[i * FS_SGEMM_KC + p] for i < rows, p < kb (rows <= 48,
 * kb <= FS_SGEMM_KC). */
typedef void (*fs_sgemm_pack_a)(const void *ctx, int i0, int rows, int k0, int kb, float *ap);
/* fs_sgemm with A supplied by a packer (the conv forward's im2col, fast_conv.c). */
void fs_sgemm_ex(fs_sgemm_pack_a pack_a, const void *actx, const fs_sgemm_mat *b, int m, int n, int k, int beta,
                 float *c, int ldc);
/* The packing buffers the own GEMM allocates once per thread that calls it (bytes; 0 in a
 * build without it). */
size_t fs_sgemm_pack_bytes(void);
/* For packers: dst[j * dld + i] = rows[i][j] for i < 16, j < nj <= 16 (a NULL row reads as
 * zeros): each written row gets 16 floats. */
void fs_sgemm_transpose16(const float *const rows[16], int nj, float *dst, size_t dld);

/* Elementwise loops below this many elements run on one thread (thread start-up costs more). */
#define FS_FAST_PAR_MIN 32768
/* Reductions are summed in blocks of this many elements, then the blocks in order: the
 * result does not depend on the thread count at all. */
#define FS_FAST_RED_BLOCK 16384

#endif
