/* fast.h — the fast CPU ops (BLAS + OpenMP) that fs_backend_cpu() gathers into its table.
 * Semantics are those of kernels/ops.h; each is checked against kernels/cpu/ref_*.c.
 * Every parallel loop uses a static schedule and every reduction is combined in a fixed
 * order, so results are bit-identical run to run for a fixed thread count. */
#ifndef FACESWARM_CPU_FAST_H
#define FACESWARM_CPU_FAST_H

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
 * fp32 on vdpbf16ps; single-threaded. Only where fs_cpu_has_bf16_dot() (fast_bf16_gemm.c). */
void fs_bf16_gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, int beta,
                  float *c, int ldc);

/* Elementwise loops below this many elements run on one thread (thread start-up costs more). */
#define FS_FAST_PAR_MIN 32768
/* Reductions are summed in blocks of this many elements, then the blocks in order: the
 * result does not depend on the thread count at all. */
#define FS_FAST_RED_BLOCK 16384

#endif
