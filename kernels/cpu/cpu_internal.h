/* cpu_internal.h — helpers shared by the two CPU backends (reference and fast); not for
 * use outside kernels/cpu/. */
#ifndef FACESWARM_CPU_INTERNAL_H
#define FACESWARM_CPU_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/ops.h"

/* The fused epilogue: act(z). */
static inline float fs_cpu_act(float z, fs_act act, float alpha) {
    if (act == FS_ACT_LEAKY) return z > 0.0f ? z : alpha * z;
    if (act == FS_ACT_SIGMOID) return 1.0f / (1.0f + expf(-z));
    return z;
}

/* DSSIM constants (faceswap's DSSIMObjective; FS_SSIM_K is its window size). */
#define FS_SSIM_K FS_DSSIM_WIN
#define FS_SSIM_SIGMA 1.5
#define FS_SSIM_C1 (0.01 * 0.01)
#define FS_SSIM_C2 (0.03 * 0.03)
/* The normalised 1-D Gaussian g[win] (sigma 1.5, taps at i - (win - 1) / 2); the 2-D window
 * is g[i] * g[j] (DeepFaceLab's softmax of the 2-D exponents is the same product). */
void fs_cpu_ssim_gauss(int win, double *g);

/* SSIM of one window from its five statistics (means, E[x^2], E[y^2], E[xy]), and the
 * derivatives of SSIM w.r.t. mx, exx and exy (for the gradient w.r.t. x). */
typedef struct fs_ssim_grad {
    double s; /* SSIM */
    double d_mx, d_exx, d_exy;
} fs_ssim_grad;
fs_ssim_grad fs_cpu_ssim_window(double mx, double my, double exx, double eyy, double exy);

/* Memory ops shared by both CPU backends, fs_cpu_<op> for every row of FS_MEMORY_OPS (host
 * memory; upload/download/copy = memcpy). */
FS_MEMORY_OPS(FS_OP_DECL, fs_cpu)
/* The GEMM precision set_precision last set: FS_PREC_FP32 or FS_PREC_BF16 (also for
 * FS_PREC_BF16_ACT, whose GEMMs are FS_PREC_BF16's). */
int fs_cpu_precision(void);
/* 1 while FS_PREC_BF16_ACT is set: the reference's activation tensors are bf16
 * (kernels/cpu/ref_bf16act.c turns it off around the float op it wraps). */
int fs_cpu_act_bf16(void);
void fs_cpu_set_act_bf16(int on);

#endif
