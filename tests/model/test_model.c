/* test_model.c — the model's layer table, initialisation, forward and backward.
 *
 * - faceswap's "original" 64 px model: 82,062,470 parameters, encoder 69,662,976, each
 *   decoder 6,199,747 (figures from faceswap, DESIGN.md), about 3.8 GFLOP forward;
 * - the parameter buffer is contiguous in the documented order;
 * - a tiny model's backward pass matches central finite differences of the MSE loss;
 * - the ready callback's offsets strictly decrease, are layer starts, and end at 0;
 * - a partial batch (n < batch) gives the same outputs and gradients as a full one;
 * - initialisation is He-uniform, identical for one seed and different for another. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/config.h"
#include "trainer/model.h"

#include "tests/check.h"

static const char *tiny_yaml = "model:\n  resolution: 16\n  identities: [A, B, C]\n  encoder_filters: [4, 8]\n"
                               "  dense: 8\n  bottleneck_filters: 4\n  encoder_upscale: [4]\n  decoder_filters: [4]\n"
                               "  leaky_alpha: 0.1\n";

static void load(fs_config *c, const char *yaml) {
    fs_error e = {0};
    if (fs_config_load_string(c, yaml, "test", &e) || fs_config_validate(c, &e)) {
        fprintf(stderr, "config: %s\n", e.msg);
        exit(1);
    }
}

static void build(fs_model *m, const fs_config *c) {
    fs_error e = {0};
    if (fs_model_build(m, c, &e)) {
        fprintf(stderr, "build: %s\n", e.msg);
        exit(1);
    }
}

/* ---------------------------------------------------------------- layer table */
static void check_layout(const fs_model *m) {
    size_t off = 0;
    const fs_net *nets[FS_MAX_IDENTITIES + 1] = {&m->encoder};
    for (int i = 0; i < m->n_decoders; i++) nets[i + 1] = &m->decoders[i];
    for (int k = 0; k <= m->n_decoders; k++) {
        CHECK(nets[k]->param_off == off, "%s starts at %zu, expected %zu", nets[k]->name, nets[k]->param_off, off);
        for (int l = 0; l < nets[k]->n_layers; l++) {
            const fs_layer *L = &nets[k]->layers[l];
            if (!L->w_len) continue;
            CHECK(L->w_off == off && L->b_off == off + L->w_len, "%s offsets", L->name);
            off += L->w_len + L->b_len;
        }
        CHECK(nets[k]->param_off + nets[k]->param_len == off, "%s length", nets[k]->name);
    }
    CHECK(off == m->n_params, "layers cover %zu of %zu parameters", off, m->n_params);
}

static void test_original(void) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/configs/original-64.yaml", src ? src : "..");
    fs_config c;
    fs_model m;
    fs_error e = {0};
    if (fs_config_load(&c, path, &e)) {
        fprintf(stderr, "FAIL: %s\n", e.msg);
        failures++;
        return;
    }
    build(&m, &c);
    CHECK(m.n_params == 82062470, "original-64 has %zu parameters", m.n_params);
    CHECK(m.encoder.param_len == 69662976, "encoder has %zu", m.encoder.param_len);
    CHECK(m.decoders[0].param_len == 6199747 && m.decoders[1].param_len == 6199747, "decoders %zu %zu",
          m.decoders[0].param_len, m.decoders[1].param_len);
    double gf = fs_model_forward_flops(&m) / 1e9;
    CHECK(gf > 3.7 && gf < 3.9, "forward GFLOP per image %.3f, faceswap's figure is about 3.8", gf);
    check_layout(&m);
    const fs_layer *out = &m.decoders[1].layers[m.decoders[1].n_layers - 1];
    CHECK(!strcmp(out->name, "decoder_B.output") && out->out_h == 64 && out->out_c == 3 && out->act == FS_ACT_SIGMOID,
          "last layer %s %dx%dx%d", out->name, out->out_h, out->out_w, out->out_c);
    CHECK(!strcmp(m.encoder.layers[4].name, "encoder.dense1") && m.encoder.layers[4].act == FS_ACT_NONE, "dense1");
    fs_model_free(&m);
    /* N identities, N decoders */
    CHECK(fs_config_set(&c, "model.identities=[A, B, C, D]", &e) == 0, "%s", e.msg);
    build(&m, &c);
    CHECK(m.n_decoders == 4 && m.n_params == 69662976 + 4 * (size_t)6199747, "4 identities: %zu", m.n_params);
    fs_model_free(&m);
}

/* ---------------------------------------------------------------- numerics on the tiny model */
typedef struct tiny {
    fs_model m;
    const fs_backend *be;
    float *target[FS_MAX_IDENTITIES], *dout[FS_MAX_IDENTITIES];
    size_t img; /* floats per image */
} tiny;

static void tiny_setup(tiny *t, int batch, uint64_t seed) {
    fs_config c;
    load(&c, tiny_yaml);
    build(&t->m, &c);
    t->be = fs_backend_cpu_ref();
    fs_model_alloc(&t->m, t->be, batch);
    fs_model_init_params(&t->m, seed);
    t->img = (size_t)t->m.resolution * t->m.resolution * 3;
    for (int i = 0; i < t->m.n_decoders; i++) {
        t->target[i] = t->be->alloc((size_t)batch * t->img * sizeof(float));
        t->dout[i] = t->be->alloc((size_t)batch * t->img * sizeof(float));
    }
}

static void tiny_free(tiny *t) {
    for (int i = 0; i < t->m.n_decoders; i++) t->be->free(t->target[i]), t->be->free(t->dout[i]);
    fs_model_free(&t->m);
}

/* Sample s of identity i gets input and target from a stream keyed by (i, s), so that two
 * models with different batch sizes see the same samples. */
static void tiny_data(tiny *t, int n) {
    float *buf = malloc(t->img * sizeof(float));
    for (int i = 0; i < t->m.n_decoders; i++) {
        for (int s = 0; s < n; s++) {
            fs_rng r;
            fs_rng_init(&r, 99, (uint64_t)i, (uint64_t)s);
            for (size_t j = 0; j < t->img; j++) buf[j] = (float)fs_rng_uniform(&r);
            t->be->upload(t->m.input + ((size_t)i * t->m.batch + s) * t->img, buf, t->img * sizeof(float));
            for (size_t j = 0; j < t->img; j++) buf[j] = (float)fs_rng_uniform(&r);
            t->be->upload(t->target[i] + (size_t)s * t->img, buf, t->img * sizeof(float));
        }
    }
    free(buf);
}

/* Sum over identities of the MSE loss; with grad, also d loss / d output into dout. */
static double tiny_loss(tiny *t, int n, int grad) {
    double loss = 0;
    int r = t->m.resolution;
    fs_model_forward(&t->m, n);
    for (int i = 0; i < t->m.n_decoders; i++) {
        if (grad) t->be->zero(t->dout[i], (size_t)n * t->img * sizeof(float));
        loss += t->be->mse(n, r, r, 3, fs_model_output(&t->m, i), t->target[i], grad ? t->dout[i] : NULL, 1.0f);
    }
    return loss;
}

typedef struct ready_log {
    size_t offs[256];
    int n;
} ready_log;

static void on_ready(void *ctx, size_t from) {
    ready_log *r = ctx;
    if (r->n < 256) r->offs[r->n++] = from;
}

static float *tiny_grads(tiny *t, int n, ready_log *log) {
    t->be->zero(t->m.grads, t->m.n_params * sizeof(float));
    tiny_loss(t, n, 1);
    fs_model_backward(&t->m, n, t->dout, log ? on_ready : NULL, log);
    float *g = malloc(t->m.n_params * sizeof(float));
    t->be->download(g, t->m.grads, t->m.n_params * sizeof(float));
    return g;
}

static double param_get(tiny *t, size_t i) {
    float v;
    t->be->download(&v, t->m.params + i, sizeof v);
    return v;
}
static void param_set(tiny *t, size_t i, double v) {
    float f = (float)v;
    t->be->upload(t->m.params + i, &f, sizeof f);
}

/* Central differences with eps = 1e-3 in float: the loss (~0.2) carries about 1e-8 of
 * rounding noise, i.e. ~1e-5 in the difference quotient, well under the gradients (1e-4 to
 * 1e-1); eps^2 truncation is ~1e-6. A perturbation can still cross a LeakyReLU kink and
 * spoil one difference, so up to 3% of the sampled parameters may miss the tolerance
 * |fd - analytic| <= 2e-4 + 3e-2 |analytic|. Samples: 6 weights and 2 biases of every layer. */
static void check_fd_layer(tiny *t, const fs_layer *L, const float *g, int n, int *checked, int *bad) {
    const double eps = 1e-3;
    fs_rng r;
    fs_rng_init(&r, 5, L->w_off, 0);
    for (int k = 0; k < 8; k++) {
        size_t i = k < 6 ? L->w_off + fs_rng_below(&r, (uint32_t)L->w_len) : L->b_off + fs_rng_below(&r, (uint32_t)L->b_len);
        double p = param_get(t, i);
        param_set(t, i, p + eps);
        double lp = tiny_loss(t, n, 0);
        param_set(t, i, p - eps);
        double lm = tiny_loss(t, n, 0);
        param_set(t, i, p);
        double fd = (lp - lm) / (2 * eps), an = g[i];
        (*checked)++;
        if (fabs(fd - an) > 2e-4 + 3e-2 * fabs(an)) {
            (*bad)++;
            fprintf(stderr, "  %s param %zu: finite difference %.6g, backward %.6g\n", L->name, i, fd, an);
        }
    }
}

static void test_gradients(void) {
    tiny t;
    const int n = 2;
    tiny_setup(&t, n, 3);
    tiny_data(&t, n);
    ready_log log = {.n = 0};
    float *g = tiny_grads(&t, n, &log);
    int checked = 0, bad = 0;
    const fs_net *nets[FS_MAX_IDENTITIES + 1] = {&t.m.encoder};
    for (int i = 0; i < t.m.n_decoders; i++) nets[i + 1] = &t.m.decoders[i];
    for (int k = 0; k <= t.m.n_decoders; k++)
        for (int l = 0; l < nets[k]->n_layers; l++)
            if (nets[k]->layers[l].w_len) check_fd_layer(&t, &nets[k]->layers[l], g, n, &checked, &bad);
    CHECK(bad * 100 <= 3 * checked, "%d of %d sampled gradients differ from finite differences", bad, checked);
    /* the ready callback: one call per layer with parameters, strictly decreasing, ending at 0 */
    int layers = 0;
    for (int k = 0; k <= t.m.n_decoders; k++)
        for (int l = 0; l < nets[k]->n_layers; l++) layers += nets[k]->layers[l].w_len > 0;
    CHECK(log.n == layers, "ready called %d times for %d layers", log.n, layers);
    for (int i = 1; i < log.n; i++) CHECK(log.offs[i] < log.offs[i - 1], "ready offsets not decreasing at %d", i);
    CHECK(log.n > 0 && log.offs[log.n - 1] == 0, "last ready offset is not 0");
    free(g);
    tiny_free(&t);
}

/* n < batch: identity i's samples sit at [i*batch, i*batch+n); results equal a batch-n model. */
static void test_partial_batch(void) {
    tiny full, part;
    const int n = 2;
    tiny_setup(&full, n, 4);
    tiny_setup(&part, n + 3, 4);
    tiny_data(&full, n);
    tiny_data(&part, n);
    float *gf = tiny_grads(&full, n, NULL), *gp = tiny_grads(&part, n, NULL);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < full.m.n_params; i++) {
        worst = fmax(worst, fabs(gf[i] - gp[i]));
        scale = fmax(scale, fabs(gf[i]));
    }
    CHECK(scale > 0 && worst <= 1e-5 * scale, "partial-batch gradients differ by %g (scale %g)", worst, scale);
    /* fs_model_infer gives decoder i's output of the forward pass */
    float *y = full.be->alloc((size_t)n * full.img * sizeof(float));
    float *a = malloc((size_t)n * full.img * sizeof(float)), *b = malloc((size_t)n * full.img * sizeof(float));
    fs_model_forward(&full.m, n);
    full.be->download(a, fs_model_output(&full.m, 1), (size_t)n * full.img * sizeof(float));
    fs_model_infer(&full.m, full.m.input + (size_t)n * full.img, n, 1, y);
    full.be->download(b, y, (size_t)n * full.img * sizeof(float));
    CHECK(!memcmp(a, b, (size_t)n * full.img * sizeof(float)), "infer differs from forward");
    full.be->free(y);
    free(a), free(b), free(gf), free(gp);
    tiny_free(&full);
    tiny_free(&part);
}

static float *params_of(tiny *t) {
    float *p = malloc(t->m.n_params * sizeof(float));
    t->be->download(p, t->m.params, t->m.n_params * sizeof(float));
    return p;
}

static void test_init(void) {
    tiny a, b;
    tiny_setup(&a, 1, 11);
    tiny_setup(&b, 1, 11);
    float *pa = params_of(&a), *pb = params_of(&b);
    CHECK(!memcmp(pa, pb, a.m.n_params * sizeof(float)), "same seed gave different parameters");
    fs_model_init_params(&b.m, 12);
    free(pb);
    pb = params_of(&b);
    size_t same = 0;
    for (size_t i = 0; i < a.m.n_params; i++) same += pa[i] == pb[i];
    const fs_layer *L = &a.m.encoder.layers[1]; /* conv2: 5x5x4 -> 8 */
    size_t biases = 0;
    for (int k = 0; k <= a.m.n_decoders; k++) {
        const fs_net *net = k ? &a.m.decoders[k - 1] : &a.m.encoder;
        for (int l = 0; l < net->n_layers; l++) biases += net->layers[l].b_len;
    }
    CHECK(same == biases, "another seed left %zu parameters unchanged, expected only the %zu biases", same, biases);
    double limit = sqrt(6.0 / (5 * 5 * 4)), sumsq = 0, most = 0;
    for (size_t i = 0; i < L->w_len; i++) {
        sumsq += (double)pa[L->w_off + i] * pa[L->w_off + i];
        most = fmax(most, fabs(pa[L->w_off + i]));
    }
    double var = sumsq / (double)L->w_len, want = limit * limit / 3;
    CHECK(most <= limit && most > 0.9 * limit, "conv2 weights reach %g, limit %g", most, limit);
    CHECK(fabs(var - want) < 0.15 * want, "conv2 weight variance %g, He-uniform gives %g", var, want);
    for (size_t i = 0; i < L->b_len; i++) CHECK(pa[L->b_off + i] == 0, "bias %zu is %g", i, pa[L->b_off + i]);
    free(pa), free(pb);
    tiny_free(&a);
    tiny_free(&b);
}

int main(void) {
    test_original();
    test_gradients();
    test_partial_batch();
    test_init();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("model tests passed\n");
    return failures ? 1 : 0;
}
