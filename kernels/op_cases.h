/* op_cases.h — the one table of op cases: the shapes every op of kernels/ops.h is checked
 * on, which checks use each shape, and the tolerance of each backend against the plain-loop
 * reference. It drives kernels_grad (the reference's gradients against finite differences
 * in double), kernels_fast (cpu vs cpu-ref), cuda_conv and cuda_ops (cuda or cuda-emulated
 * vs cpu-ref), cuda_bf16_ops (the same in bf16) and the self-check of `faceswarm bench kernels` (the `wrong` count). Shapes
 * are mostly odd sizes that are multiples of no tile (the CUDA GEMM's 64 x 64 x 16, the fast
 * path's 8-wide vectors and register blocks), plus a few of the original-64 model's.
 * Adding an op: a row of FS_KERNEL_OPS, one kernel per backend, a row of g_op_tols and its
 * case rows in op_cases.c (docs/cuda.md). */
#ifndef FACESWARM_OP_CASES_H
#define FACESWARM_OP_CASES_H

#include <stddef.h>

#include "kernels/ops.h"

/* Which checks use a case (bits of fs_op_case.where). */
enum {
    FS_OPC_GRAD = 1,     /* kernels_grad: cpu-ref forward vs double, backward vs finite differences */
    FS_OPC_FAST = 2,     /* kernels_fast: cpu vs cpu-ref */
    FS_OPC_THREADS3 = 4, /* kernels_fast again on 3 threads (odd splits of rows, channels, images) */
    FS_OPC_CUDA = 8,     /* cuda_conv, cuda_ops: cuda (or cuda-emulated) vs cpu-ref */
    FS_OPC_BENCH = 16,   /* faceswarm bench kernels: the self-check on the benchmarked backend */
    FS_OPC_PATHS = 32,   /* perf_conv_paths: the fast conv's direct loops, and 1 vs 2 threads */
    FS_OPC_VEC = 64,     /* perf_fast_ops: the vectorised paths (tails, specials, 1 vs 3 threads) */
    FS_OPC_BF16 = 128,   /* cuda_bf16_ops: the tensor-core GEMM's shapes (it also runs every FS_OPC_CUDA
                          * conv2d / dense case) */
};

/* One case. The shape fields by op:
 *   conv2d:        input [n, h, w, c] -> cout channels, k x k kernel, stride; act fused
 *   dense:         [n, c] -> [n, cout]; act fused
 *   pixshuf:       x [n, h, w, c] (c = 4 x output channels)
 *   mask_mul, mse, l1, dssim: images [n, h, w, c]; dssim's window size in k
 *   leaky, sigmoid, scale, sumsq, u8_to_float, adam, adabelief, add, acc, bf16 (bf16_pack and
 *                  bf16_unpack): n * h * w * c elements
 *   concat:        a [n * h * w, c], b [n * h * w, cout]
 *   pixnorm:       n * h * w rows of c values */
typedef struct fs_op_case {
    const char *op;
    int n, h, w, c, cout, k, stride;
    fs_act act;
    unsigned where; /* FS_OPC_* */
} fs_op_case;

/* max |got - want| <= rtol * max |want| + atol (each check states how it applies it);
 * rtol = atol = 0 means bit-identical. */
typedef struct fs_tol {
    double rtol, atol;
} fs_tol;

/* Each backend's tolerance for one op against cpu-ref. */
typedef struct fs_op_tol {
    const char *op;
    fs_tol fwd;        /* cpu-ref forward vs the double forward of kernels_grad (adam, adabelief:
                        * both CPU backends' updates vs kernels_adam's, kernels_adabelief's in double) */
    fs_tol grad;       /* cpu-ref backward vs central finite differences in double */
    fs_tol fast;       /* cpu (fast path) tensors */
    fs_tol fast_value; /* cpu: the returned double (losses, sumsq) */
    fs_tol cuda;       /* cuda and cuda-emulated tensors */
    fs_tol cuda_value; /* cuda: the returned double */
} fs_op_tol;

/* Every case, in table order; *count gets the length. */
const fs_op_case *fs_op_cases(size_t *count);
/* The tolerances of op; exits with an error naming the op if the table has none (a case
 * row without its tolerance row is a defect of the table). */
const fs_op_tol *fs_op_tol_of(const char *op);
/* "conv2d n2 7x5x3 -> 4 k3 s1" and similar, for check names. */
void fs_op_case_name(const fs_op_case *c, char *buf, size_t len);
/* Conv descriptor of a conv2d case (dense: 1 x 1 images, k 1, stride 1); 0 or -1. */
int fs_op_case_conv(const fs_op_case *c, fs_conv_desc *d);
/* Elements of the case's main tensor: n * h * w * c. */
size_t fs_op_case_count(const fs_op_case *c);

#endif
