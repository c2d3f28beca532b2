/* test_step.c — cuda_step: one full training step of a tiny face-swap autoencoder (16 px,
 * two identities, every layer kind: 5x5 stride-2 convs, two dense layers, upscale blocks
 * with pixel shuffle, 5x5 conv + sigmoid; and a tiny liae-ud with masks) through trainer/model.c
 * on the CUDA backend and on the CPU backend, from the same parameters and batch: MSE + DSSIM losses, gradients,
 * global gradient norm and the parameters after a clipped Adam update must agree.
 * Tolerances: losses 1e-5 rel; gradients 2e-3 rel + 2e-4 x max |g| (float sums in other
 * orders through ~10 layers); norm 1e-4 rel; parameters 1e-5 x max |p| (Adam eps 1e-3 in
 * this test, so an update is smooth in g rather than sign(g) for g near 0). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cuda/ct.h"
#include "trainer/model.h"

enum { BATCH = 2 };

typedef struct step_out {
    double loss[2], norm;
    float *grads, *params; /* host copies, [n_params] */
    size_t n_params;
} step_out;

static void tiny_config(fs_config *c) {
    fs_config_defaults(c);
    c->model.resolution = 16;
    c->model.n_encoder_filters = 2, c->model.encoder_filters[0] = 8, c->model.encoder_filters[1] = 12;
    c->model.dense = 24, c->model.bottleneck_filters = 10;
    c->model.n_encoder_upscale = 1, c->model.encoder_upscale[0] = 8;
    c->model.n_decoder_filters = 1, c->model.decoder_filters[0] = 6;
}

/* DeepFaceLab's liae-ud at 64 px, 2 to 4 channels: residual adds, concat, pixel norm, the
 * shared decoder, mask outputs. */
static void tiny_liae_config(fs_config *c) {
    fs_config_defaults(c);
    snprintf(c->model.arch, sizeof c->model.arch, "liae");
    snprintf(c->model.archi_flags, sizeof c->model.archi_flags, "ud");
    c->model.resolution = 64;
    c->model.ae_dims = 4, c->model.e_dims = 2, c->model.d_dims = 2, c->model.d_mask_dims = 2;
}

/* Losses of every identity into dout[i] and, with masks, dmask[i] (device): fills o->loss. */
static void losses(const fs_backend *be, fs_model *m, const float *target_host, float **dout, float **dmask,
                   step_out *o) {
    int r = m->resolution;
    size_t img = (size_t)BATCH * r * r * 3, plane = img / 3;
    float *target = be->alloc(img * sizeof(float));
    for (int i = 0; i < 2; i++) {
        be->upload(target, target_host + i * img, img * sizeof(float));
        dout[i] = be->alloc(img * sizeof(float));
        const float *pred = fs_model_output(m, i), *mask = fs_model_mask(m, i);
        o->loss[i] = be->mse(BATCH, r, r, 3, pred, target, dout[i], 1.0f) +
                     be->dssim(BATCH, r, r, 3, FS_DSSIM_WIN, pred, target, dout[i], 1.0f);
        dmask[i] = NULL;
        if (mask) { /* the mask against the target's first plane, as a stand-in */
            dmask[i] = be->alloc(plane * sizeof(float));
            o->loss[i] += be->mse(BATCH, r, r, 1, mask, target, dmask[i], 1.0f);
        }
    }
    be->free(target);
}

static void run_step(const fs_backend *be, const fs_config *c, const float *input, const float *target, step_out *o) {
    fs_model m;
    fs_error e = {0};
    if (fs_model_build(&m, c, &e) != 0) fs_die(FS_EXIT_FAIL, "cuda_step: fs_model_build: %s", e.msg);
    fs_model_alloc(&m, be, BATCH);
    fs_model_init_params(&m, 1234);
    size_t n = m.n_params, nin = (size_t)2 * BATCH * m.resolution * m.resolution * 3;
    be->upload(m.input, input, nin * sizeof(float));
    fs_model_forward(&m, BATCH);
    float *dout[2], *dmask[2];
    losses(be, &m, target, dout, dmask, o);
    be->zero(m.grads, n * sizeof(float));
    fs_model_backward(&m, BATCH, dout, dmask, NULL, NULL);
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

/* One step of config c on be and on the cpu backend; returns the failed checks. */
static int compare(const fs_backend *be, const char *what, const fs_config *c) {
    fs_error e = {0};
    if (fs_config_validate(c, &e) != 0) {
        printf("FAIL: the test's %s config does not validate: %s\n", what, e.msg);
        return 1;
    }
    size_t nin = (size_t)2 * BATCH * c->model.resolution * c->model.resolution * 3;
    float *input = ct_rand(nin, 99, 1, 0, 1), *target = ct_rand(nin, 99, 2, 0, 1);
    step_out want, got;
    run_step(fs_backend_cpu(), c, input, target, &want);
    run_step(be, c, input, target, &got);
    int f = ct_close1("loss identity 0", got.loss[0], want.loss[0], 1e-5, 0) +
            ct_close1("loss identity 1", got.loss[1], want.loss[1], 1e-5, 0) +
            ct_close1("gradient norm", got.norm, want.norm, 1e-4, 0);
    double pmax = 0;
    for (size_t i = 0; i < want.n_params; i++) pmax = fmax(pmax, fabs(want.params[i]));
    f += ct_close("gradients", got.grads, want.grads, want.n_params, 2e-3, 2e-4);
    f += ct_close("parameters after Adam", got.params, want.params, want.n_params, 0, 1e-5 * pmax);
    printf("cuda_step %s: %zu parameters, losses %.6f %.6f (cpu %.6f %.6f), gradient norm %.6g (cpu %.6g)\n", what,
           want.n_params, got.loss[0], got.loss[1], want.loss[0], want.loss[1], got.norm, want.norm);
    free(input), free(target);
    free(want.grads), free(want.params), free(got.grads), free(got.params);
    return f;
}

/* argv[1]: original or liae-ud (each its own ctest entry: cuda_step, cuda_step_liae); none: both. */
int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : NULL;
    if (only && strcmp(only, "original") && strcmp(only, "liae-ud")) {
        fprintf(stderr, "cuda_step: no model '%s'\n  hint: original or liae-ud (none: both)\n", only);
        return 2;
    }
    const fs_backend *be = ct_backend("cuda_step");
    fs_config c;
    int f = 0;
    if (!only || !strcmp(only, "original")) tiny_config(&c), f += compare(be, "original", &c);
    if (!only || !strcmp(only, "liae-ud")) tiny_liae_config(&c), f += compare(be, "liae-ud", &c);
    if (f) {
        printf("cuda_step: %d checks FAILED\n", f);
        return 1;
    }
    printf("cuda_step: a training step on %s matches the cpu backend\n", be->name);
    return 0;
}
