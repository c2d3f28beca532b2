/* model.h — the face-swap autoencoder as a small graph of nodes, built from the config by
 * the builder of its architecture (model.arch: trainer/arch_original.c, arch_df.c,
 * arch_liae.c; the builder-facing calls are in trainer/arch.h).
 *
 * Nodes. A node names its inputs by node id (always earlier nodes, so node order is a
 * topological order), has an output shape per sample (h, w, c; NHWC, a dense layer's is
 * 1 x 1 x out) and a kind: input, conv (k x k, stride, fused activation with its own
 * LeakyReLU slope), dense, reshape (flatten included: free in NHWC), slice (one identity's
 * samples), pixel shuffle x2 (= tf.nn.depth_to_space's channel order), leaky, sigmoid, add,
 * concat (channels) and pixel norm. Reshape and slice are views: their output is the input's
 * buffer (at an offset), they have no kernel.
 *
 * Samples. A training step holds `batch` samples per identity; every node covers a range of
 * identity slots [slot0, slot0 + nslots) and its buffer holds nslots * batch samples, slot j
 * at sample (j - slot0) * batch. The input covers every slot; a slice narrows to one slot;
 * the other kinds cover their inputs' range (the inputs of add and concat cover the same
 * one). So the encoder runs once over all identities' concatenated batch and each identity's
 * branch on its slice. With n < batch samples per identity a node over several slots runs one
 * call per slot (n samples at (j - slot0) * batch) instead of one call over all of them.
 *
 * Parameters. ONE buffer holds all parameters, and so do the gradients and Adam's moments:
 * each node with parameters owns weights then bias, in node order. A node may instead share
 * an earlier node's parameters (LIAE runs one decoder on two identities' codes): it reads the
 * same weights and ADDS into the same gradients. The backward pass runs the nodes in reverse
 * order; a block of parameters is final once its last use (the owner, the earliest node) is
 * done. After each node, the callback gets ready_from = the start of the lowest block such
 * that every block from there to the end of the buffer is final: it only decreases within a
 * step and ends at 0. Builders lay out parameters so that blocks become final from the END of
 * the buffer towards its start (then every node with parameters advances ready_from); the
 * bucketed all-reduce depends on that order only for its overlap, not for correctness.
 *
 * Gradients. The gradient of a node's output is planned at fs_model_alloc: it lives from the
 * backward of its first consumer in reverse order (the last one in node order) until the
 * node's own backward, and buffers whose gradients are dead are reused. A view's gradient is
 * its input's buffer at the view's offset. Several consumers (fan-out) add into one gradient:
 * the first writer of an identity slot stores, later ones go through a scratch buffer and
 * accumulate. The output gradients are the caller's dout / dmask (overwritten). */
#ifndef FACESWARM_MODEL_H
#define FACESWARM_MODEL_H

#include <stddef.h>
#include <stdio.h>

#include "kernels/ops.h"
#include "trainer/config.h"

typedef enum {
    FS_NODE_INPUT = 0,
    FS_NODE_CONV,
    FS_NODE_DENSE,
    FS_NODE_RESHAPE, /* view; a flatten is a reshape to 1 x 1 x (h w c) */
    FS_NODE_SLICE,   /* view: one identity slot of its input */
    FS_NODE_PIXSHUF, /* [h, w, 4c] -> [2h, 2w, c] */
    FS_NODE_LEAKY,
    FS_NODE_SIGMOID,
    FS_NODE_ADD,
    FS_NODE_CONCAT,  /* channels: [a | b] */
    FS_NODE_PIXNORM, /* y = x / sqrt(mean_c(x^2) + 1e-6) over each position's channels */
} fs_node_kind;

/* How a node's weights are drawn (biases are zero). */
typedef enum {
    FS_INIT_HE_UNIFORM = 0, /* U(+-sqrt(6 / fan_in)): Keras he_uniform, faceswap's original */
    FS_INIT_GLOROT_UNIFORM, /* U(+-sqrt(6 / (fan_in + fan_out))): Keras glorot_uniform, DeepFaceLab's leras */
} fs_init;

typedef struct fs_node {
    char name[64]; /* "encoder.conv1", "decoder_A.upscale2.conv", ... */
    fs_node_kind kind;
    int in[2], n_in;   /* input node ids */
    int h, w, c;       /* output shape per sample */
    int k, stride;     /* conv */
    fs_act act;        /* conv, dense: fused epilogue activation */
    float alpha;       /* slope of the fused LeakyReLU (conv, dense) or of a leaky node */
    int slot0, nslots; /* identity slots covered */
    int slot;          /* slice: the slot taken */
    int shares;        /* -1, or the node whose parameters this one uses */
    fs_init init;
    size_t w_off, w_len; /* weights in the parameter buffer, floats (0 when shared or none) */
    size_t b_off, b_len; /* bias */
    /* filled by fs_model_alloc */
    float *y;        /* output, [nslots * batch, h, w, c]; a view points into its input's */
    size_t view_off; /* views: sample offset of y in its root's buffer */
    int root;        /* the node whose buffer y lies in (itself unless a view) */
    int needs_grad;  /* 1: its output gradient is needed (it or something before it has parameters) */
    int gbuf;        /* planned gradient buffer of a root (-1: none, or the caller's output gradient) */
    int out_of;      /* identity whose image output this is, or -1 */
    int mask_of;     /* identity whose mask output this is, or -1 */
} fs_node;

typedef struct fs_model {
    char arch[16]; /* model.arch */
    int resolution;
    int n_decoders; /* identities */
    fs_node *nodes;
    int n_nodes, cap;
    int output[FS_MAX_IDENTITIES]; /* node of identity i's image [res, res, 3] */
    int mask[FS_MAX_IDENTITIES];   /* node of identity i's learned mask [res, res, 1], -1: none */
    size_t n_params;
    float leaky_alpha; /* model.leaky_alpha (original's LeakyReLU slope) */

    /* Activation storage (train.precision bf16 on cuda: FS_PREC_BF16_ACT, kernels/ops.h), set
     * by the caller before fs_model_plan / fs_model_alloc (0 after fs_model_build): 1 = every
     * node output, planned gradient buffer and the scratch hold bf16 (2 bytes a value) and the
     * backend must be in FS_PREC_BF16_ACT for every forward / backward. The model's interface
     * stays float32: m->input, fs_model_output / fs_model_mask and the caller's dout / dmask
     * are float buffers that the model packs into (input, output gradients) or unpacks out of
     * (outputs, masks) its bf16 tensors, with bf16_pack / bf16_unpack. */
    int act_bf16;
    const fs_backend *be; /* NULL until fs_model_alloc */
    float *params;        /* [n_params], device */
    float *grads;         /* [n_params], device; not owned after fs_model_use_grads */
    int grads_external;   /* 1: grads belongs to someone else (the all-reduce's shared region) */
    float *adam_m;        /* Adam first moment, [n_params], device */
    float *adam_v;        /* Adam second moment, [n_params], device */
    int batch;            /* samples per identity the buffers hold */
    /* [n_decoders * batch, res, res, 3] the input node's buffer, device; act_bf16: a float32
     * buffer that forward packs into the input node's bf16 one */
    float *input;
    float *out32[FS_MAX_IDENTITIES];   /* act_bf16: identity i's image output in float32 [batch, res, res, 3] */
    float *mask32[FS_MAX_IDENTITIES];  /* act_bf16: its mask in float32 [batch, res, res, 1] (NULL: none) */
    float *dout16[FS_MAX_IDENTITIES];  /* act_bf16: the bf16 gradient of output i (dout packed) */
    float *dmask16[FS_MAX_IDENTITIES]; /* act_bf16: the bf16 gradient of mask i (dmask packed) */
    /* the backward plan (fs_model_alloc) */
    float **gbufs; /* planned gradient buffers */
    int n_gbufs;
    size_t *gbuf_floats;   /* [n_gbufs] their sizes */
    float *scratch;        /* one contribution that must be added to a gradient already written */
    size_t scratch_floats; /* its size */
    int *last_use;         /* per node: the lowest node id using its parameters (itself or a sharer) */
} fs_model;

/* Called as the backward pass finishes nodes: every gradient at offset >= ready_from is
 * final for this step. ready_from only decreases within a step, ending at 0. */
typedef void (*fs_grad_ready_fn)(void *ctx, size_t ready_from);

/* Builds the graph of c's architecture (no memory for tensors yet). Errors (exit 2) name the
 * key and value that cannot be built: the shape rules live in the builders. */
int fs_model_build(fs_model *m, const fs_config *c, fs_error *e);
/* Prints the graph: node, kind, inputs, output shape, parameters; then the totals per part
 * (the name before the first '.') and in all. */
void fs_model_print(const fs_model *m, FILE *f);
/* What fs_model_alloc allocates for `batch` samples per identity, bytes. */
typedef struct fs_model_mem {
    size_t params;      /* [n_params] floats */
    size_t grads;       /* [n_params] floats: the parameter gradients (the all-reduce's buckets are slices) */
    size_t moments;     /* the optimizer's two [n_params] buffers (Adam m, v; AdaBelief m, s) */
    size_t activations; /* every node's output kept for the backward pass (views share their input's);
                         * act_bf16: 2 bytes a value, plus the float32 input and output copies */
    size_t gradients;   /* the planned gradient buffers of node outputs and the fan-in scratch;
                         * act_bf16: 2 bytes a value, plus the bf16 copies of the output gradients */
} fs_model_mem;
/* The plan fs_model_alloc follows (it calls this), without allocating: the estimate of
 * `faceswarm model` and train's check before allocating come from here. */
void fs_model_plan(fs_model *m, int batch, fs_model_mem *mem);
/* Allocates parameters, gradients, Adam moments, activations and the planned gradient
 * buffers for `batch` samples per identity on the backend (fs_model_plan's sizes). */
void fs_model_alloc(fs_model *m, const fs_backend *be, int batch);
/* Weights as each node's init says (original: He-uniform), zero biases, from seed: each node
 * with weights draws from its own stream (seed, its index among the conv, dense and
 * pixel-shuffle nodes: faceswarm's original layer numbering), identical across runs and
 * ranks. Adam moments and gradients are zeroed. */
void fs_model_init_params(fs_model *m, uint64_t seed);
void fs_model_free(fs_model *m);
/* Gradients are computed in g from now on (n_params floats, host memory of a cpu model,
 * e.g. the all-reduce's shared region): the model's own buffer is freed, g is not owned. */
void fs_model_use_grads(fs_model *m, float *g);

/* Forward of a training step on m->input (identity i at samples [i*batch, i*batch + n)).
 * n = samples per identity actually used (<= m->batch). */
void fs_model_forward(fs_model *m, int n);
/* Identity i's image output of the last forward, [batch, res, res, 3] (the first n valid). */
float *fs_model_output(fs_model *m, int identity);
/* Identity i's learned mask of the last forward, [batch, res, res, 1]; NULL when the
 * architecture has none (original). */
float *fs_model_mask(fs_model *m, int identity);
/* Backward: dout[i] is d loss / d image of identity i, [n, res, res, 3]; dmask (NULL, or
 * dmask[i] NULL for none) d loss / d mask of identity i, [n, res, res, 1] (device; both are
 * overwritten). Gradients ACCUMULATE into m->grads (zero them first). ready may be NULL. */
void fs_model_backward(fs_model *m, int n, float **dout, float **dmask, fs_grad_ready_fn ready, void *ctx);
/* Inference (swap): x [n, res, res, 3] runs through identity `to`'s path (encoder, and the
 * branch that decodes identity `to`); its image into y and, when ymask is not NULL and the
 * architecture has masks, its mask into ymask [n, res, res, 1] (device). Uses identity `to`'s
 * slot of m->input as its input buffer (a training step uploads its own). */
void fs_model_infer(fs_model *m, const float *x, int n, int to, float *y);
void fs_model_infer_mask(fs_model *m, const float *x, int n, int to, float *y, float *ymask);

/* FLOPs of one forward pass of one sample of one identity (the nodes on identity 0's path). */
double fs_model_forward_flops(const fs_model *m);
/* Parameters of the nodes whose name starts with part (e.g. "encoder", "decoder_A"). */
size_t fs_model_part_params(const fs_model *m, const char *part);

#endif
