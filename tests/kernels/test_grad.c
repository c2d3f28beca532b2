/* test_grad.c — kernels_grad: every op's REFERENCE backward (fs_backend_cpu_ref) against
 * central finite differences of a double-precision plain-loop forward written here, on
 * the small odd shapes of the op case table (kernels/op_cases.c, rows marked FS_OPC_GRAD).
 * The loss is a random projection L = sum(r * y) (the losses are their own L). The
 * reference forwards are also checked against the double forwards. Tolerances are the
 * table's fwd and grad rows, relative to the largest |value| of the tensor (float32
 * results against double; FD error is ~1e-10 here). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/op_cases.h"
#include "kernels/ops.h"
#include "tests/kernels/ktest.h"

#define FD_STEP 1e-5
static double fd_step = FD_STEP; /* smaller for inputs of small magnitude */

static const fs_op_tol *tol; /* the tolerances of the op being checked */

typedef double (*loss_fn)(const void *ctx);

/* Central differences of f w.r.t. every element of param, compared with analytic. */
static void fd_check(const char *what, double *param, size_t n, loss_fn f, const void *ctx, const float *analytic) {
    double *fd = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double v = param[i];
        param[i] = v + fd_step;
        double lp = f(ctx);
        param[i] = v - fd_step;
        double lm = f(ctx);
        param[i] = v;
        fd[i] = (lp - lm) / (2.0 * fd_step);
    }
    kt_check_d(what, analytic, fd, n, tol->grad.rtol, tol->grad.atol);
    free(fd);
}

static double act_d(double z, fs_act act, double alpha) {
    if (act == FS_ACT_LEAKY) return z > 0 ? z : alpha * z;
    if (act == FS_ACT_SIGMOID) return 1.0 / (1.0 + exp(-z));
    return z;
}

/* ---------------------------------------------------------------- conv2d */
typedef struct conv_ctx {
    fs_conv_desc d;
    double *x, *w, *b, *r;
} conv_ctx;

/* TensorFlow "same" conv in double, written from the definition. */
static void conv_d(const fs_conv_desc *d, const double *x, const double *w, const double *b, double *y, fs_act act) {
    for (int n = 0; n < d->n; n++)
        for (int oy = 0; oy < d->ho; oy++)
            for (int ox = 0; ox < d->wo; ox++)
                for (int co = 0; co < d->cout; co++) {
                    double z = b[co];
                    for (int ky = 0; ky < d->k; ky++)
                        for (int kx = 0; kx < d->k; kx++)
                            for (int ci = 0; ci < d->cin; ci++) {
                                int iy = oy * d->stride + ky - d->pad_top, ix = ox * d->stride + kx - d->pad_left;
                                if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
                                z += x[((n * d->h + iy) * d->w + ix) * d->cin + ci] *
                                     w[((ky * d->k + kx) * d->cin + ci) * d->cout + co];
                            }
                    y[((n * d->ho + oy) * d->wo + ox) * d->cout + co] = act_d(z, act, 0.1);
                }
}

static double conv_loss(const void *vctx) {
    const conv_ctx *c = vctx;
    size_t ny = (size_t)c->d.n * c->d.ho * c->d.wo * c->d.cout;
    double *y = malloc(ny * sizeof(double)), l = 0.0;
    conv_d(&c->d, c->x, c->w, c->b, y, FS_ACT_NONE);
    for (size_t i = 0; i < ny; i++) l += c->r[i] * y[i];
    free(y);
    return l;
}

static void check_same_padding(const fs_conv_desc *d, int h, int k, int s) {
    int ho = (h + s - 1) / s, pad = FS_MAX((ho - 1) * s + k - h, 0);
    if (d->ho != ho || d->pad_top != pad / 2)
        printf("FAIL conv desc h=%d k=%d s=%d: ho=%d pad_top=%d, want %d %d\n", h, k, s, d->ho, d->pad_top, ho,
               pad / 2),
            kt_failures++;
}

static void check_conv_fwd(const fs_backend *be, const conv_ctx *c, const float *x, const float *w, const float *b,
                           const char *name) {
    static const fs_act acts[] = {FS_ACT_NONE, FS_ACT_LEAKY, FS_ACT_SIGMOID};
    size_t ny = (size_t)c->d.n * c->d.ho * c->d.wo * c->d.cout;
    float *y = malloc(ny * sizeof(float));
    double *yd = malloc(ny * sizeof(double));
    for (size_t a = 0; a < FS_ARRAY_LEN(acts); a++) {
        char what[160];
        snprintf(what, sizeof what, "%s fwd act=%d", name, (int)acts[a]);
        be->conv2d_fwd(&c->d, x, w, b, y, acts[a], 0.1f);
        conv_d(&c->d, c->x, c->w, c->b, yd, acts[a]);
        kt_check_d(what, y, yd, ny, tol->fwd.rtol, tol->fwd.atol);
    }
    free(y);
    free(yd);
}

static void grad_conv(const fs_backend *be, const fs_op_case *oc) {
    int n = oc->n, h = oc->h, w = oc->w, cin = oc->c, cout = oc->cout, k = oc->k, s = oc->stride;
    conv_ctx c;
    if (fs_conv_desc_init(&c.d, n, h, w, cin, cout, k, s) != 0) {
        printf("FAIL conv desc init rejected n=%d h=%d w=%d\n", n, h, w), kt_failures++;
        return;
    }
    check_same_padding(&c.d, h, k, s);
    size_t nx = (size_t)n * h * w * cin, nw = (size_t)k * k * cin * cout, ny = (size_t)n * c.d.ho * c.d.wo * cout;
    float *x = kt_rand(nx, 1, 1, -1, 1), *wt = kt_rand(nw, 1, 2, -0.5, 0.5), *b = kt_rand(cout, 1, 3, -0.5, 0.5);
    float *r = kt_rand(ny, 1, 4, -1, 1), *dx = calloc(nx, sizeof(float)), *dw = calloc(nw, sizeof(float));
    float *db = calloc(cout, sizeof(float));
    c.x = kt_to_double(x, nx), c.w = kt_to_double(wt, nw), c.b = kt_to_double(b, cout), c.r = kt_to_double(r, ny);
    char name[128], what[160];
    fs_op_case_name(oc, name, sizeof name);
    check_conv_fwd(be, &c, x, wt, b, name);
    be->conv2d_bwd_data(&c.d, r, wt, dx);
    be->conv2d_bwd_filter(&c.d, x, r, dw, db);
    snprintf(what, sizeof what, "%s dx", name), fd_check(what, c.x, nx, conv_loss, &c, dx);
    snprintf(what, sizeof what, "%s dw", name), fd_check(what, c.w, nw, conv_loss, &c, dw);
    snprintf(what, sizeof what, "%s db", name), fd_check(what, c.b, cout, conv_loss, &c, db);
    free(x), free(wt), free(b), free(r), free(dx), free(dw), free(db);
    free(c.x), free(c.w), free(c.b), free(c.r);
}

/* ---------------------------------------------------------------- dense */
typedef struct dense_ctx {
    int n, in, out;
    double *x, *w, *b, *r;
} dense_ctx;

static double dense_loss(const void *vctx) {
    const dense_ctx *c = vctx;
    double l = 0.0;
    for (int s = 0; s < c->n; s++)
        for (int o = 0; o < c->out; o++) {
            double z = c->b[o];
            for (int i = 0; i < c->in; i++) z += c->x[s * c->in + i] * c->w[i * c->out + o];
            l += c->r[s * c->out + o] * z;
        }
    return l;
}

static void grad_dense(const fs_backend *be, const fs_op_case *oc) {
    int n = oc->n, in = oc->c, out = oc->cout;
    dense_ctx c = {n, in, out, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)n * in, nw = (size_t)in * out, ny = (size_t)n * out;
    float *x = kt_rand(nx, 2, 1, -1, 1), *w = kt_rand(nw, 2, 2, -1, 1), *b = kt_rand(out, 2, 3, -1, 1);
    float *r = kt_rand(ny, 2, 4, -1, 1), *y = malloc(ny * sizeof(float)), *dx = malloc(nx * sizeof(float));
    float *dw = calloc(nw, sizeof(float)), *db = calloc(out, sizeof(float));
    double *yd = malloc(ny * sizeof(double));
    c.x = kt_to_double(x, nx), c.w = kt_to_double(w, nw), c.b = kt_to_double(b, out), c.r = kt_to_double(r, ny);
    be->dense_fwd(n, in, out, x, w, b, y, oc->act, 0.1f);
    for (int s = 0; s < n; s++)
        for (int o = 0; o < out; o++) {
            double z = c.b[o];
            for (int i = 0; i < in; i++) z += c.x[s * in + i] * c.w[i * out + o];
            yd[s * out + o] = act_d(z, oc->act, 0.1);
        }
    char name[128], what[160];
    fs_op_case_name(oc, name, sizeof name);
    snprintf(what, sizeof what, "%s fwd", name), kt_check_d(what, y, yd, ny, tol->fwd.rtol, tol->fwd.atol);
    be->dense_bwd_data(n, in, out, r, w, dx);
    be->dense_bwd_filter(n, in, out, x, r, dw, db);
    snprintf(what, sizeof what, "%s dx", name), fd_check(what, c.x, nx, dense_loss, &c, dx);
    snprintf(what, sizeof what, "%s dw", name), fd_check(what, c.w, nw, dense_loss, &c, dw);
    snprintf(what, sizeof what, "%s db", name), fd_check(what, c.b, out, dense_loss, &c, db);
    free(x), free(w), free(b), free(r), free(y), free(dx), free(dw), free(db), free(yd);
    free(c.x), free(c.w), free(c.b), free(c.r);
}

/* ---------------------------------------------------------------- activations, pixel shuffle */
typedef struct elem_ctx {
    size_t count;
    int kind; /* 0 leaky, 1 sigmoid, 2 pixel shuffle */
    int n, h, w, c4;
    double *x, *r;
} elem_ctx;

static double elem_loss(const void *vctx) {
    const elem_ctx *c = vctx;
    double l = 0.0;
    if (c->kind == 2) { /* y[n, 2i+a, 2j+b, ch] = x[n, i, j, (2a+b)c + ch] */
        int cc = c->c4 / 4;
        for (int n = 0; n < c->n; n++)
            for (int yy = 0; yy < 2 * c->h; yy++)
                for (int xx = 0; xx < 2 * c->w; xx++)
                    for (int ch = 0; ch < cc; ch++) {
                        size_t yi = (((size_t)n * 2 * c->h + yy) * 2 * c->w + xx) * cc + ch;
                        size_t xi =
                            (((size_t)n * c->h + yy / 2) * c->w + xx / 2) * c->c4 + (2 * (yy % 2) + xx % 2) * cc + ch;
                        l += c->r[yi] * c->x[xi];
                    }
        return l;
    }
    for (size_t i = 0; i < c->count; i++) l += c->r[i] * act_d(c->x[i], c->kind ? FS_ACT_SIGMOID : FS_ACT_LEAKY, 0.1);
    return l;
}

static void grad_act(const fs_backend *be, int kind, size_t count) {
    float *x = kt_rand(count, 3, 1, -3, 3), *r = kt_rand(count, 3, 2, -1, 1), *y = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) /* keep LeakyReLU's kink out of the FD stencil */
        if (fabsf(x[i]) < 1e-3f) x[i] = 0.5f;
    elem_ctx c = {.count = count, .kind = kind, .x = kt_to_double(x, count), .r = kt_to_double(r, count)};
    double *yd = malloc(count * sizeof(double));
    for (size_t i = 0; i < count; i++) yd[i] = act_d(c.x[i], kind ? FS_ACT_SIGMOID : FS_ACT_LEAKY, 0.1);
    if (kind) be->sigmoid_fwd(count, x, y);
    else be->leaky_fwd(count, 0.1f, x, y);
    kt_check_d(kind ? "sigmoid fwd" : "leaky fwd", y, yd, count, tol->fwd.rtol, tol->fwd.atol);
    float *dx = kt_copy(r, count); /* in place: dx aliases dy */
    if (kind) be->sigmoid_bwd(count, y, dx, dx);
    else be->leaky_bwd(count, 0.1f, y, dx, dx);
    fd_check(kind ? "sigmoid bwd" : "leaky bwd", c.x, count, elem_loss, &c, dx);
    free(x), free(r), free(y), free(yd), free(dx), free(c.x), free(c.r);
}

static void grad_pixshuf(const fs_backend *be, int n, int h, int w, int c4) {
    size_t count = (size_t)n * h * w * c4;
    float *x = kt_rand(count, 4, 1, -1, 1), *r = kt_rand(count, 4, 2, -1, 1), *y = malloc(count * sizeof(float));
    float *dx = malloc(count * sizeof(float));
    elem_ctx c = {count, 2, n, h, w, c4, kt_to_double(x, count), kt_to_double(r, count)};
    be->pixshuf_fwd(n, h, w, c4, x, y);
    double l = 0.0; /* forward check through the projection: sum r * y must equal elem_loss */
    for (size_t i = 0; i < count; i++) l += c.r[i] * y[i];
    kt_check_scalar("pixshuf fwd (projection)", l, elem_loss(&c), tol->fwd.rtol, tol->fwd.atol);
    be->pixshuf_bwd(n, h, w, c4, r, dx);
    fd_check("pixshuf bwd", c.x, count, elem_loss, &c, dx);
    free(x), free(r), free(y), free(dx), free(c.x), free(c.r);
}

/* ---------------------------------------------------------------- concat, pixnorm */
typedef struct graph_ctx {
    size_t rows;
    int ca, cb; /* concat: a [rows, ca], b [rows, cb]; pixnorm: c = ca */
    double *a, *b, *r;
} graph_ctx;

/* y = concat(a, b) in double, L = sum r * y. */
static double concat_loss(const void *vctx) {
    const graph_ctx *c = vctx;
    double l = 0.0;
    size_t ct = (size_t)c->ca + c->cb;
    for (size_t row = 0; row < c->rows; row++) {
        for (int j = 0; j < c->ca; j++) l += c->r[row * ct + j] * c->a[row * c->ca + j];
        for (int j = 0; j < c->cb; j++) l += c->r[row * ct + c->ca + j] * c->b[row * c->cb + j];
    }
    return l;
}

static void grad_concat(const fs_backend *be, const fs_op_case *oc) {
    size_t rows = (size_t)oc->n * oc->h * oc->w, na = rows * oc->c, nb = rows * oc->cout, ny = na + nb;
    float *a = kt_rand(na, 6, 1, -1, 1), *b = kt_rand(nb, 6, 2, -1, 1), *r = kt_rand(ny, 6, 3, -1, 1);
    float *y = kt_rand(ny, 6, 4, -1, 1), *da = kt_rand(na, 6, 5, -1, 1), *db = kt_rand(nb, 6, 6, -1, 1);
    graph_ctx c = {rows, oc->c, oc->cout, kt_to_double(a, na), kt_to_double(b, nb), kt_to_double(r, ny)};
    double *yd = malloc(ny * sizeof(double));
    for (size_t row = 0; row < rows; row++) { /* the definition: y[row] = (a[row], b[row]) */
        for (int j = 0; j < c.ca; j++) yd[row * (c.ca + c.cb) + j] = c.a[row * c.ca + j];
        for (int j = 0; j < c.cb; j++) yd[row * (c.ca + c.cb) + c.ca + j] = c.b[row * c.cb + j];
    }
    char name[128], what[160];
    fs_op_case_name(oc, name, sizeof name);
    be->concat_fwd(rows, c.ca, c.cb, a, b, y);
    snprintf(what, sizeof what, "%s fwd", name), kt_check_d(what, y, yd, ny, tol->fwd.rtol, tol->fwd.atol);
    be->concat_bwd(rows, c.ca, c.cb, r, da, db);
    snprintf(what, sizeof what, "%s bwd da", name), fd_check(what, c.a, na, concat_loss, &c, da);
    snprintf(what, sizeof what, "%s bwd db", name), fd_check(what, c.b, nb, concat_loss, &c, db);
    float *da2 = kt_rand(na, 6, 7, -1, 1), *db2 = kt_rand(nb, 6, 8, -1, 1); /* garbage: overwritten */
    be->concat_bwd(rows, c.ca, c.cb, r, da2, NULL);                         /* one half only */
    snprintf(what, sizeof what, "%s bwd da (db NULL)", name), kt_check_bits(what, da2, da, na);
    be->concat_bwd(rows, c.ca, c.cb, r, NULL, db2);
    snprintf(what, sizeof what, "%s bwd db (da NULL)", name), kt_check_bits(what, db2, db, nb);
    free(a), free(b), free(r), free(y), free(da), free(db), free(da2), free(db2), free(yd);
    free(c.a), free(c.b), free(c.r);
}

/* y = x / sqrt(mean x^2 + 1e-6) per row in double, L = sum r * y. */
static void pixnorm_d(const graph_ctx *c, double *y) {
    for (size_t row = 0; row < c->rows; row++) {
        const double *x = c->a + row * c->ca;
        double ms = 0.0;
        for (int i = 0; i < c->ca; i++) ms += x[i] * x[i];
        ms /= c->ca;
        for (int i = 0; i < c->ca; i++) y[row * c->ca + i] = x[i] / sqrt(ms + 1e-6);
    }
}
static double pixnorm_loss(const void *vctx) {
    const graph_ctx *c = vctx;
    size_t n = c->rows * c->ca;
    double *y = malloc(n * sizeof(double)), l = 0.0;
    pixnorm_d(c, y);
    for (size_t i = 0; i < n; i++) l += c->r[i] * y[i];
    free(y);
    return l;
}

/* x of magnitude `mag`: 1 (eps negligible) and 1e-3 (mean x^2 ~ eps: its placement matters). */
static void grad_pixnorm(const fs_backend *be, const fs_op_case *oc, double mag) {
    size_t rows = (size_t)oc->n * oc->h * oc->w, n = rows * oc->c;
    float *x = kt_rand(n, 7, 1, -mag, mag), *r = kt_rand(n, 7, 2, -1, 1), *y = malloc(n * sizeof(float));
    graph_ctx c = {rows, oc->c, 0, kt_to_double(x, n), NULL, kt_to_double(r, n)};
    double *yd = malloc(n * sizeof(double));
    pixnorm_d(&c, yd);
    char name[128], what[200];
    fs_op_case_name(oc, name, sizeof name);
    be->pixnorm_fwd(rows, oc->c, x, y);
    snprintf(what, sizeof what, "%s |x| < %g fwd", name, mag);
    kt_check_d(what, y, yd, n, tol->fwd.rtol, tol->fwd.atol);
    float *dx = kt_copy(r, n); /* in place: dx aliases dy */
    be->pixnorm_bwd(rows, oc->c, x, dx, dx);
    snprintf(what, sizeof what, "%s |x| < %g bwd (in place)", name, mag);
    fd_step = FD_STEP * mag;
    fd_check(what, c.a, n, pixnorm_loss, &c, dx);
    fd_step = FD_STEP;
    free(x), free(r), free(y), free(yd), free(dx), free(c.a), free(c.r);
}

/* ---------------------------------------------------------------- losses */
typedef struct loss_ctx {
    int kind;            /* 0 mse, 1 l1, 2 dssim */
    int n, h, w, c, win; /* win: dssim's window size */
    double weight;
    double *p, *t;
} loss_ctx;

/* DSSIM from the definition: 2-D Gaussian windows of win x win taps centred at
 * (win - 1) / 2 (DeepFaceLab's softmax of the 2-D exponents), valid positions only. */
static double dssim_d(const loss_ctx *c) {
    int k = c->win;
    double g[64], gs = 0.0, sum = 0.0, mid = (k - 1) / 2.0;
    for (int i = 0; i < k; i++) gs += g[i] = exp(-(i - mid) * (i - mid) / (2.0 * 1.5 * 1.5));
    const double c1 = 1e-4, c2 = 9e-4;
    for (int n = 0; n < c->n; n++)
        for (int ch = 0; ch < c->c; ch++)
            for (int py = 0; py + k <= c->h; py++)
                for (int px = 0; px + k <= c->w; px++) {
                    double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++) {
                            size_t o = (((size_t)n * c->h + py + i) * c->w + px + j) * c->c + ch;
                            double gw = g[i] * g[j] / (gs * gs), a = c->p[o], b = c->t[o];
                            mx += gw * a, my += gw * b, xx += gw * a * a, yy += gw * b * b, xy += gw * a * b;
                        }
                    double vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
                    sum += (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                }
    return (1.0 - sum / ((double)c->n * c->c * (c->h - k + 1) * (c->w - k + 1))) / 2.0;
}

static double loss_value(const void *vctx) {
    const loss_ctx *c = vctx;
    if (c->kind == 2) return c->weight * dssim_d(c);
    size_t count = (size_t)c->n * c->h * c->w * c->c;
    double acc = 0.0;
    for (size_t i = 0; i < count; i++)
        acc += c->kind ? fabs(c->p[i] - c->t[i]) : (c->p[i] - c->t[i]) * (c->p[i] - c->t[i]);
    return c->weight * acc / (double)count;
}

static double call_loss(const fs_backend *be, int kind, const loss_ctx *x, const float *p, const float *t, float *dp,
                        float weight) {
    if (kind == 2) return be->dssim(x->n, x->h, x->w, x->c, x->win, p, t, dp, weight);
    return (kind ? be->l1 : be->mse)(x->n, x->h, x->w, x->c, p, t, dp, weight);
}

/* What finite differences cannot see: at p == t (every third element here) the gradient of mse
 * and the subgradient of l1 are 0, and the gradient is added to dpred (+=, here onto 0.25);
 * elsewhere it is weight * (2 (p - t) | sign(p - t)) / count. */
static void ties(const fs_backend *be, int kind, const loss_ctx *x, float *p, const float *t, float *dp, size_t count) {
    for (size_t i = 0; i < count; i += 3) p[i] = t[i];
    for (size_t i = 0; i < count; i++) dp[i] = 0.25f;
    call_loss(be, kind, x, p, t, dp, 0.7f);
    size_t bad = 0, first = count;
    for (size_t i = 0; i < count; i++) {
        double dl = (double)p[i] - t[i], g = kind ? (dl > 0) - (dl < 0) : 2.0 * dl;
        double want = 0.25 + 0.7 * g / (double)count;
        if (i % 3 == 0 ? dp[i] != 0.25f : fabs(dp[i] - want) > 1e-6 * fabs(want)) bad++, first = FS_MIN(first, i);
    }
    if (bad)
        printf("FAIL %s: %zu of %zu dpred wrong at ties or not accumulated, first [%zu] = %.9g\n", kind ? "l1" : "mse",
               bad, count, first, dp[first]),
            kt_failures++;
}

static void grad_loss(const fs_backend *be, int kind, int n, int h, int w, int c, int win) {
    static const char *names[] = {"mse", "l1", "dssim"};
    size_t count = (size_t)n * h * w * c;
    float *p = kt_rand(count, 5, 1, 0, 1), *t = kt_rand(count, 5, 2, 0, 1), *dp = calloc(count, sizeof(float));
    for (size_t i = 0; i < count; i++) /* keep |p - t|'s kink out of the FD stencil */
        if (fabsf(p[i] - t[i]) < 1e-3f) p[i] = t[i] + 0.01f;
    loss_ctx ctx = {kind, n, h, w, c, win, 0.7, kt_to_double(p, count), kt_to_double(t, count)};
    double l = call_loss(be, kind, &ctx, p, t, dp, 0.7f), l_only = call_loss(be, kind, &ctx, p, t, NULL, 0.7f);
    char what[96];
    snprintf(what, sizeof what, "%s value n=%d h=%d w=%d c=%d win=%d", names[kind], n, h, w, c, win);
    kt_check_scalar(what, l, loss_value(&ctx) / 0.7, tol->fwd.rtol, tol->fwd.atol);
    snprintf(what, sizeof what, "%s value with dpred == NULL", names[kind]);
    kt_check_scalar(what, l_only, l, 0, 0);
    snprintf(what, sizeof what, "%s grad n=%d h=%d w=%d c=%d win=%d (weight 0.7)", names[kind], n, h, w, c, win);
    fd_check(what, ctx.p, count, loss_value, &ctx, dp);
    if (kind < 2) ties(be, kind, &ctx, p, t, dp, count);
    free(p), free(t), free(dp), free(ctx.p), free(ctx.t);
}

/* One case of the table on the reference backend. */
static void grad_case(const fs_backend *be, const fs_op_case *c) {
    static const char *const losses[] = {"mse", "l1", "dssim"};
    tol = fs_op_tol_of(c->op);
    if (!strcmp(c->op, "conv2d")) return grad_conv(be, c);
    if (!strcmp(c->op, "dense")) return grad_dense(be, c);
    if (!strcmp(c->op, "leaky") || !strcmp(c->op, "sigmoid"))
        return grad_act(be, !strcmp(c->op, "sigmoid"), fs_op_case_count(c));
    if (!strcmp(c->op, "pixshuf")) return grad_pixshuf(be, c->n, c->h, c->w, c->c);
    if (!strcmp(c->op, "concat")) return grad_concat(be, c);
    if (!strcmp(c->op, "pixnorm")) return grad_pixnorm(be, c, 1.0), grad_pixnorm(be, c, 1e-3);
    for (int k = 0; k < 3; k++)
        if (!strcmp(c->op, losses[k])) return grad_loss(be, k, c->n, c->h, c->w, c->c, c->k);
    printf("FAIL op case '%s' is marked for kernels_grad, which has no check for it\n", c->op), kt_failures++;
}

int main(void) {
    const fs_backend *be = fs_backend_cpu_ref();
    size_t count, ran = 0;
    const fs_op_case *cases = fs_op_cases(&count);
    for (size_t i = 0; i < count; i++)
        if (cases[i].where & FS_OPC_GRAD) grad_case(be, &cases[i]), ran++;
    printf("kernels_grad: %zu cases of the op table\n", ran);
    return kt_finish("kernels_grad");
}
