/* fast.h — the fast CPU ops (BLAS + OpenMP) that fs_backend_cpu() gathers into its table.
 * Semantics are those of kernels/ops.h; each is checked against kernels/cpu/ref_*.c.
 * Every parallel loop uses a static schedule and every reduction is combined in a fixed
 * order, so results are bit-identical run to run for a fixed thread count. */
#ifndef FACESWARM_CPU_FAST_H
#define FACESWARM_CPU_FAST_H

#include "kernels/ops.h"

void fs_fast_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, const float *b, float *y,
                        fs_act act, float alpha);
void fs_fast_conv2d_bwd_data(const fs_conv_desc *d, const float *dz, const float *w, float *dx);
void fs_fast_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw, float *db);
/* Convs with at most FS_SMALL_COUT output channels run on direct loops (fast_conv_small.c):
 * fwd without bias/activation (=), bwd_data (=), bwd_filter dw only (+=). */
#define FS_SMALL_COUT 8
void fs_small_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, float *y);
void fs_small_conv2d_bwd_data(const fs_conv_desc *d, const float *dz, const float *w, float *dx);
void fs_small_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw);
void fs_fast_dense_fwd(int n, int in, int out, const float *x, const float *w, const float *b, float *y,
                       fs_act act, float alpha);
void fs_fast_dense_bwd_data(int n, int in, int out, const float *dz, const float *w, float *dx);
void fs_fast_dense_bwd_filter(int n, int in, int out, const float *x, const float *dz, float *dw, float *db);

void fs_fast_u8_to_float(size_t n, const uint8_t *src, float *dst);
void fs_fast_leaky_fwd(size_t count, float alpha, const float *x, float *y);
void fs_fast_leaky_bwd(size_t count, float alpha, const float *y, const float *dy, float *dx);
void fs_fast_sigmoid_fwd(size_t count, const float *x, float *y);
void fs_fast_sigmoid_bwd(size_t count, const float *y, const float *dy, float *dx);
void fs_fast_pixshuf_fwd(int n, int h, int w, int c4, const float *x, float *y);
void fs_fast_pixshuf_bwd(int n, int h, int w, int c4, const float *dy, float *dx);
void fs_fast_mask_mul(int n, int h, int w, int c, const float *mask, const float *x, float *y);

double fs_fast_mse(int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight);
double fs_fast_l1(int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight);
double fs_fast_dssim(int n, int h, int w, int c, const float *pred, const float *target, float *dpred,
                     float weight);

double fs_fast_sumsq(size_t count, const float *x);
void fs_fast_adam(size_t count, float *p, const float *g, float *m, float *v, const fs_adam_args *a);
void fs_fast_scale(size_t count, float *x, float s);

/* Elementwise loops below this many elements run on one thread (thread start-up costs more). */
#define FS_FAST_PAR_MIN 32768
/* Reductions are summed in blocks of this many elements, then the blocks in order: the
 * result does not depend on the thread count at all. */
#define FS_FAST_RED_BLOCK 16384

#endif
