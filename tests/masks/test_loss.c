/* test_loss.c — masks_loss: trainer/loss.h, the loss module, on random tensors.
 *   - gradients: every term on at once (MSE, DSSIM, L1 on the mask-weighted face with an
 *     outside weight, eye and mouth priority, the learned-mask loss), d loss / d pred and
 *     d loss / d pred_mask against central finite differences of the loss (the reference
 *     backend, which sums its losses in double), on a sample of elements;
 *   - priority raises the gradient inside the regions: with MSE alone and 0/1 regions, the
 *     gradient inside the eyes is eye_multiplier times, inside the mouth mouth_multiplier
 *     times the one without priority, and unchanged elsewhere;
 *   - the outside weight: with MSE alone and a 0/1 mask, the gradient outside the mask is
 *     mask_outside^2 times the unmasked one (faceswap's mask_prop), inside unchanged;
 *   - the mask loss: dmask = 2 w (q - M) / N exactly as the MSE op gives it, 0 without a mask;
 *   - the defaults are the old composition: loss and gradient bit-identical to the sum of
 *     the ops as train.c formed it before the module (mse + dssim on pred * M, target * M,
 *     the gradient times M);
 *   - backends: the fast CPU path and the CUDA kernels (emulated without a GPU) against the
 *     reference, every term on (1e-5 relative on the loss and the terms, 1e-4 x max on the
 *     gradients);
 *   - the DSSIM windows: 11 below 256 px, SAEHD's int(res/11.6) and int(res/23.2) from 256,
 *     and at 256 px the DSSIM term is exactly half of each window's (loss and gradient). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cuda/ct.h"
#include "trainer/loss.h"

enum { RES = 16, N = 2 };
#define PLANE ((size_t)N * RES * RES)
#define IMG (PLANE * 3)

static int g_fail = 0;
#define EXPECT(cond, ...)                                                                                              \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            g_fail++;                                                                                                  \
            printf("FAIL %s:%d: ", __FILE__, __LINE__), printf(__VA_ARGS__), printf("\n");                             \
        }                                                                                                              \
    } while (0)

typedef struct host_in {
    float *pred, *target, *mask, *qmask, *eye, *mouth; /* host tensors; NULL = absent */
} host_in;

typedef struct result {
    double loss, term[FS_TERM_COUNT];
    float *dpred, *dmask; /* host */
} result;

/* A 0/1 plane: a disc (mask), the upper band (eyes), a lower box (mouth). */
static float *plane_of(int kind) {
    float *p = fs_malloc(PLANE * 4);
    for (size_t s = 0; s < N; s++)
        for (int y = 0; y < RES; y++)
            for (int x = 0; x < RES; x++) {
                float v;
                if (kind == 0) v = (x - 7.5f - s) * (x - 7.5f - s) + (y - 8.0f) * (y - 8.0f) < 36.0f;
                else if (kind == 1) v = y >= 4 && y < 7 && x >= 2 && x < 14;
                else v = y >= 10 && y < 13 && x >= 5 && x < 11;
                p[s * RES * RES + (size_t)y * RES + x] = v;
            }
    return p;
}

static void run(const fs_backend *be, const fs_loss_weights *w, const host_in *h, result *o) {
    fs_loss L;
    fs_loss_init(&L, be, RES, N);
    float *pred = ct_up(be, h->pred, IMG), *tgt = ct_up(be, h->target, IMG);
    float *mask = h->mask ? ct_up(be, h->mask, PLANE) : NULL, *q = h->qmask ? ct_up(be, h->qmask, PLANE) : NULL;
    float *eye = h->eye ? ct_up(be, h->eye, PLANE) : NULL, *mouth = h->mouth ? ct_up(be, h->mouth, PLANE) : NULL;
    float *dpred = be->alloc(IMG * 4), *dmask = be->alloc(PLANE * 4);
    fs_loss_in in = {.pred = pred, .target = tgt, .mask = mask, .pred_mask = q, .eye = eye, .mouth = mouth};
    o->loss = fs_loss_compute(&L, w, N, &in, dpred, dmask, o->term);
    o->dpred = ct_down(be, dpred, IMG), o->dmask = ct_down(be, dmask, PLANE);
    be->free(pred), be->free(tgt), be->free(dpred), be->free(dmask);
    if (mask) be->free(mask);
    if (q) be->free(q);
    if (eye) be->free(eye);
    if (mouth) be->free(mouth);
    fs_loss_free(&L);
}

static double loss_at(const fs_loss_weights *w, const host_in *h) {
    result r;
    run(fs_backend_cpu_ref(), w, h, &r);
    free(r.dpred), free(r.dmask);
    return r.loss;
}

/* Central differences on every 7th element of pred and of the learned mask. */
static void check_gradients(const fs_loss_weights *w, host_in *h) {
    result r;
    run(fs_backend_cpu_ref(), w, h, &r);
    const double step = 1e-3;
    int bad = 0, checked = 0;
    for (int which = 0; which < 2; which++) {
        float *x = which ? h->qmask : h->pred, *g = which ? r.dmask : r.dpred;
        size_t n = which ? PLANE : IMG;
        for (size_t k = 3; k < n; k += 7) {
            float keep = x[k];
            x[k] = keep + (float)step;
            double up = loss_at(w, h);
            x[k] = keep - (float)step;
            double down = loss_at(w, h);
            x[k] = keep;
            double fd = (up - down) / (2 * step), an = g[k];
            checked++;
            if (fabs(fd - an) > 2e-2 * fabs(fd) + 2e-5) {
                if (bad++ < 5)
                    printf("FAIL gradient of %s[%zu]: analytic %.8g, finite difference %.8g\n",
                           which ? "qmask" : "pred", k, an, fd);
            }
        }
    }
    EXPECT(bad == 0, "%d of %d gradient elements differ from finite differences", bad, checked);
    printf("masks_loss: %d gradient elements match finite differences (loss %.6f: mse %.4g dssim %.4g l1 %.4g eye "
           "%.4g mouth %.4g mask %.4g)\n",
           checked, r.loss, r.term[0], r.term[1], r.term[2], r.term[3], r.term[4], r.term[5]);
    double sum = 0;
    for (int k = 0; k < FS_TERM_COUNT; k++) sum += r.term[k];
    EXPECT(fabs(sum - r.loss) <= 1e-12 * fabs(r.loss), "terms sum to %.12g, the loss is %.12g", sum, r.loss);
    for (int k = 0; k < FS_TERM_COUNT; k++)
        EXPECT(r.term[k] > 0 || (k == FS_TERM_L1 && w->l1 == 0), "term %s is %g with its weight on",
               fs_loss_term_names[k], r.term[k]);
    free(r.dpred), free(r.dmask);
}

/* MSE alone: priority multiplies the gradient inside the regions, nothing else. */
static void check_priority(const host_in *h) {
    fs_loss_weights plain = {.mse = 1, .outside = 0, .eye = 1, .mouth = 1}, prio = plain;
    prio.eye = 3, prio.mouth = 2;
    host_in hm = *h;
    hm.mask = NULL, hm.qmask = NULL;
    result a, b;
    run(fs_backend_cpu_ref(), &plain, &hm, &a);
    run(fs_backend_cpu_ref(), &prio, &hm, &b);
    int bad = 0;
    double in_eye = 0, in_eye0 = 0;
    for (size_t k = 0; k < IMG; k++) {
        float e = h->eye[k / 3], m = h->mouth[k / 3];
        double want = a.dpred[k] * (1.0 + (prio.eye - 1) * e + (prio.mouth - 1) * m);
        if (fabs(b.dpred[k] - want) > 1e-6 * fabs(want) + 1e-12) bad++;
        if (e > 0) in_eye += fabs(b.dpred[k]), in_eye0 += fabs(a.dpred[k]);
    }
    EXPECT(bad == 0, "priority: %d gradient elements are not the plain gradient times the region's multiplier", bad);
    EXPECT(in_eye > 2.99 * in_eye0, "priority: |gradient| inside the eyes %.6g, without priority %.6g", in_eye,
           in_eye0);
    EXPECT(b.loss > a.loss && b.term[FS_TERM_EYE] > 0 && b.term[FS_TERM_MOUTH] > 0,
           "priority: loss %.6g (eye %.6g, mouth %.6g) vs %.6g without", b.loss, b.term[FS_TERM_EYE],
           b.term[FS_TERM_MOUTH], a.loss);
    free(a.dpred), free(a.dmask), free(b.dpred), free(b.dmask);
}

/* MSE alone, 0/1 mask: outside the gradient is o^2 times the unmasked one; inside the same. */
static void check_outside(const host_in *h) {
    fs_loss_weights w = {.mse = 1, .outside = 0.25f, .eye = 1, .mouth = 1};
    host_in masked = *h, plain = *h;
    masked.qmask = plain.qmask = NULL, masked.eye = masked.mouth = plain.eye = plain.mouth = NULL;
    plain.mask = NULL;
    result a, b;
    run(fs_backend_cpu_ref(), &w, &plain, &a);
    run(fs_backend_cpu_ref(), &w, &masked, &b);
    int bad = 0;
    for (size_t k = 0; k < IMG; k++) {
        double want = a.dpred[k] * (h->mask[k / 3] > 0 ? 1.0 : 0.0625);
        if (fabs(b.dpred[k] - want) > 1e-6 * fabs(want) + 1e-12) bad++;
    }
    EXPECT(bad == 0, "mask_outside 0.25: %d gradient elements are not 1 inside / 0.0625 outside times the unmasked",
           bad);
    free(a.dpred), free(a.dmask), free(b.dpred), free(b.dmask);
}

/* The mask loss is the MSE op on (q, M); without a target mask it is off and dmask is 0. */
static void check_mask_loss(const host_in *h) {
    fs_loss_weights w = {.mse = 1, .mask = 0.5f, .eye = 1, .mouth = 1};
    host_in hm = *h;
    hm.eye = hm.mouth = NULL;
    result r;
    run(fs_backend_cpu_ref(), &w, &hm, &r);
    int bad = 0;
    for (size_t k = 0; k < PLANE; k++) {
        double want = 2.0 * 0.5 * (h->qmask[k] - h->mask[k]) / (double)PLANE;
        if (fabs(r.dmask[k] - want) > 1e-6 * fabs(want) + 1e-12) bad++;
    }
    EXPECT(bad == 0, "mask loss: %d dmask elements differ from 2 w (q - M) / N", bad);
    free(r.dpred), free(r.dmask);
    hm.mask = NULL;
    run(fs_backend_cpu_ref(), &w, &hm, &r);
    int nonzero = 0;
    for (size_t k = 0; k < PLANE; k++) nonzero += r.dmask[k] != 0.0f;
    EXPECT(nonzero == 0 && r.term[FS_TERM_MASK] == 0, "no target mask: %d dmask elements non-zero, term %g", nonzero,
           r.term[FS_TERM_MASK]);
    free(r.dpred), free(r.dmask);
}

/* The defaults against the composition train.c had before the module, bit for bit. */
static void check_old_composition(const fs_backend *be, const host_in *h) {
    fs_config c;
    fs_config_defaults(&c);
    fs_loss_weights w;
    fs_loss_weights_from_config(&c, &w);
    host_in hm = *h; /* regions present but multipliers 1: they must not matter */
    hm.qmask = NULL;
    result r;
    run(be, &w, &hm, &r);
    float *pm = fs_malloc(IMG * 4), *tm = fs_malloc(IMG * 4), *d = fs_calloc(IMG, 4);
    float *dp = ct_up(be, h->pred, IMG), *dt = ct_up(be, h->target, IMG), *dm = ct_up(be, h->mask, PLANE);
    float *dpm = be->alloc(IMG * 4), *dtm = be->alloc(IMG * 4), *dd = be->alloc(IMG * 4);
    be->mask_mul(N, RES, RES, 3, dm, dp, dpm);
    be->mask_mul(N, RES, RES, 3, dm, dt, dtm);
    double l = 0;
    l += c.train.loss_mse * be->mse(N, RES, RES, 3, dpm, dtm, dd, c.train.loss_mse);
    l += c.train.loss_dssim * be->dssim(N, RES, RES, 3, FS_DSSIM_WIN, dpm, dtm, dd, c.train.loss_dssim);
    be->mask_mul(N, RES, RES, 3, dm, dd, dd);
    be->download(d, dd, IMG * 4);
    EXPECT(l == r.loss, "%s: default loss %.17g, the old composition %.17g", be->name, r.loss, l);
    EXPECT(!memcmp(d, r.dpred, IMG * 4), "%s: default gradient differs from the old composition's", be->name);
    be->free(dp), be->free(dt), be->free(dm), be->free(dpm), be->free(dtm), be->free(dd);
    free(pm), free(tm), free(d), free(r.dpred), free(r.dmask);
}

static void check_backend(const fs_backend *be, const fs_loss_weights *w, const host_in *h) {
    result want, got;
    run(fs_backend_cpu_ref(), w, h, &want);
    run(be, w, h, &got);
    char what[96];
    snprintf(what, sizeof what, "%s: loss", be->name);
    g_fail += ct_close1(what, got.loss, want.loss, 1e-5, 0);
    for (int k = 0; k < FS_TERM_COUNT; k++) {
        snprintf(what, sizeof what, "%s: term %s", be->name, fs_loss_term_names[k]);
        g_fail += ct_close1(what, got.term[k], want.term[k], 1e-5, 1e-12);
    }
    snprintf(what, sizeof what, "%s: dpred", be->name);
    g_fail += ct_close(what, got.dpred, want.dpred, IMG, 0, 1e-4);
    snprintf(what, sizeof what, "%s: dmask", be->name);
    g_fail += ct_close(what, got.dmask, want.dmask, PLANE, 0, 1e-4);
    free(want.dpred), free(want.dmask), free(got.dpred), free(got.dmask);
}

static void check_windows(void) {
    int win[2];
    float share[2];
    EXPECT(fs_loss_dssim_windows(64, win, share) == 1 && win[0] == 11 && share[0] == 1.0f, "64 px: one 11 px window");
    EXPECT(fs_loss_dssim_windows(128, win, share) == 1 && win[0] == 11, "128 px: one 11 px window");
    EXPECT(fs_loss_dssim_windows(256, win, share) == 2 && win[0] == 22 && win[1] == 11 && share[0] == 0.5f &&
               share[1] == 0.5f,
           "256 px: windows %d and %d", win[0], win[1]);
    EXPECT(fs_loss_dssim_windows(512, win, share) == 2 && win[0] == 44 && win[1] == 22, "512 px: windows %d and %d",
           win[0], win[1]);
    EXPECT(fs_loss_dssim_windows(1024, win, share) == 2 && win[0] == FS_DSSIM_MAX_WIN && win[1] == 44,
           "1024 px: windows %d and %d", win[0], win[1]);
}

/* At 256 px the DSSIM term is SAEHD's pair: half of the 22 px window's plus half of the 11's. */
static void check_two_windows(void) {
    const fs_backend *be = fs_backend_cpu();
    enum { R = 256 };
    size_t img = (size_t)R * R * 3;
    float *hp = ct_rand(img, 4, 1, 0, 1), *ht = ct_rand(img, 4, 2, 0, 1);
    float *p = ct_up(be, hp, img), *t = ct_up(be, ht, img), *d = be->alloc(img * 4), *dw = be->alloc(img * 4);
    fs_loss L;
    fs_loss_init(&L, be, R, 1);
    fs_loss_weights w = {.dssim = 2, .eye = 1, .mouth = 1};
    fs_loss_in in = {.pred = p, .target = t};
    double term[FS_TERM_COUNT];
    double l = fs_loss_compute(&L, &w, 1, &in, d, NULL, term);
    double want = 1.0 * be->dssim(1, R, R, 3, 22, p, t, dw, 1.0f);
    want += 1.0 * be->dssim(1, R, R, 3, 11, p, t, dw, 1.0f);
    float *got_d = ct_down(be, d, img), *want_d = ct_down(be, dw, img);
    EXPECT(l == want && term[FS_TERM_DSSIM] == want, "256 px: DSSIM %.17g, half of each window %.17g", l, want);
    EXPECT(!memcmp(got_d, want_d, img * 4), "256 px: the DSSIM gradient is not the two windows' halves");
    fs_loss_free(&L);
    be->free(p), be->free(t), be->free(d), be->free(dw);
    free(hp), free(ht), free(got_d), free(want_d);
}

int main(void) {
    host_in h = {.pred = ct_rand(IMG, 9, 1, 0.05f, 0.95f),
                 .target = ct_rand(IMG, 9, 2, 0.05f, 0.95f),
                 .mask = plane_of(0),
                 .qmask = ct_rand(PLANE, 9, 3, 0.05f, 0.95f),
                 .eye = plane_of(1),
                 .mouth = plane_of(2)};
    for (size_t k = 0; k < PLANE; k++) h.mask[k] = h.mask[k] > 0 ? 1.0f : 0.0f;
    fs_loss_weights all = {.mse = 1, .dssim = 1, .l1 = 0.5f, .mask = 0.7f, .outside = 0.3f, .eye = 3, .mouth = 2};
    /* L1 has a kink at p == t, and mask-weighted values meet there outside the mask: the
     * finite-difference check keeps L1 off and a nonzero outside weight, and the backend
     * check covers L1. */
    fs_loss_weights smooth = all;
    smooth.l1 = 0;
    check_gradients(&smooth, &h);
    check_priority(&h);
    check_outside(&h);
    check_mask_loss(&h);
    check_old_composition(fs_backend_cpu_ref(), &h);
    check_old_composition(fs_backend_cpu(), &h);
    check_backend(fs_backend_cpu(), &all, &h);
    const fs_backend *cu = ct_backend("masks_loss");
    if (cu) {
        check_old_composition(cu, &h);
        check_backend(cu, &all, &h);
    }
    check_windows();
    check_two_windows();
    free(h.pred), free(h.target), free(h.mask), free(h.qmask), free(h.eye), free(h.mouth);
    if (g_fail) {
        printf("masks_loss: %d checks FAILED\n", g_fail);
        return 1;
    }
    printf("masks_loss: every term's gradient, priority, outside weight, mask loss and backends as specified\n");
    return 0;
}
