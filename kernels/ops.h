/* ops.h — the one op table. Every op the autoencoder needs, forward and backward, is
 * declared here once; kernels/cpu/ implements it with C11 + OpenMP + BLAS (the reference),
 * kernels/cuda/ with custom CUDA C kernels. The trainer calls through an fs_backend and
 * never branches on the device.
 *
 * Layout: activations are NHWC float32 (batch, height, width, channels), contiguous.
 *         conv weights are [k][k][cin][cout] (HWIO, as Keras/faceswap), biases [cout];
 *         dense weights are [in][out], biases [out].
 * Pointers passed to an op live on the backend's device (host memory for cpu).
 * Gradient convention, stated per op: "=" overwrites the output, "+=" accumulates into it
 * (weight and bias gradients accumulate so that several identities and micro-batches can
 * add into one gradient buffer; activation gradients overwrite). */
#ifndef FACESWARM_OPS_H
#define FACESWARM_OPS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

typedef enum { FS_DEV_CPU = 0, FS_DEV_CUDA = 1 } fs_device;

/* The precision of the conv and dense GEMMs (train.precision), set per backend with
 * set_precision: FS_PREC_FP32 (the default), or FS_PREC_BF16: both GEMM operands of every
 * conv2d_* and dense_* op (x or dz, and w; x and dz for bwd_filter) are rounded to bf16
 * (kernels/bf16.h: nearest even) and their products summed in float32 (the reference: in
 * double); inputs, outputs, biases, activations, losses and the optimizer stay float32. */
typedef enum { FS_PREC_FP32 = 0, FS_PREC_BF16 = 1, FS_PREC_BF16_ACT = 2 } fs_precision;
/* FS_PREC_BF16_ACT: FS_PREC_BF16's GEMMs, and activations STORED in bf16 (half the bytes).
 * Every activation tensor of the conv, dense, activation, pixel-shuffle and graph rows below
 * (x, y, dz, dy, dx, a, b, da, db of add / concat; NOT the bias gradient db of bwd_filter) is
 * then an array of fs_bf16 (kernels/bf16.h) passed as float *; weights, biases, weight and
 * bias gradients, the losses' images and gradients, mask_mul, u8_to_float, sumsq and the
 * optimizers stay float32. Each such op computes exactly as in FS_PREC_BF16 from its bf16
 * inputs (widened exactly to float) and rounds every activation it stores to bf16 (nearest
 * even, fs_bf16_from_f32) once, as it stores it; an accumulation (acc, y += x) reads y, adds
 * in float and rounds the sum. bf16_pack / bf16_unpack convert at the boundaries (the
 * model's input and outputs). A backend without this path refuses it (set_precision -1). */

/* Activation fused into a conv/dense epilogue. */
typedef enum { FS_ACT_NONE = 0, FS_ACT_LEAKY = 1, FS_ACT_SIGMOID = 2 } fs_act;

/* A 2-D convolution, "same" padding as TensorFlow: ho = ceil(h / stride),
 * pad_total = max((ho - 1) * stride + k - h, 0), pad_top = pad_total / 2 (the extra row,
 * if any, goes at the bottom). Same for width. */
typedef struct fs_conv_desc {
    int n, h, w, cin;      /* input [n, h, w, cin] */
    int k, stride;         /* k x k kernel (k >= 1), stride 1 or 2 */
    int cout;              /* output channels */
    int ho, wo;            /* output spatial size (derived) */
    int pad_top, pad_left; /* derived */
} fs_conv_desc;

/* Fills the derived fields; returns 0, or -1 if the shape is impossible. */
int fs_conv_desc_init(fs_conv_desc *d, int n, int h, int w, int cin, int cout, int k, int stride);
/* Multiply-adds of one forward pass (x2 for FLOPs). */
double fs_conv_macs(const fs_conv_desc *d);

/* Where Adam's epsilon goes, and in which precision its constants are formed
 * (train.adam_epsilon; see the adam op below for the formulas). */
typedef enum fs_adam_variant {
    FS_ADAM_KERAS = 0, /* "keras": eps added to sqrt(v), the Adam paper's "epsilon hat" form that
                        * faceswap's Keras Adam uses; constants formed in double */
    FS_ADAM_PAPER,     /* "paper": eps added to sqrt(v_hat), the paper's Algorithm 1 (PyTorch);
                        * constants formed in double */
    FS_ADAM_LEGACY,    /* "legacy": faceswarm 0.1.0 — PAPER with lr, betas and eps rounded to
                        * float32 first; kept so that its checkpoints resume bit for bit */
} fs_adam_variant;

/* Adam hyper-parameters for one update of the whole parameter buffer. */
typedef struct fs_adam_args {
    double lr, beta1, beta2, eps;
    long step;               /* 1-based count of the updates applied, this one included (bias corrections);
                        * the trainer does not count steps skipped by the non-finite guard, except
                        * for FS_ADAM_LEGACY, whose runs counted them */
    float grad_scale;        /* multiplies every gradient first: 1/world (average) x clip factor */
    float weight_decay;      /* decoupled (AdamW) decay, 0 = plain Adam */
    fs_adam_variant variant; /* adam only */
    /* adabelief only: DeepFaceLab's lr_dropout, the probability that an element's update is
     * applied this step (SAEHD: 0.3 with lr_dropout on); 0 or >= 1: every element's is. The
     * mask is a hash of (dropout_seed, step, element index): the same on every backend,
     * thread count and rank, and again after a resume. */
    float lr_dropout;
    uint64_t dropout_seed;
} fs_adam_args;

/* The float constants every float backend's update uses, formed from a in one place:
 *   m = b1 m + omb1 g';  v = b2 v + omb2 g'^2;
 *   p -= step_size * m / (sqrt(v) * rsqrt_bc2 + eps) + lrwd * p
 * KERAS: step_size = lr sqrt(1-b2^t) / (1-b1^t), rsqrt_bc2 = 1; PAPER: step_size = lr / (1-b1^t),
 * rsqrt_bc2 = 1 / sqrt(1-b2^t); both with omb = 1 - beta in double. LEGACY: as 0.1.0 did. */
typedef struct fs_adam_consts {
    float b1, omb1, b2, omb2, eps, step_size, rsqrt_bc2, lrwd;
    float lr, c1, c2; /* the CUDA kernel's form: p -= lr (m c1) / (sqrt(v c2) + eps) + lrwd p */
} fs_adam_consts;
/* Inline so that every backend (C, CUDA C++, the emulator) compiles the same code. LEGACY
 * reproduces 0.1.0's float arithmetic exactly (float betas, 1.0f - b in float, the step size
 * divided in float); the others form every constant in double and round once. */
static inline void fs_adam_consts_init(fs_adam_consts *k, const fs_adam_args *a) {
    double t = (double)a->step;
    if (a->variant == FS_ADAM_LEGACY) {
        float b1 = (float)a->beta1, b2 = (float)a->beta2, lr = (float)a->lr;
        float bc1 = (float)(1.0 - pow(b1, t));
        k->b1 = b1, k->omb1 = 1.0f - b1, k->b2 = b2, k->omb2 = 1.0f - b2, k->eps = (float)a->eps;
        k->step_size = lr / bc1, k->rsqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(b2, t)));
        k->lrwd = lr * a->weight_decay, k->lr = lr;
        k->c1 = (float)(1.0 / (1.0 - pow((double)b1, t))), k->c2 = (float)(1.0 / (1.0 - pow((double)b2, t)));
        return;
    }
    double bc1 = 1.0 - pow(a->beta1, t), bc2 = 1.0 - pow(a->beta2, t);
    int keras = a->variant == FS_ADAM_KERAS;
    k->b1 = (float)a->beta1, k->omb1 = (float)(1.0 - a->beta1);
    k->b2 = (float)a->beta2, k->omb2 = (float)(1.0 - a->beta2), k->eps = (float)a->eps;
    k->step_size = (float)(keras ? a->lr * sqrt(bc2) / bc1 : a->lr / bc1);
    k->rsqrt_bc2 = keras ? 1.0f : (float)(1.0 / sqrt(bc2));
    k->lrwd = (float)(a->lr * a->weight_decay), k->lr = (float)a->lr;
    k->c1 = (float)(keras ? sqrt(bc2) / bc1 : 1.0 / bc1), k->c2 = keras ? 1.0f : (float)(1.0 / bc2);
}
/* "keras" | "paper" | "legacy" -> variant; -1 for anything else. */
int fs_adam_variant_parse(const char *s);

/* AdaBelief's float constants (every float backend's update, formed in double and rounded
 * once; kernels/ops.h's adabelief row gives the formulas) and its dropout mask. */
#ifdef __CUDACC__
#define FS_HOST_DEVICE __host__ __device__
#else
#define FS_HOST_DEVICE
#endif
typedef struct fs_adabelief_consts {
    float b1, omb1, b2, omb2, eps, lr, lrwd, gsc;
    int dropout;         /* 1: some elements are dropped this step */
    uint32_t keep_below; /* element i is updated iff fs_adabelief_draw(drop_base, i) < keep_below */
    uint64_t drop_base;  /* the step's hash: fs_adabelief_mix(dropout_seed ^ step K) */
} fs_adabelief_consts;
/* splitmix64's finaliser. */
static inline FS_HOST_DEVICE uint64_t fs_adabelief_mix(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
/* 24 uniform bits for element i of the step whose hash is base. */
static inline FS_HOST_DEVICE uint32_t fs_adabelief_draw(uint64_t base, size_t i) {
    return (uint32_t)(fs_adabelief_mix(base + (uint64_t)i * 0x9E3779B97F4A7C15ull) >> 40);
}
static inline void fs_adabelief_consts_init(fs_adabelief_consts *k, const fs_adam_args *a) {
    k->b1 = (float)a->beta1, k->omb1 = (float)(1.0 - a->beta1);
    k->b2 = (float)a->beta2, k->omb2 = (float)(1.0 - a->beta2);
    k->eps = (float)a->eps, k->lr = (float)a->lr, k->lrwd = (float)(a->lr * a->weight_decay);
    k->gsc = a->grad_scale;
    k->dropout = a->lr_dropout > 0.0f && a->lr_dropout < 1.0f;
    k->keep_below = k->dropout ? (uint32_t)(a->lr_dropout * 16777216.0 + 0.5) : 1u << 24;
    k->drop_base = fs_adabelief_mix(a->dropout_seed ^ ((uint64_t)a->step * 0xD1B54A32D192ED03ull));
}

/* faceswap's DSSIM window (DSSIMObjective; the trainer's loss_dssim). */
#define FS_DSSIM_WIN 11
/* The largest DSSIM window (SAEHD at 640 px uses int(640 / 11.6) = 55). */
#define FS_DSSIM_MAX_WIN 64

/* Every backend's dssim first: dies naming the sizes unless 1 <= win <= FS_DSSIM_MAX_WIN
 * and a win x win window fits images of h x w. */
static inline void fs_dssim_check(int h, int w, int win) {
    if (win < 1 || win > FS_DSSIM_MAX_WIN)
        fs_die(FS_EXIT_FAIL,
               "dssim: window size %d; expected 1 to %d\n  hint: SAEHD's sizes are int(resolution "
               "/ 11.6) and int(resolution / 23.2)",
               win, FS_DSSIM_MAX_WIN);
    if (h < win || w < win)
        fs_die(FS_EXIT_FAIL,
               "dssim: images of %dx%d px have no %dx%d window\n  hint: DSSIM needs images of "
               "at least %dx%d px; use a smaller window, or the mse or l1 loss for smaller images",
               h, w, win, win, win, win);
}

/* pixnorm's epsilon, added to the mean square (DeepFaceLab's pixel_norm). */
#define FS_PIXNORM_EPS 1e-6

/* ---------------------------------------------------------------- the op list
 * Every entry of an fs_backend is one row X(P, ret, name, (params)) of the two lists below.
 * The lists generate the struct (FS_OP_FIELD), the declarations of each backend's functions
 * (FS_OP_DECL) and each backend's table (FS_OP_ENTRY, `.name = P_name`), so a backend that
 * lacks an op does not build: its P_name is undeclared or undefined. P is the backend's
 * function prefix: fs_ref (kernels/cpu/ref_*.c), fs_fast (kernels/cpu/fast*.c), fs_cuda and
 * fs_emu (kernels/cuda/, FSK(name)); the memory lists use fs_cpu (both CPU backends), cu and
 * emu. Adding an op: one row here, one kernel per backend, one row of cases in
 * kernels/op_cases.c (docs/cuda.md, "Adding an op"). */

/* Memory (bytes); device pointers for cuda, host for cpu. */
#define FS_MEMORY_OPS(X, P)                                                                                            \
    X(P, void *, alloc, (size_t bytes)) /* zero-filled */                                                              \
    X(P, void, free, (void *p))                                                                                        \
    X(P, void, upload, (void *dst_dev, const void *src_host, size_t bytes))                                            \
    X(P, void, download, (void *dst_host, const void *src_dev, size_t bytes))                                          \
    X(P, void, copy, (void *dst_dev, const void *src_dev, size_t bytes))                                               \
    X(P, void, zero, (void *p, size_t bytes))                                                                          \
    X(P, void, sync, (void)) /* wait for all queued work */                                                            \
    /* bytes the device can still allocate: cpu and cuda-emulated: the host's (MemAvailable,   \
     * and the cgroup's memory limit less its usage when lower; fs_host_mem_available); cuda: \
     * cudaMemGetInfo's free memory */                       \
    X(P, size_t, mem_available, (void))                                                                                \
    /* the conv/dense precision for the ops queued after it (fs_precision); 0, or -1 when   \
     * the backend has no such path (the precision stays as it was) */                          \
    X(P, int, set_precision, (int precision))

/* The kernels; each group's semantics are stated above its rows. */
#define FS_KERNEL_OPS(X, P)                                                                                            \
    /* batch upload: dst[i] = src[i] / 255 (uint8 HWC faces from the loader) */                                        \
    X(P, void, u8_to_float, (size_t n, const uint8_t *src_host, float *dst_dev))                                       \
    /* bf16 storage (FS_PREC_BF16_ACT), whatever the precision set:                          \
     * pack:   y16[i] = bf16(x[i]), round to nearest even (fs_bf16_from_f32) (=)             \
     * unpack: y[i] = x16[i] widened exactly (=); x16, y16: count fs_bf16 passed as float * */                         \
    X(P, void, bf16_pack, (size_t count, const float *x, float *y16))                                                  \
    X(P, void, bf16_unpack, (size_t count, const float *x16, float *y))                                                \
    /* conv2d: x [n,h,w,cin], w [k,k,cin,cout], b [cout], y [n,ho,wo,cout]                   \
     * fwd:        y  = act(conv(x, w) + b)                 (=)                              \
     * bwd_data:   dx = conv^T(dz, w)                       (=)   dz: grad w.r.t. pre-act    \
     * bwd_filter: dw += x^T * dz ; db += sum dz            (+=)  db may be NULL */                         \
    X(P, void, conv2d_fwd,                                                                                             \
      (const fs_conv_desc *d, const float *x, const float *w, const float *b, float *y, fs_act act, float alpha))      \
    X(P, void, conv2d_bwd_data, (const fs_conv_desc *d, const float *dz, const float *w, float *dx))                   \
    X(P, void, conv2d_bwd_filter, (const fs_conv_desc *d, const float *x, const float *dz, float *dw, float *db))      \
    /* dense: x [n,in], w [in,out], b [out], y [n,out]                                       \
     * fwd: y = act(x w + b) (=); bwd_data: dx = dz w^T (=); bwd_filter: dw += x^T dz,       \
     * db += sum dz */                         \
    X(P, void, dense_fwd,                                                                                              \
      (int n, int in, int out, const float *x, const float *w, const float *b, float *y, fs_act act, float alpha))     \
    X(P, void, dense_bwd_data, (int n, int in, int out, const float *dz, const float *w, float *dx))                   \
    X(P, void, dense_bwd_filter, (int n, int in, int out, const float *x, const float *dz, float *dw, float *db))      \
    /* activations, elementwise over count elements. *_bwd take the forward OUTPUT y         \
     * (y > 0 iff x > 0 for LeakyReLU with alpha > 0), so activations may run in place.      \
     * fwd: y = f(x) (=, y may alias x); bwd: dx = f'(y) * dy (=, dx may alias dy) */                         \
    X(P, void, leaky_fwd, (size_t count, float alpha, const float *x, float *y))                                       \
    X(P, void, leaky_bwd, (size_t count, float alpha, const float *y, const float *dy, float *dx))                     \
    X(P, void, sigmoid_fwd, (size_t count, const float *x, float *y))                                                  \
    X(P, void, sigmoid_bwd, (size_t count, const float *y, const float *dy, float *dx))                                \
    /* pixel shuffle x2 (faceswap's PixelShuffler, channels last):                           \
     * x [n,h,w,4c] -> y [n,2h,2w,c], y[n, 2i+a, 2j+b, ch] = x[n, i, j, (2a+b)*c + ch]        \
     * fwd (=), bwd: dx from dy (=) */                         \
    X(P, void, pixshuf_fwd, (int n, int h, int w, int c4, const float *x, float *y))                                   \
    X(P, void, pixshuf_bwd, (int n, int h, int w, int c4, const float *dy, float *dx))                                 \
    /* mask multiply (the masked loss): mask [n,h,w] in [0,1] (uploaded from the loader's    \
     * uint8 masks with u8_to_float), x and y [n,h,w,c]:                                     \
     * y[n,i,j,ch] = x[n,i,j,ch] * mask[n,i,j] (=, y may alias x). It is linear in x, so its \
     * backward w.r.t. x is the same op applied to dy: dx = dy * mask. */                         \
    X(P, void, mask_mul, (int n, int h, int w, int c, const float *mask, const float *x, float *y))                    \
    /* the model graph's plumbing, over count elements or rows of channels (channels last):  \
     * add:    y = a + b (=, y may alias a or b): a residual add; its backward is dy to both \
     * acc:    y += x (+=): the gradient of a tensor that feeds two layers                   \
     * concat: a [rows,ca], b [rows,cb] -> y [rows,ca+cb], y[r] = (a[r], b[r]) (=);          \
     *         bwd: da = dy[:, :ca], db = dy[:, ca:] (=; either may be NULL: not wanted)     \
     * pixnorm (DeepFaceLab's pixel_norm over the last axis), x and y [rows,c]:              \
     *         fwd: y = x r, r = 1 / sqrt(mean over c of x^2 + 1e-6) (=, y may alias x);    \
     *         bwd: dx = r dy - (r^3 / c) (sum over c of dy x) x (=, dx may alias dy) */                         \
    X(P, void, add, (size_t count, const float *a, const float *b, float *y))                                          \
    X(P, void, acc, (size_t count, const float *x, float *y))                                                          \
    X(P, void, concat_fwd, (size_t rows, int ca, int cb, const float *a, const float *b, float *y))                    \
    X(P, void, concat_bwd, (size_t rows, int ca, int cb, const float *dy, float *da, float *db))                       \
    X(P, void, pixnorm_fwd, (size_t rows, int c, const float *x, float *y))                                            \
    X(P, void, pixnorm_bwd, (size_t rows, int c, const float *x, const float *dy, float *dx))                          \
    /* losses over images [n,h,w,c]; each returns the loss (a host double, mean over its     \
     * terms) and ADDS weight * dLoss/dpred into dpred (+=). dpred may be NULL (loss only).  \
     * mse:   mean((p - t)^2)                                                                \
     * l1:    mean(|p - t|)      (subgradient 0 at p == t)                                   \
     * dssim: (1 - mean SSIM) / 2, SSIM per channel over win x win Gaussian windows        \
     *        (sigma 1.5, taps at i - (win - 1) / 2 for i < win, so an even window has no     \
     *        centre tap, as DeepFaceLab's and TensorFlow's), "valid" windows only            \
     *        (n (h - win + 1) (w - win + 1) c of them), C1 = (0.01)^2, C2 = (0.03)^2 for     \
     *        values in [0, 1]; 1 <= win <= FS_DSSIM_MAX_WIN, h and w >= win (a fatal error   \
     *        otherwise). win 11 is faceswap's DSSIMObjective; SAEHD uses int(res / 11.6)     \
     *        and, at res >= 256, int(res / 23.2) as well. */                         \
    X(P, double, mse,                                                                                                  \
      (int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight))                \
    X(P, double, l1, (int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight)) \
    X(P, double, dssim,                                                                                                \
      (int n, int h, int w, int c, int win, const float *pred, const float *target, float *dpred, float weight))       \
    /* optimizer                                                                             \
     * sumsq: sum of squares of x as a host double (NaN/Inf propagate: used as the           \
     *        non-finite guard and for the global gradient norm).                            \
     * adam:  g' = grad_scale * g; m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2;             \
     *        KERAS:         p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps) + lr * wd * p \
     *        PAPER, LEGACY: p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr * wd * p \
     *        (t = a->step; fs_adam_consts gives the float backends their constants)         \
     * adabelief: DeepFaceLab's AdaBelief (core/leras/optimizers/AdaBelief.py), with       \
     *        grad_scale and decoupled weight decay as adam: g' = grad_scale * g;              \
     *        m = b1 m + (1-b1) g'; s = b2 s + (1-b2) (g' - m)^2 (the NEW m);                  \
     *        p -= keep * (lr * m / (sqrt(s) + eps) + lr * wd * p).                            \
     *        No bias correction (step only seeds the dropout mask), eps added to sqrt(s),   \
     *        not to s (DFL passes float32's resolution, 1e-6, and no eps inside);            \
     *        keep = 1, or with lr_dropout in (0, 1) a Bernoulli(lr_dropout) draw per element \
     *        and step (fs_adabelief_draw); dropped elements keep p, m and s still update, as \
     *        DFL's. variant is ignored. DFL's lr_cos and clipnorm act on lr and grad_scale.  \
     *        (fs_adabelief_consts gives the float backends their constants.)                 \
     * scale: x *= s */                         \
    X(P, double, sumsq, (size_t count, const float *x))                                                                \
    X(P, void, adam, (size_t count, float *p, const float *g, float *m, float *v, const fs_adam_args *a))              \
    X(P, void, adabelief, (size_t count, float *p, const float *g, float *m, float *s, const fs_adam_args *a))         \
    X(P, void, scale, (size_t count, float *x, float s))

#define FS_OP_CAT_(a, b) a##_##b
#define FS_OP_CAT(a, b) FS_OP_CAT_(a, b)
/* The struct's field, a backend's prototype, a backend's table entry. */
#define FS_OP_FIELD(P, ret, name, params) ret(*name) params;
#define FS_OP_DECL(P, ret, name, params) ret FS_OP_CAT(P, name) params;
#define FS_OP_ENTRY(P, ret, name, params) .name = FS_OP_CAT(P, name),
/* The whole table of a backend: memory functions MP_*, kernels KP_*. */
#define FS_BACKEND_TABLE(MP, KP) FS_MEMORY_OPS(FS_OP_ENTRY, MP) FS_KERNEL_OPS(FS_OP_ENTRY, KP)

typedef struct fs_backend {
    const char *name; /* "cpu", "cuda", "cuda-emulated" */
    fs_device device;
    FS_MEMORY_OPS(FS_OP_FIELD, _)
    FS_KERNEL_OPS(FS_OP_FIELD, _)
} fs_backend;

/* One entry of the op list as data: its name and where it sits in an fs_backend, for the
 * tests that walk every op (tests/kernels/test_backends.c names a NULL entry). */
typedef struct fs_op_info {
    const char *name;
    size_t offset; /* offsetof(fs_backend, name) */
    int kernel;    /* 1: a row of FS_KERNEL_OPS, 0: of FS_MEMORY_OPS */
} fs_op_info;
/* Every entry of FS_MEMORY_OPS then FS_KERNEL_OPS, in list order; *count gets the length. */
const fs_op_info *fs_op_list(size_t *count);
/* The names of the entries of be that are NULL, comma-separated into buf (empty when none);
 * returns how many. */
int fs_backend_missing(const fs_backend *be, char *buf, size_t len);

/* The backend for train.device ("cpu" or "cuda"; local_rank picks the GPU), or NULL and an
 * error that names what is missing (no CUDA build, no GPU, no driver). */
const fs_backend *fs_backend_select(const char *device, int local_rank, fs_error *e);
/* The CUDA backend on GPU local_rank % device count; kernels/cuda/. In a build without CUDA
 * it returns NULL with an error that says so. */
const fs_backend *fs_backend_cuda(int local_rank, fs_error *e);
/* The CUDA kernels run on the host under kernels/cuda's emulator (tests, CI). NULL in a
 * build without the CUDA sources. */
const fs_backend *fs_backend_cuda_emulated(void);

/* The CPU backend (always present). */
const fs_backend *fs_backend_cpu(void);
/* The plain-loop CPU reference (the specification; slow, single-threaded). Tests check
 * every other backend, the fast CPU path included, against it. */
const fs_backend *fs_backend_cpu_ref(void);

#endif
