/* test_ops.c — cuda_ops: every non-conv op of the CUDA backend vs the CPU reference on the
 * cases of the op table marked FS_OPC_CUDA (kernels/op_cases.c), odd sizes. Tolerances: the
 * table's cuda column for tensors, applied as rtol |want| + atol x max(1, max |want|) (for
 * loss gradients, atol x the largest change of dpred), and cuda_value for the returned
 * doubles (rtol |want| + atol). sumsq also propagates a NaN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/op_cases.h"
#include "tests/cuda/ct.h"

static const fs_backend *be, *ref;
static const fs_op_tol *tol; /* the tolerances of the op being checked */

/* Runs the same dense pass on both backends and compares the overwritten/accumulated out. */
static int check_dense(const fs_op_case *c) {
    int n = c->n, in = c->c, out = c->cout;
    fs_act act = c->act;
    float *x = ct_rand((size_t)n * in, 7, 1, -1, 1), *w = ct_rand((size_t)in * out, 7, 2, -0.5f, 0.5f);
    float *b = ct_rand((size_t)out, 7, 3, -1, 1), *dz = ct_rand((size_t)n * out, 7, 4, -1, 1);
    float *dw0 = ct_rand((size_t)in * out, 7, 5, -1, 1), *db0 = ct_rand((size_t)out, 7, 6, -1, 1);
    size_t ny = (size_t)n * out, nx = (size_t)n * in, nw = (size_t)in * out;
    float *y_ref = fs_calloc(ny, 4), *dx_ref = fs_calloc(nx, 4), *dw_ref = fs_malloc(nw * 4),
          *db_ref = fs_malloc(out * 4);
    memcpy(dw_ref, dw0, nw * 4), memcpy(db_ref, db0, (size_t)out * 4);
    ref->dense_fwd(n, in, out, x, w, b, y_ref, act, 0.1f);
    ref->dense_bwd_data(n, in, out, dz, w, dx_ref);
    ref->dense_bwd_filter(n, in, out, x, dz, dw_ref, db_ref);
    float *X = ct_up(be, x, nx), *W = ct_up(be, w, nw), *B = ct_up(be, b, out), *DZ = ct_up(be, dz, ny);
    float *Y = be->alloc(ny * 4), *DX = ct_up(be, x, nx), *DW = ct_up(be, dw0, nw), *DB = ct_up(be, db0, out);
    be->dense_fwd(n, in, out, X, W, B, Y, act, 0.1f);
    be->dense_bwd_data(n, in, out, DZ, W, DX);
    be->dense_bwd_filter(n, in, out, X, DZ, DW, DB);
    float *y = ct_down(be, Y, ny), *dx = ct_down(be, DX, nx), *dw = ct_down(be, DW, nw), *db = ct_down(be, DB, out);
    char t[4][96];
    snprintf(t[0], 96, "dense_fwd n%d %d->%d act=%d", n, in, out, (int)act);
    snprintf(t[1], 96, "dense_bwd_data n%d %d->%d", n, in, out);
    snprintf(t[2], 96, "dense_bwd_filter dw n%d %d->%d", n, in, out);
    snprintf(t[3], 96, "dense_bwd_filter db n%d %d->%d", n, in, out);
    fs_tol e = tol->cuda;
    int f = ct_close(t[0], y, y_ref, ny, e.rtol, e.atol) + ct_close(t[1], dx, dx_ref, nx, e.rtol, e.atol) +
            ct_close(t[2], dw, dw_ref, nw, e.rtol, e.atol) + ct_close(t[3], db, db_ref, out, e.rtol, e.atol);
    float *all_h[] = {x, w, b, dz, dw0, db0, y_ref, dx_ref, dw_ref, db_ref, y, dx, dw, db};
    float *all_d[] = {X, W, B, DZ, Y, DX, DW, DB};
    for (size_t i = 0; i < FS_ARRAY_LEN(all_h); i++) free(all_h[i]);
    for (size_t i = 0; i < FS_ARRAY_LEN(all_d); i++) be->free(all_d[i]);
    return f;
}

/* Activations and pixel shuffle: out = op(in) on both backends. kind: 0 leaky fwd, 1 leaky
 * bwd, 2 sigmoid fwd, 3 sigmoid bwd, 4 pixshuf fwd, 5 pixshuf bwd, 6 scale. */
static void run_elem(const fs_backend *b, int kind, const fs_op_case *c, const float *x, const float *y, float *out) {
    size_t cnt = fs_op_case_count(c);
    const int n = c->n, h = c->h, w = c->w, c4 = c->c; /* pixshuf shape */
    switch (kind) {
    case 0: b->leaky_fwd(cnt, 0.1f, x, out); break;
    case 1: b->leaky_bwd(cnt, 0.1f, y, x, out); break;
    case 2: b->sigmoid_fwd(cnt, x, out); break;
    case 3: b->sigmoid_bwd(cnt, y, x, out); break;
    case 4: b->pixshuf_fwd(n, h, w, c4, x, out); break;
    case 5: b->pixshuf_bwd(n, h, w, c4, x, out); break;
    default: b->scale(cnt, out, 0.37f); break;
    }
}

static int check_elem(int kind, const fs_op_case *c) {
    static const char *names[] = {"leaky_fwd",   "leaky_bwd",   "sigmoid_fwd", "sigmoid_bwd",
                                  "pixshuf_fwd", "pixshuf_bwd", "scale"};
    size_t cnt = fs_op_case_count(c);
    float *x = ct_rand(cnt, 11, (uint64_t)kind, -3, 3), *y = ct_rand(cnt, 12, (uint64_t)kind, -1, 1);
    /* exact zeros of both signs in the input and, elsewhere, in the backward's y (leaky: at
     * y == 0 the backward is alpha * dy, as cpu-ref) */
    for (size_t i = 3; i < cnt; i += 7) x[i] = i % 2 ? 0.0f : -0.0f;
    for (size_t i = 5; i < cnt; i += 7) y[i] = i % 2 ? 0.0f : -0.0f;
    float *want = fs_malloc(cnt * 4);
    memcpy(want, x, cnt * 4); /* scale works in place */
    run_elem(ref, kind, c, x, y, want);
    float *X = ct_up(be, x, cnt), *Y = ct_up(be, y, cnt), *O = ct_up(be, x, cnt);
    run_elem(be, kind, c, X, Y, O);
    float *got = ct_down(be, O, cnt);
    char what[96];
    snprintf(what, sizeof what, "%s %zu", names[kind], cnt);
    int f = ct_close(what, got, want, cnt, tol->cuda.rtol, tol->cuda.atol);
    free(x), free(y), free(want), free(got);
    be->free(X), be->free(Y), be->free(O);
    return f;
}

static int check_u8(size_t n) {
    uint8_t *src = fs_malloc(n);
    for (size_t i = 0; i < n; i++) src[i] = (uint8_t)(i * 37 + 11);
    float *want = fs_malloc(n * 4), *D = be->alloc(n * 4);
    ref->u8_to_float(n, src, want);
    be->u8_to_float(n, src, D);
    float *got = ct_down(be, D, n);
    int f = ct_close("u8_to_float", got, want, n, tol->cuda.rtol, tol->cuda.atol);
    free(src), free(want), free(got), be->free(D);
    return f;
}

/* bf16_pack then bf16_unpack vs the reference: bit-identical (one rounding rule). */
static int check_bf16(size_t n) {
    float *x = ct_rand(n, 13, 1, -4, 4), *want = fs_malloc(n * 4), *wantu = fs_malloc(n * 4);
    x[0] = 1.00390625f, x[1] = NAN, x[2] = 3.4e38f; /* a tie, a NaN, an overflow */
    ref->bf16_pack(n, x, want), ref->bf16_unpack(n, want, wantu);
    float *X = ct_up(be, x, n), *P = be->alloc(n * 4), *U = be->alloc(n * 4);
    be->bf16_pack(n, X, P), be->bf16_unpack(n, P, U);
    float *got = ct_down(be, P, n), *gotu = ct_down(be, U, n);
    int f = 0;
    if (memcmp(got, want, n * 2)) printf("FAIL bf16_pack %zu: differs from cpu-ref\n", n), f++;
    if (memcmp(gotu, wantu, n * 4)) printf("FAIL bf16_unpack %zu: differs from cpu-ref\n", n), f++;
    free(x), free(want), free(wantu), free(got), free(gotu), be->free(X), be->free(P), be->free(U);
    return f;
}

/* mask_mul vs the reference, out of place and in place (exact: one multiply per element). */
static int check_mask_mul(int n, int h, int w, int c) {
    size_t pixels = (size_t)n * h * w, cnt = pixels * c;
    float *x = ct_rand(cnt, 51, (uint64_t)c, -2, 2), *m = ct_rand(pixels, 52, (uint64_t)c, 0, 1);
    m[0] = 0.0f, m[pixels - 1] = 1.0f;
    float *want = fs_malloc(cnt * 4);
    ref->mask_mul(n, h, w, c, m, x, want);
    float *X = ct_up(be, x, cnt), *M = ct_up(be, m, pixels), *Y = be->alloc(cnt * 4);
    be->mask_mul(n, h, w, c, M, X, Y);
    be->mask_mul(n, h, w, c, M, X, X);
    float *got = ct_down(be, Y, cnt), *got_in_place = ct_down(be, X, cnt);
    char what[80];
    snprintf(what, sizeof what, "mask_mul %dx%dx%dx%d", n, h, w, c);
    int f = ct_close(what, got, want, cnt, tol->cuda.rtol, tol->cuda.atol);
    snprintf(what, sizeof what, "mask_mul %dx%dx%dx%d in place", n, h, w, c);
    f += ct_close(what, got_in_place, want, cnt, tol->cuda.rtol, tol->cuda.atol);
    free(x), free(m), free(want), free(got), free(got_in_place);
    be->free(X), be->free(M), be->free(Y);
    return f;
}

/* add (also in place on a), acc (+= onto nonzero values). */
static int check_add_acc(int acc, size_t n) {
    float *a = ct_rand(n, 61, (uint64_t)acc, -2, 2), *b = ct_rand(n, 62, (uint64_t)acc, -2, 2);
    float *want = fs_malloc(n * 4);
    memcpy(want, b, n * 4);
    if (acc) ref->acc(n, a, want);
    else ref->add(n, a, b, want);
    float *A = ct_up(be, a, n), *B = ct_up(be, b, n), *Y = be->alloc(n * 4);
    if (acc) be->acc(n, A, B);
    else be->add(n, A, B, Y), be->add(n, A, B, A);
    float *got = ct_down(be, acc ? B : Y, n), *got2 = ct_down(be, A, n);
    char what[64];
    snprintf(what, sizeof what, "%s %zu", acc ? "acc (+=)" : "add", n);
    int f = ct_close(what, got, want, n, tol->cuda.rtol, tol->cuda.atol);
    if (!acc) f += ct_close("add (y aliases a)", got2, want, n, tol->cuda.rtol, tol->cuda.atol);
    free(a), free(b), free(want), free(got), free(got2);
    be->free(A), be->free(B), be->free(Y);
    return f;
}

/* concat fwd; bwd into both halves, then into one half at a time (the other NULL). */
static int check_concat(const fs_op_case *c) {
    size_t rows = (size_t)c->n * c->h * c->w, na = rows * c->c, nb = rows * c->cout, ny = na + nb;
    int ca = c->c, cb = c->cout;
    float *a = ct_rand(na, 71, 0, -1, 1), *b = ct_rand(nb, 71, 1, -1, 1), *dy = ct_rand(ny, 71, 2, -1, 1);
    float *y_ref = fs_malloc(ny * 4), *da_ref = fs_malloc(na * 4), *db_ref = fs_malloc(nb * 4);
    ref->concat_fwd(rows, ca, cb, a, b, y_ref);
    ref->concat_bwd(rows, ca, cb, dy, da_ref, db_ref);
    float *A = ct_up(be, a, na), *B = ct_up(be, b, nb), *DY = ct_up(be, dy, ny), *Y = be->alloc(ny * 4);
    float *DA = be->alloc(na * 4), *DB = be->alloc(nb * 4), *DA2 = ct_up(be, a, na), *DB2 = ct_up(be, b, nb);
    be->concat_fwd(rows, ca, cb, A, B, Y);
    be->concat_bwd(rows, ca, cb, DY, DA, DB);
    be->concat_bwd(rows, ca, cb, DY, DA2, NULL);
    be->concat_bwd(rows, ca, cb, DY, NULL, DB2);
    float *y = ct_down(be, Y, ny), *da = ct_down(be, DA, na), *db = ct_down(be, DB, nb);
    float *da2 = ct_down(be, DA2, na), *db2 = ct_down(be, DB2, nb);
    char what[5][128], name[96];
    fs_op_case_name(c, name, sizeof name);
    snprintf(what[0], 128, "%s fwd", name), snprintf(what[1], 128, "%s bwd da", name);
    snprintf(what[2], 128, "%s bwd db", name), snprintf(what[3], 128, "%s bwd da (db NULL)", name);
    snprintf(what[4], 128, "%s bwd db (da NULL)", name);
    fs_tol e = tol->cuda;
    int f = ct_close(what[0], y, y_ref, ny, e.rtol, e.atol) + ct_close(what[1], da, da_ref, na, e.rtol, e.atol) +
            ct_close(what[2], db, db_ref, nb, e.rtol, e.atol) + ct_close(what[3], da2, da_ref, na, e.rtol, e.atol) +
            ct_close(what[4], db2, db_ref, nb, e.rtol, e.atol);
    free(a), free(b), free(dy), free(y_ref), free(da_ref), free(db_ref), free(y), free(da), free(db), free(da2);
    free(db2);
    be->free(A), be->free(B), be->free(DY), be->free(Y), be->free(DA), be->free(DB), be->free(DA2), be->free(DB2);
    return f;
}

/* pixnorm fwd out of place and in place, bwd in place (dx aliases dy). */
static int check_pixnorm(const fs_op_case *c) {
    size_t rows = (size_t)c->n * c->h * c->w, n = rows * c->c;
    float *x = ct_rand(n, 81, 0, -2, 2), *dy = ct_rand(n, 81, 1, -1, 1);
    float *y_ref = fs_malloc(n * 4), *dx_ref = fs_malloc(n * 4);
    ref->pixnorm_fwd(rows, c->c, x, y_ref);
    ref->pixnorm_bwd(rows, c->c, x, dy, dx_ref);
    float *X = ct_up(be, x, n), *X2 = ct_up(be, x, n), *Y = be->alloc(n * 4), *DX = ct_up(be, dy, n);
    be->pixnorm_fwd(rows, c->c, X, Y);
    be->pixnorm_fwd(rows, c->c, X2, X2);
    be->pixnorm_bwd(rows, c->c, X, DX, DX);
    float *y = ct_down(be, Y, n), *y2 = ct_down(be, X2, n), *dx = ct_down(be, DX, n);
    char what[3][128], name[96];
    fs_op_case_name(c, name, sizeof name);
    snprintf(what[0], 128, "%s fwd", name), snprintf(what[1], 128, "%s fwd in place", name);
    snprintf(what[2], 128, "%s bwd in place", name);
    fs_tol e = tol->cuda;
    int f = ct_close(what[0], y, y_ref, n, e.rtol, e.atol) + ct_close(what[1], y2, y_ref, n, e.rtol, e.atol) +
            ct_close(what[2], dx, dx_ref, n, e.rtol, e.atol);
    free(x), free(dy), free(y_ref), free(dx_ref), free(y), free(y2), free(dx);
    be->free(X), be->free(X2), be->free(Y), be->free(DX);
    return f;
}

/* kind 0 mse, 1 l1, 2 dssim: loss and dpred += weight * grad onto a non-zero dpred. */
/* Loss kind 0 mse, 1 l1, 2 dssim (window win) of backend b. */
static double call_loss(const fs_backend *b, int kind, int n, int h, int w, int c, int win, const float *p,
                        const float *t, float *d, float weight) {
    if (kind == 2) return b->dssim(n, h, w, c, win, p, t, d, weight);
    return (kind ? b->l1 : b->mse)(n, h, w, c, p, t, d, weight);
}

static int check_loss(int kind, int n, int h, int w, int c, int win) {
    static const char *names[] = {"mse", "l1", "dssim"};
    size_t cnt = (size_t)n * h * w * c;
    float *p = ct_rand(cnt, 21, (uint64_t)kind, 0, 1), *t = ct_rand(cnt, 22, (uint64_t)kind, 0, 1);
    if (kind == 1) t[5] = p[5]; /* the subgradient at p == t */
    float *d0 = ct_rand(cnt, 23, (uint64_t)kind, -1e-3f, 1e-3f), *want = fs_malloc(cnt * 4);
    memcpy(want, d0, cnt * 4);
    double l_ref = call_loss(ref, kind, n, h, w, c, win, p, t, want, 0.7f);
    float *P = ct_up(be, p, cnt), *T = ct_up(be, t, cnt), *D = ct_up(be, d0, cnt);
    double l = call_loss(be, kind, n, h, w, c, win, P, T, D, 0.7f);
    double l_only = call_loss(be, kind, n, h, w, c, win, P, T, NULL, 1.0f);
    float *got = ct_down(be, D, cnt);
    char what[96];
    snprintf(what, sizeof what, "%s loss %dx%dx%dx%d win %d", names[kind], n, h, w, c, win);
    int f = ct_close1(what, l, l_ref, tol->cuda_value.rtol, tol->cuda_value.atol);
    snprintf(what, sizeof what, "%s loss without dpred", names[kind]);
    f += ct_close1(what, l_only, l, 1e-12, 0);
    snprintf(what, sizeof what, "%s dpred (+=)", names[kind]);
    double scale = 0;
    for (size_t i = 0; i < cnt; i++) scale = fmax(scale, fabs(want[i] - d0[i]));
    f += ct_close(what, got, want, cnt, tol->cuda.rtol, tol->cuda.atol * scale);
    free(p), free(t), free(d0), free(want), free(got);
    be->free(P), be->free(T), be->free(D);
    return f;
}

static int check_sumsq(size_t n) {
    float *x = ct_rand(n, 31, 0, -2, 2);
    float *X = ct_up(be, x, n);
    char what[64];
    snprintf(what, sizeof what, "sumsq %zu", n);
    int f = ct_close1(what, be->sumsq(n, X), ref->sumsq(n, x), tol->cuda_value.rtol, tol->cuda_value.atol);
    f += ct_close1("sumsq of 1 element", be->sumsq(1, X), (double)x[0] * x[0], 1e-7, 0);
    x[n / 2] = NAN;
    be->upload(X, x, n * 4);
    double s = be->sumsq(n, X);
    if (!isnan(s)) printf("FAIL sumsq with a NaN: got %g, want NaN\n", s), f++;
    free(x), be->free(X);
    return f;
}

/* One optimizer update (adam, or adabelief) on both backends from the same state; compares
 * p and the two moments. */
static int check_update(size_t n, int adabelief, const fs_adam_args *a, const char *what0) {
    float *p = ct_rand(n, 41, 0, -1, 1), *g = ct_rand(n, 41, 1, -1, 1), *m = ct_rand(n, 41, 2, -0.1f, 0.1f);
    float *v = ct_rand(n, 41, 3, 0, 0.01f);
    float *P = ct_up(be, p, n), *G = ct_up(be, g, n), *M = ct_up(be, m, n), *V = ct_up(be, v, n);
    (adabelief ? ref->adabelief : ref->adam)(n, p, g, m, v, a);
    (adabelief ? be->adabelief : be->adam)(n, P, G, M, V, a);
    float *gp = ct_down(be, P, n), *gm = ct_down(be, M, n), *gv = ct_down(be, V, n);
    const char *state = adabelief ? "pms" : "pmv";
    char w[3][128];
    for (int k = 0; k < 3; k++) snprintf(w[k], sizeof w[k], "%s %zu %c", what0, n, state[k]);
    fs_tol e = tol->cuda;
    int f = ct_close(w[0], gp, p, n, e.rtol, e.atol) + ct_close(w[1], gm, m, n, e.rtol, e.atol) +
            ct_close(w[2], gv, v, n, e.rtol, e.atol);
    free(p), free(g), free(m), free(v), free(gp), free(gm), free(gv);
    be->free(P), be->free(G), be->free(M), be->free(V);
    return f;
}

/* Every eps placement (kernels/ops.h fs_adam_variant) against the CPU reference; eps 1e-4
 * with small moments makes the placement matter. */
static int check_adam(size_t n, fs_adam_variant variant, double eps) {
    fs_adam_args a = {.lr = 1e-3,
                      .beta1 = 0.9,
                      .beta2 = 0.999,
                      .eps = eps,
                      .step = 3,
                      .grad_scale = 0.5f,
                      .weight_decay = 0.01f,
                      .variant = variant};
    char what[64];
    snprintf(what, sizeof what, "adam (variant %d, eps %g)", variant, eps);
    return check_update(n, 0, &a, what);
}

/* AdaBelief vs the CPU reference, lr_dropout off (0) or 0.3 (the same elements dropped). */
static int check_adabelief(size_t n, float lr_dropout) {
    fs_adam_args a = {.lr = 1e-3,
                      .beta1 = 0.9,
                      .beta2 = 0.999,
                      .eps = 1e-6,
                      .step = 3,
                      .grad_scale = 0.5f,
                      .weight_decay = 0.01f,
                      .lr_dropout = lr_dropout,
                      .dropout_seed = 17};
    char what[64];
    snprintf(what, sizeof what, "adabelief (lr_dropout %g)", lr_dropout);
    return check_update(n, 1, &a, what);
}

/* One non-conv case of the table; returns the failed checks. */
static int ops_case(const fs_op_case *c) {
    static const char *const losses[] = {"mse", "l1", "dssim"};
    size_t cnt = fs_op_case_count(c);
    tol = fs_op_tol_of(c->op);
    if (!strcmp(c->op, "dense")) return check_dense(c);
    if (!strcmp(c->op, "leaky")) return check_elem(0, c) + check_elem(1, c);
    if (!strcmp(c->op, "sigmoid")) return check_elem(2, c) + check_elem(3, c);
    if (!strcmp(c->op, "pixshuf")) return check_elem(4, c) + check_elem(5, c);
    if (!strcmp(c->op, "scale")) return check_elem(6, c);
    if (!strcmp(c->op, "u8_to_float")) return check_u8(cnt);
    if (!strcmp(c->op, "bf16")) return check_bf16(cnt);
    if (!strcmp(c->op, "mask_mul")) return check_mask_mul(c->n, c->h, c->w, c->c);
    if (!strcmp(c->op, "sumsq")) return check_sumsq(cnt);
    if (!strcmp(c->op, "adabelief")) return check_adabelief(cnt, 0.0f) + check_adabelief(cnt, 0.3f);
    if (!strcmp(c->op, "add") || !strcmp(c->op, "acc")) return check_add_acc(!strcmp(c->op, "acc"), cnt);
    if (!strcmp(c->op, "concat")) return check_concat(c);
    if (!strcmp(c->op, "pixnorm")) return check_pixnorm(c);
    if (!strcmp(c->op, "adam")) /* every eps placement; eps 1e-4 with small moments makes it matter */
        return check_adam(cnt, FS_ADAM_KERAS, 1e-7) + check_adam(cnt, FS_ADAM_PAPER, 1e-7) +
               check_adam(cnt, FS_ADAM_LEGACY, 1e-7) + check_adam(cnt, FS_ADAM_KERAS, 1e-4) +
               check_adam(cnt, FS_ADAM_PAPER, 1e-4);
    for (int k = 0; k < 3; k++)
        if (!strcmp(c->op, losses[k])) return check_loss(k, c->n, c->h, c->w, c->c, c->k);
    printf("FAIL op case '%s' is marked for the cuda tests, which have no check for it\n", c->op);
    return 1;
}

int main(int argc, char **argv) {
    be = ct_backend("cuda_ops");
    ref = fs_backend_cpu_ref();
    size_t count, ran = 0;
    const fs_op_case *cases = fs_op_cases(&count);
    int f = 0;
    for (size_t i = 0; i < count; i++)
        if ((cases[i].where & FS_OPC_CUDA) && strcmp(cases[i].op, "conv2d") && ct_pick(argc, argv, cases, i, 2))
            f += ops_case(&cases[i]), ran++;
    if (f) {
        printf("cuda_ops: %d checks FAILED\n", f);
        return 1;
    }
    printf("cuda_ops: %zu cases (dense, activations, pixel shuffle, u8, bf16 pack, mask_mul, scale, mse, l1, dssim, "
           "sumsq, adam, "
           "adabelief, add, acc, concat, pixnorm) "
           "match the CPU reference\n",
           ran);
    return 0;
}
