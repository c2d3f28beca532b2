/* model.h — the face-swap autoencoder as a list of layer descriptors built from the config
 * (DESIGN.md: no general graph engine).
 *
 * Encoder: conv k x k stride 2 + LeakyReLU blocks, flatten, dense, dense, reshape to
 *          (res/2^n, res/2^n, bottleneck), upscale blocks.
 * Decoder (one per identity): upscale blocks, conv output_kernel to 3 channels + sigmoid.
 * Upscale block: conv 3x3 to 4C + LeakyReLU, pixel shuffle x2.
 *
 * Parameters live in ONE buffer, and so do gradients and the Adam moments. Layout, in this
 * order: encoder layers (forward order), then decoder 0, decoder 1, ... Each layer's weights
 * are followed by its bias. The backward pass runs decoders from the last to the first and
 * every net from its last layer to its first, so gradients become final strictly from the
 * END of the buffer towards its start: an all-reduce bucket is a slice of the buffer, ready
 * once the backward pass has passed its start (see fs_grad_ready_fn). */
#ifndef FACESWARM_MODEL_H
#define FACESWARM_MODEL_H

#include <stddef.h>
#include <stdio.h>

#include "kernels/ops.h"
#include "trainer/config.h"

typedef enum { FS_LAYER_CONV = 0, FS_LAYER_DENSE = 1, FS_LAYER_PIXSHUF = 2 } fs_layer_kind;

typedef struct fs_layer {
    char name[64];        /* "encoder.conv1", "decoder_A.upscale2.conv", ... */
    fs_layer_kind kind;
    int in_h, in_w, in_c; /* input shape per sample (dense: 1, 1, in) */
    int out_h, out_w, out_c;
    int k, stride;        /* conv only */
    fs_act act;           /* fused epilogue activation */
    size_t w_off, w_len;  /* weights in the parameter buffer, floats */
    size_t b_off, b_len;  /* bias, floats (0 for pixel shuffle) */
} fs_layer;

typedef struct fs_net {
    char name[FS_NAME_LEN + 16]; /* "encoder", "decoder_A" */
    fs_layer *layers;
    int n_layers;
    size_t param_off, param_len; /* the net's slice of the parameter buffer */
    float **act;                 /* act[l]: output of layer l, [batch, out_h, out_w, out_c] */
    float *dact_a, *dact_b;      /* ping-pong activation gradients, max layer size */
    int batch;                   /* samples the activation buffers hold */
} fs_net;

typedef struct fs_model {
    int resolution;
    int n_decoders;
    fs_net encoder;
    fs_net decoders[FS_MAX_IDENTITIES];
    size_t n_params;
    float leaky_alpha;    /* LeakyReLU slope of every FS_ACT_LEAKY layer (model.leaky_alpha) */

    const fs_backend *be; /* NULL until fs_model_alloc */
    float *params;        /* [n_params], device */
    float *grads;         /* [n_params], device; not owned after fs_model_use_grads */
    int grads_external;   /* 1: grads belongs to someone else (the all-reduce's shared region) */
    float *adam_m;        /* Adam first moment, [n_params], device */
    float *adam_v;        /* Adam second moment, [n_params], device */
    int batch;            /* samples per identity the buffers hold */
    float *input;         /* [n_decoders * batch, res, res, 3] encoder input, device */
    float *dlatent;       /* [n_decoders * batch, latent], device */
} fs_model;

/* Called as the backward pass finishes layers: every gradient at offset >= ready_from is
 * final for this step. ready_from only decreases within a step, ending at 0. */
typedef void (*fs_grad_ready_fn)(void *ctx, size_t ready_from);

/* Builds the layer table from the config (no memory for tensors yet). */
int fs_model_build(fs_model *m, const fs_config *c, fs_error *e);
/* Prints the layer table (name, output shape, parameters) and the totals. */
void fs_model_print(const fs_model *m, FILE *f);
/* Allocates parameters, gradients, Adam moments and activations for `batch` samples per
 * identity on the backend. */
void fs_model_alloc(fs_model *m, const fs_backend *be, int batch);
/* He-uniform weights (limit sqrt(6 / fan_in)), zero biases, from seed: identical across runs
 * and ranks. Adam moments are zeroed. */
void fs_model_init_params(fs_model *m, uint64_t seed);
void fs_model_free(fs_model *m);
/* Gradients are computed in g from now on (n_params floats, host memory of a cpu model,
 * e.g. the all-reduce's shared region): the model's own buffer is freed, g is not owned. */
void fs_model_use_grads(fs_model *m, float *g);

/* Forward of a training step: the encoder runs once on all identities' inputs
 * (m->input, identity i at samples [i*batch, (i+1)*batch)), decoder i on slice i.
 * n = samples per identity actually used (<= m->batch). Returns decoder i's output
 * [n, res, res, 3] through fs_model_output. */
void fs_model_forward(fs_model *m, int n);
float *fs_model_output(fs_model *m, int identity);
/* Backward: dout[i] is d loss / d output of decoder i, [n, res, res, 3] (device; it is
 * overwritten). Gradients ACCUMULATE into m->grads (zero them first). ready() may be NULL. */
void fs_model_backward(fs_model *m, int n, float **dout, fs_grad_ready_fn ready, void *ctx);
/* Inference: encoder then decoder `decoder` on x [n, res, res, 3], output into y (device). */
void fs_model_infer(fs_model *m, const float *x, int n, int decoder, float *y);

/* FLOPs of one forward pass of one sample through the encoder and one decoder. */
double fs_model_forward_flops(const fs_model *m);

#endif
