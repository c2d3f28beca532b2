/* ref.h — the plain-loop reference ops (kernels/cpu/ref_*.c) that fs_backend_cpu_ref()
 * gathers into its table
 * (FS_BACKEND_TABLE). Semantics are those of kernels/ops.h. */
#ifndef FACESWARM_CPU_REF_H
#define FACESWARM_CPU_REF_H

#include "kernels/ops.h"

/* fs_ref_<op> for every row of FS_KERNEL_OPS: a missing one fails to link. */
FS_KERNEL_OPS(FS_OP_DECL, fs_ref)

/* FS_PREC_BF16_ACT (kernels/cpu/ref_bf16act.c): fs_ref16_<op> for each op with activation
 * tensors; fs_ref_<op> sends its call there while the mode is set. */
void fs_ref16_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, const float *b, float *y, fs_act act,
                         float alpha);
void fs_ref16_conv2d_bwd_data(const fs_conv_desc *d, const float *dz, const float *w, float *dx);
void fs_ref16_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw, float *db);
void fs_ref16_dense_fwd(int n, int in, int out, const float *x, const float *w, const float *b, float *y, fs_act act,
                        float alpha);
void fs_ref16_dense_bwd_data(int n, int in, int out, const float *dz, const float *w, float *dx);
void fs_ref16_dense_bwd_filter(int n, int in, int out, const float *x, const float *dz, float *dw, float *db);
void fs_ref16_leaky_fwd(size_t count, float alpha, const float *x, float *y);
void fs_ref16_leaky_bwd(size_t count, float alpha, const float *y, const float *dy, float *dx);
void fs_ref16_sigmoid_fwd(size_t count, const float *x, float *y);
void fs_ref16_sigmoid_bwd(size_t count, const float *y, const float *dy, float *dx);
void fs_ref16_pixshuf_fwd(int n, int h, int w, int c4, const float *x, float *y);
void fs_ref16_pixshuf_bwd(int n, int h, int w, int c4, const float *dy, float *dx);
void fs_ref16_add(size_t count, const float *a, const float *b, float *y);
void fs_ref16_acc(size_t count, const float *x, float *y);
void fs_ref16_concat_fwd(size_t rows, int ca, int cb, const float *a, const float *b, float *y);
void fs_ref16_concat_bwd(size_t rows, int ca, int cb, const float *dy, float *da, float *db);
void fs_ref16_pixnorm_fwd(size_t rows, int c, const float *x, float *y);
void fs_ref16_pixnorm_bwd(size_t rows, int c, const float *x, const float *dy, float *dx);

#endif
