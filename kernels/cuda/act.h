/* act.h — loads and stores of activation tensors, float32 or bf16 (FS_PREC_BF16_ACT,
 * kernels/ops.h): one kernel serves both storages, `bf` (the launcher's FSK(act_bf16))
 * saying which the pointer holds. A bf16 store rounds to nearest even (kernels/bf16.h: the
 * CPU reference's rounding). Include after fsk.h and emu.h. */
#ifndef FACESWARM_CUDA_ACT_H
#define FACESWARM_CUDA_ACT_H

#include "kernels/bf16.h"

FSK_DEVICE float act_ld(const float *p, size_t i, int bf) {
    return bf ? fs_bf16_to_f32(((const fs_bf16 *)p)[i]) : p[i];
}
FSK_DEVICE void act_st(float *p, size_t i, float v, int bf) {
    if (bf) ((fs_bf16 *)p)[i] = fs_bf16_from_f32(v);
    else p[i] = v;
}

#endif
