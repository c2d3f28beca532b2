/* test_bf16_act.c — cuda_bf16_act: train.precision bf16's activation STORAGE
 * (FS_PREC_BF16_ACT, kernels/ops.h) on the CUDA backend (emulated without a GPU) against the
 * CPU reference in the same mode (kernels/cpu/ref_bf16act.c), for every op with activation
 * tensors: conv2d and dense fwd (each fused activation), bwd_data, bwd_filter (dw, db +=
 * onto float32 values), leaky and sigmoid fwd / bwd (bwd also in place, as the model runs
 * it), pixshuf fwd / bwd, add, acc, concat fwd / bwd, pixnorm fwd / bwd (short rows and the
 * one-block-per-row path), bf16_pack / unpack. Both backends get the same bf16 inputs.
 * Checks:
 *  1. every bf16 output is stored as bf16: the device buffer has room for float32 and its
 *     second half, filled with a sentinel, must be untouched (a float32 store would overwrite it);
 *  2. values: copies, adds and LeakyReLU are bit-identical to the reference (one float op,
 *     one rounding on both); sigmoid and pixnorm compute in float in another order (pixnorm's r
 *     rounded to float first), and the GEMMs sum in float32 (the reference in double), so
 *     their float results differ by ~1e-6 relative and the rounding to bf16 may then land
 *     one bf16 step apart: |got - want| <= 2^-8 |want| + 2^-24 (K + 8) max |want| (K the
 *     products per output; 2^-8: one step of bf16's 8 significant bits). On a GPU the second
 *     term is taken 8 times wider (the mma's internal precision). dw and db (float32, +=)
 *     get cuda_bf16_ops's cpu-ref tolerance of the op table (1e-4);
 *  3. the bf16 results are not the float ones (the GEMMs' outputs are really rounded) and a
 *     second run is bit-identical (determinism). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/bf16.h"
#include "tests/cuda/ct.h"

#define SENTINEL 0xEE
static double g_widen = 1.0;
static int g_fails;

/* A device tensor of n bf16 values (from host floats rounded, or unset). An input (out 0) is
 * exactly 2 n bytes, so that AddressSanitizer (the racecheck label's bounds step) sees a read
 * past its end; an output (out 1) has room for 4 n + 4 bytes, [2n, 4n + 4) the sentinel. */
static float *dev16(const fs_backend *be, const float *vals, size_t n, int out) {
    size_t bytes = out ? 4 * n + 4 : 2 * n + (n == 0);
    unsigned char *h = fs_malloc(bytes);
    memset(h, SENTINEL, bytes);
    if (vals)
        for (size_t i = 0; i < n; i++) {
            fs_bf16 b = fs_bf16_from_f32(vals[i]);
            memcpy(h + 2 * i, &b, 2);
        }
    float *d = be->alloc(bytes);
    be->upload(d, h, bytes);
    free(h);
    return d;
}

/* The n bf16 values of d widened (caller frees); check 1 on the way. */
static float *down16(const fs_backend *be, const float *d, size_t n, const char *what) {
    unsigned char *h = fs_malloc(4 * n + 4);
    be->download(h, d, 4 * n + 4);
    for (size_t i = 2 * n; i < 4 * n + 4; i++)
        if (h[i] != SENTINEL) {
            printf("FAIL %s on %s: byte %zu past the %zu bf16 values changed (a float32 store?)\n", what, be->name, i,
                   n);
            g_fails++;
            break;
        }
    float *v = fs_malloc(4 * n + 4);
    for (size_t i = 0; i < n; i++) {
        fs_bf16 b;
        memcpy(&b, h + 2 * i, 2);
        v[i] = fs_bf16_to_f32(b);
    }
    free(h);
    return v;
}

/* Check 2: |got - want| <= 2^-8 |want| + 2^-24 (k + 8) max |want| (k < 0: bit-identical). */
static void close16(const char *what, const float *got, const float *want, size_t n, long k) {
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        double lim = k < 0 ? 0 : ldexp(fabs(want[i]), -8) + g_widen * ldexp((double)(k + 8), -24) * mx;
        if (!(fabs((double)got[i] - want[i]) <= lim)) {
            printf("FAIL %s: element %zu of %zu got %.9g want %.9g (bound %.3g)\n", what, i, n, got[i], want[i], lim);
            g_fails++;
            return;
        }
    }
}

/* ---------------------------------------------------------------- the GEMM ops */
typedef struct gcase {
    int dense, n, h, w, cin, cout, k, stride;
    fs_act act;
} gcase;

typedef struct gout {
    float *y, *dx, *dw, *db; /* host: fwd (bf16 widened), bwd_data (bf16 widened), bwd_filter (float32) */
} gout;

static void gemm_run(const fs_backend *be, const gcase *c, const fs_conv_desc *d, const float *x, const float *w,
                     const float *b, const float *dz, const float *dw0, const float *db0, gout *o) {
    size_t nx = (size_t)d->n * d->h * d->w * d->cin, ny = (size_t)d->n * d->ho * d->wo * d->cout;
    size_t nw = (size_t)d->k * d->k * d->cin * d->cout;
    float *X = dev16(be, x, nx, 0), *DZ = dev16(be, dz, ny, 0), *Y = dev16(be, NULL, ny, 1);
    float *DX = dev16(be, NULL, nx, 1);
    float *W = ct_up(be, w, nw), *B = ct_up(be, b, (size_t)d->cout), *DW = ct_up(be, dw0, nw);
    float *DB = ct_up(be, db0, (size_t)d->cout);
    if (c->dense) {
        be->dense_fwd(d->n, d->cin, d->cout, X, W, B, Y, c->act, 0.1f);
        be->dense_bwd_data(d->n, d->cin, d->cout, DZ, W, DX);
        be->dense_bwd_filter(d->n, d->cin, d->cout, X, DZ, DW, DB);
    } else {
        be->conv2d_fwd(d, X, W, B, Y, c->act, 0.1f);
        be->conv2d_bwd_data(d, DZ, W, DX);
        be->conv2d_bwd_filter(d, X, DZ, DW, DB);
    }
    o->y = down16(be, Y, ny, "fwd y"), o->dx = down16(be, DX, nx, "bwd_data dx");
    o->dw = ct_down(be, DW, nw), o->db = ct_down(be, DB, (size_t)d->cout);
    float *all[] = {X, DZ, Y, DX, W, B, DW, DB};
    for (size_t i = 0; i < FS_ARRAY_LEN(all); i++) be->free(all[i]);
}

static void gout_free(gout *o) { free(o->y), free(o->dx), free(o->dw), free(o->db); }

static void gemm_case(const fs_backend *be, const gcase *c, uint64_t seed) {
    const fs_backend *ref = fs_backend_cpu_ref();
    fs_conv_desc d;
    if (c->dense) fs_conv_desc_init(&d, c->n, 1, 1, c->cin, c->cout, 1, 1);
    else fs_conv_desc_init(&d, c->n, c->h, c->w, c->cin, c->cout, c->k, c->stride);
    size_t nx = (size_t)d.n * d.h * d.w * d.cin, ny = (size_t)d.n * d.ho * d.wo * d.cout;
    size_t nw = (size_t)d.k * d.k * d.cin * d.cout;
    float *x = ct_rand(nx, seed, 1, -1, 1), *w = ct_rand(nw, seed, 2, -0.5f, 0.5f);
    float *b = ct_rand((size_t)d.cout, seed, 3, -0.5f, 0.5f), *dz = ct_rand(ny, seed, 4, -1, 1);
    float *dw0 = ct_rand(nw, seed, 5, -1, 1), *db0 = ct_rand((size_t)d.cout, seed, 6, -1, 1);
    gout got, again, want, f32;
    be->set_precision(FS_PREC_BF16_ACT), ref->set_precision(FS_PREC_BF16_ACT);
    gemm_run(be, c, &d, x, w, b, dz, dw0, db0, &got);
    gemm_run(be, c, &d, x, w, b, dz, dw0, db0, &again);
    gemm_run(ref, c, &d, x, w, b, dz, dw0, db0, &want);
    /* the same bf16 inputs in float storage: the float results the bf16 ones must round */
    for (size_t i = 0; i < nx; i++) x[i] = fs_bf16_round(x[i]);
    for (size_t i = 0; i < ny; i++) dz[i] = fs_bf16_round(dz[i]);
    be->set_precision(FS_PREC_BF16);
    float *Xf = ct_up(be, x, nx), *W = ct_up(be, w, nw), *B = ct_up(be, b, (size_t)d.cout), *Yf = ct_up(be, dz, ny);
    if (c->dense) be->dense_fwd(d.n, d.cin, d.cout, Xf, W, B, Yf, c->act, 0.1f);
    else be->conv2d_fwd(&d, Xf, W, B, Yf, c->act, 0.1f);
    f32.y = ct_down(be, Yf, ny);
    be->free(Xf), be->free(W), be->free(B), be->free(Yf);
    be->set_precision(FS_PREC_FP32), ref->set_precision(FS_PREC_FP32);

    char tag[160], what[200];
    if (c->dense) snprintf(tag, sizeof tag, "dense n%d %d -> %d act %d", c->n, c->cin, c->cout, (int)c->act);
    else
        snprintf(tag, sizeof tag, "conv2d n%d %dx%dx%d -> %d k%d s%d act %d", c->n, c->h, c->w, c->cin, c->cout, c->k,
                 c->stride, (int)c->act);
    long kf = (long)d.k * d.k * d.cin, kd = (long)d.k * d.k * d.cout;
    snprintf(what, sizeof what, "%s fwd y", tag), close16(what, got.y, want.y, ny, kf);
    snprintf(what, sizeof what, "%s bwd_data dx", tag), close16(what, got.dx, want.dx, nx, kd);
    fs_tol t = fs_op_tol_of(c->dense ? "dense" : "conv2d")->cuda;
    snprintf(what, sizeof what, "%s bwd_filter dw (float32)", tag);
    g_fails += ct_close(what, got.dw, want.dw, nw, t.rtol, t.atol);
    snprintf(what, sizeof what, "%s bwd_filter db (float32)", tag);
    g_fails += ct_close(what, got.db, want.db, (size_t)d.cout, t.rtol, t.atol);
    int rounded = 1, differs = 0;
    for (size_t i = 0; i < ny; i++) rounded &= got.y[i] == fs_bf16_round(got.y[i]), differs |= got.y[i] != f32.y[i];
    if (!rounded || (!differs && ny > 8)) {
        printf("FAIL %s fwd: the bf16 output is %s\n", tag, rounded ? "the float one bit for bit" : "not bf16 values");
        g_fails++;
    }
    if (memcmp(got.y, again.y, ny * 4) || memcmp(got.dx, again.dx, nx * 4) || memcmp(got.dw, again.dw, nw * 4) ||
        memcmp(got.db, again.db, (size_t)d.cout * 4)) {
        printf("FAIL %s: two runs differ (not deterministic)\n", tag);
        g_fails++;
    }
    printf("%s: fwd, bwd_data, bwd_filter in bf16 storage match cpu-ref\n", tag);
    gout_free(&got), gout_free(&again), gout_free(&want), free(f32.y);
    free(x), free(w), free(b), free(dz), free(dw0), free(db0);
}

/* ---------------------------------------------------------------- the other ops */
enum {
    LEAKY_F,
    LEAKY_B,
    LEAKY_B_INPLACE,
    SIGM_F,
    SIGM_B,
    SIGM_B_INPLACE,
    SHUF_F,
    SHUF_B,
    ADD,
    ACC,
    CAT_F,
    CAT_B,
    NORM_F,
    NORM_B,
    N_ELEM
};
static const char *const elem_names[] = {"leaky_fwd",   "leaky_bwd",   "leaky_bwd in place",
                                         "sigmoid_fwd", "sigmoid_bwd", "sigmoid_bwd in place",
                                         "pixshuf_fwd", "pixshuf_bwd", "add",
                                         "acc (+=)",    "concat_fwd",  "concat_bwd",
                                         "pixnorm_fwd", "pixnorm_bwd"};

/* rows x c (the main tensor), cb: concat's second part. Returns outputs widened: out[0], out[1]. */
static void elem_run(const fs_backend *be, int op, size_t rows, int c, int cb, const float *u, const float *v,
                     float **o0, float **o1) {
    size_t n = rows * c, nb = rows * cb, nc = rows * (c + cb);
    int img_h = 3, img_w = (int)(rows / 3);                                 /* pixshuf: rows = n h w with n = 1 */
    int v_out = op == LEAKY_B_INPLACE || op == SIGM_B_INPLACE || op == ACC; /* V is also the output */
    float *U = dev16(be, u, op == CAT_B ? nc : n, 0), *V = dev16(be, v, op == CAT_F ? nb : n, v_out);
    float *O = dev16(be, NULL, op == CAT_F ? nc : n, 1), *O2 = dev16(be, NULL, nb, 1);
    *o1 = NULL;
    switch (op) {
    case LEAKY_F: be->leaky_fwd(n, 0.1f, U, O); break;
    case LEAKY_B: be->leaky_bwd(n, 0.1f, U, V, O); break;
    case LEAKY_B_INPLACE: be->leaky_bwd(n, 0.1f, U, V, V), O = (be->free(O), V), V = NULL; break;
    case SIGM_F: be->sigmoid_fwd(n, U, O); break;
    case SIGM_B: be->sigmoid_bwd(n, U, V, O); break;
    case SIGM_B_INPLACE: be->sigmoid_bwd(n, U, V, V), O = (be->free(O), V), V = NULL; break;
    case SHUF_F: be->pixshuf_fwd(1, img_h, img_w, c, U, O); break;
    case SHUF_B: be->pixshuf_bwd(1, img_h, img_w, c, U, O); break;
    case ADD: be->add(n, U, V, O); break;
    case ACC: be->acc(n, U, V), O = (be->free(O), V), V = NULL; break;
    case CAT_F: be->concat_fwd(rows, c, cb, U, V, O); break;
    case CAT_B: be->concat_bwd(rows, c, cb, U, O, O2); break;
    case NORM_F: be->pixnorm_fwd(rows, c, U, O); break;
    default: be->pixnorm_bwd(rows, c, U, V, O); break;
    }
    *o0 = down16(be, O, op == CAT_F ? nc : n, elem_names[op]);
    if (op == CAT_B) *o1 = down16(be, O2, nb, elem_names[op]);
    be->free(U), be->free(V), be->free(O), be->free(O2);
}

static void elem_case(const fs_backend *be, int op, size_t rows, int c, int cb) {
    const fs_backend *ref = fs_backend_cpu_ref();
    size_t n = rows * ((size_t)c + (op == CAT_B ? cb : 0)), nv = op == CAT_F ? rows * cb : rows * c;
    float *u = ct_rand(n, 700 + (uint64_t)op, (uint64_t)c, -3, 3),
          *v = ct_rand(nv, 800 + (uint64_t)op, (uint64_t)c, -2, 2);
    if (op == SIGM_B || op == SIGM_B_INPLACE)
        for (size_t i = 0; i < n; i++) u[i] = 1.0f / (1.0f + expf(-u[i])); /* y of a sigmoid */
    float *g0, *g1, *a0, *a1, *w0, *w1;
    be->set_precision(FS_PREC_BF16_ACT), ref->set_precision(FS_PREC_BF16_ACT);
    elem_run(be, op, rows, c, cb, u, v, &g0, &g1);
    elem_run(be, op, rows, c, cb, u, v, &a0, &a1);
    elem_run(ref, op, rows, c, cb, u, v, &w0, &w1);
    be->set_precision(FS_PREC_FP32), ref->set_precision(FS_PREC_FP32);
    size_t n0 = op == CAT_F ? rows * ((size_t)c + cb) : rows * c;
    long k = op == SIGM_F || op == SIGM_B || op == SIGM_B_INPLACE ? 0 : op == NORM_F || op == NORM_B ? c : -1;
    char what[128];
    snprintf(what, sizeof what, "%s %zu x %d", elem_names[op], rows, c);
    close16(what, g0, w0, n0, k);
    if (g1) close16(what, g1, w1, rows * cb, -1);
    if (memcmp(g0, a0, n0 * 4) || (g1 && memcmp(g1, a1, rows * cb * 4))) {
        printf("FAIL %s: two runs differ (not deterministic)\n", what);
        g_fails++;
    }
    free(u), free(v), free(g0), free(g1), free(a0), free(a1), free(w0), free(w1);
}

/* bf16_pack rounds as fs_bf16_from_f32 (ties to even, NaN, overflow to inf), unpack widens. */
static void pack_case(const fs_backend *be) {
    float vals[] = {1.0f, 1.00390625f, 1.01171875f, -2.5e-39f, 3.4e38f, -0.0f, INFINITY, NAN, 0.1f, -7.3f, 65504.f};
    size_t n = FS_ARRAY_LEN(vals);
    float *X = ct_up(be, vals, n), *P = dev16(be, NULL, n, 1), *U = be->alloc(n * 4);
    be->bf16_pack(n, X, P);
    float *got = down16(be, P, n, "bf16_pack");
    be->bf16_unpack(n, P, U);
    float *un = ct_down(be, U, n);
    for (size_t i = 0; i < n; i++) {
        float want = fs_bf16_round(vals[i]);
        int same = memcmp(&got[i], &want, 4) == 0 && memcmp(&un[i], &want, 4) == 0;
        if (!same) {
            printf("FAIL bf16_pack / unpack of %.9g: got %.9g / %.9g, want %.9g\n", vals[i], got[i], un[i], want);
            g_fails++;
        }
    }
    free(got), free(un), be->free(X), be->free(P), be->free(U);
}

int main(void) {
    const fs_backend *be = ct_backend("cuda_bf16_act");
    if (strcmp(be->name, "cuda-emulated")) g_widen = 8.0;
    if (be->set_precision(FS_PREC_BF16_ACT) != 0 || fs_backend_cpu_ref()->set_precision(FS_PREC_BF16_ACT) != 0) {
        printf("FAIL: set_precision(FS_PREC_BF16_ACT) refused by %s or cpu-ref\n", be->name);
        return 1;
    }
    if (fs_backend_cpu()->set_precision(FS_PREC_BF16_ACT) == 0 && strcmp(fs_backend_cpu()->name, "cpu-ref")) {
        printf("FAIL: the fast cpu backend accepted FS_PREC_BF16_ACT, which it does not implement\n");
        g_fails++;
    }
    be->set_precision(FS_PREC_FP32), fs_backend_cpu_ref()->set_precision(FS_PREC_FP32);
    /* odd shapes (element-by-element gathers), cin / cout multiples of 8 (16-byte chunks read
     * in place), stride 2 (parity classes), split-K (deep K, one output tile) */
    static const gcase cases[] = {
        {0, 2, 7, 5, 3, 4, 3, 1, FS_ACT_LEAKY},    {0, 1, 6, 8, 8, 16, 3, 2, FS_ACT_NONE},
        {0, 2, 5, 5, 16, 8, 5, 2, FS_ACT_SIGMOID}, {0, 1, 4, 4, 64, 8, 3, 1, FS_ACT_LEAKY},
        {0, 1, 5, 4, 2, 3, 1, 2, FS_ACT_LEAKY},    {1, 3, 1, 1, 37, 21, 1, 1, FS_ACT_LEAKY},
        {1, 2, 1, 1, 64, 40, 1, 1, FS_ACT_NONE},   {1, 2, 1, 1, 1024, 16, 1, 1, FS_ACT_SIGMOID},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) gemm_case(be, &cases[i], 3000 + i);
    for (int op = 0; op < N_ELEM; op++) {
        int c = op == SHUF_F || op == SHUF_B ? 8 : 6;
        elem_case(be, op, 21, c, 5);
        if (op == NORM_F || op == NORM_B) elem_case(be, op, 3, 300, 5); /* rows past 128: one block per row */
    }
    pack_case(be);
    if (g_fails) {
        printf("cuda_bf16_act: %d checks FAILED\n", g_fails);
        return 1;
    }
    printf("cuda_bf16_act: every op with activation tensors stores bf16 on %s and matches cpu-ref in bf16 storage; "
           "runs are bit-identical\n",
           be->name);
    return 0;
}
