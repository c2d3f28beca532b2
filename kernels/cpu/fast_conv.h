/* fast_conv.h — direct (no im2col) conv loops for convs with few input channels, used by
 * fast_conv.c (kernels/cpu/fast_conv_direct.c). Semantics are those of kernels/ops.h. */
#ifndef FACESWARM_CPU_FAST_CONV_H
#define FACESWARM_CPU_FAST_CONV_H

#include "kernels/ops.h"

/* Whether the direct loops take this conv: cout a multiple of 16 and cin at most
 * FS_DIRECT_MAX_CIN (at cin 16, e.g. 32x32x16 -> 32 k5 s2, im2col + sgemm measured faster). */
#define FS_DIRECT_MAX_CIN 8
int fs_direct_conv_applies(const fs_conv_desc *d);
/* y = conv(x, w) (=), no bias or activation (the caller adds them). */
void fs_direct_conv2d_fwd(const fs_conv_desc *d, const float *x, const float *w, float *y);
/* dw += conv's filter gradient; fixed blocks of output lines summed in order, so the
 * result does not depend on the thread count. */
void fs_direct_conv2d_bwd_filter(const fs_conv_desc *d, const float *x, const float *dz, float *dw);

#endif
