/* test_fast.c — kernels_fast: every op of fs_backend_cpu() (BLAS + OpenMP) against the
 * reference fs_backend_cpu_ref() on the cases of the op table (kernels/op_cases.c, rows
 * marked FS_OPC_FAST, and FS_OPC_THREADS3 again on 3 threads): odd shapes and real shapes
 * of the original-64 model, including the += semantics (dw, db and dpred pre-filled with
 * nonzero values), and determinism (the same call twice is bit-identical; reductions do
 * not depend on the thread count). Tolerances: the table's fast and fast_value columns,
 * relative to max |reference| ({0, 0}: bit-identical). An argument auto | openblas | own
 * | own-avx512 | own-avx2 picks the fp32 GEMM (fs_cpu_set_gemm; own: the fused im2col
 * packing of the forward conv and bwd_filter too, and each conv's bits on 1 thread equal
 * those on the current thread count, and those of the other own kernel where the CPU has
 * both); an own kernel the CPU lacks exits 77 (skipped). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/op_cases.h"
#include "kernels/ops.h"
#include "tests/kernels/ktest.h"

static const fs_backend *ref, *fast;
static const fs_op_tol *tol; /* the tolerances of the op being checked */

static void conv_fwd_case(const fs_conv_desc *d, const char *name, const float *x, const float *w, const float *b) {
    size_t ny = (size_t)d->n * d->ho * d->wo * d->cout;
    float *yr = malloc(ny * sizeof(float)), *yf = malloc(ny * sizeof(float)), *y2 = malloc(ny * sizeof(float));
    static const fs_act acts[] = {FS_ACT_LEAKY, FS_ACT_SIGMOID, FS_ACT_NONE};
    char what[200];
    for (size_t a = 0; a < FS_ARRAY_LEN(acts); a++) {
        const float *bias = acts[a] == FS_ACT_NONE ? NULL : b; /* b == NULL means no bias */
        ref->conv2d_fwd(d, x, w, bias, yr, acts[a], 0.1f);
        fast->conv2d_fwd(d, x, w, bias, yf, acts[a], 0.1f);
        snprintf(what, sizeof what, "%s fwd act=%d%s", name, (int)acts[a], bias ? "" : " no bias");
        kt_check_tol(what, yf, yr, ny, tol->fast);
    }
    fast->conv2d_fwd(d, x, w, b, yf, FS_ACT_LEAKY, 0.1f);
    fast->conv2d_fwd(d, x, w, b, y2, FS_ACT_LEAKY, 0.1f);
    snprintf(what, sizeof what, "%s fwd determinism", name);
    kt_check_bits(what, yf, y2, ny);
    free(yr), free(yf), free(y2);
}

static void conv_bwd_case(const fs_conv_desc *d, const char *name, const float *x, const float *w, const float *dz) {
    size_t nx = (size_t)d->n * d->h * d->w * d->cin, nw = (size_t)d->k * d->k * d->cin * d->cout;
    float *dxr = kt_rand(nx, 9, 1, -1, 1), *dxf = kt_rand(nx, 9, 2, -1, 1); /* garbage: bwd_data overwrites */
    float *dwr = kt_rand(nw, 9, 3, -1, 1), *dwf = kt_copy(dwr, nw), *dw2 = kt_copy(dwr, nw);
    float *dbr = kt_rand(d->cout, 9, 4, -1, 1), *dbf = kt_copy(dbr, d->cout), *db2 = kt_copy(dbr, d->cout);
    char what[200];
    ref->conv2d_bwd_data(d, dz, w, dxr);
    fast->conv2d_bwd_data(d, dz, w, dxf);
    snprintf(what, sizeof what, "%s bwd_data", name), kt_check_tol(what, dxf, dxr, nx, tol->fast);
    ref->conv2d_bwd_filter(d, x, dz, dwr, dbr);
    fast->conv2d_bwd_filter(d, x, dz, dwf, dbf);
    snprintf(what, sizeof what, "%s bwd_filter dw (+=)", name), kt_check_tol(what, dwf, dwr, nw, tol->fast);
    snprintf(what, sizeof what, "%s bwd_filter db (+=)", name), kt_check_tol(what, dbf, dbr, d->cout, tol->fast);
    fast->conv2d_bwd_filter(d, x, dz, dw2, db2);
    snprintf(what, sizeof what, "%s bwd_filter determinism", name), kt_check_bits(what, dwf, dw2, nw);
    fast->conv2d_bwd_filter(d, x, dz, dw2, NULL); /* db may be NULL */
    fast->conv2d_bwd_data(d, dz, w, dxr);
    snprintf(what, sizeof what, "%s bwd_data determinism", name), kt_check_bits(what, dxf, dxr, nx);
    free(dxr), free(dxf), free(dwr), free(dwf), free(dw2), free(dbr), free(dbf), free(db2);
}

/* The own GEMM: every element of fwd, bwd_data and bwd_filter is one FMA chain in a fixed
 * order whatever the split or the micro-kernel, so 1 thread gives the bits of the current
 * thread count, and (on a CPU with AVX-512F) the AVX2 kernel those of the AVX-512 one. */
static void conv_threads_case(const fs_conv_desc *d, const char *name, const float *x, const float *w, const float *b,
                              const float *dz) {
    size_t nx = (size_t)d->n * d->h * d->w * d->cin, nw = (size_t)d->k * d->k * d->cin * d->cout,
           ny = (size_t)d->n * d->ho * d->wo * d->cout;
    float *y[3], *dx[3], *dw[3], *db[3];
    char what[320], mine[16], other[16];
    int threads = fs_cpu_threads();
    snprintf(mine, sizeof mine, "%s", fs_cpu_gemm_name());
    snprintf(other, sizeof other, "%s", strcmp(mine, "own-avx512") ? "own-avx512" : "own-avx2");
    int runs = fs_cpu_has_avx512f() ? 3 : 2; /* 2: the other own kernel, where this CPU has both */
    for (int t = 0; t < runs; t++) {
        y[t] = malloc(ny * sizeof(float)), dx[t] = malloc(nx * sizeof(float));
        dw[t] = kt_rand(nw, 9, 5, -1, 1), db[t] = kt_rand(d->cout, 9, 6, -1, 1);
        fs_cpu_set_threads(t == 1 ? 1 : threads);
        if (t == 2 && fs_cpu_set_gemm(other) != 0) printf("FAIL gemm %s refused\n", other), kt_failures++;
        fast->conv2d_fwd(d, x, w, b, y[t], FS_ACT_LEAKY, 0.1f);
        fast->conv2d_bwd_data(d, dz, w, dx[t]);
        fast->conv2d_bwd_filter(d, x, dz, dw[t], db[t]);
    }
    fs_cpu_set_threads(threads);
    fs_cpu_set_gemm(mine);
    for (int t = 1; t < runs; t++) {
        char vs[48];
        if (t == 1) snprintf(vs, sizeof vs, "1 thread vs %d", threads);
        else snprintf(vs, sizeof vs, "%s vs %s", other, mine);
        snprintf(what, sizeof what, "%s own fwd, %s", name, vs), kt_check_bits(what, y[t], y[0], ny);
        snprintf(what, sizeof what, "%s own bwd_data, %s", name, vs), kt_check_bits(what, dx[t], dx[0], nx);
        snprintf(what, sizeof what, "%s own bwd_filter dw, %s", name, vs), kt_check_bits(what, dw[t], dw[0], nw);
        snprintf(what, sizeof what, "%s own bwd_filter db, %s", name, vs), kt_check_bits(what, db[t], db[0], d->cout);
    }
    for (int t = 0; t < runs; t++) free(y[t]), free(dx[t]), free(dw[t]), free(db[t]);
}

static void conv_case(const fs_op_case *c) {
    int n = c->n, h = c->h, w = c->w, cin = c->c, cout = c->cout, k = c->k, s = c->stride;
    fs_conv_desc d;
    if (fs_conv_desc_init(&d, n, h, w, cin, cout, k, s) != 0) {
        printf("FAIL conv desc init n=%d h=%d w=%d cin=%d\n", n, h, w, cin), kt_failures++;
        return;
    }
    char name[128];
    fs_op_case_name(c, name, sizeof name);
    size_t nx = (size_t)n * h * w * cin, nw = (size_t)k * k * cin * cout, ny = (size_t)n * d.ho * d.wo * cout;
    float *x = kt_rand(nx, 7, 1, -1, 1), *wt = kt_rand(nw, 7, 2, -0.1, 0.1), *b = kt_rand(cout, 7, 3, -1, 1);
    float *dz = kt_rand(ny, 7, 4, -1, 1);
    conv_fwd_case(&d, name, x, wt, b);
    conv_bwd_case(&d, name, x, wt, dz);
    if (fs_cpu_gemm_own() && (fs_cpu_threads() > 1 || fs_cpu_has_avx512f())) conv_threads_case(&d, name, x, wt, b, dz);
    free(x), free(wt), free(b), free(dz);
}

static void dense_case(const fs_op_case *c) {
    int n = c->n, in = c->c, out = c->cout;
    size_t nx = (size_t)n * in, nw = (size_t)in * out, ny = (size_t)n * out;
    float *x = kt_rand(nx, 8, 1, -1, 1), *w = kt_rand(nw, 8, 2, -0.1, 0.1), *b = kt_rand(out, 8, 3, -1, 1);
    float *dz = kt_rand(ny, 8, 4, -1, 1), *yr = malloc(ny * sizeof(float)), *yf = malloc(ny * sizeof(float));
    float *dxr = malloc(nx * sizeof(float)), *dxf = malloc(nx * sizeof(float));
    float *dwr = kt_rand(nw, 8, 5, -1, 1), *dwf = kt_copy(dwr, nw), *dbr = kt_rand(out, 8, 6, -1, 1);
    float *dbf = kt_copy(dbr, out);
    char what[160];
    ref->dense_fwd(n, in, out, x, w, b, yr, c->act, 0.1f);
    fast->dense_fwd(n, in, out, x, w, b, yf, c->act, 0.1f);
    snprintf(what, sizeof what, "dense %dx%dx%d fwd", n, in, out), kt_check_tol(what, yf, yr, ny, tol->fast);
    ref->dense_bwd_data(n, in, out, dz, w, dxr);
    fast->dense_bwd_data(n, in, out, dz, w, dxf);
    snprintf(what, sizeof what, "dense %dx%dx%d bwd_data", n, in, out), kt_check_tol(what, dxf, dxr, nx, tol->fast);
    ref->dense_bwd_filter(n, in, out, x, dz, dwr, dbr);
    fast->dense_bwd_filter(n, in, out, x, dz, dwf, dbf);
    snprintf(what, sizeof what, "dense %dx%dx%d dw (+=)", n, in, out), kt_check_tol(what, dwf, dwr, nw, tol->fast);
    snprintf(what, sizeof what, "dense %dx%dx%d db (+=)", n, in, out), kt_check_tol(what, dbf, dbr, out, tol->fast);
    free(x), free(w), free(b), free(dz), free(yr), free(yf), free(dxr), free(dxf), free(dwr), free(dwf);
    free(dbr), free(dbf);
}

/* leaky or sigmoid: fwd out of place (leaky) or in place (sigmoid), bwd in place. */
static void act_case(int sigmoid, size_t count) {
    float *x = kt_rand(count, 10, 1, -4, 4), *dy = kt_rand(count, 10, 2, -1, 1);
    /* exact zeros, both signs, in the vector body and its tail: a pre-activation of zero bias
     * over a black region is exactly 0, and LeakyReLU's backward there is alpha * dy (y > 0
     * selects dy), in every backend alike */
    for (size_t i = 3; i < count; i += 7) x[i] = i % 2 ? 0.0f : -0.0f;
    x[count - 1] = 0.0f; /* the scalar tail */
    float *yr = malloc(count * sizeof(float)), *yf = kt_copy(x, count);
    float *dr = malloc(count * sizeof(float)), *df = kt_copy(dy, count);
    char what[96];
    if (sigmoid) ref->sigmoid_fwd(count, x, yr), fast->sigmoid_fwd(count, yf, yf); /* in place */
    else ref->leaky_fwd(count, 0.1f, x, yr), fast->leaky_fwd(count, 0.1f, x, yf);
    snprintf(what, sizeof what, "%s fwd %zu", sigmoid ? "sigmoid" : "leaky", count);
    kt_check_tol(what, yf, yr, count, tol->fast);
    if (sigmoid) ref->sigmoid_bwd(count, yr, dy, dr), fast->sigmoid_bwd(count, yr, df, df); /* in place */
    else ref->leaky_bwd(count, 0.1f, yr, dy, dr), fast->leaky_bwd(count, 0.1f, yf, df, df);
    snprintf(what, sizeof what, "%s bwd (in place) %zu", sigmoid ? "sigmoid" : "leaky", count);
    kt_check_tol(what, df, dr, count, tol->fast);
    free(x), free(dy), free(yr), free(yf), free(dr), free(df);
}

static void scale_case(size_t count) {
    float *yr = kt_rand(count, 10, 3, -1, 1), *yf = kt_copy(yr, count);
    ref->scale(count, yr, 0.37f), fast->scale(count, yf, 0.37f);
    kt_check_tol("scale", yf, yr, count, tol->fast);
    free(yr), free(yf);
}

static void sumsq_case(size_t count) {
    float *x = kt_rand(count, 10, 1, -4, 4);
    kt_check_scalar_tol("sumsq", fast->sumsq(count, x), ref->sumsq(count, x), tol->fast_value);
    free(x);
}

/* bf16_pack then bf16_unpack, with specials (ties, NaN, overflow, subnormals): bit-identical. */
static void bf16_case(size_t count) {
    float *x = kt_rand(count, 12, 1, -4, 4), *yr = malloc(count * sizeof(float)), *yf = malloc(count * sizeof(float));
    float *ur = malloc(count * sizeof(float)), *uf = malloc(count * sizeof(float));
    const float specials[] = {1.00390625f, 1.01171875f, NAN, 3.4e38f, -2.5e-39f, -0.0f, INFINITY};
    for (size_t i = 0; i < FS_ARRAY_LEN(specials) && i < count; i++) x[i] = specials[i];
    ref->bf16_pack(count, x, yr), fast->bf16_pack(count, x, yf);
    ref->bf16_unpack(count, yr, ur), fast->bf16_unpack(count, yf, uf);
    if (memcmp(yr, yf, count * 2)) printf("FAIL bf16_pack %zu: fast differs from cpu-ref\n", count), kt_failures++;
    if (memcmp(ur, uf, count * 4)) printf("FAIL bf16_unpack %zu: fast differs from cpu-ref\n", count), kt_failures++;
    if (count > 1 && ur[0] != 1.0f) printf("FAIL bf16_pack: 1 + 2^-8 (a tie) -> %.9g, not 1\n", ur[0]), kt_failures++;
    free(x), free(yr), free(yf), free(ur), free(uf);
}

static void u8_case(size_t count) {
    float *yr = malloc(count * sizeof(float)), *yf = malloc(count * sizeof(float));
    uint8_t *u8 = malloc(count);
    for (size_t i = 0; i < count; i++) u8[i] = (uint8_t)(i * 37u);
    ref->u8_to_float(count, u8, yr), fast->u8_to_float(count, u8, yf);
    kt_check_tol("u8_to_float", yf, yr, count, tol->fast);
    if (yr[1] != 37.0f / 255.0f) printf("FAIL u8_to_float: 37 -> %.9g\n", yr[1]), kt_failures++;
    free(yr), free(yf), free(u8);
}

static void pixshuf_case(int n, int h, int w, int c4) {
    size_t count = (size_t)n * h * w * c4;
    float *x = kt_rand(count, 11, 1, -1, 1), *yr = malloc(count * sizeof(float)), *yf = malloc(count * sizeof(float));
    ref->pixshuf_fwd(n, h, w, c4, x, yr), fast->pixshuf_fwd(n, h, w, c4, x, yf);
    kt_check_tol("pixshuf fwd", yf, yr, count, tol->fast);
    ref->pixshuf_bwd(n, h, w, c4, yr, yf);
    kt_check_bits("pixshuf bwd(fwd(x)) == x", yf, x, count);
    fast->pixshuf_bwd(n, h, w, c4, yr, yf);
    kt_check_tol("pixshuf bwd fast", yf, x, count, tol->fast);
    free(x), free(yr), free(yf);
}

/* mask_mul: fast == ref bit for bit (out of place and in place), and the reference itself
 * against the definition y = x * mask[pixel] for a few chosen pixels (mask 0, 1, 0.5). */
static void mask_mul_case(int n, int h, int w, int c) {
    size_t pixels = (size_t)n * h * w, count = pixels * c;
    float *x = kt_rand(count, 13, 1, -2, 2), *m = kt_rand(pixels, 13, 2, 0, 1);
    float *yr = malloc(count * sizeof(float)), *yf = malloc(count * sizeof(float));
    m[0] = 0.0f, m[pixels - 1] = 1.0f, m[pixels / 2] = 0.5f;
    ref->mask_mul(n, h, w, c, m, x, yr), fast->mask_mul(n, h, w, c, m, x, yf);
    kt_check_tol("mask_mul", yf, yr, count, tol->fast);
    memcpy(yf, x, count * sizeof(float));
    fast->mask_mul(n, h, w, c, m, yf, yf);
    kt_check_tol("mask_mul (in place)", yf, yr, count, tol->fast);
    size_t mid = pixels / 2;
    for (int ch = 0; ch < c; ch++)
        if (yr[ch] != 0.0f || yr[(pixels - 1) * c + ch] != x[(pixels - 1) * c + ch] ||
            yr[mid * c + ch] != 0.5f * x[mid * c + ch]) {
            printf("FAIL mask_mul %dx%dx%dx%d: channel %d of the pixels with mask 0, 1, 0.5 holds %g %g %g\n", n, h, w,
                   c, ch, yr[ch], yr[(pixels - 1) * c + ch], yr[mid * c + ch]);
            kt_failures++;
            break;
        }
    free(x), free(m), free(yr), free(yf);
}

/* add (out of place and in place on either input) and acc (+= onto nonzero values). */
static void add_acc_case(int acc, size_t count) {
    float *a = kt_rand(count, 14, 1, -2, 2), *b = kt_rand(count, 14, 2, -2, 2);
    float *yr = kt_rand(count, 14, 3, -1, 1), *yf = kt_copy(yr, count), *ya = kt_copy(a, count),
          *yb = kt_copy(b, count);
    if (acc) {
        float y0 = yr[0];
        ref->acc(count, a, yr), fast->acc(count, a, yf);
        kt_check_tol("acc (+=)", yf, yr, count, tol->fast);
        if (yr[0] != y0 + a[0]) printf("FAIL acc: y[0] = %g is not y0 + x0 = %g\n", yr[0], y0 + a[0]), kt_failures++;
    } else {
        ref->add(count, a, b, yr), fast->add(count, a, b, yf);
        kt_check_tol("add", yf, yr, count, tol->fast);
        fast->add(count, ya, b, ya), fast->add(count, a, yb, yb);
        kt_check_tol("add (y aliases a)", ya, yr, count, tol->fast);
        kt_check_tol("add (y aliases b)", yb, yr, count, tol->fast);
        if (yr[count - 1] != a[count - 1] + b[count - 1]) printf("FAIL add: y != a + b\n"), kt_failures++;
    }
    free(a), free(b), free(yr), free(yf), free(ya), free(yb);
}

/* concat fwd, and bwd into both halves, into one (the other NULL). */
static void concat_case(const fs_op_case *c) {
    size_t rows = (size_t)c->n * c->h * c->w, na = rows * c->c, nb = rows * c->cout, ny = na + nb;
    float *a = kt_rand(na, 15, 1, -1, 1), *b = kt_rand(nb, 15, 2, -1, 1), *dy = kt_rand(ny, 15, 3, -1, 1);
    float *yr = malloc(ny * sizeof(float)), *yf = malloc(ny * sizeof(float));
    float *dar = malloc(na * sizeof(float)), *dbr = malloc(nb * sizeof(float));
    float *daf = kt_rand(na, 15, 4, -1, 1), *dbf = kt_rand(nb, 15, 5, -1, 1), *db0 = kt_copy(dbf, nb);
    char name[128], what[200];
    fs_op_case_name(c, name, sizeof name);
    ref->concat_fwd(rows, c->c, c->cout, a, b, yr), fast->concat_fwd(rows, c->c, c->cout, a, b, yf);
    snprintf(what, sizeof what, "%s fwd", name), kt_check_tol(what, yf, yr, ny, tol->fast);
    ref->concat_bwd(rows, c->c, c->cout, dy, dar, dbr);
    fast->concat_bwd(rows, c->c, c->cout, dy, daf, NULL);
    snprintf(what, sizeof what, "%s bwd da (db NULL)", name), kt_check_tol(what, daf, dar, na, tol->fast);
    snprintf(what, sizeof what, "%s bwd: db untouched", name), kt_check_bits(what, dbf, db0, nb);
    fast->concat_bwd(rows, c->c, c->cout, dy, daf, dbf);
    snprintf(what, sizeof what, "%s bwd db", name), kt_check_tol(what, dbf, dbr, nb, tol->fast);
    fast->concat_bwd(rows, c->c, c->cout, yr, daf, dbf);
    snprintf(what, sizeof what, "%s bwd(fwd(a, b)) == a", name), kt_check_bits(what, daf, a, na);
    snprintf(what, sizeof what, "%s bwd(fwd(a, b)) == b", name), kt_check_bits(what, dbf, b, nb);
    free(a), free(b), free(dy), free(yr), free(yf), free(dar), free(dbr), free(daf), free(dbf), free(db0);
}

/* pixnorm fwd (in place) and bwd (in place), and the same bits on 1 thread. */
static void pixnorm_case(const fs_op_case *c) {
    size_t rows = (size_t)c->n * c->h * c->w, n = rows * c->c;
    float *x = kt_rand(n, 16, 1, -2, 2), *dy = kt_rand(n, 16, 2, -1, 1);
    float *yr = malloc(n * sizeof(float)), *yf = kt_copy(x, n), *dr = malloc(n * sizeof(float)), *df = kt_copy(dy, n);
    float *y1 = malloc(n * sizeof(float)), *d1 = malloc(n * sizeof(float));
    char name[128], what[200];
    fs_op_case_name(c, name, sizeof name);
    ref->pixnorm_fwd(rows, c->c, x, yr), fast->pixnorm_fwd(rows, c->c, yf, yf);
    snprintf(what, sizeof what, "%s fwd (in place)", name), kt_check_tol(what, yf, yr, n, tol->fast);
    ref->pixnorm_bwd(rows, c->c, x, dy, dr), fast->pixnorm_bwd(rows, c->c, x, df, df);
    snprintf(what, sizeof what, "%s bwd (in place)", name), kt_check_tol(what, df, dr, n, tol->fast);
    int threads = fs_cpu_threads();
    fs_cpu_set_threads(1);
    fast->pixnorm_fwd(rows, c->c, x, y1), fast->pixnorm_bwd(rows, c->c, x, dy, d1);
    fs_cpu_set_threads(threads);
    snprintf(what, sizeof what, "%s fwd 1 thread vs %d", name, threads), kt_check_bits(what, y1, yf, n);
    snprintf(what, sizeof what, "%s bwd 1 thread vs %d", name, threads), kt_check_bits(what, d1, df, n);
    free(x), free(dy), free(yr), free(yf), free(dr), free(df), free(y1), free(d1);
}

/* Loss kind 0 mse, 1 l1, 2 dssim (window win) of backend be. */
static double call_loss(const fs_backend *be, int kind, int n, int h, int w, int c, int win, const float *p,
                        const float *t, float *d) {
    if (kind == 2) return be->dssim(n, h, w, c, win, p, t, d, 0.6f);
    return (kind ? be->l1 : be->mse)(n, h, w, c, p, t, d, 0.6f);
}

static void loss_case(const char *name, int kind, int n, int h, int w, int c, int win) {
    size_t count = (size_t)n * h * w * c;
    float *p = kt_rand(count, 12, 1, 0, 1), *t = kt_rand(count, 12, 2, 0, 1);
    float *dr = kt_rand(count, 12, 3, -1, 1), *df = kt_copy(dr, count), *d2 = kt_copy(dr, count);
    char what[160];
    double lr = call_loss(ref, kind, n, h, w, c, win, p, t, dr), lf = call_loss(fast, kind, n, h, w, c, win, p, t, df);
    snprintf(what, sizeof what, "%s value %dx%dx%dx%d win %d", name, n, h, w, c, win);
    kt_check_scalar_tol(what, lf, lr, tol->fast_value);
    snprintf(what, sizeof what, "%s dpred (+=) %dx%dx%dx%d win %d", name, n, h, w, c, win);
    kt_check_tol(what, df, dr, count, tol->fast);
    fs_cpu_set_threads(1); /* block / per-image reductions: the same bits on one thread */
    double l1t = call_loss(fast, kind, n, h, w, c, win, p, t, d2);
    fs_cpu_set_threads(0);
    snprintf(what, sizeof what, "%s dpred 1 thread vs all", name), kt_check_bits(what, d2, df, count);
    if (l1t != lf) printf("FAIL %s: value on 1 thread %.17g != %.17g\n", name, l1t, lf), kt_failures++;
    free(p), free(t), free(dr), free(df), free(d2);
}

static void adam_case(size_t count) {
    float *pr = kt_rand(count, 13, 1, -1, 1), *g = kt_rand(count, 13, 2, -1, 1), *mr = kt_rand(count, 13, 3, -.1, .1);
    float *vr = kt_rand(count, 13, 4, 0, 0.01), *pf = kt_copy(pr, count), *mf = kt_copy(mr, count),
          *vf = kt_copy(vr, count);
    fs_adam_args a = {.lr = 1e-3f,
                      .beta1 = 0.9f,
                      .beta2 = 0.999f,
                      .eps = 1e-7f,
                      .step = 3,
                      .grad_scale = 0.5f,
                      .weight_decay = 0.01f};
    ref->adam(count, pr, g, mr, vr, &a), fast->adam(count, pf, g, mf, vf, &a);
    kt_check_tol("adam p", pf, pr, count, tol->fast);
    kt_check_tol("adam m", mf, mr, count, tol->fast);
    kt_check_tol("adam v", vf, vr, count, tol->fast);
    free(pr), free(g), free(mr), free(vr), free(pf), free(mf), free(vf);
}

/* AdaBelief without and with lr_dropout (the same elements dropped on both backends). */
static void adabelief_case(size_t count) {
    for (int drop = 0; drop < 2; drop++) {
        float *pr = kt_rand(count, 17, 1, -1, 1), *g = kt_rand(count, 17, 2, -1, 1);
        float *mr = kt_rand(count, 17, 3, -.1, .1), *sr = kt_rand(count, 17, 4, 0, 0.01);
        float *pf = kt_copy(pr, count), *mf = kt_copy(mr, count), *sf = kt_copy(sr, count);
        fs_adam_args a = {.lr = 1e-3,
                          .beta1 = 0.9,
                          .beta2 = 0.999,
                          .eps = 1e-6,
                          .step = 3,
                          .grad_scale = 0.5f,
                          .weight_decay = 0.01f,
                          .lr_dropout = drop ? 0.3f : 0.0f,
                          .dropout_seed = 5};
        ref->adabelief(count, pr, g, mr, sr, &a), fast->adabelief(count, pf, g, mf, sf, &a);
        char what[96];
        snprintf(what, sizeof what, "adabelief %zu lr_dropout %g p", count, a.lr_dropout);
        kt_check_tol(what, pf, pr, count, tol->fast);
        snprintf(what, sizeof what, "adabelief %zu lr_dropout %g m", count, a.lr_dropout);
        kt_check_tol(what, mf, mr, count, tol->fast);
        snprintf(what, sizeof what, "adabelief %zu lr_dropout %g s", count, a.lr_dropout);
        kt_check_tol(what, sf, sr, count, tol->fast);
        free(pr), free(g), free(mr), free(sr), free(pf), free(mf), free(sf);
    }
}

/* The fast backend's zero (streaming stores over the threads from 16 MiB on, memset below):
 * exactly bytes [off, off + bytes) of a buffer filled with 0xAB become 0, with an unaligned
 * start and end, the guard bytes on either side untouched. */
static void zero_case(size_t off, size_t bytes) {
    size_t guard = 4096, total = off + bytes + guard;
    unsigned char *buf = malloc(total);
    memset(buf, 0xAB, total);
    fast->zero(buf + off, bytes);
    size_t bad = 0, first = total;
    for (size_t i = 0; i < total; i++) {
        int want = i >= off && i < off + bytes ? 0 : 0xAB;
        if (buf[i] != want && bad++ == 0) first = i;
    }
    if (bad)
        printf("FAIL zero of %zu bytes at offset %zu on %d thread(s): %zu bytes wrong, the first at %zu\n", bytes, off,
               fs_cpu_threads(), bad, first),
            kt_failures++;
    free(buf);
}

static void zero_cases(void) {
    static const size_t mib = (size_t)1 << 20;
    static const size_t cases[][2] = {{0, 1}, {3, 4096 + 5}, {0, 16 * mib}, {1, 16 * mib + 7}, {37, 40 * mib + 3}};
    for (int threads = 1; threads <= 3; threads++) {
        fs_cpu_set_threads(threads);
        for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) zero_case(cases[i][0], cases[i][1]);
    }
    fs_cpu_set_threads(0);
}

/* One case of the table on both CPU backends. */
static void fast_case(const fs_op_case *c) {
    static const char *const losses[] = {"mse", "l1", "dssim"};
    size_t count = fs_op_case_count(c);
    tol = fs_op_tol_of(c->op);
    if (!strcmp(c->op, "conv2d")) return conv_case(c);
    if (!strcmp(c->op, "dense")) return dense_case(c);
    if (!strcmp(c->op, "leaky") || !strcmp(c->op, "sigmoid")) return act_case(!strcmp(c->op, "sigmoid"), count);
    if (!strcmp(c->op, "scale")) return scale_case(count);
    if (!strcmp(c->op, "sumsq")) return sumsq_case(count);
    if (!strcmp(c->op, "u8_to_float")) return u8_case(count);
    if (!strcmp(c->op, "bf16")) return bf16_case(count);
    if (!strcmp(c->op, "adam")) return adam_case(count);
    if (!strcmp(c->op, "adabelief")) return adabelief_case(count);
    if (!strcmp(c->op, "pixshuf")) return pixshuf_case(c->n, c->h, c->w, c->c);
    if (!strcmp(c->op, "mask_mul")) return mask_mul_case(c->n, c->h, c->w, c->c);
    if (!strcmp(c->op, "add") || !strcmp(c->op, "acc")) return add_acc_case(!strcmp(c->op, "acc"), count);
    if (!strcmp(c->op, "concat")) return concat_case(c);
    if (!strcmp(c->op, "pixnorm")) return pixnorm_case(c);
    for (int k = 0; k < 3; k++)
        if (!strcmp(c->op, losses[k])) return loss_case(losses[k], k, c->n, c->h, c->w, c->c, c->k);
    printf("FAIL op case '%s' is marked for kernels_fast, which has no check for it\n", c->op), kt_failures++;
}

int main(int argc, char **argv) {
    if (argc > 1 && fs_cpu_set_gemm(argv[1]) != 0) {
        if (!strcmp(argv[1], "own") || !strcmp(argv[1], "own-avx512") || !strcmp(argv[1], "own-avx2"))
            return printf("SKIP: gemm %s: this CPU lacks its instructions\n", argv[1]), 77;
        return printf("FAIL: gemm '%s' refused\n", argv[1]), 1;
    }
    if (argc > 1 && strcmp(argv[1], "auto") && strcmp(argv[1], fs_cpu_gemm_name()) &&
        !(!strcmp(argv[1], "own") && fs_cpu_gemm_own()))
        return printf("FAIL: gemm %s asked for, %s in effect\n", argv[1], fs_cpu_gemm_name()), 1;
    ref = fs_backend_cpu_ref();
    fast = fs_backend_cpu();
    printf("fast backend '%s' on %d thread(s), gemm %s\n", fast->name, fs_cpu_threads(), fs_cpu_gemm_desc());
    size_t count, ran = 0;
    const fs_op_case *cases = fs_op_cases(&count);
    for (size_t i = 0; i < count; i++)
        if (cases[i].where & FS_OPC_FAST) fast_case(&cases[i]), ran++;
    fs_cpu_set_threads(3); /* odd splits of rows, channels and images over threads */
    for (size_t i = 0; i < count; i++)
        if (cases[i].where & FS_OPC_THREADS3) fast_case(&cases[i]), ran++;
    fs_cpu_set_threads(0);
    zero_cases();
    printf("kernels_fast: %zu cases of the op table, and zero\n", ran);
    return kt_finish("kernels_fast");
}
