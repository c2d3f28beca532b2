/* loss.c — see loss.h. */
#include "trainer/loss.h"

#include <string.h>

const char *const fs_loss_term_names[FS_TERM_COUNT] = {"mse", "dssim", "l1", "eye", "mouth", "mask"};

void fs_loss_weights_from_config(const fs_config *c, fs_loss_weights *w) {
    *w = (fs_loss_weights){.mse = c->train.loss_mse,
                           .dssim = c->train.loss_dssim,
                           .l1 = c->train.loss_l1,
                           .mask = c->train.loss_mask,
                           .outside = c->train.mask_outside,
                           .eye = c->train.eye_multiplier,
                           .mouth = c->train.mouth_multiplier};
}

int fs_loss_wants_regions(const fs_loss_weights *w) { return w->eye != 1.0f || w->mouth != 1.0f; }

/* SAEHD (models/Model_SAEHD/Model.py): below 256 px one DSSIM of filter int(res / 11.6);
 * from 256 px that one and int(res / 23.2), each at half the weight. Below 256 px faceswarm
 * keeps faceswap's 11 px window, which SAEHD's rule gives at 128 px too. Windows are at most
 * FS_DSSIM_MAX_WIN (64, reached above 742 px). */
int fs_loss_dssim_windows(int res, int win[2], float share[2]) {
    if (res < 256) {
        win[0] = FS_DSSIM_WIN, share[0] = 1.0f;
        return 1;
    }
    win[0] = FS_MIN((int)(res / 11.6), FS_DSSIM_MAX_WIN), win[1] = FS_MIN((int)(res / 23.2), FS_DSSIM_MAX_WIN);
    share[0] = share[1] = 0.5f;
    return 2;
}

/* The device buffers of fs_loss, floats: weight, wpred, wtgt, dregion, consts. */
static void loss_sizes(int res, int batch, size_t f[5]) {
    size_t plane = (size_t)res * res * batch;
    f[0] = plane, f[1] = f[2] = f[3] = plane * 3, f[4] = 2;
}

size_t fs_loss_bytes(int res, int batch) {
    size_t f[5], n = 0;
    loss_sizes(res, batch, f);
    for (int i = 0; i < 5; i++) n += f[i] * sizeof(float);
    return n;
}

void fs_loss_init(fs_loss *L, const fs_backend *be, int res, int batch) {
    size_t f[5];
    loss_sizes(res, batch, f);
    L->be = be, L->res = res, L->batch = batch;
    L->weight = be->alloc(sizeof(float) * f[0]);
    L->wpred = be->alloc(sizeof(float) * f[1]);
    L->wtgt = be->alloc(sizeof(float) * f[2]);
    L->dregion = be->alloc(sizeof(float) * f[3]);
    L->consts = be->alloc(sizeof(float) * f[4]);
}

void fs_loss_free(fs_loss *L) {
    const fs_backend *be = L->be;
    if (!be) return;
    be->free(L->weight), be->free(L->wpred), be->free(L->wtgt), be->free(L->dregion), be->free(L->consts);
    memset(L, 0, sizeof *L);
}

/* W = M (1 - o) + o over count floats: the dense op with one input and one output. */
static void weight_map(const fs_loss *L, float outside, size_t count, const float *mask) {
    float c[2] = {1.0f - outside, outside};
    L->be->upload(L->consts, c, sizeof c);
    L->be->dense_fwd((int)count, 1, 1, mask, L->consts, L->consts + 1, L->weight, FS_ACT_NONE, 0.0f);
}

/* face(a, b) scaled by s, its gradient (scaled alike) added into d; each term into t[]. */
static double face_terms(const fs_loss *L, const fs_loss_weights *w, float s, int n, const float *a, const float *b,
                         float *d, double t[3]) {
    const fs_backend *be = L->be;
    int r = L->res;
    double l = 0;
    t[0] = t[1] = t[2] = 0;
    if (w->mse > 0) l += t[0] = (double)(s * w->mse) * be->mse(n, r, r, 3, a, b, d, s * w->mse);
    if (w->dssim > 0) {
        int win[2];
        float share[2];
        for (int k = 0, nw = fs_loss_dssim_windows(r, win, share); k < nw; k++) {
            float wk = s * w->dssim * share[k];
            t[1] += (double)wk * be->dssim(n, r, r, 3, win[k], a, b, d, wk);
        }
        l += t[1];
    }
    if (w->l1 > 0) l += t[2] = (double)(s * w->l1) * be->l1(n, r, r, 3, a, b, d, s * w->l1);
    return l;
}

/* (multiplier - 1) face(p R, t R); its gradient R * d(...)/d(p R) added into dpred. */
static double region_term(fs_loss *L, const fs_loss_weights *w, float mult, int n, const fs_loss_in *in,
                          const float *region, float *dpred) {
    const fs_backend *be = L->be;
    int r = L->res;
    size_t img = (size_t)n * r * r * 3;
    double t[3];
    be->mask_mul(n, r, r, 3, region, in->pred, L->wpred);
    be->mask_mul(n, r, r, 3, region, in->target, L->wtgt);
    be->zero(L->dregion, sizeof(float) * img);
    double l = face_terms(L, w, mult - 1.0f, n, L->wpred, L->wtgt, L->dregion, t);
    be->mask_mul(n, r, r, 3, region, L->dregion, L->dregion);
    be->acc(img, L->dregion, dpred);
    return l;
}

double fs_loss_compute(fs_loss *L, const fs_loss_weights *w, int n, const fs_loss_in *in, float *dpred, float *dmask,
                       double term[FS_TERM_COUNT]) {
    const fs_backend *be = L->be;
    int r = L->res;
    double t[FS_TERM_COUNT] = {0};
    be->zero(dpred, sizeof(float) * (size_t)n * r * r * 3);
    const float *pred = in->pred, *tgt = in->target, *wmap = in->mask;
    if (wmap && w->outside > 0) weight_map(L, w->outside, (size_t)n * r * r, in->mask), wmap = L->weight;
    if (wmap) { /* the face loss sees pred * W and target * W only */
        be->mask_mul(n, r, r, 3, wmap, pred, L->wpred);
        be->mask_mul(n, r, r, 3, wmap, tgt, L->wtgt);
        pred = L->wpred, tgt = L->wtgt;
    }
    double l = face_terms(L, w, 1.0f, n, pred, tgt, dpred, t);
    if (wmap) be->mask_mul(n, r, r, 3, wmap, dpred, dpred); /* chain rule: d(pred * W)/dpred = W */
    if (in->eye && w->eye != 1.0f) l += t[FS_TERM_EYE] = region_term(L, w, w->eye, n, in, in->eye, dpred);
    if (in->mouth && w->mouth != 1.0f) l += t[FS_TERM_MOUTH] = region_term(L, w, w->mouth, n, in, in->mouth, dpred);
    if (dmask) be->zero(dmask, sizeof(float) * (size_t)n * r * r);
    if (in->pred_mask && in->mask && w->mask > 0)
        l += t[FS_TERM_MASK] = (double)w->mask * be->mse(n, r, r, 1, in->pred_mask, in->mask, dmask, w->mask);
    if (term) memcpy(term, t, sizeof t);
    return l;
}
