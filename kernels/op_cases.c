/* op_cases.c — the table of op cases and tolerances (op_cases.h). */
#include "kernels/op_cases.h"

#include <stdio.h>
#include <string.h>

#define G FS_OPC_GRAD
#define F FS_OPC_FAST
#define T3 FS_OPC_THREADS3
#define C FS_OPC_CUDA
#define B FS_OPC_BENCH
#define P FS_OPC_PATHS
#define V FS_OPC_VEC
#define BF FS_OPC_BF16
#define NA                                                                                                             \
    { 0, 0 }

/* Tolerances (op_cases.h says how each check applies rtol and atol). GEMM-like ops sum in
 * float in different orders (cpu: 2e-5 of max |ref|; cuda: up to ~1700 products per output,
 * 1e-4); elementwise ops compute the same formula (exact, or 1e-6 where expf may differ);
 * losses sum in double (value 1e-6) except cuda's dssim, whose window moments are float. */
static const fs_op_tol g_op_tols[] = {
    /* op            fwd            grad           fast          fast_value    cuda          cuda_value */
    {"conv2d", {1e-5, 1e-12}, {2e-5, 1e-12}, {2e-5, 1e-12}, NA, {1e-4, 1e-4}, NA},
    {"dense", {1e-5, 1e-12}, {2e-5, 1e-12}, {2e-5, 1e-12}, NA, {1e-4, 1e-4}, NA},
    {"leaky", {1e-5, 1e-12}, {2e-5, 1e-12}, NA, NA, {1e-7, 1e-7}, NA},
    {"sigmoid", {1e-5, 1e-12}, {2e-5, 1e-12}, {1e-6, 0}, NA, {1e-6, 1e-7}, NA},
    {"pixshuf", {1e-12, 1e-12}, {2e-5, 1e-12}, NA, NA, {1e-7, 1e-7}, NA},
    {"mask_mul", NA, NA, NA, NA, {1e-7, 0}, NA},
    {"mse", {1e-6, 1e-12}, {2e-5, 1e-12}, {2e-5, 0}, {1e-6, 0}, {1e-5, 1e-6}, {1e-6, 0}},
    {"l1", {1e-6, 1e-12}, {2e-5, 1e-12}, {2e-5, 0}, {1e-6, 0}, {1e-5, 1e-6}, {1e-6, 0}},
    {"dssim", {1e-6, 1e-12}, {2e-5, 1e-12}, {1e-6, 0}, {1e-9, 0}, {1e-3, 1e-3}, {0, 1e-5}},
    {"scale", NA, NA, {1e-6, 0}, NA, {1e-7, 1e-7}, NA},
    {"sumsq", NA, NA, NA, {1e-12, 0}, NA, {1e-6, 0}},
    {"u8_to_float", NA, NA, NA, NA, {1e-7, 0}, NA},
    {"bf16", NA, NA, {0, 0}, NA, {0, 0}, NA},                      /* bf16_pack / unpack: one rounding rule, exact */
    {"adam", {1e-6, 0}, NA, {1e-6, 0}, NA, {1e-5, 1e-6}, NA},      /* fwd: kernels_adam */
    {"adabelief", {1e-6, 0}, NA, {1e-6, 0}, NA, {1e-5, 1e-6}, NA}, /* fwd: kernels_adabelief */
    /* copies and float adds: bit-identical everywhere; pixnorm: the row sums in double in
     * other orders, then one float rounding (cuda: r and k rounded to float first) */
    {"add", NA, NA, {0, 0}, NA, {0, 0}, NA},
    {"acc", NA, NA, {0, 0}, NA, {0, 0}, NA},
    {"concat", {0, 0}, {2e-5, 1e-12}, {0, 0}, NA, {0, 0}, NA},
    {"pixnorm", {1e-6, 1e-12}, {2e-5, 1e-12}, {1e-6, 0}, NA, {1e-5, 1e-6}, NA},
};

#define NONE FS_ACT_NONE
#define LEAKY FS_ACT_LEAKY
#define SIGM FS_ACT_SIGMOID
/* {op, n, h, w, c, cout, k, stride, act, where} */
static const fs_op_case g_op_cases[] = {
    /* conv2d: odd sizes, stride 1 and 2, odd and even kernels, 1x1 */
    {"conv2d", 2, 7, 5, 3, 4, 3, 1, LEAKY, G | F | C},
    {"conv2d", 2, 7, 5, 3, 4, 3, 2, LEAKY, G | C},
    {"conv2d", 2, 7, 5, 3, 4, 5, 1, NONE, G | C},
    {"conv2d", 2, 7, 5, 3, 4, 5, 2, SIGM, G | F | C},
    {"conv2d", 1, 6, 8, 2, 3, 5, 2, NONE, G | F | C}, /* even sizes: the extra padding row at the bottom */
    {"conv2d", 1, 4, 3, 2, 2, 1, 1, LEAKY, G | C},
    {"conv2d", 1, 5, 4, 2, 3, 1, 2, LEAKY, G | F | C},
    {"conv2d", 3, 9, 6, 5, 7, 5, 2, LEAKY, F | C},
    {"conv2d", 2, 4, 3, 2, 5, 1, 1, NONE, F | C},
    {"conv2d", 2, 5, 7, 12, 20, 1, 1, LEAKY, F | T3 | C}, /* pointwise: no im2col */
    {"conv2d", 2, 5, 7, 12, 20, 1, 2, LEAKY, F | C},
    {"conv2d", 2, 9, 7, 5, 17, 3, 2, LEAKY, F | T3 | C}, /* GEMM + col2im path */
    {"conv2d", 3, 7, 5, 6, 21, 3, 1, LEAKY, T3 | C},
    {"conv2d", 1, 6, 5, 4, 12, 2, 1, NONE, F | C},         /* even k, stride 1: not a flipped forward conv */
    {"conv2d", 2, 9, 7, 5, 13, 5, 2, LEAKY, F | C},        /* the encoder's conv block, odd sizes */
    {"conv2d", 3, 17, 15, 3, 70, 3, 1, NONE, F | C},       /* two column tiles; split-K over 765 rows */
    {"conv2d", 1, 6, 10, 67, 5, 5, 2, SIGM, F | C},        /* cin > 64: two column tiles in bwd_data */
    {"conv2d", 2, 5, 5, 4, 6, 1, 2, LEAKY, F | C},         /* 1x1 stride 2: classes with no tap */
    {"conv2d", 1, 8, 8, 2, 3, 4, 2, NONE, F | C},          /* even kernel: asymmetric padding */
    {"conv2d", 2, 12, 11, 9, 66, 3, 1, LEAKY, F | C},      /* the upscale conv (3x3 to 4C) */
    {"conv2d", 2, 10, 7, 6, 9, 3, 2, LEAKY, F | C},        /* pad_top 0 != pad_left 1 */
    {"conv2d", 2, 17, 15, 64, 32, 5, 2, LEAKY, F | C | B}, /* fast: GEMM + col2im */
    {"conv2d", 2, 12, 11, 32, 48, 3, 1, LEAKY, F | C | B}, /* fast: flipped forward conv for bwd_data */
    {"conv2d", 1, 20, 19, 16, 3, 5, 1, LEAKY, F | C | B},  /* fast: 3 output channels, direct loops */
    {"conv2d", 2, 17, 15, 3, 16, 5, 2, LEAKY, F | C | B},  /* fast: 3 input channels, direct loops */
    /* fast_conv_direct.c (cin <= 8, cout a multiple of 16): the encoder's first conv and odd
     * variants (tails of 6-pixel blocks, kernel rows of k * cin not a multiple of 6, 32 output
     * channels = two groups); fast_conv_small.c (stride 1, 3 output channels): the quickstart
     * and original output convs, widths that leave partial 4- and 8-pixel blocks */
    {"conv2d", 3, 64, 64, 3, 16, 5, 2, LEAKY, P},
    {"conv2d", 2, 17, 13, 3, 32, 5, 2, LEAKY, P | C},
    {"conv2d", 2, 9, 11, 8, 16, 3, 1, LEAKY, P | C},
    {"conv2d", 1, 7, 5, 1, 16, 4, 1, LEAKY, P | C},
    {"conv2d", 2, 64, 64, 8, 3, 5, 1, LEAKY, P},
    {"conv2d", 1, 32, 32, 64, 3, 5, 1, LEAKY, P},
    {"conv2d", 2, 13, 11, 16, 3, 3, 1, LEAKY, P | C},
    {"conv2d", 3, 6, 7, 8, 3, 5, 1, LEAKY, P | C},
    {"conv2d", 3, 80, 80, 64, 9, 5, 2, LEAKY, F},   /* several image chunks (bwd_data), row blocks (bwd_filter) */
    {"conv2d", 2, 16, 16, 128, 64, 5, 2, LEAKY, F}, /* encoder conv shape, fewer output channels */
    {"conv2d", 1, 16, 16, 256, 96, 3, 1, LEAKY, F}, /* decoder upscale conv shape, fewer output channels */
    {"conv2d", 2, 64, 64, 64, 3, 5, 1, SIGM, F},    /* output conv: one image per im2col chunk */
    /* the tensor-core GEMM (bf16): 128 x 128 / 128 x 64 tiles, K slices of 32, 16-byte chunks
     * of 8 bf16 where K's contiguous run (cin, cout) is a multiple of 8, elements otherwise */
    {"conv2d", 2, 13, 11, 16, 72, 3, 1, LEAKY, BF},  /* M 286, N 72 (128-wide tile), chunks */
    {"conv2d", 2, 9, 9, 8, 24, 3, 2, LEAKY, BF},     /* stride 2, chunks in every mode */
    {"conv2d", 1, 9, 9, 16, 40, 1, 2, NONE, BF},     /* 1x1 stride 2, chunks */
    {"conv2d", 2, 11, 9, 3, 136, 5, 2, SIGM, BF},    /* cin 3: elements; N 136: two column tiles */
    {"conv2d", 1, 6, 7, 24, 5, 4, 1, NONE, BF},      /* even kernel, cout 5: bwd_data by elements */
    {"dense", 130, 1, 1, 200, 150, 0, 0, LEAKY, BF}, /* two 128-row and two 128-column tiles */
    {"dense", 9, 1, 1, 1000, 33, 0, 0, NONE, BF},    /* split-K, K a multiple of 8 */
    {"dense", 70, 1, 1, 13, 129, 0, 0, SIGM, BF},    /* odd K, N one past a tile */
    /* dense: [n, c] -> [n, cout] */
    {"dense", 3, 1, 1, 7, 5, 0, 0, LEAKY, G | F | C},
    {"dense", 3, 1, 1, 70, 13, 0, 0, LEAKY, F | C | B},
    {"dense", 33, 1, 1, 5, 130, 0, 0, NONE, F | C},
    {"dense", 1, 1, 1, 200, 1, 0, 0, SIGM, F | C},
    {"dense", 300, 1, 1, 37, 19, 0, 0, NONE, F | C}, /* split-K */
    {"dense", 3, 1, 1, 37, 45, 0, 0, LEAKY, T3 | C},
    {"dense", 4, 1, 1, 1024, 1000, 0, 0, LEAKY, F},
    /* elementwise: n * h * w * c elements (odd counts, a tail of every vector width) */
    {"leaky", 1, 1, 1, 1001, 0, 0, 0, NONE, G | F | C},
    {"leaky", 1, 1, 1, 2053, 0, 0, 0, NONE, F | C},
    {"leaky", 1, 1, 1, 17, 0, 0, 0, NONE, F | C},
    {"leaky", 1, 1, 1, 100003, 0, 0, 0, NONE, F | V},
    {"leaky", 1, 1, 1, 1, 0, 0, 0, NONE, V}, /* 8-wide vectors: none, a partial one, one, one + 1, ... */
    {"leaky", 1, 1, 1, 7, 0, 0, 0, NONE, V},
    {"leaky", 1, 1, 1, 8, 0, 0, 0, NONE, V},
    {"leaky", 1, 1, 1, 9, 0, 0, 0, NONE, V},
    {"leaky", 1, 1, 1, 33, 0, 0, 0, NONE, V},
    {"sigmoid", 1, 1, 1, 1001, 0, 0, 0, NONE, G | F | C},
    {"sigmoid", 1, 1, 1, 2053, 0, 0, 0, NONE, F | C},
    {"sigmoid", 1, 1, 1, 17, 0, 0, 0, NONE, F | C},
    {"sigmoid", 1, 1, 1, 100003, 0, 0, 0, NONE, F},
    {"scale", 1, 1, 1, 2053, 0, 0, 0, NONE, F | C},
    {"scale", 1, 1, 1, 17, 0, 0, 0, NONE, F | C},
    {"scale", 1, 1, 1, 100003, 0, 0, 0, NONE, F},
    {"sumsq", 1, 1, 1, 10007, 0, 0, 0, NONE, F | C},
    {"sumsq", 1, 1, 1, 17, 0, 0, 0, NONE, F | C},
    {"sumsq", 1, 1, 1, 100003, 0, 0, 0, NONE, F | V},
    {"sumsq", 1, 1, 1, 1, 0, 0, 0, NONE, V},
    {"sumsq", 1, 1, 1, 7, 0, 0, 0, NONE, V},
    {"sumsq", 1, 1, 1, 8, 0, 0, 0, NONE, V},
    {"sumsq", 1, 1, 1, 9, 0, 0, 0, NONE, V},
    {"sumsq", 1, 1, 1, 33, 0, 0, 0, NONE, V},
    {"u8_to_float", 1, 1, 1, 1237, 0, 0, 0, NONE, F | C},
    {"u8_to_float", 1, 1, 1, 17, 0, 0, 0, NONE, F | C},
    {"u8_to_float", 1, 1, 1, 100003, 0, 0, 0, NONE, F},
    {"bf16", 1, 1, 1, 1237, 0, 0, 0, NONE, F | C},
    {"bf16", 1, 1, 1, 100003, 0, 0, 0, NONE, F},
    {"adam", 1, 1, 1, 1003, 0, 0, 0, NONE, F | C},
    {"adam", 1, 1, 1, 100003, 0, 0, 0, NONE, F | V},
    {"adam", 1, 1, 1, 1, 0, 0, 0, NONE, V},
    {"adam", 1, 1, 1, 7, 0, 0, 0, NONE, V},
    {"adam", 1, 1, 1, 8, 0, 0, 0, NONE, V},
    {"adam", 1, 1, 1, 9, 0, 0, 0, NONE, V},
    {"adam", 1, 1, 1, 33, 0, 0, 0, NONE, V},
    {"adabelief", 1, 1, 1, 1003, 0, 0, 0, NONE, F | C},
    {"adabelief", 1, 1, 1, 13, 0, 0, 0, NONE, F | C},
    {"adabelief", 1, 1, 1, 100003, 0, 0, 0, NONE, F | T3},
    /* add, acc: n * h * w * c elements */
    {"add", 1, 1, 1, 1001, 0, 0, 0, NONE, F | C},
    {"add", 1, 1, 1, 17, 0, 0, 0, NONE, F | C},
    {"add", 1, 1, 1, 100003, 0, 0, 0, NONE, F | T3},
    {"acc", 1, 1, 1, 1001, 0, 0, 0, NONE, F | C},
    {"acc", 1, 1, 1, 17, 0, 0, 0, NONE, F | C},
    {"acc", 1, 1, 1, 100003, 0, 0, 0, NONE, F | T3},
    /* concat: a [n * h * w, c] and b [n * h * w, cout] */
    {"concat", 2, 3, 5, 7, 5, 0, 0, NONE, G | F | C},
    {"concat", 1, 1, 1, 1, 1, 0, 0, NONE, G | F | C},
    {"concat", 3, 9, 4, 13, 3, 0, 0, NONE, F | C},
    {"concat", 1, 7, 3, 67, 1, 0, 0, NONE, F | C},
    {"concat", 8, 16, 16, 64, 64, 0, 0, NONE, F | T3}, /* above FS_FAST_PAR_MIN */
    /* pixnorm: rows n * h * w of c values */
    {"pixnorm", 2, 1, 1, 37, 0, 0, 0, NONE, G | F | C},
    {"pixnorm", 3, 5, 1, 8, 0, 0, 0, NONE, G | F | C},
    {"pixnorm", 1, 1, 1, 1, 0, 0, 0, NONE, G | F | C},
    {"pixnorm", 5, 7, 9, 3, 0, 0, 0, NONE, F | C},
    {"pixnorm", 2, 8, 8, 300, 0, 0, 0, NONE, F | T3},       /* many rows in parallel */
    {"pixnorm", 3, 1, 2, 129, 0, 0, 0, NONE, F | C},        /* cuda: the shortest row of one block per row */
    {"pixnorm", 2, 4, 8, 128, 0, 0, 0, NONE, F | C},        /* cuda: the longest row of one thread per row */
    {"pixnorm", 2, 1, 1, 40000, 0, 0, 0, NONE, F | T3 | C}, /* fewer rows than 3 threads: blocks split */
    {"pixnorm", 1, 1, 1, 100003, 0, 0, 0, NONE, F | C},     /* the flattened encoder output: 7 blocks */
    /* pixel shuffle: x [n, h, w, 4c] */
    {"pixshuf", 2, 3, 5, 8, 0, 0, 0, NONE, G | F | C},
    {"pixshuf", 2, 3, 5, 12, 0, 0, 0, NONE, F | C},
    {"pixshuf", 3, 8, 8, 256, 0, 0, 0, NONE, F},
    /* mask multiply: [n, h, w, c] */
    {"mask_mul", 2, 5, 7, 3, 0, 0, 0, NONE, F | C},
    {"mask_mul", 3, 9, 4, 1, 0, 0, 0, NONE, F | C},
    {"mask_mul", 1, 33, 17, 5, 0, 0, 0, NONE, F | C},
    {"mask_mul", 1, 3, 3, 1, 0, 0, 0, NONE, F | C},
    {"mask_mul", 8, 64, 64, 3, 0, 0, 0, NONE, F}, /* above FS_FAST_PAR_MIN: the OpenMP loop */
    /* losses: [n, h, w, c]; dssim: window k (h, w >= k) */
    {"mse", 2, 5, 3, 3, 0, 0, 0, NONE, G | F | C},
    {"mse", 2, 5, 7, 3, 0, 0, 0, NONE, F | C},
    {"mse", 3, 17, 19, 3, 0, 0, 0, NONE, F | C},
    {"mse", 8, 64, 64, 3, 0, 0, 0, NONE, F},
    {"l1", 2, 5, 3, 3, 0, 0, 0, NONE, G | F | C},
    {"l1", 3, 4, 9, 3, 0, 0, 0, NONE, F | C},
    {"l1", 3, 17, 19, 3, 0, 0, 0, NONE, F | C},
    {"l1", 8, 64, 64, 3, 0, 0, 0, NONE, F},
    {"dssim", 1, 11, 11, 1, 0, 11, 0, NONE, V | C}, /* one window */
    {"dssim", 2, 11, 17, 3, 0, 11, 0, NONE, V | C}, /* one window row */
    {"dssim", 3, 23, 11, 4, 0, 11, 0, NONE, V | C}, /* one window column, 4 channels */
    {"dssim", 5, 16, 13, 2, 0, 11, 0, NONE, V | C}, /* n above the thread counts, odd widths */
    {"dssim", 2, 13, 12, 3, 0, 11, 0, NONE, G | F | C},
    {"dssim", 1, 11, 14, 2, 0, 11, 0, NONE, G | F | C},
    {"dssim", 1, 21, 11, 2, 0, 11, 0, NONE, F | C},
    {"dssim", 4, 64, 64, 3, 0, 11, 0, NONE, F | V}, /* the model's output */
    /* other windows (SAEHD: int(res / 11.6), int(res / 23.2)): even ones have no centre tap */
    {"dssim", 1, 9, 8, 2, 0, 6, 0, NONE, G | F | C},
    {"dssim", 2, 7, 6, 1, 0, 3, 0, NONE, G | F | C},
    {"dssim", 1, 5, 4, 2, 0, 1, 0, NONE, G | F | C}, /* one pixel: the luminance term alone */
    {"dssim", 1, 6, 7, 1, 0, 2, 0, NONE, G | F | C | V},
    {"dssim", 1, 30, 25, 3, 0, 22, 0, NONE, F | C | V}, /* 256 px / 11.6 */
    {"dssim", 2, 64, 64, 3, 0, 5, 0, NONE, F | V},      /* 64 px / 11.6 */
    {"dssim", 1, 44, 47, 2, 0, 44, 0, NONE, F | C},     /* 512 px / 11.6 */
};

const fs_op_case *fs_op_cases(size_t *count) {
    *count = FS_ARRAY_LEN(g_op_cases);
    return g_op_cases;
}

const fs_op_tol *fs_op_tol_of(const char *op) {
    for (size_t i = 0; i < FS_ARRAY_LEN(g_op_tols); i++)
        if (!strcmp(g_op_tols[i].op, op)) return &g_op_tols[i];
    fs_die(FS_EXIT_FAIL,
           "op cases: op '%s' has no tolerance row\n  hint: add its row to g_op_tols in "
           "kernels/op_cases.c",
           op);
}

void fs_op_case_name(const fs_op_case *c, char *buf, size_t len) {
    if (!strcmp(c->op, "conv2d"))
        snprintf(buf, len, "conv2d n%d %dx%dx%d -> %d k%d s%d act=%d", c->n, c->h, c->w, c->c, c->cout, c->k, c->stride,
                 (int)c->act);
    else if (!strcmp(c->op, "dense")) snprintf(buf, len, "dense n%d %d -> %d act=%d", c->n, c->c, c->cout, (int)c->act);
    else if (!strcmp(c->op, "dssim")) snprintf(buf, len, "dssim %dx%dx%dx%d win %d", c->n, c->h, c->w, c->c, c->k);
    else if (c->n == 1 && c->h == 1 && c->w == 1) snprintf(buf, len, "%s %d", c->op, c->c);
    else snprintf(buf, len, "%s %dx%dx%dx%d", c->op, c->n, c->h, c->w, c->c);
}

int fs_op_case_conv(const fs_op_case *c, fs_conv_desc *d) {
    if (!strcmp(c->op, "dense")) return fs_conv_desc_init(d, c->n, 1, 1, c->c, c->cout, 1, 1);
    return fs_conv_desc_init(d, c->n, c->h, c->w, c->c, c->cout, c->k, c->stride);
}

size_t fs_op_case_count(const fs_op_case *c) { return (size_t)c->n * c->h * c->w * c->c; }
