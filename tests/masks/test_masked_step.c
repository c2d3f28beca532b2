/* test_masked_step.c — masks_step: the trainer's step core (fs_step_forward_loss, then
 * fs_model_backward) with have_mask, on a tiny two-identity model, on the cpu backend and on
 * the CUDA kernels under the emulator (or the GPU when one is usable). Checks:
 *   - the background does not matter: targets that differ only where the mask is 0 give
 *     bit-identical losses, loss gradients (dout) and parameter gradients; without the mask
 *     the same change does move the loss (so the test can see a difference);
 *   - no gradient outside the mask: dout is exactly 0 where the mask is 0;
 *   - the masked loss is MSE + DSSIM of (pred * m, target * m) and dout = m * its gradient,
 *     against the plain-loop reference backend (1e-5 rel on the loss, 1e-4 x max on dout);
 *   - the masks go up as the trainer sends them: uint8 through u8_to_float. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cuda/ct.h"
#include "trainer/train.h"

enum { RES = 16, BATCH = 2, NID = 2 };
#define PLANE ((size_t)RES * RES)
#define IMG (PLANE * 3)
#define SAMPLES ((size_t)NID * BATCH)

static int g_fail = 0;
#define EXPECT(cond, ...)                                                                                              \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            g_fail++;                                                                                                  \
            printf("FAIL %s:%d: ", __FILE__, __LINE__), printf(__VA_ARGS__), printf("\n");                             \
        }                                                                                                              \
    } while (0)

typedef struct result {
    double loss[NID];
    float *dout;  /* [NID][BATCH][RES][RES][3] host */
    float *pred;  /* [NID][BATCH][RES][RES][3] host: the decoders' outputs */
    float *grads; /* [n_params] host */
    size_t n_params;
} result;

static void tiny_config(fs_config *c) {
    fs_config_defaults(c);
    c->model.resolution = RES;
    c->model.n_encoder_filters = 2, c->model.encoder_filters[0] = 8, c->model.encoder_filters[1] = 12;
    c->model.dense = 24, c->model.bottleneck_filters = 10;
    c->model.n_encoder_upscale = 1, c->model.encoder_upscale[0] = 8;
    c->model.n_decoder_filters = 1, c->model.decoder_filters[0] = 6;
}

/* Sample s's mask: a disc of 255, a ring of 128, 0 outside (about half the image). */
static void make_masks(uint8_t *mask) {
    for (size_t s = 0; s < SAMPLES; s++)
        for (int y = 0; y < RES; y++)
            for (int x = 0; x < RES; x++) {
                double cx = 7.5 + (double)(s % 2), cy = 7.0 + (double)(s % 3) * 0.5;
                double d = sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
                mask[s * PLANE + (size_t)y * RES + x] = d < 4.5 ? 255 : d < 6.0 ? 128 : 0;
            }
}

/* One step core on be: losses, dout, predictions and gradients to the host. mask NULL = off. */
static void run_step(const fs_backend *be, const fs_config *c, const float *input, const float *target,
                     const uint8_t *mask, result *o) {
    fs_model m;
    fs_error e = {0};
    if (fs_model_build(&m, c, &e) != 0) fs_die(FS_EXIT_FAIL, "masks_step: fs_model_build: %s", e.msg);
    fs_model_alloc(&m, be, BATCH);
    fs_model_init_params(&m, 77);
    fs_step_buffers sb;
    fs_step_buffers_alloc(&sb, &m);
    be->upload(m.input, input, SAMPLES * IMG * sizeof(float));
    be->upload(sb.target, target, SAMPLES * IMG * sizeof(float));
    sb.have_mask = mask != NULL;
    if (mask) be->u8_to_float(SAMPLES * PLANE, mask, sb.mask);
    be->zero(m.grads, m.n_params * sizeof(float));
    fs_step_forward_loss(&m, c, &sb, BATCH);
    o->dout = fs_malloc(SAMPLES * IMG * sizeof(float));
    o->pred = fs_malloc(SAMPLES * IMG * sizeof(float));
    for (int i = 0; i < NID; i++) {
        o->loss[i] = sb.loss[i];
        be->download(o->dout + (size_t)i * BATCH * IMG, sb.dout[i], BATCH * IMG * sizeof(float));
        be->download(o->pred + (size_t)i * BATCH * IMG, fs_model_output(&m, i), BATCH * IMG * sizeof(float));
    }
    fs_model_backward(&m, BATCH, sb.dout, NULL, NULL, NULL);
    o->n_params = m.n_params;
    o->grads = ct_down(be, m.grads, m.n_params);
    fs_step_buffers_free(&sb, &m);
    fs_model_free(&m);
}

static void free_result(result *r) { free(r->dout), free(r->pred), free(r->grads); }

/* The specification on the host: loss = mse + dssim of (pred*m, target*m), dout = m * grad. */
static void expected(const result *r, const float *target, const uint8_t *mask, int i, double *loss, float *dout) {
    const fs_backend *ref = fs_backend_cpu_ref();
    size_t n = BATCH * IMG;
    float *pm = fs_malloc(n * 4), *tm = fs_malloc(n * 4), *mf = fs_malloc(BATCH * PLANE * 4);
    ref->u8_to_float(BATCH * PLANE, mask + (size_t)i * BATCH * PLANE, mf);
    for (size_t k = 0; k < n; k++) {
        pm[k] = r->pred[(size_t)i * n + k] * mf[k / 3];
        tm[k] = target[(size_t)i * n + k] * mf[k / 3];
    }
    memset(dout, 0, n * 4);
    *loss = ref->mse(BATCH, RES, RES, 3, pm, tm, dout, 1.0f) +
            ref->dssim(BATCH, RES, RES, 3, FS_DSSIM_WIN, pm, tm, dout, 1.0f);
    for (size_t k = 0; k < n; k++) dout[k] *= mf[k / 3];
    free(pm), free(tm), free(mf);
}

static void check_against_spec(const char *be_name, const result *r, const float *target, const uint8_t *mask) {
    float *want = fs_malloc(BATCH * IMG * 4);
    for (int i = 0; i < NID; i++) {
        double loss;
        expected(r, target, mask, i, &loss, want);
        char what[96];
        snprintf(what, sizeof what, "%s: masked loss of identity %d", be_name, i);
        g_fail += ct_close1(what, r->loss[i], loss, 1e-5, 0);
        snprintf(what, sizeof what, "%s: masked dout of identity %d", be_name, i);
        g_fail += ct_close(what, r->dout + (size_t)i * BATCH * IMG, want, BATCH * IMG, 0, 1e-4);
    }
    free(want);
}

static void check_backend(const fs_backend *be, const fs_config *c, const float *input, const float *t1,
                          const float *t2, const uint8_t *mask) {
    result a, b, plain1, plain2;
    run_step(be, c, input, t1, mask, &a);
    run_step(be, c, input, t2, mask, &b);
    run_step(be, c, input, t1, NULL, &plain1);
    run_step(be, c, input, t2, NULL, &plain2);
    for (int i = 0; i < NID; i++) {
        EXPECT(a.loss[i] == b.loss[i], "%s: identity %d: masked loss %.9g vs %.9g after a background-only change",
               be->name, i, a.loss[i], b.loss[i]);
        EXPECT(fabs(plain1.loss[i] - plain2.loss[i]) > 1e-4 * plain1.loss[i],
               "%s: identity %d: unmasked loss "
               "%.9g vs %.9g: the background change must show without the mask",
               be->name, i, plain1.loss[i], plain2.loss[i]);
    }
    EXPECT(!memcmp(a.dout, b.dout, SAMPLES * IMG * 4), "%s: masked dout differs after a background-only change",
           be->name);
    EXPECT(!memcmp(a.grads, b.grads, a.n_params * 4), "%s: parameter gradients differ after a background-only change",
           be->name);
    size_t outside = 0, nonzero = 0;
    for (size_t k = 0; k < SAMPLES * IMG; k++)
        if (mask[k / 3] == 0) outside++, nonzero += a.dout[k] != 0.0f;
    EXPECT(outside > SAMPLES * IMG / 4 && nonzero == 0, "%s: %zu of %zu dout values outside the mask are not 0",
           be->name, nonzero, outside);
    check_against_spec(be->name, &a, t1, mask);
    printf("masks_step: %s: masked losses %.6f %.6f (unmasked %.6f %.6f)\n", be->name, a.loss[0], a.loss[1],
           plain1.loss[0], plain1.loss[1]);
    free_result(&a), free_result(&b), free_result(&plain1), free_result(&plain2);
}

int main(void) {
    fs_config c;
    tiny_config(&c);
    fs_error e = {0};
    if (fs_config_validate(&c, &e) != 0) {
        printf("FAIL: the test's tiny config does not validate: %s\n", e.msg);
        return 1;
    }
    uint8_t *mask = fs_malloc(SAMPLES * PLANE);
    make_masks(mask);
    float *input = ct_rand(SAMPLES * IMG, 5, 1, 0, 1), *t1 = ct_rand(SAMPLES * IMG, 5, 2, 0, 1);
    float *noise = ct_rand(SAMPLES * IMG, 5, 3, 0, 1), *t2 = fs_malloc(SAMPLES * IMG * 4);
    for (size_t k = 0; k < SAMPLES * IMG; k++) t2[k] = mask[k / 3] == 0 ? noise[k] : t1[k];
    check_backend(fs_backend_cpu(), &c, input, t1, t2, mask);
    check_backend(ct_backend("masks_step"), &c, input, t1, t2, mask);
    free(mask), free(input), free(t1), free(noise), free(t2);
    if (g_fail) {
        printf("masks_step: %d checks FAILED\n", g_fail);
        return 1;
    }
    printf("masks_step: the masked loss ignores the background and matches its specification\n");
    return 0;
}
