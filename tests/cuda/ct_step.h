/* ct_step.h — one full training step for the cuda_step and train_bf16_step tests: forward
 * (trainer/model.c), MSE + DSSIM losses of both identities (+ the mask MSE against the
 * target's first plane where the model has masks), backward, and a clipped Adam update (lr
 * 1e-3, eps 1e-3 so that an update is smooth in g, global norm clipped at 0.5), from
 * parameters seeded 1234 and the given batch. */
#ifndef FACESWARM_TEST_CT_STEP_H
#define FACESWARM_TEST_CT_STEP_H

#include <stddef.h>

#include "trainer/model.h"

typedef struct ct_step_out {
    double loss[2], norm;
    float *grads, *before, *params; /* host copies, [n_params]: gradients, parameters before and after */
    size_t n_params;
} ct_step_out;

/* faceswap's original at 16 px, 2 to 24 channels: 5x5 stride-2 convs, two dense layers,
 * upscale blocks with pixel shuffle, 5x5 conv + sigmoid. */
void ct_tiny_original_config(fs_config *c);
/* DeepFaceLab's liae-ud at 64 px, 2 to 4 channels: residual adds, concat, pixel norm, the
 * shared decoder, mask outputs. */
void ct_tiny_liae_config(fs_config *c);

/* input and target: [2 identities][batch][res][res][3]. who names the test in errors.
 * act_bf16: the model stores activations in bf16 (fs_model.act_bf16; the caller has set the
 * backend to FS_PREC_BF16_ACT). */
void ct_run_step(const char *who, const fs_backend *be, const fs_config *c, int batch, int act_bf16, const float *input,
                 const float *target, ct_step_out *o);
void ct_step_free(ct_step_out *o);

#endif
