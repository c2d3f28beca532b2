/* bench_kernels.c — `faceswarm bench kernels`: forward + backward GFLOP/s of every conv and dense
 * shape of faceswap's original-64 model, or of every layer of a config (--config: also the
 * pixel shuffles, pixel norms, sigmoids, leaky, add and concat nodes, by their times), on a backend (--backend cpu, the default, cuda or
 * cuda-emulated), for cpu as a fraction of the FP32 peak measured by an FMA loop in the
 * same run. Checks the backend against the reference on the op case table's rows marked
 * FS_OPC_BENCH (kernels/op_cases.c, with that backend's tolerance: the `wrong` count) and
 * exits non-zero when it is wrong. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/op_cases.h"
#include "kernels/ops.h"
#include "trainer/cli.h"
#include "core/bench.h"
#include "core/common.h"
#include "trainer/config.h"
#include "trainer/model.h"

/* The layer kinds timed: conv and dense (GFLOP/s), and the graph's other ops of a config
 * (--config), timed fwd and bwd without a FLOP count. */
typedef enum {
    OP_CONV = 0,
    OP_DENSE,
    OP_PIXSHUF, /* x [h, w, cin] -> [2h, 2w, cin / 4] */
    OP_PIXNORM,
    OP_SIGMOID,
    OP_LEAKY,
    OP_ADD,
    OP_CONCAT, /* [h, w, cin] and [h, w, k] -> [h, w, cin + k] */
} bench_op;

typedef struct bench_shape {
    char name[64];
    int dense; /* 1: dense [in] -> [out] (h = w = 1, cin = in, cout = out) */
    int h, w, cin, cout, k, stride;
    int batch_mult; /* images per pass = batch * batch_mult (0 = 1): the encoder of a
                         * training step sees every identity's batch */
    bench_op op;
} bench_shape;

/* faceswap "original" at 64 px: encoder convs, dense pair, encoder upscale, one decoder. */
static const bench_shape g_shapes[] = {
    {"enc.conv1", 0, 64, 64, 3, 128, 5, 2, 1, OP_CONV},      {"enc.conv2", 0, 32, 32, 128, 256, 5, 2, 1, OP_CONV},
    {"enc.conv3", 0, 16, 16, 256, 512, 5, 2, 1, OP_CONV},    {"enc.conv4", 0, 8, 8, 512, 1024, 5, 2, 1, OP_CONV},
    {"enc.dense1", 1, 1, 1, 16384, 1024, 0, 0, 1, OP_DENSE}, {"enc.dense2", 1, 1, 1, 1024, 16384, 0, 0, 1, OP_DENSE},
    {"enc.upscale", 0, 4, 4, 1024, 2048, 3, 1, 1, OP_CONV},  {"dec.upscale1", 0, 8, 8, 512, 1024, 3, 1, 1, OP_CONV},
    {"dec.upscale2", 0, 16, 16, 256, 512, 3, 1, 1, OP_CONV}, {"dec.upscale3", 0, 32, 32, 128, 256, 3, 1, 1, OP_CONV},
    {"dec.output", 0, 64, 64, 64, 3, 5, 1, 1, OP_CONV},
};

typedef struct bench_opts {
    int json, batch, threads, reps; /* reps 0 = automatic */
    int cpu_time;                   /* --cpu-time: process CPU time / threads, not the wall clock */
    const char *backend;            /* --backend: cpu, cuda or cuda-emulated */
    int check_only;                 /* --check-only: the self-check, no timing */
    const char *config;             /* --config: that model's shapes instead of original-64's */
    int precision;                  /* --precision: fs_precision of the convs and dense layers */
} bench_opts;

typedef struct bench_result {
    double peak;  /* GFLOP/s of the FMA loop on the same threads, just before this shape */
    double gflop; /* one pass (fwd, bwd_data and bwd_filter each do this much) */
    double ms[3]; /* best of reps: fwd, bwd_data, bwd_filter */
    int reps;
} bench_result;

/* ---------------------------------------------------------------- shapes of a config */
static void shape_from_node(const fs_model *m, const fs_node *X, bench_shape *s) {
    const fs_node *A = &m->nodes[X->in[0]];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", X->name);
    s->dense = X->kind == FS_NODE_DENSE, s->batch_mult = X->nslots;
    s->h = s->dense ? 1 : A->h, s->w = s->dense ? 1 : A->w, s->cin = s->dense ? A->h * A->w * A->c : A->c;
    s->cout = X->c, s->k = X->k, s->stride = X->stride;
    switch (X->kind) {
    case FS_NODE_CONV: s->op = OP_CONV; break;
    case FS_NODE_DENSE: s->op = OP_DENSE; break;
    case FS_NODE_PIXSHUF: s->op = OP_PIXSHUF; break;
    case FS_NODE_PIXNORM: s->op = OP_PIXNORM; break;
    case FS_NODE_SIGMOID: s->op = OP_SIGMOID; break;
    case FS_NODE_LEAKY: s->op = OP_LEAKY; break;
    case FS_NODE_ADD: s->op = OP_ADD; break;
    default: s->op = OP_CONCAT, s->k = m->nodes[X->in[1]].c; break; /* the second input's channels */
    }
}

/* The nodes that compute (all but the input and the views: reshape, slice). */
static int timed_kind(fs_node_kind k) {
    return k == FS_NODE_CONV || k == FS_NODE_DENSE || k == FS_NODE_PIXSHUF || k == FS_NODE_PIXNORM ||
           k == FS_NODE_SIGMOID || k == FS_NODE_LEAKY || k == FS_NODE_ADD || k == FS_NODE_CONCAT;
}

/* The computing nodes of the config's model on identity 0's path (the encoder on every
 * identity's batch, as in a training step, and the first decoder with its mask head; a shared
 * decoder (liae) on every identity's batch); *shapes is fs_malloc'ed. */
static int config_shapes(const char *path, bench_shape **shapes, size_t *count, fs_error *e) {
    fs_config c;
    fs_model m;
    int rc = fs_config_load(&c, path, e);
    if (!rc) rc = fs_config_validate(&c, e);
    if (!rc) rc = fs_model_build(&m, &c, e);
    if (rc) return rc;
    *shapes = fs_malloc(sizeof(bench_shape) * (size_t)m.n_nodes);
    *count = 0;
    for (int j = 0; j < m.n_nodes; j++) {
        const fs_node *X = &m.nodes[j];
        if (timed_kind(X->kind) && X->slot0 == 0 && X->shares < 0) shape_from_node(&m, X, &(*shapes)[(*count)++]);
    }
    fs_model_free(&m);
    return 0;
}

/* ---------------------------------------------------------------- one shape */
typedef struct bench_bufs {
    float *x, *w, *b, *y, *dz, *dx, *dw, *db;
} bench_bufs;

/* n floats uniform in [-scale, scale) (zeros for scale 0) in be's memory. */
static float *rand_buf(const fs_backend *be, size_t n, uint64_t stream, double scale) {
    float *d = be->alloc(n * sizeof(float)); /* zero-filled */
    if (scale == 0.0) return d;
    fs_rng r;
    fs_rng_init(&r, 2024, stream, 0);
    float *a = fs_aligned_alloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) a[i] = (float)fs_rng_range(&r, -scale, scale);
    be->upload(d, a, n * sizeof(float));
    free(a);
    return d;
}

static void bufs_alloc(const fs_backend *be, bench_bufs *t, size_t nx, size_t nw, size_t nb, size_t ny) {
    t->x = rand_buf(be, nx, 1, 1.0), t->w = rand_buf(be, nw, 2, 0.05), t->b = rand_buf(be, nb, 3, 0.1);
    t->dz = rand_buf(be, ny, 4, 1.0), t->dw = rand_buf(be, nw, 5, 0.0), t->db = rand_buf(be, nb, 6, 0.0);
    t->y = be->alloc(ny * sizeof(float)), t->dx = be->alloc(nx * sizeof(float));
}

static void bufs_free(const fs_backend *be, bench_bufs *t) {
    float *all[] = {t->x, t->w, t->b, t->y, t->dz, t->dx, t->dw, t->db};
    for (size_t i = 0; i < FS_ARRAY_LEN(all); i++) be->free(all[i]);
}

/* Elements of one sample's input, second input (add, concat; else 0) and output of an op. */
static void op_sizes(const bench_shape *s, size_t *nx, size_t *nx2, size_t *ny) {
    size_t px = (size_t)s->h * s->w;
    *nx = px * s->cin, *nx2 = s->op == OP_ADD ? *nx : s->op == OP_CONCAT ? px * s->k : 0;
    *ny = s->op == OP_PIXSHUF ? *nx : s->op == OP_CONCAT ? *nx + *nx2 : *nx;
}

/* One pass of a graph op (0 fwd, 1 bwd) on n samples; t->w holds the second input. */
static void op_pass(const fs_backend *be, const bench_shape *s, int n, bench_bufs *t, int pass) {
    size_t nx, nx2, ny;
    op_sizes(s, &nx, &nx2, &ny);
    size_t count = (size_t)n * nx, rows = (size_t)n * s->h * s->w;
    switch (s->op) {
    case OP_PIXSHUF:
        if (pass == 0) be->pixshuf_fwd(n, s->h, s->w, s->cin, t->x, t->y);
        else be->pixshuf_bwd(n, s->h, s->w, s->cin, t->dz, t->dx);
        break;
    case OP_PIXNORM:
        if (pass == 0) be->pixnorm_fwd(rows, s->cin, t->x, t->y);
        else be->pixnorm_bwd(rows, s->cin, t->x, t->dz, t->dx);
        break;
    case OP_SIGMOID:
        if (pass == 0) be->sigmoid_fwd(count, t->x, t->y);
        else be->sigmoid_bwd(count, t->y, t->dz, t->dx);
        break;
    case OP_LEAKY:
        if (pass == 0) be->leaky_fwd(count, 0.2f, t->x, t->y);
        else be->leaky_bwd(count, 0.2f, t->y, t->dz, t->dx);
        break;
    case OP_ADD: /* the backward hands dy to both inputs, as the model does */
        if (pass == 0) be->add(count, t->x, t->w, t->y);
        else be->copy(t->dx, t->dz, count * sizeof(float)), be->copy(t->dw, t->dz, count * sizeof(float));
        break;
    case OP_CONCAT:
        if (pass == 0) be->concat_fwd(rows, s->cin, s->k, t->x, t->w, t->y);
        else be->concat_bwd(rows, s->cin, s->k, t->dz, t->dx, t->dw);
        break;
    default: break;
    }
}

/* One pass (0 fwd, 1 bwd_data, 2 bwd_filter; a graph op: 0 fwd, 1 bwd) of shape s; returns
 * its seconds. */
static double time_pass(const fs_backend *be, const bench_shape *s, const fs_conv_desc *d, bench_bufs *t, int pass,
                        int cpu_time) {
    double t0 = cpu_time ? fs_cpu_seconds() / fs_cpu_threads() : fs_now();
    int n = d->n;
    if (s->op > OP_DENSE) op_pass(be, s, n, t, pass);
    else if (s->dense && pass == 0) be->dense_fwd(n, s->cin, s->cout, t->x, t->w, t->b, t->y, FS_ACT_LEAKY, 0.1f);
    else if (s->dense && pass == 1) be->dense_bwd_data(n, s->cin, s->cout, t->dz, t->w, t->dx);
    else if (s->dense && pass == 2) be->dense_bwd_filter(n, s->cin, s->cout, t->x, t->dz, t->dw, t->db);
    else if (pass == 0) be->conv2d_fwd(d, t->x, t->w, t->b, t->y, FS_ACT_LEAKY, 0.1f);
    else if (pass == 1) be->conv2d_bwd_data(d, t->dz, t->w, t->dx);
    else if (pass == 2) be->conv2d_bwd_filter(d, t->x, t->dz, t->dw, t->db);
    be->sync();
    return (cpu_time ? fs_cpu_seconds() / fs_cpu_threads() : fs_now()) - t0;
}

/* Runs every pass once (warm-up: scratch buffers, BLAS threads), then reps times. Automatic
 * reps aim at about 0.6 s per shape, between 1 and 10. */
static bench_result bench_one(const fs_backend *be, const bench_shape *s, const bench_opts *o) {
    fs_conv_desc d;
    int n = o->batch * FS_MAX(1, s->batch_mult), gemm = s->op <= OP_DENSE, passes = gemm ? 3 : 2;
    bench_bufs t;
    if (!gemm) {
        size_t nx, nx2, ny;
        op_sizes(s, &nx, &nx2, &ny);
        memset(&d, 0, sizeof d), d.n = n;
        bufs_alloc(be, &t, (size_t)n * nx, FS_MAX((size_t)1, (size_t)n * nx2), 1, (size_t)n * ny);
    } else {
        if (s->dense) fs_conv_desc_init(&d, n, 1, 1, s->cin, s->cout, 1, 1);
        else fs_conv_desc_init(&d, n, s->h, s->w, s->cin, s->cout, s->k, s->stride);
        size_t nw = (size_t)d.k * d.k * s->cin * s->cout;
        bufs_alloc(be, &t, (size_t)d.n * d.h * d.w * d.cin, nw, (size_t)s->cout, (size_t)d.n * d.ho * d.wo * d.cout);
    }
    bench_result r = {.peak = gemm && !strcmp(be->name, "cpu") ? fs_cpu_fma_peak(fs_cpu_threads(), 3, o->cpu_time, NULL)
                                                               : 0.0,
                      .gflop = gemm ? 2e-9 * fs_conv_macs(&d) : 0.0};
    double warm = 0.0;
    for (int p = 0; p < passes; p++) warm += time_pass(be, s, &d, &t, p, o->cpu_time);
    r.reps = o->reps ? o->reps : (int)FS_MAX(1.0, FS_MIN(10.0, 0.6 / warm));
    for (int p = 0; p < 3; p++) r.ms[p] = p < passes ? INFINITY : 0.0;
    for (int rep = 0; rep < r.reps; rep++)
        for (int p = 0; p < passes; p++) r.ms[p] = FS_MIN(r.ms[p], 1e3 * time_pass(be, s, &d, &t, p, o->cpu_time));
    bufs_free(be, &t);
    return r;
}

/* ---------------------------------------------------------------- self-check */
/* The tolerance the self-check applies to backend be: the op case table's column for it. */
static fs_tol check_tol(const fs_backend *be, const char *op) {
    const fs_op_tol *t = fs_op_tol_of(op);
    return !strcmp(be->name, "cpu") ? t->fast : t->cuda;
}

/* Elements of got that differ from want by more than rtol max |want| + atol max(1, max |want|). */
static long count_wrong(const float *got, const float *want, size_t n, fs_tol tol) {
    double scale = 0.0;
    long wrong = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    double lim = tol.rtol * scale + tol.atol * fmax(1.0, scale);
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= lim)) wrong++;
    return wrong;
}

/* Wrong elements of be's dev[0..n) against the host want[0..n). */
static long wrong_on(const fs_backend *be, const float *dev, const float *want, size_t n, fs_tol tol) {
    float *got = fs_aligned_alloc(n * sizeof(float) + 1);
    be->download(got, dev, n * sizeof(float));
    long wrong = count_wrong(got, want, n, tol);
    free(got);
    return wrong;
}

/* All three passes of one conv2d or dense case on be and on the reference. */
static long check_case(const fs_backend *be, const fs_op_case *c) {
    const fs_backend *ref = fs_backend_cpu_ref();
    int dense = !strcmp(c->op, "dense");
    if (!dense && strcmp(c->op, "conv2d")) {
        fprintf(stderr,
                "faceswarm bench kernels: the op case table marks a '%s' case for the bench, which only "
                "checks conv2d and dense\n  hint: fix its row in kernels/op_cases.c\n",
                c->op);
        return 1;
    }
    fs_conv_desc desc, *d = &desc;
    if (fs_op_case_conv(c, d) != 0) return 1;
    size_t nx = (size_t)d->n * d->h * d->w * d->cin, ny = (size_t)d->n * d->ho * d->wo * d->cout;
    size_t nw = (size_t)d->k * d->k * d->cin * d->cout, nb = (size_t)d->cout;
    bench_bufs f, r;
    bufs_alloc(be, &f, nx, nw, nb, ny);
    bufs_alloc(ref, &r, nx, nw, nb, ny);
    if (dense) {
        be->dense_fwd(d->n, d->cin, d->cout, f.x, f.w, f.b, f.y, c->act, 0.1f);
        ref->dense_fwd(d->n, d->cin, d->cout, r.x, r.w, r.b, r.y, c->act, 0.1f);
        be->dense_bwd_data(d->n, d->cin, d->cout, f.dz, f.w, f.dx);
        ref->dense_bwd_data(d->n, d->cin, d->cout, r.dz, r.w, r.dx);
        be->dense_bwd_filter(d->n, d->cin, d->cout, f.x, f.dz, f.dw, f.db);
        ref->dense_bwd_filter(d->n, d->cin, d->cout, r.x, r.dz, r.dw, r.db);
    } else {
        be->conv2d_fwd(d, f.x, f.w, f.b, f.y, c->act, 0.1f), ref->conv2d_fwd(d, r.x, r.w, r.b, r.y, c->act, 0.1f);
        be->conv2d_bwd_data(d, f.dz, f.w, f.dx), ref->conv2d_bwd_data(d, r.dz, r.w, r.dx);
        be->conv2d_bwd_filter(d, f.x, f.dz, f.dw, f.db), ref->conv2d_bwd_filter(d, r.x, r.dz, r.dw, r.db);
    }
    fs_tol tol = check_tol(be, c->op);
    long wrong = wrong_on(be, f.y, r.y, ny, tol) + wrong_on(be, f.dx, r.dx, nx, tol) +
                 wrong_on(be, f.dw, r.dw, nw, tol) + wrong_on(be, f.db, r.db, nb, tol);
    bufs_free(be, &f), bufs_free(ref, &r);
    return wrong;
}

/* ---------------------------------------------------------------- output */
static const fs_bench_col COLS[] = {
    FS_COL_S("layer", NULL, NULL, -30),
    FS_COL_S("shape", NULL, "in -> out, kernel", -26),
    FS_COL_I("batch", NULL, "images", 6),
    FS_COL_N("gflop_per_pass", "gflop", "/pass", 8, 3, 4),
    FS_COL_N("ms_fwd", "fwd", "ms", 9, 2, 3),
    FS_COL_N("ms_bwd_data", "bwd_data", "ms", 9, 2, 3),
    FS_COL_N("ms_bwd_filter", "bwd_filt", "ms", 9, 2, 3),
    FS_COL_N("gflops_fwd", "fwd", "GFLOP/s", 9, 1, 2),
    FS_COL_N("gflops_bwd", "bwd", "GFLOP/s", 9, 1, 2),
    FS_COL_N("gflops", "total", "GFLOP/s", 9, 1, 2),
    FS_COL_N("peak_gflops", "peak", "GFLOP/s", 9, 1, 2),
    FS_COL_N("peak_frac", "frac", NULL, 6, 3, 4),
    FS_COL_I("reps", NULL, NULL, 4),
};

/* What the header says about the backend. */
static const char *backend_desc(const fs_backend *be) {
    if (!strcmp(be->name, "cpu")) return "cpu (im2col + fp32 GEMM, OpenMP)";
    if (!strcmp(be->name, "cuda")) return "cuda (CUDA kernels on the GPU)";
    return "cuda-emulated (the CUDA kernels under the CPU emulator: a correctness path, not a speed)";
}

static void print_header(fs_bench *B, const bench_opts *o, const fs_backend *be, int threads, double peak1,
                         double peak_t, int peak_bits) {
    fs_bench_fact_str(B, "backend", backend_desc(be));
    fs_bench_fact_int(B, "threads", threads);
    if (o->cpu_time) fs_bench_fact_str(B, "clock", "process CPU time / threads (--cpu-time)");
    if (!strcmp(be->name, "cpu")) {
        fs_bench_note(B, "each OpenMP thread runs the single-threaded GEMM on its slice");
        fs_bench_fact_str(B, "gemm", fs_cpu_gemm_desc());
        fs_bench_fact_str(B, "blas_core", fs_cpu_blas_core());
    }
    if (o->precision == FS_PREC_BF16 && !strcmp(be->name, "cpu")) {
        char what[256];
        snprintf(what, sizeof what, "bf16 (%s, fp32 sums; bf16 path %s)",
                 fs_cpu_bf16_dot_on() == 2 ? "AMX-BF16 tdpbf16ps GEMM"
                 : fs_cpu_bf16_dot_on()    ? "AVX512_BF16 vdpbf16ps GEMM"
                                           : "operands rounded into copies, fp32 GEMM",
                 fs_cpu_bf16_desc());
        fs_bench_fact_str(B, "precision", what);
    } else if (o->precision == FS_PREC_BF16) fs_bench_fact_str(B, "precision", "bf16");
    else fs_bench_fact_str(B, "precision", "fp32");
    fs_bench_fact_int(B, "batch", o->batch);
    if (o->reps) fs_bench_fact_int(B, "reps", o->reps);
    else fs_bench_fact_str(B, "reps", "auto (1-10, ~0.6 s per shape)");
    fs_bench_fact_str(B, "config", o->config ? o->config : "original-64 (built in)");
    if (o->config)
        fs_bench_note(B,
                      "shapes: the layers of %s (encoder: every identity's batch, as in a training step; then one "
                      "decoder with its mask head); conv and dense in GFLOP/s, the other ops (pixel shuffle, pixel "
                      "norm, sigmoid, leaky, add, concat) fwd and bwd times only (bwd in the bwd_data column)",
                      o->config);
    else fs_bench_note(B, "shapes: faceswap's original model at 64 px (encoder, then one decoder)");
    if (peak1 > 0) {
        fs_bench_fact_num(B, "peak_gflops_1thread", peak1, 2, "GFLOP/s");
        fs_bench_fact_num(B, "peak_gflops", peak_t, 2, "GFLOP/s");
        fs_bench_note(B,
                      "FP32 peak: 12 independent FMA chains per thread on %d-bit vectors (the faster of 256 and, "
                      "with AVX-512F, 512), on 1 thread and on all threads; again just before each shape (the host "
                      "is shared); frac = total / peak; ms = best of reps",
                      peak_bits);
    } else if (o->check_only) fs_bench_note(B, "--check-only: no timing");
    else fs_bench_note(B, "peak: not measured (the CPU's FMA peak says nothing of this backend); peak and frac are 0");
    fs_bench_columns(B, "shapes", COLS, (int)FS_ARRAY_LEN(COLS));
}

static void print_row(fs_bench *B, const bench_opts *o, const bench_shape *s, const bench_result *r) {
    static const char *const op_names[] = {"conv",    "dense", "pixel shuffle", "pixel norm",
                                           "sigmoid", "leaky", "add",           "concat"};
    char shape[96];
    int batch = o->batch * FS_MAX(1, s->batch_mult);
    if (s->dense) snprintf(shape, sizeof shape, "%d -> %d", s->cin, s->cout);
    else if (s->op == OP_CONV)
        snprintf(shape, sizeof shape, "%dx%dx%d -> %d k%d s%d", s->h, s->w, s->cin, s->cout, s->k, s->stride);
    else if (s->op == OP_CONCAT) snprintf(shape, sizeof shape, "%dx%dx(%d+%d) concat", s->h, s->w, s->cin, s->k);
    else snprintf(shape, sizeof shape, "%dx%dx%d %s", s->h, s->w, s->cin, op_names[s->op]);
    if (s->op > OP_DENSE) { /* no FLOP count: the times only ("bwd_data" holds the backward) */
        fs_bench_row(B, (fs_bench_val[]){FS_STR(s->name), FS_STR(shape), FS_INT(batch), FS_NONE, FS_NUM(r->ms[0]),
                                         FS_NUM(r->ms[1]), FS_NONE, FS_NONE, FS_NONE, FS_NONE, FS_NONE, FS_NONE,
                                         FS_INT(r->reps)});
        return;
    }
    double fwd = r->gflop / (r->ms[0] * 1e-3), bwd = 2 * r->gflop / ((r->ms[1] + r->ms[2]) * 1e-3);
    double total = 3 * r->gflop / ((r->ms[0] + r->ms[1] + r->ms[2]) * 1e-3);
    double frac = r->peak > 0 ? total / r->peak : 0.0;
    fs_bench_row(B, (fs_bench_val[]){FS_STR(s->name), FS_STR(shape), FS_INT(batch), FS_NUM(r->gflop), FS_NUM(r->ms[0]),
                                     FS_NUM(r->ms[1]), FS_NUM(r->ms[2]), FS_NUM(fwd), FS_NUM(bwd), FS_NUM(total),
                                     FS_NUM(r->peak), FS_NUM(frac), FS_INT(r->reps)});
}

static void print_footer(fs_bench *B, const bench_opts *o, const fs_backend *be, long wrong, size_t checked,
                         double gflop, double sec, double peak) {
    double rate = sec > 0 ? gflop / sec : 0.0, frac = peak > 0 ? rate / peak : 0.0;
    if (!o->check_only) {
        fs_bench_fact_num(B, "gflops_all_shapes", rate, 2, "GFLOP/s");
        fs_bench_fact_num(B, "peak_frac", frac, 4, "of the peak measured at the start");
    }
    char shapes[1024] = "";
    size_t len = 0, count, shown = 0;
    const fs_op_case *cases = fs_op_cases(&count);
    for (size_t i = 0; i < count && len < sizeof shapes; i++) {
        if (!(cases[i].where & FS_OPC_BENCH)) continue;
        char name[96];
        fs_op_case_name(&cases[i], name, sizeof name);
        len += (size_t)snprintf(shapes + len, sizeof shapes - len, "%s%s", shown++ ? "; " : "", name);
    }
    fs_bench_fact_int(B, "check_shapes", (long long)checked);
    fs_bench_note(B,
                  "check: %s vs cpu-ref (fwd, bwd_data, bwd_filter; |diff| > rtol max|ref| + atol max(1, max|ref|), "
                  "the op case table's %s tolerance) on its bench cases: %s",
                  be->name, !strcmp(be->name, "cpu") ? "fast" : "cuda", shapes);
    fs_bench_wrong(B, wrong);
}

/* ---------------------------------------------------------------- command line */
static void usage(FILE *f) {
    fprintf(f, "usage: faceswarm bench kernels [--backend B] [--json] [--batch N] [--threads N] [--reps R]\n"
               "                              [--config CONFIG] [--cpu-time] [--precision P] [--gemm G]\n"
               "  Times forward, backward-data and backward-filter of every conv/dense shape of the\n"
               "  original-64 model on a backend and reports GFLOP/s and, for cpu, the fraction of the\n"
               "  FP32 peak measured by an FMA loop in the same run; then checks the backend against\n"
               "  the reference on the op case table's bench cases (exit 1 if any element is wrong).\n"
               "  --backend B   cpu (default), cuda (GPU 0) or cuda-emulated (the CUDA kernels on\n"
               "                the CPU emulator: slow, for checking)\n"
               "  --check-only  only the check against the reference, no timing\n"
               "  --cpu-time    time by the process's CPU time / threads instead of the wall clock\n"
               "                (cpu backend; on a loaded, shared host: what the threads did while\n"
               "                they ran, the peak timed the same way)\n"
               "  --precision P fp32 (default) or bf16: conv/dense operands rounded to bfloat16, fp32\n"
               "                sums (train.precision; the check is against the bf16 reference)\n"
               "  --gemm G      cpu backend's fp32 GEMM: auto (default: own-avx512 on Intel and AMD CPUs\n"
               "                with AVX-512F, own-avx2 on AMD CPUs with AVX2 + FMA only, else OpenBLAS),\n"
               "                openblas, own (the best own kernel here), own-avx512 or own-avx2; as\n"
               "                FACESWARM_CPU_GEMM\n"
               "  --json        JSON lines instead of the table\n"
               "  --batch N     images per pass (default 16)\n"
               "  --threads N   OpenMP + OpenBLAS threads, 0 = all cores (default 0)\n"
               "  --reps R      timed repetitions per shape (default: automatic, 1-10)\n"
               "  --config CONFIG  time that config's layers (encoder on every identity's batch, as in a\n"
               "                training step, then one decoder and its mask head) instead of original-64's\n"
               "                conv/dense shapes: conv and dense in GFLOP/s, pixel shuffle, pixel norm,\n"
               "                sigmoid, leaky, add and concat by their fwd and bwd times\n");
}

static int parse_int(const char *opt, const char *arg, int lo, int hi, int *out) {
    fs_error e = {0};
    int rc = fs_parse_int(opt, arg, lo, hi, out, &e);
    if (rc) fprintf(stderr, "error: faceswarm bench kernels: %s\n", e.msg);
    return rc;
}

/* Returns -1 to go on, or the exit code (--help, bad option). */
static int parse_opts(int argc, char **argv, bench_opts *o) {
    static const struct option longs[] =
        {{"json", no_argument, 0, 'j'},          {"batch", required_argument, 0, 'b'},
         {"threads", required_argument, 0, 't'}, {"reps", required_argument, 0, 'r'},
         {"config", required_argument, 0, 'c'},  {"help", no_argument, 0, 'h'},
         {"backend", required_argument, 0, 'B'}, {"check-only", no_argument, 0, 'C'},
         {"cpu-time", no_argument, 0, 'T'},      {"precision", required_argument, 0, 'P'},
         {"gemm", required_argument, 0, 'G'},    {0, 0, 0, 0}};
    *o = (bench_opts){.json = 0, .batch = 16, .threads = 0, .reps = 0, .backend = "cpu", .config = NULL};
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "h", longs, NULL)) != -1;) {
        int rc = 0;
        if (c == 'j') o->json = 1;
        else if (c == 'b') rc = parse_int("--batch", optarg, 1, 1024, &o->batch);
        else if (c == 't') rc = parse_int("--threads", optarg, 0, 1024, &o->threads);
        else if (c == 'r') rc = parse_int("--reps", optarg, 1, 1000, &o->reps);
        else if (c == 'c') o->config = optarg;
        else if (c == 'B') o->backend = optarg;
        else if (c == 'C') o->check_only = 1;
        else if (c == 'T') o->cpu_time = 1;
        else if (c == 'P') {
            if (!strcmp(optarg, "fp32")) o->precision = FS_PREC_FP32;
            else if (!strcmp(optarg, "bf16")) o->precision = FS_PREC_BF16;
            else {
                fprintf(stderr,
                        "error: faceswarm bench kernels: --precision '%s': expected fp32 or bf16\n  hint: "
                        "--precision bf16 times the bfloat16 path of train.precision\n",
                        optarg);
                return FS_EXIT_BADINPUT;
            }
        } else if (c == 'G') {
            if (fs_cpu_set_gemm(optarg) != 0) {
                fprintf(stderr,
                        "error: faceswarm bench kernels: --gemm '%s': expected auto, openblas, own, own-avx512 or "
                        "own-avx2 (one this CPU runs: it has %s)\n  hint: --gemm openblas times OpenBLAS sgemm, "
                        "--gemm own the own GEMM of fast_sgemm.c on its best kernel here\n",
                        optarg,
                        fs_cpu_has_avx512f()    ? "AVX-512F"
                        : fs_cpu_has_avx2_fma() ? "AVX2 + FMA, no AVX-512F"
                                                : "neither AVX-512F nor AVX2 + FMA");
                return FS_EXIT_BADINPUT;
            }
        } else if (c == 'h') return usage(stdout), FS_EXIT_OK;
        else return usage(stderr), FS_EXIT_BADINPUT;
        if (rc) return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "faceswarm bench kernels: unexpected argument '%s'\n  hint: see --help\n", argv[optind]);
        return FS_EXIT_BADINPUT;
    }
    return -1;
}

/* The shapes to time: the config's (--config) or the built-in original-64 table. */
static int load_shapes(const bench_opts *o, bench_shape **shapes, size_t *count) {
    fs_error e = {0};
    if (!o->config) {
        *count = FS_ARRAY_LEN(g_shapes);
        *shapes = fs_malloc(sizeof g_shapes);
        memcpy(*shapes, g_shapes, sizeof g_shapes);
        return 0;
    }
    if (config_shapes(o->config, shapes, count, &e) == 0) return 0;
    fprintf(stderr, "faceswarm bench kernels: --config %s: %s\n", o->config, e.msg);
    return e.code ? e.code : FS_EXIT_BADINPUT;
}

/* The backend of --backend, or NULL after printing why. */
static const fs_backend *pick_backend(const char *name, int *rc) {
    fs_error e = {0};
    const fs_backend *be = NULL;
    if (!strcmp(name, "cpu")) return fs_backend_cpu();
    if (!strcmp(name, "cuda-emulated")) be = fs_backend_cuda_emulated();
    else if (!strcmp(name, "cuda")) be = fs_backend_cuda(0, &e);
    else
        fs_errorf(&e, FS_EXIT_BADINPUT,
                  "--backend: '%s' is not a backend; expected cpu, cuda or cuda-emulated\n  hint: "
                  "cuda-emulated runs the CUDA kernels on the CPU emulator (no GPU needed)",
                  name);
    if (be) return be;
    if (!e.msg[0]) fs_errorf(&e, FS_EXIT_FAIL, "--backend %s: this build has no such backend", name);
    fprintf(stderr, "error: faceswarm bench kernels: %s\n", e.msg);
    *rc = e.code ? e.code : FS_EXIT_BADINPUT;
    return NULL;
}

int bench_kernels(int argc, char **argv) {
    bench_opts o;
    bench_shape *shapes;
    size_t count;
    fs_bench B;
    fs_bench_init(&B, "kernels", argc, argv); /* before getopt permutes argv */
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) return fs_bench_free(&B), rc;
    B.json = o.json;
    fs_cpu_set_threads(o.threads);
    const fs_backend *be = pick_backend(o.backend, &rc);
    if (!be) return fs_bench_free(&B), rc;
    if (o.cpu_time && strcmp(be->name, "cpu")) {
        fprintf(stderr,
                "error: faceswarm bench kernels: --cpu-time times the cpu backend only, not '%s' (a GPU "
                "works while the CPU waits)\n  hint: drop --cpu-time, or use --backend cpu\n",
                be->name);
        return fs_bench_free(&B), FS_EXIT_BADINPUT;
    }
    if (be->set_precision(o.precision) != 0) {
        fprintf(stderr,
                "error: faceswarm bench kernels: --precision bf16: backend '%s' has no bf16 path in this build\n"
                "  hint: use --backend cpu, or --precision fp32\n",
                be->name);
        return fs_bench_free(&B), FS_EXIT_BADINPUT;
    }
    fs_backend_cpu_ref()->set_precision(o.precision); /* the check's reference: the same precision */
    if ((rc = load_shapes(&o, &shapes, &count)) != 0) return fs_bench_free(&B), rc;
    int threads = fs_cpu_threads(), cpu = !strcmp(be->name, "cpu") && !o.check_only;
    int peak_bits = 0;
    double peak1 = cpu ? fs_cpu_fma_peak(1, 5, o.cpu_time, &peak_bits) : 0.0,
           peak = !cpu           ? 0.0
                  : threads == 1 ? peak1
                                 : fs_cpu_fma_peak(threads, 5, o.cpu_time, NULL);
    print_header(&B, &o, be, threads, peak1, peak, peak_bits);
    double gflop = 0.0, sec = 0.0;
    for (size_t i = 0; i < (o.check_only ? 0 : count); i++) {
        bench_result r = bench_one(be, &shapes[i], &o);
        print_row(&B, &o, &shapes[i], &r);
        if (r.gflop > 0) gflop += 3 * r.gflop, sec += 1e-3 * (r.ms[0] + r.ms[1] + r.ms[2]); /* conv, dense */
    }
    free(shapes);
    long wrong = 0;
    size_t n_cases, checked = 0;
    const fs_op_case *cases = fs_op_cases(&n_cases);
    for (size_t i = 0; i < n_cases; i++)
        if (cases[i].where & FS_OPC_BENCH) wrong += check_case(be, &cases[i]), checked++;
    print_footer(&B, &o, be, wrong, checked, gflop, sec, peak);
    if (wrong) fprintf(stderr, "faceswarm bench kernels: %ld wrong element(s) on backend %s\n", wrong, be->name);
    return fs_bench_end(&B, "elements that differ from the reference beyond the op case table's tolerance");
}
