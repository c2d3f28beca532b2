/* ref.h — the plain-loop reference ops (kernels/cpu/ref_*.c) that fs_backend_cpu_ref()
 * gathers into its table. Semantics are those of kernels/ops.h. */
#ifndef FACESWARM_CPU_REF_H
#define FACESWARM_CPU_REF_H

#include "kernels/ops.h"

void fs_ref_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, const float *b, float *y,
                       fs_act act, float alpha);
void fs_ref_conv2d_bwd_data(const fs_conv_desc *d, const float *dz, const float *w, float *dx);
void fs_ref_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw, float *db);
void fs_ref_dense_fwd(int n, int in, int out, const float *x, const float *w, const float *b, float *y, fs_act act,
                      float alpha);
void fs_ref_dense_bwd_data(int n, int in, int out, const float *dz, const float *w, float *dx);
void fs_ref_dense_bwd_filter(int n, int in, int out, const float *x, const float *dz, float *dw, float *db);

void fs_ref_u8_to_float(size_t n, const uint8_t *src, float *dst);
void fs_ref_leaky_fwd(size_t count, float alpha, const float *x, float *y);
void fs_ref_leaky_bwd(size_t count, float alpha, const float *y, const float *dy, float *dx);
void fs_ref_sigmoid_fwd(size_t count, const float *x, float *y);
void fs_ref_sigmoid_bwd(size_t count, const float *y, const float *dy, float *dx);
void fs_ref_pixshuf_fwd(int n, int h, int w, int c4, const float *x, float *y);
void fs_ref_pixshuf_bwd(int n, int h, int w, int c4, const float *dy, float *dx);
void fs_ref_mask_mul(int n, int h, int w, int c, const float *mask, const float *x, float *y);

double fs_ref_mse(int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight);
double fs_ref_l1(int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight);
double fs_ref_dssim(int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight);

double fs_ref_sumsq(size_t count, const float *x);
void fs_ref_adam(size_t count, float *p, const float *g, float *m, float *v, const fs_adam_args *a);
void fs_ref_scale(size_t count, float *x, float s);

#endif
