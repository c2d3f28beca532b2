/* kbench.c — fs_kbench: the kernel benchmark of a kernels-only build (no trainer, no config
 * files): times conv2d / dense fwd, bwd_data and bwd_filter of every conv and dense shape of
 * original-64 and of the SAEHD configs df-ud-128 and liae-ud-256 (a fixed table below) on one
 * backend, in fp32 and in bf16 (train.precision: the tensor-core GEMM on cuda; --precision),
 * and prints time, TFLOP/s and, on a GPU, the fraction of the precision's peak computed from
 * the device's properties (fp32: SMs x clock x FP32 lanes per SM x 2; bf16: SMs x clock x
 * dense bf16 tensor-core FLOP per clock per SM: computed peaks, not measured ones). Output through the bench harness (trainer/bench.h): a table, or JSON lines
 * with --json. --list prints the shapes without timing them (tests/bench/torch_layers.py
 * reads them from there, so the PyTorch side times the very same layers). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/ops.h"
#include "core/bench.h"
#include "core/common.h"
#ifdef FS_KBENCH_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

/* One layer: conv k x k / stride over [n, h, w, cin] -> cout, or dense cin -> cout (h = w =
 * k = stride = 1). n is the images of one pass (encoder: both identities' batches; decoder:
 * one identity's). count: how many layers of one forward pass have this shape. */
typedef struct kb_layer {
    const char *model, *name;
    int dense, n, h, w, cin, cout, k, stride, count;
} kb_layer;

/* original-64: faceswap's "original" model at 64 px, batch 16 per identity (docs/cuda.md's
 * roofline table; trainer/model.c builds it): encoder on 32 images, one decoder on 16.
 * df-ud-128 and liae-ud-256: DeepFaceLab SAEHD (iperov/DeepFaceLab, core/leras/archis/
 * DeepFakeArchi.py and models/Model_SAEHD/Model.py), archi "df-ud" at 128 px and "liae-ud"
 * at 256 px, ae_dims 256, e_dims 64, d_dims 64, d_mask_dims 22, batch 8 per identity
 * (encoder and inter on 16 images, a decoder on 8). From DeepFakeArchi.py:
 *  - Encoder: 4 Downscale = conv 5x5 stride 2 to e_dims x (1, 2, 4, 8) (LeakyReLU 0.1); "u"
 *    pixel-normalises its flattened output (no conv);
 *  - Inter: dense in -> ae_dims, dense ae_dims -> r^2 ae_out with r = resolution / 32 ("d"),
 *    Upscale(ae_out, ae_out) = conv 3x3 to 4 ae_out + depth_to_space; df: ae_out = ae_dims,
 *    liae: ae_out = 2 ae_dims for inter_AB and inter_B, the decoder gets both (4 ae_dims);
 *  - Decoder: Upscale to d x (8, 4, 2) each followed by a ResidualBlock (two 3x3 convs),
 *    out_conv 1x1 to 3 and ("d") out_conv1..3 3x3 to 3 (depth_to_space of the four: the
 *    image at full resolution); mask: Upscale to d_mask x (8, 4, 2, 1 ("d")), out_convm 1x1
 *    to 1. */
static const kb_layer g_layers[] = {
    /* model        name              dense n   h    w    cin     cout   k  s  count */
    {"original-64", "enc.conv1", 0, 32, 64, 64, 3, 128, 5, 2, 1},
    {"original-64", "enc.conv2", 0, 32, 32, 32, 128, 256, 5, 2, 1},
    {"original-64", "enc.conv3", 0, 32, 16, 16, 256, 512, 5, 2, 1},
    {"original-64", "enc.conv4", 0, 32, 8, 8, 512, 1024, 5, 2, 1},
    {"original-64", "enc.dense1", 1, 32, 1, 1, 16384, 1024, 1, 1, 1},
    {"original-64", "enc.dense2", 1, 32, 1, 1, 1024, 16384, 1, 1, 1},
    {"original-64", "enc.upscale", 0, 32, 4, 4, 1024, 2048, 3, 1, 1},
    {"original-64", "dec.up1", 0, 16, 8, 8, 512, 1024, 3, 1, 1},
    {"original-64", "dec.up2", 0, 16, 16, 16, 256, 512, 3, 1, 1},
    {"original-64", "dec.up3", 0, 16, 32, 32, 128, 256, 3, 1, 1},
    {"original-64", "dec.out", 0, 16, 64, 64, 64, 3, 5, 1, 1},
    {"df-ud-128", "enc.down1", 0, 16, 128, 128, 3, 64, 5, 2, 1},
    {"df-ud-128", "enc.down2", 0, 16, 64, 64, 64, 128, 5, 2, 1},
    {"df-ud-128", "enc.down3", 0, 16, 32, 32, 128, 256, 5, 2, 1},
    {"df-ud-128", "enc.down4", 0, 16, 16, 16, 256, 512, 5, 2, 1},
    {"df-ud-128", "inter.dense1", 1, 16, 1, 1, 32768, 256, 1, 1, 1},
    {"df-ud-128", "inter.dense2", 1, 16, 1, 1, 256, 4096, 1, 1, 1},
    {"df-ud-128", "inter.upscale", 0, 16, 4, 4, 256, 1024, 3, 1, 1},
    {"df-ud-128", "dec.upscale0", 0, 8, 8, 8, 256, 2048, 3, 1, 1},
    {"df-ud-128", "dec.res0", 0, 8, 16, 16, 512, 512, 3, 1, 2},
    {"df-ud-128", "dec.upscale1", 0, 8, 16, 16, 512, 1024, 3, 1, 1},
    {"df-ud-128", "dec.res1", 0, 8, 32, 32, 256, 256, 3, 1, 2},
    {"df-ud-128", "dec.upscale2", 0, 8, 32, 32, 256, 512, 3, 1, 1},
    {"df-ud-128", "dec.res2", 0, 8, 64, 64, 128, 128, 3, 1, 2},
    {"df-ud-128", "dec.out_conv", 0, 8, 64, 64, 128, 3, 1, 1, 1},
    {"df-ud-128", "dec.out_conv1", 0, 8, 64, 64, 128, 3, 3, 1, 3},
    {"df-ud-128", "dec.upscalem0", 0, 8, 8, 8, 256, 704, 3, 1, 1},
    {"df-ud-128", "dec.upscalem1", 0, 8, 16, 16, 176, 352, 3, 1, 1},
    {"df-ud-128", "dec.upscalem2", 0, 8, 32, 32, 88, 176, 3, 1, 1},
    {"df-ud-128", "dec.upscalem3", 0, 8, 64, 64, 44, 88, 3, 1, 1},
    {"df-ud-128", "dec.out_convm", 0, 8, 128, 128, 22, 1, 1, 1, 1},
    {"liae-ud-256", "enc.down1", 0, 16, 256, 256, 3, 64, 5, 2, 1},
    {"liae-ud-256", "enc.down2", 0, 16, 128, 128, 64, 128, 5, 2, 1},
    {"liae-ud-256", "enc.down3", 0, 16, 64, 64, 128, 256, 5, 2, 1},
    {"liae-ud-256", "enc.down4", 0, 16, 32, 32, 256, 512, 5, 2, 1},
    {"liae-ud-256", "inter.dense1", 1, 16, 1, 1, 131072, 256, 1, 1, 2},
    {"liae-ud-256", "inter.dense2", 1, 16, 1, 1, 256, 32768, 1, 1, 2},
    {"liae-ud-256", "inter.upscale", 0, 16, 8, 8, 512, 2048, 3, 1, 2},
    {"liae-ud-256", "dec.upscale0", 0, 8, 16, 16, 1024, 2048, 3, 1, 1},
    {"liae-ud-256", "dec.res0", 0, 8, 32, 32, 512, 512, 3, 1, 2},
    {"liae-ud-256", "dec.upscale1", 0, 8, 32, 32, 512, 1024, 3, 1, 1},
    {"liae-ud-256", "dec.res1", 0, 8, 64, 64, 256, 256, 3, 1, 2},
    {"liae-ud-256", "dec.upscale2", 0, 8, 64, 64, 256, 512, 3, 1, 1},
    {"liae-ud-256", "dec.res2", 0, 8, 128, 128, 128, 128, 3, 1, 2},
    {"liae-ud-256", "dec.out_conv", 0, 8, 128, 128, 128, 3, 1, 1, 1},
    {"liae-ud-256", "dec.out_conv1", 0, 8, 128, 128, 128, 3, 3, 1, 3},
    {"liae-ud-256", "dec.upscalem0", 0, 8, 16, 16, 1024, 704, 3, 1, 1},
    {"liae-ud-256", "dec.upscalem1", 0, 8, 32, 32, 176, 352, 3, 1, 1},
    {"liae-ud-256", "dec.upscalem2", 0, 8, 64, 64, 88, 176, 3, 1, 1},
    {"liae-ud-256", "dec.upscalem3", 0, 8, 128, 128, 44, 88, 3, 1, 1},
    {"liae-ud-256", "dec.out_convm", 0, 8, 256, 256, 22, 1, 1, 1, 1},
};

static const char *const PASS_NAMES[3] = {"fwd", "bwd_data", "bwd_filter"};

typedef struct kb_opts {
    const char *backend, *model, *precision;
    int tiny, reps, warmup, list, json;
    double min_time; /* seconds of timed repetitions per pass (auto reps) */
} kb_opts;

/* --tiny (the emulator, CI): the same layers with 1 image, spatial size / 16 (at least the
 * kernel size), channels / 32 and dense sizes / 256 (at least 1, odd sizes kept odd). */
static kb_layer tiny_of(const kb_layer *L) {
    kb_layer t = *L;
    t.n = 1;
    if (L->dense) {
        t.cin = FS_MAX(1, L->cin / 256), t.cout = FS_MAX(1, L->cout / 256);
    } else {
        t.h = FS_MAX(L->k, L->h / 16), t.w = FS_MAX(L->k, L->w / 16);
        t.cin = FS_MAX(1, L->cin / 32), t.cout = FS_MAX(1, L->cout / 32);
    }
    return t;
}

static int usage(FILE *f, int rc) {
    fprintf(f, "usage: fs_kbench [--backend cuda|cuda-emulated|cpu-ref|cpu] [--model all|original-64|df-ud-128|\n"
               "                 liae-ud-256] [--precision fp32|bf16|both] [--tiny] [--reps N] [--warmup 0|1] "
               "[--min-time S]\n"
               "                 [--list] [--json]\n"
               "  Times conv2d/dense fwd, bwd_data and bwd_filter of every conv and dense shape of the models\n"
               "  (a built-in table, kernels/kbench.c) on one backend: ms, TFLOP/s, and on a GPU the fraction of\n"
               "  the FP32 peak computed from the device's properties (SMs x clock x FP32 lanes x 2).\n"
               "  --backend B      cuda (default), cuda-emulated (the CPU emulator), cpu-ref, cpu\n"
               "  --model M        one model's layers (default all)\n"
               "  --precision P    fp32, bf16 (conv/dense operands rounded to bf16, fp32 sums: the tensor cores\n"
               "                   on cuda) or both (default): each layer's passes timed in each\n"
               "  --tiny           1 image, spatial / 16, channels / 32, dense / 256 (for the emulator)\n"
               "  --reps N         timed repetitions per pass (default: auto, about --min-time s, 1..200)\n"
               "  --warmup 0|1     an untimed run of each pass first (default 1; 0 needs --reps)\n"
               "  --min-time S     seconds per pass for auto reps (default 0.1)\n"
               "  --list           print the shapes, time nothing\n"
               "  --json           JSON lines (docs/bench.md's schema) instead of the table\n");
    return rc;
}

static int parse(int argc, char **argv, kb_opts *o) {
    static const struct option longs[] = {{"backend", required_argument, 0, 'b'},
                                          {"model", required_argument, 0, 'm'},
                                          {"precision", required_argument, 0, 'p'},
                                          {"tiny", no_argument, 0, 't'},
                                          {"reps", required_argument, 0, 'r'},
                                          {"min-time", required_argument, 0, 'T'},
                                          {"warmup", required_argument, 0, 'w'},
                                          {"list", no_argument, 0, 'l'},
                                          {"json", no_argument, 0, 'j'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    *o = (kb_opts){.backend = "cuda", .model = "all", .precision = "both", .warmup = 1, .min_time = 0.1};
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'b': o->backend = optarg; break;
        case 'm': o->model = optarg; break;
        case 'p': o->precision = optarg; break;
        case 't': o->tiny = 1; break;
        case 'l': o->list = 1; break;
        case 'j': o->json = 1; break;
        case 'r':
            o->reps = (int)strtol(optarg, &end, 10);
            if (*end || o->reps < 1 || o->reps > 100000) {
                fprintf(stderr, "fs_kbench: --reps '%s' is not a count of 1..100000\n", optarg);
                return FS_EXIT_BADINPUT;
            }
            break;
        case 'w':
            o->warmup = (int)strtol(optarg, &end, 10);
            if (*end || o->warmup < 0 || o->warmup > 1) {
                fprintf(stderr, "fs_kbench: --warmup '%s' is not 0 or 1\n", optarg);
                return FS_EXIT_BADINPUT;
            }
            break;
        case 'T':
            o->min_time = strtod(optarg, &end);
            if (*end || !(o->min_time > 0 && o->min_time <= 60)) {
                fprintf(stderr, "fs_kbench: --min-time '%s' is not a number of seconds in (0, 60]\n", optarg);
                return FS_EXIT_BADINPUT;
            }
            break;
        case 'h': usage(stdout, 0); return -2;
        default: return usage(stderr, FS_EXIT_BADINPUT);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fs_kbench: unexpected argument '%s'\n", argv[optind]);
        return usage(stderr, FS_EXIT_BADINPUT);
    }
    if (strcmp(o->precision, "fp32") && strcmp(o->precision, "bf16") && strcmp(o->precision, "both")) {
        fprintf(stderr, "fs_kbench: --precision '%s' is not a precision; expected fp32, bf16 or both\n", o->precision);
        return FS_EXIT_BADINPUT;
    }
    int known = !strcmp(o->model, "all");
    for (size_t i = 0; i < FS_ARRAY_LEN(g_layers) && !known; i++) known = !strcmp(g_layers[i].model, o->model);
    if (!known) {
        fprintf(stderr,
                "fs_kbench: --model '%s' is not in the table; expected all, original-64, df-ud-128 or "
                "liae-ud-256\n",
                o->model);
        return FS_EXIT_BADINPUT;
    }
    return -1;
}

#ifdef FS_KBENCH_HAVE_CUDA
/* Dense (no sparsity) bf16 tensor-core FLOP per clock per SM, bf16 inputs with fp32
 * accumulation (mma.sync ...f32.bf16.bf16.f32), from NVIDIA's published peaks divided by
 * SMs x boost clock; 0 for an architecture not listed:
 *  - sm_80: NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020), table "A100 peak
 *    performance": 312 BF16 Tensor TFLOPS at 108 SMs x 1410 MHz = 2048 (1024 FMA);
 *  - sm_86, sm_89: NVIDIA Ampere GA102 and Ada Lovelace (AD102) architecture whitepapers: the
 *    3rd/4th-generation tensor core of GA10x / AD10x does 1024 dense FP16/BF16 FLOP per clock
 *    per SM (RTX A6000: 154.8 dense TFLOPS at 84 SMs x 1800 MHz); GeForce parts run fp32
 *    accumulation at half that rate, so their fraction reads low (a lower bound);
 *  - sm_90: NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022): H100 SXM5 989.4 dense
 *    BF16 TFLOPS at 132 SMs x 1830 MHz = 4096 (2048 FMA, twice A100 per SM per clock);
 *  - sm_100: NVIDIA Blackwell architecture technical brief / HGX B200 datasheet: 2.25 dense
 *    FP16/BF16 PFLOPS per B200 (4.5 sparse), 148 SMs: 8192 per SM per clock (twice Hopper). */
static int bf16_flop_per_clk(int major, int minor) {
    if (major == 8) return minor == 0 ? 2048 : (minor == 6 || minor == 9 ? 1024 : 0);
    if (major == 9 && minor == 0) return 4096;
    if (major == 10 && minor == 0) return 8192;
    return 0;
}
#endif

/* The backend by name, its description, and the computed peaks (TFLOP/s, 0 if none). */
static const fs_backend *open_backend(const char *name, char *desc, size_t len, double *peak, char *peak_how,
                                      size_t how_len, double *peak16, char *peak16_how) {
    *peak = 0, *peak16 = 0;
    snprintf(peak_how, how_len, "none: a computed peak exists only for a GPU (frac is null)");
    snprintf(peak16_how, how_len, "none: a computed peak exists only for a GPU (frac is null)");
    if (!strcmp(name, "cpu-ref")) return snprintf(desc, len, "cpu-ref (plain loops)"), fs_backend_cpu_ref();
    if (!strcmp(name, "cpu")) return snprintf(desc, len, "cpu"), fs_backend_cpu();
    if (!strcmp(name, "cuda-emulated")) {
        const fs_backend *be = fs_backend_cuda_emulated();
        if (!be) fprintf(stderr, "fs_kbench: this build has no CUDA emulator (it needs OpenMP)\n");
        snprintf(desc, len, "cuda-emulated (the CUDA kernels on the CPU emulator)");
        return be;
    }
    if (strcmp(name, "cuda")) {
        fprintf(stderr, "fs_kbench: --backend '%s' is not a backend; expected cuda, cuda-emulated, cpu-ref or cpu\n",
                name);
        return NULL;
    }
    fs_error e = {0};
    const fs_backend *be = fs_backend_cuda(0, &e);
    if (!be) {
        fprintf(stderr, "fs_kbench: %s\n", e.msg);
        return NULL;
    }
#ifdef FS_KBENCH_HAVE_CUDA
    fs_cuda_props p;
    if (fs_cuda_device_props(&p) == 0) {
        snprintf(desc, len, "cuda: %s", fs_cuda_device_name());
        *peak = p.peak_fp32_tflops;
        if (p.fp32_lanes)
            snprintf(peak_how, how_len,
                     "computed, not measured: %d SMs x %.0f MHz x %d FP32 lanes x 2 = %.2f TFLOP/s "
                     "(sm_%d%d)",
                     p.sms, p.clock_khz / 1e3, p.fp32_lanes, p.peak_fp32_tflops, p.major, p.minor);
        else
            snprintf(peak_how, how_len,
                     "unknown: sm_%d%d is not in kbench's table of FP32 lanes per SM (frac is "
                     "null)",
                     p.major, p.minor);
        int f16 = bf16_flop_per_clk(p.major, p.minor);
        *peak16 = (double)p.sms * p.clock_khz * 1e3 * f16 / 1e12;
        if (f16)
            snprintf(peak16_how, how_len,
                     "computed, not measured: %d SMs x %.0f MHz x %d dense bf16 tensor-core FLOP/clock = %.2f "
                     "TFLOP/s (sm_%d%d)",
                     p.sms, p.clock_khz / 1e3, f16, *peak16, p.major, p.minor);
        else
            snprintf(peak16_how, how_len,
                     "unknown: sm_%d%d is not in kbench's table of bf16 tensor-core FLOP per clock (frac is null)",
                     p.major, p.minor);
    }
#endif
    return be;
}

typedef struct kb_bufs {
    float *x, *w, *b, *y, *dz, *dx, *dw, *db;
} kb_bufs;

static float *up_rand(const fs_backend *be, size_t n, uint64_t stream, float scale) {
    float *h = fs_malloc(n * sizeof(float) + 1);
    fs_rng r;
    fs_rng_init(&r, 17, stream, 0);
    for (size_t i = 0; i < n; i++) h[i] = (float)fs_rng_range(&r, -scale, scale);
    float *d = be->alloc(n * sizeof(float));
    be->upload(d, h, n * sizeof(float));
    free(h);
    return d;
}

static void run_pass(const fs_backend *be, const kb_layer *L, const fs_conv_desc *d, const kb_bufs *t, int pass) {
    if (L->dense) {
        if (pass == 0) be->dense_fwd(L->n, L->cin, L->cout, t->x, t->w, t->b, t->y, FS_ACT_LEAKY, 0.1f);
        if (pass == 1) be->dense_bwd_data(L->n, L->cin, L->cout, t->dz, t->w, t->dx);
        if (pass == 2) be->dense_bwd_filter(L->n, L->cin, L->cout, t->x, t->dz, t->dw, t->db);
        return;
    }
    if (pass == 0) be->conv2d_fwd(d, t->x, t->w, t->b, t->y, FS_ACT_LEAKY, 0.1f);
    if (pass == 1) be->conv2d_bwd_data(d, t->dz, t->w, t->dx);
    if (pass == 2) be->conv2d_bwd_filter(d, t->x, t->dz, t->dw, t->db);
}

/* Seconds per run of one pass: a warm-up run (it also sizes auto reps), then reps runs
 * (auto: enough for min_time, 1..200). */
static double time_pass(const fs_backend *be, const kb_layer *L, const fs_conv_desc *d, const kb_bufs *t, int pass,
                        const kb_opts *o, int *reps_out) {
    be->sync();
    double t0 = fs_now(), once = 0;
    if (o->warmup || !o->reps) {
        run_pass(be, L, d, t, pass);
        be->sync();
        once = fs_now() - t0;
    }
    int reps = o->reps ? o->reps : (int)FS_MIN(200.0, FS_MAX(1.0, o->min_time / FS_MAX(once, 1e-7)));
    t0 = fs_now();
    for (int r = 0; r < reps; r++) run_pass(be, L, d, t, pass);
    be->sync();
    *reps_out = reps;
    return (fs_now() - t0) / reps;
}

static const fs_bench_col COLS[] = {
    FS_COL_S("model", NULL, NULL, -12),
    FS_COL_S("layer", NULL, NULL, -14),
    FS_COL_S("pass", NULL, NULL, -11),
    FS_COL_S("op", NULL, NULL, -6),
    FS_COL_S("precision", "prec", NULL, -5),
    FS_COL_I("n", NULL, NULL, 3),
    FS_COL_I("h", NULL, NULL, 4),
    FS_COL_I("w", NULL, NULL, 4),
    FS_COL_I("cin", NULL, NULL, 6),
    FS_COL_I("cout", NULL, NULL, 6),
    FS_COL_I("k", NULL, NULL, 2),
    FS_COL_I("stride", "s", NULL, 2),
    FS_COL_I("count", "x", NULL, 2),
    FS_COL_N("gflop", NULL, "GFLOP", 9, 3, 6),
    FS_COL_I("reps", NULL, NULL, 4),
    FS_COL_N("ms", NULL, "ms", 9, 3, 6),
    FS_COL_N("tflops", NULL, "TFLOP/s", 8, 3, 5),
    FS_COL_P("peak_frac", "peak", 6, 1, 4),
};

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    fs_bench B;
    char *prog = argv[0];
    argv[0] = (char *)"kbench";              /* the harness's command line: "faceswarm bench kbench ARGS" */
    fs_bench_init(&B, "kbench", argc, argv); /* before getopt permutes argv */
    argv[0] = prog;
    kb_opts o;
    int rc = parse(argc, argv, &o);
    if (rc == -2) return fs_bench_free(&B), 0;
    if (rc >= 0) return fs_bench_free(&B), rc;
    int run_prec[2] = {strcmp(o.precision, "bf16") != 0, strcmp(o.precision, "fp32") != 0}; /* fp32, bf16 */
    B.json = o.json;
    char desc[512] = "", peak_how[256] = "", peak16_how[256] = "";
    double peak = 0, peak16 = 0;
    const fs_backend *be = NULL;
    if (!o.list) {
        be = open_backend(o.backend, desc, sizeof desc, &peak, peak_how, sizeof peak_how, &peak16, peak16_how);
        if (!be) return fs_bench_free(&B), FS_EXIT_BADINPUT;
        for (int p = 0; p < 2; p++)
            if (run_prec[p] && be->set_precision(p ? FS_PREC_BF16 : FS_PREC_FP32) != 0) {
                fprintf(stderr, "fs_kbench: backend %s has no %s path\n  hint: --precision fp32\n", be->name,
                        p ? "bf16" : "fp32");
                return fs_bench_free(&B), FS_EXIT_BADINPUT;
            }
        fs_bench_fact_str(&B, "backend", desc);
        fs_bench_fact_str(&B, "precision", !strcmp(o.precision, "both") ? "fp32, bf16" : o.precision);
        fs_bench_fact_num(&B, "peak_tflops", peak, 2, "TFLOP/s (fp32)");
        fs_bench_fact_str(&B, "peak", peak_how);
        fs_bench_fact_num(&B, "peak_bf16_tflops", peak16, 2, "TFLOP/s (dense bf16 tensor cores)");
        fs_bench_fact_str(&B, "peak_bf16", peak16_how);
    } else fs_bench_note(&B, "--list: the shapes only, nothing timed");
    fs_bench_fact_str(&B, "shapes",
                      o.tiny ? "tiny (--tiny: 1 image, spatial / 16, channels / 32, dense / 256)"
                             : "full (the models' layers)");
    fs_bench_note(&B, "bf16: conv/dense operands rounded to bf16 (nearest even) in device scratch, fp32 sums; "
                      "activations stay fp32 in memory; peak_frac of a bf16 row is of the dense bf16 peak");
    fs_bench_note(&B, "gflop: 2 x multiply-adds of the pass (the three passes have the same count)");
    fs_bench_columns(&B, "layers", COLS, (int)FS_ARRAY_LEN(COLS));
    double total_flop[2] = {0, 0}, total_s[2] = {0, 0};
    for (size_t i = 0; i < FS_ARRAY_LEN(g_layers); i++) {
        if (strcmp(o.model, "all") && strcmp(o.model, g_layers[i].model)) continue;
        kb_layer L = o.tiny ? tiny_of(&g_layers[i]) : g_layers[i];
        fs_conv_desc d;
        if (fs_conv_desc_init(&d, L.n, L.dense ? 1 : L.h, L.dense ? 1 : L.w, L.cin, L.cout, L.dense ? 1 : L.k,
                              L.dense ? 1 : L.stride) != 0)
            fs_die(FS_EXIT_FAIL,
                   "kbench: layer %s %s has an impossible shape\n  hint: fix g_layers in "
                   "kernels/kbench.c",
                   L.model, L.name);
        double gflop = 2e-9 * fs_conv_macs(&d);
        kb_bufs t = {0};
        if (be) {
            size_t nx = (size_t)d.n * d.h * d.w * d.cin, ny = (size_t)d.n * d.ho * d.wo * d.cout;
            size_t nw = (size_t)d.k * d.k * d.cin * d.cout;
            t.x = up_rand(be, nx, 1, 1.0f), t.w = up_rand(be, nw, 2, 0.05f), t.b = up_rand(be, (size_t)d.cout, 3, 0.1f);
            t.dz = up_rand(be, ny, 4, 1.0f);
            t.y = be->alloc(ny * sizeof(float)), t.dx = be->alloc(nx * sizeof(float));
            t.dw = be->alloc(nw * sizeof(float)), t.db = be->alloc((size_t)d.cout * sizeof(float));
        }
        for (int p = 0; p < 2; p++)
            for (int pass = 0; pass < 3 && run_prec[p]; pass++) {
                fs_bench_val reps = FS_NONE, ms = FS_NONE, tf = FS_NONE, frac = FS_NONE;
                double pk = p ? peak16 : peak;
                if (be) {
                    be->set_precision(p ? FS_PREC_BF16 : FS_PREC_FP32); /* checked above */
                    int r = 0;
                    double s = time_pass(be, &L, &d, &t, pass, &o, &r);
                    double tflops = gflop / 1e3 / s;
                    reps = FS_INT(r), ms = FS_NUM(s * 1e3), tf = FS_NUM(tflops);
                    if (pk > 0) frac = FS_NUM(tflops / pk);
                    total_flop[p] += gflop * L.count, total_s[p] += s * L.count;
                }
                fs_bench_row(&B, (fs_bench_val[]){FS_STR(L.model), FS_STR(L.name), FS_STR(PASS_NAMES[pass]),
                                                  FS_STR(L.dense ? "dense" : "conv"), FS_STR(p ? "bf16" : "fp32"),
                                                  FS_INT(L.n), FS_INT(L.h), FS_INT(L.w), FS_INT(L.cin), FS_INT(L.cout),
                                                  FS_INT(L.k), FS_INT(L.stride), FS_INT(L.count), FS_NUM(gflop), reps,
                                                  ms, tf, frac});
            }
        if (be) {
            float *bufs[] = {t.x, t.w, t.b, t.y, t.dz, t.dx, t.dw, t.db};
            for (size_t k = 0; k < FS_ARRAY_LEN(bufs); k++) be->free(bufs[k]);
        }
    }
    if (be) be->set_precision(FS_PREC_FP32);
    if (be && total_s[0] > 0) {
        fs_bench_fact_num(&B, "tflops_all", total_flop[0] / 1e3 / total_s[0], 3, "TFLOP/s (fp32, every pass x count)");
        if (peak > 0)
            fs_bench_fact_num(&B, "peak_frac_all", total_flop[0] / 1e3 / total_s[0] / peak, 4,
                              "of the computed fp32 peak");
    }
    if (be && total_s[1] > 0) {
        fs_bench_fact_num(&B, "tflops_all_bf16", total_flop[1] / 1e3 / total_s[1], 3,
                          "TFLOP/s (bf16, every pass x count)");
        if (peak16 > 0)
            fs_bench_fact_num(&B, "peak_frac_all_bf16", total_flop[1] / 1e3 / total_s[1] / peak16, 4,
                              "of the computed dense bf16 peak");
    }
    return fs_bench_end(&B, "results found wrong (fs_kbench times, it does not check: ctest -L cuda does)");
}
