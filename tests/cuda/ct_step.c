/* ct_step.c — one training step for the cuda_* step tests (ct_step.h). */
#include "tests/cuda/ct_step.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/cuda/ct.h"

void ct_tiny_original_config(fs_config *c) {
    fs_config_defaults(c);
    c->model.resolution = 16;
    c->model.n_encoder_filters = 2, c->model.encoder_filters[0] = 8, c->model.encoder_filters[1] = 12;
    c->model.dense = 24, c->model.bottleneck_filters = 10;
    c->model.n_encoder_upscale = 1, c->model.encoder_upscale[0] = 8;
    c->model.n_decoder_filters = 1, c->model.decoder_filters[0] = 6;
}

void ct_tiny_liae_config(fs_config *c) {
    fs_config_defaults(c);
    snprintf(c->model.arch, sizeof c->model.arch, "liae");
    snprintf(c->model.archi_flags, sizeof c->model.archi_flags, "ud");
    c->model.resolution = 64;
    c->model.ae_dims = 4, c->model.e_dims = 2, c->model.d_dims = 2, c->model.d_mask_dims = 2;
}

/* Losses of every identity into dout[i] and, with masks, dmask[i] (device): fills o->loss. */
static void losses(const fs_backend *be, fs_model *m, int batch, const float *target_host, float **dout, float **dmask,
                   ct_step_out *o) {
    int r = m->resolution;
    size_t img = (size_t)batch * r * r * 3, plane = img / 3;
    float *target = be->alloc(img * sizeof(float));
    for (int i = 0; i < 2; i++) {
        be->upload(target, target_host + i * img, img * sizeof(float));
        dout[i] = be->alloc(img * sizeof(float));
        const float *pred = fs_model_output(m, i), *mask = fs_model_mask(m, i);
        o->loss[i] = be->mse(batch, r, r, 3, pred, target, dout[i], 1.0f) +
                     be->dssim(batch, r, r, 3, FS_DSSIM_WIN, pred, target, dout[i], 1.0f);
        dmask[i] = NULL;
        if (mask) { /* the mask against the target's first plane, as a stand-in */
            dmask[i] = be->alloc(plane * sizeof(float));
            o->loss[i] += be->mse(batch, r, r, 1, mask, target, dmask[i], 1.0f);
        }
    }
    be->free(target);
}

void ct_run_step(const char *who, const fs_backend *be, const fs_config *c, int batch, int act_bf16, const float *input,
                 const float *target, ct_step_out *o) {
    fs_model m;
    fs_error e = {0};
    if (fs_model_build(&m, c, &e) != 0) fs_die(FS_EXIT_FAIL, "%s: fs_model_build: %s", who, e.msg);
    m.act_bf16 = act_bf16;
    fs_model_alloc(&m, be, batch);
    fs_model_init_params(&m, 1234);
    size_t n = m.n_params, nin = (size_t)2 * batch * m.resolution * m.resolution * 3;
    o->before = ct_down(be, m.params, n);
    be->upload(m.input, input, nin * sizeof(float));
    fs_model_forward(&m, batch);
    float *dout[2], *dmask[2];
    losses(be, &m, batch, target, dout, dmask, o);
    be->zero(m.grads, n * sizeof(float));
    fs_model_backward(&m, batch, dout, dmask, NULL, NULL);
    o->norm = sqrt(be->sumsq(n, m.grads));
    o->grads = ct_down(be, m.grads, n);
    fs_adam_args a = {.lr = 1e-3f,
                      .beta1 = 0.9f,
                      .beta2 = 0.999f,
                      .eps = 1e-3f,
                      .step = 1,
                      .grad_scale = (float)fmin(1.0, 0.5 / o->norm),
                      .weight_decay = 0.0f};
    be->adam(n, m.params, m.grads, m.adam_m, m.adam_v, &a);
    o->params = ct_down(be, m.params, n);
    o->n_params = n;
    for (int i = 0; i < 2; i++) be->free(dout[i]), be->free(dmask[i]);
    fs_model_free(&m);
}

void ct_step_free(ct_step_out *o) { free(o->grads), free(o->before), free(o->params); }
