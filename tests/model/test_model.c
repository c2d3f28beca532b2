/* test_model.c — the model graph: building, initialisation, forward and backward.
 *
 * - faceswap's "original" 64 px model: 82,062,470 parameters, encoder 69,662,976, each
 *   decoder 6,199,747 (figures from faceswap, DESIGN.md), about 3.8 GFLOP forward;
 * - the parameter buffer is contiguous in node order;
 * - the backward pass of tiny models of every architecture (original with 3 identities; df
 *   and liae with the u, d, t flags: residual adds, fan-out of the decoder input into the
 *   image and mask paths, concat, pixel norm, LIAE's shared decoder) and of a hand-made graph
 *   matches central finite differences of an MSE loss on the images and the masks;
 * - the ready callback's offsets strictly decrease and end at 0;
 * - a partial batch (n < batch) gives the same outputs and gradients as a full one, and
 *   fs_model_infer gives the forward pass's output;
 * - initialisation is He-uniform (original) / Glorot-uniform (df, liae), identical for one
 *   seed and different for another. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/arch.h"
#include "trainer/config.h"
#include "trainer/model.h"

#include "tests/check.h"
#include "tests/model/tiny_graph.h"

static const char *tiny_yaml = "model:\n  resolution: 16\n  identities: [A, B, C]\n  encoder_filters: [4, 8]\n"
                               "  dense: 8\n  bottleneck_filters: 4\n  encoder_upscale: [4]\n  decoder_filters: [4]\n"
                               "  leaky_alpha: 0.1\n";
#define SAEHD_TINY "  resolution: 64\n  ae_dims: 4\n  e_dims: 2\n  d_dims: 2\n  d_mask_dims: 2\n"
static const char *df_ud_yaml = "model:\n  arch: df\n  archi_flags: ud\n" SAEHD_TINY;
static const char *df_t_yaml = "model:\n  arch: df\n  archi_flags: t\n  identities: [A, B, C]\n" SAEHD_TINY;
static const char *liae_ud_yaml = "model:\n  arch: liae\n  archi_flags: ud\n" SAEHD_TINY;
static const char *liae_dt_yaml = "model:\n  arch: liae\n  archi_flags: dt\n" SAEHD_TINY;

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

static int find(const fs_model *m, const char *name) {
    for (int j = 0; j < m->n_nodes; j++)
        if (!strcmp(m->nodes[j].name, name)) return j;
    return -1;
}

/* ---------------------------------------------------------------- the graph */
static void check_layout(const fs_model *m) {
    size_t off = 0;
    for (int j = 0; j < m->n_nodes; j++) {
        const fs_node *X = &m->nodes[j];
        if (!X->w_len) continue;
        CHECK(X->w_off == off && X->b_off == off + X->w_len, "%s offsets", X->name);
        off += X->w_len + X->b_len;
    }
    CHECK(off == m->n_params, "nodes cover %zu of %zu parameters", off, m->n_params);
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
    CHECK(fs_model_part_params(&m, "encoder") == 69662976, "encoder has %zu", fs_model_part_params(&m, "encoder"));
    CHECK(fs_model_part_params(&m, "decoder_A") == 6199747 && fs_model_part_params(&m, "decoder_B") == 6199747,
          "decoders %zu %zu", fs_model_part_params(&m, "decoder_A"), fs_model_part_params(&m, "decoder_B"));
    double gf = fs_model_forward_flops(&m) / 1e9;
    CHECK(gf > 3.7 && gf < 3.9, "forward GFLOP per image %.3f, faceswap's figure is about 3.8", gf);
    check_layout(&m);
    const fs_node *out = &m.nodes[m.output[1]];
    CHECK(!strcmp(out->name, "decoder_B.output") && out->h == 64 && out->c == 3 && out->act == FS_ACT_SIGMOID,
          "identity B's output %s %dx%dx%d", out->name, out->h, out->w, out->c);
    int d1 = find(&m, "encoder.dense1");
    CHECK(d1 >= 0 && m.nodes[d1].kind == FS_NODE_DENSE && m.nodes[d1].act == FS_ACT_NONE, "dense1");
    CHECK(m.mask[0] < 0 && fs_model_part_params(&m, "input") == 0, "original has no mask");
    fs_model_free(&m);
    /* N identities, N decoders */
    CHECK(fs_config_set(&c, "model.identities=[A, B, C, D]", &e) == 0, "%s", e.msg);
    build(&m, &c);
    CHECK(m.n_decoders == 4 && m.n_params == 69662976 + 4 * (size_t)6199747, "4 identities: %zu", m.n_params);
    fs_model_free(&m);
}

/* DeepFaceLab's parameter counts for the same SAEHD options, by hand from the layers of its
 * DeepFakeArchi.py (Conv2D: k*k*in*out + out, Dense: in*out + out; Upscale: conv 3x3 to 4C;
 * ResidualBlock: two 3x3 convs; the mask path; -d's three extra output convs): total and per
 * part, for the shipped configs and a few more options. */
typedef struct dfl_count {
    const char *config, *sets[4];
    size_t total, encoder, inter, inter2, decoder; /* liae: inter = inter_AB, inter2 = inter_B */
} dfl_count;

static const dfl_count DFL[] = {
    {"df-ud-128.yaml", {NULL}, 54470998, 4306560, 11801856, 0, 19181291},
    {"liae-ud-256.yaml", {NULL}, 145340267, 4306560, 51415296, 51415296, 38203115},
    {"quickstart-liae.yaml", {NULL}, 1103601, 67920, 188960, 188960, 657761},
    {"df-ud-128.yaml", {"model.archi_flags=", NULL}, 57538432, 4306560, 14959872, 0, 19136000},
    {"liae-ud-256.yaml",
     {"model.archi_flags=udt", "model.resolution=128", NULL},
     77537451,
     15654144,
     4202752,
     4202752,
     53477803},
    {"df-ud-128.yaml", {"model.archi_flags=t", "model.resolution=256", NULL}, 109707136, 15654144, 25231616, 0, 34410688},
};

static void test_saehd_counts(void) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    for (size_t i = 0; i < sizeof DFL / sizeof DFL[0]; i++) {
        const dfl_count *d = &DFL[i];
        char path[1024];
        snprintf(path, sizeof path, "%s/configs/%s", src ? src : "..", d->config);
        fs_config c;
        fs_model m;
        fs_error e = {0};
        int rc = fs_config_load(&c, path, &e);
        for (int k = 0; !rc && d->sets[k]; k++) rc = fs_config_set(&c, d->sets[k], &e);
        if (!rc) rc = fs_model_build(&m, &c, &e);
        CHECK(rc == 0, "%s: %s", d->config, e.msg);
        if (rc) continue;
        int liae = !strcmp(c.model.arch, "liae");
        size_t enc = fs_model_part_params(&m, "encoder"), in1 = fs_model_part_params(&m, liae ? "inter_AB" : "inter");
        size_t in2 = liae ? fs_model_part_params(&m, "inter_B") : 0;
        size_t dec = fs_model_part_params(&m, liae ? "decoder" : "decoder_A");
        CHECK(m.n_params == d->total && enc == d->encoder && in1 == d->inter && in2 == d->inter2 && dec == d->decoder,
              "%s %s %s: %zu parameters (encoder %zu, inter %zu + %zu, decoder %zu); DeepFaceLab has %zu (%zu, %zu + "
              "%zu, %zu)",
              d->config, d->sets[0] ? d->sets[0] : "", d->sets[1] ? d->sets[1] : "", m.n_params, enc, in1, in2, dec,
              d->total, d->encoder, d->inter, d->inter2, d->decoder);
        if (!liae) CHECK(fs_model_part_params(&m, "decoder_B") == d->decoder, "%s: decoder_B", d->config);
        for (int id = 0; id < m.n_decoders; id++)
            CHECK(m.mask[id] >= 0 && m.nodes[m.mask[id]].h == c.model.resolution && m.nodes[m.mask[id]].c == 1 &&
                      m.nodes[m.output[id]].h == c.model.resolution && m.nodes[m.output[id]].c == 3,
                  "%s: identity %d's outputs", d->config, id);
        fs_model_free(&m);
    }
}

/* ---------------------------------------------------------------- numerics on tiny models */
typedef struct tiny {
    fs_model m;
    const fs_backend *be;
    float *target[FS_MAX_IDENTITIES], *dout[FS_MAX_IDENTITIES];
    float *mtarget[FS_MAX_IDENTITIES], *dmask[FS_MAX_IDENTITIES];
    size_t img; /* floats per image */
} tiny;

static void tiny_alloc(tiny *t, int batch, uint64_t seed) {
    t->be = fs_backend_cpu_ref();
    fs_model_alloc(&t->m, t->be, batch);
    fs_model_init_params(&t->m, seed);
    t->img = (size_t)t->m.resolution * t->m.resolution * 3;
    for (int i = 0; i < t->m.n_decoders; i++) {
        t->target[i] = t->be->alloc((size_t)batch * t->img * sizeof(float));
        t->dout[i] = t->be->alloc((size_t)batch * t->img * sizeof(float));
        t->mtarget[i] = t->be->alloc((size_t)batch * t->img / 3 * sizeof(float));
        t->dmask[i] = t->be->alloc((size_t)batch * t->img / 3 * sizeof(float));
    }
}

static void tiny_setup(tiny *t, const char *yaml, int batch, uint64_t seed) {
    fs_config c;
    load(&c, yaml);
    build(&t->m, &c);
    tiny_alloc(t, batch, seed);
}

static void tiny_free(tiny *t) {
    for (int i = 0; i < t->m.n_decoders; i++) {
        t->be->free(t->target[i]), t->be->free(t->dout[i]);
        t->be->free(t->mtarget[i]), t->be->free(t->dmask[i]);
    }
    fs_model_free(&t->m);
}

/* Sample s of identity i gets input and targets from a stream keyed by (i, s), so that two
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
            t->be->upload(t->mtarget[i] + (size_t)s * t->img / 3, buf, t->img / 3 * sizeof(float));
        }
    }
    free(buf);
}

/* Sum over identities of the MSE losses of images and masks; with grad, also their
 * gradients into dout and dmask. */
static double tiny_loss(tiny *t, int n, int grad) {
    double loss = 0;
    int r = t->m.resolution;
    fs_model_forward(&t->m, n);
    for (int i = 0; i < t->m.n_decoders; i++) {
        if (grad) t->be->zero(t->dout[i], (size_t)n * t->img * sizeof(float));
        loss += t->be->mse(n, r, r, 3, fs_model_output(&t->m, i), t->target[i], grad ? t->dout[i] : NULL, 1.0f);
        const float *mask = fs_model_mask(&t->m, i);
        if (!mask) continue;
        if (grad) t->be->zero(t->dmask[i], (size_t)n * t->img / 3 * sizeof(float));
        loss += t->be->mse(n, r, r, 1, mask, t->mtarget[i], grad ? t->dmask[i] : NULL, 1.0f);
    }
    return loss;
}

typedef struct ready_log {
    size_t offs[1024];
    int n;
} ready_log;

static void on_ready(void *ctx, size_t from) {
    ready_log *r = ctx;
    if (r->n < 1024) r->offs[r->n++] = from;
}

static float *tiny_grads(tiny *t, int n, ready_log *log) {
    t->be->zero(t->m.grads, t->m.n_params * sizeof(float));
    tiny_loss(t, n, 1);
    fs_model_backward(&t->m, n, t->dout, t->m.mask[0] >= 0 ? t->dmask : NULL, log ? on_ready : NULL, log);
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
 * |fd - analytic| <= 2e-4 + 3e-2 |analytic|. Samples: `per` weights and 2 biases of a node.
 * The SAEHD models' narrow deep stages (2 to 4 channels at 64 px after 9 to 13 layers) hold
 * many pre-activations within 1e-3 x |w| of a kink: they use eps = 2e-4 (noise ~5e-5). */
static void check_fd_node(tiny *t, const fs_node *X, const float *g, int n, int per, double eps, int *checked,
                          int *bad) {
    fs_rng r;
    fs_rng_init(&r, 5, X->w_off, 0);
    for (int k = 0; k < per + 2; k++) {
        size_t i =
            k < per ? X->w_off + fs_rng_below(&r, (uint32_t)X->w_len) : X->b_off + fs_rng_below(&r, (uint32_t)X->b_len);
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
            fprintf(stderr, "  %s param %zu: finite difference %.6g, backward %.6g\n", X->name, i, fd, an);
        }
    }
}

/* Finite differences on every node with parameters (with shards > 1: those whose index among
 * them is shard mod shards, one ctest entry a shard, the 3% allowance applied to each
 * shard's samples), and the ready callback: strictly decreasing, ending at 0. */
static void check_gradients_shard(tiny *t, const char *what, int n, int per, double eps, int shard, int shards) {
    tiny_data(t, n);
    ready_log log = {.n = 0};
    float *g = tiny_grads(t, n, &log);
    int checked = 0, bad = 0, nodes = 0;
    for (int j = 0; j < t->m.n_nodes; j++)
        if (t->m.nodes[j].w_len && nodes++ % shards == shard)
            check_fd_node(t, &t->m.nodes[j], g, n, per, eps, &checked, &bad);
    CHECK(bad * 100 <= 3 * checked, "%s: %d of %d sampled gradients differ from finite differences", what, bad,
          checked);
    CHECK(log.n >= 1 && log.n <= nodes, "%s: ready called %d times for %d nodes with parameters", what, log.n, nodes);
    for (int i = 1; i < log.n; i++)
        CHECK(log.offs[i] < log.offs[i - 1], "%s: ready offsets not decreasing at %d", what, i);
    CHECK(log.n > 0 && log.offs[log.n - 1] == 0, "%s: last ready offset is not 0", what);
    printf("%s: %d gradients of %d nodes checked (shard %d of %d), %d outside the tolerance\n", what, checked, nodes,
           shard + 1, shards, bad);
    free(g);
}

static void check_gradients(tiny *t, const char *what, int n, int per, double eps) {
    check_gradients_shard(t, what, n, per, eps, 0, 1);
}

static void test_gradients_shard(const char *what, const char *yaml, int per, double eps, int shard, int shards) {
    tiny t;
    tiny_setup(&t, yaml, 1, 3);
    check_gradients_shard(&t, what, 1, per, eps, shard, shards);
    tiny_free(&t);
}
static void test_gradients(const char *what, const char *yaml, int per, double eps) {
    test_gradients_shard(what, yaml, per, eps, 0, 1);
}

/* The hand-made graph of tiny_graph.h (fan-out, add, concat, pixel norm, leaky, sigmoid,
 * shared parameters) through finite differences. */
static void test_graph(void) {
    tiny t;
    int up = tiny_graph_build(&t.m);
    const fs_model *m = &t.m;
    int copy = -1;
    for (int j = up + 1; j < m->n_nodes; j++)
        if (!strcmp(m->nodes[j].name, "dec1.up")) copy = j;
    CHECK(copy > 0 && m->nodes[copy].shares == up && m->nodes[copy].w_len == 0, "dec1.up shares dec0.up");
    tiny_alloc(&t, 2, 21);
    check_gradients(&t, "hand-made graph", 2, 6, 1e-3);
    tiny_free(&t);
}

/* n < batch: identity i's samples sit at [i*batch, i*batch+n); results equal a batch-n model. */
static void test_partial_batch(const char *what, const char *yaml) {
    tiny full, part;
    const int n = 2;
    tiny_setup(&full, yaml, n, 4);
    tiny_setup(&part, yaml, n + 3, 4);
    tiny_data(&full, n);
    tiny_data(&part, n);
    float *gf = tiny_grads(&full, n, NULL), *gp = tiny_grads(&part, n, NULL);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < full.m.n_params; i++) {
        worst = fmax(worst, fabs(gf[i] - gp[i]));
        scale = fmax(scale, fabs(gf[i]));
    }
    CHECK(scale > 0 && worst <= 1e-5 * scale, "%s: partial-batch gradients differ by %g (scale %g)", what, worst,
          scale);
    /* fs_model_infer gives identity 1's output (and mask) of the forward pass */
    size_t bytes = (size_t)n * full.img * sizeof(float);
    float *y = full.be->alloc(bytes), *ym = full.be->alloc(bytes / 3);
    float *a = malloc(bytes), *b = malloc(bytes), *am = malloc(bytes / 3), *bm = malloc(bytes / 3);
    fs_model_forward(&full.m, n);
    full.be->download(a, fs_model_output(&full.m, 1), bytes);
    if (fs_model_mask(&full.m, 1)) full.be->download(am, fs_model_mask(&full.m, 1), bytes / 3);
    fs_model_infer_mask(&full.m, full.m.input + (size_t)n * full.img, n, 1, y, ym);
    full.be->download(b, y, bytes);
    CHECK(!memcmp(a, b, bytes), "%s: infer differs from forward", what);
    if (fs_model_mask(&full.m, 1)) {
        full.be->download(bm, ym, bytes / 3);
        CHECK(!memcmp(am, bm, bytes / 3), "%s: infer's mask differs from forward's", what);
    }
    full.be->free(y), full.be->free(ym);
    free(a), free(b), free(am), free(bm), free(gf), free(gp);
    tiny_free(&full);
    tiny_free(&part);
}

static float *params_of(tiny *t) {
    float *p = malloc(t->m.n_params * sizeof(float));
    t->be->download(p, t->m.params, t->m.n_params * sizeof(float));
    return p;
}

/* Same seed, same parameters; another seed changes every weight; the weights of `node` fill
 * U(-limit, limit) with its variance limit^2 / 3; biases are zero. */
static void test_init(const char *yaml, const char *node, double limit) {
    tiny a, b;
    tiny_setup(&a, yaml, 1, 11);
    tiny_setup(&b, yaml, 1, 11);
    float *pa = params_of(&a), *pb = params_of(&b);
    CHECK(!memcmp(pa, pb, a.m.n_params * sizeof(float)), "same seed gave different parameters");
    fs_model_init_params(&b.m, 12);
    free(pb);
    pb = params_of(&b);
    size_t same = 0, biases = 0;
    for (size_t i = 0; i < a.m.n_params; i++) same += pa[i] == pb[i];
    for (int j = 0; j < a.m.n_nodes; j++) biases += a.m.nodes[j].b_len;
    CHECK(same == biases, "another seed left %zu parameters unchanged, expected only the %zu biases", same, biases);
    int j = find(&a.m, node);
    CHECK(j >= 0, "no node %s", node);
    if (j >= 0) {
        const fs_node *L = &a.m.nodes[j];
        double sumsq = 0, most = 0;
        for (size_t i = 0; i < L->w_len; i++) {
            sumsq += (double)pa[L->w_off + i] * pa[L->w_off + i];
            most = fmax(most, fabs(pa[L->w_off + i]));
        }
        double var = sumsq / (double)L->w_len, want = limit * limit / 3;
        CHECK(most <= limit && most > 0.9 * limit, "%s weights reach %g, limit %g", node, most, limit);
        CHECK(fabs(var - want) < 0.15 * want, "%s weight variance %g, expected %g", node, var, want);
        for (size_t i = 0; i < L->b_len; i++) CHECK(pa[L->b_off + i] == 0, "bias %zu is %g", i, pa[L->b_off + i]);
    }
    free(pa), free(pb);
    tiny_free(&a);
    tiny_free(&b);
}

/* The parts, each its own ctest entry (tests/model.cmake: model_unit_NAME, run in parallel);
 * no argument runs them all. */
static void part_graph(void) {
    test_original();
    test_saehd_counts();
    test_graph();
    test_init(tiny_yaml, "encoder.conv2", sqrt(6.0 / (5 * 5 * 4)));              /* He: 5x5x4 -> 8 */
    test_init(df_ud_yaml, "encoder.down2", sqrt(6.0 / (5 * 5 * 2 + 5 * 5 * 4))); /* Glorot: 5x5x2 -> 4 */
}
static void part_grad_original(void) { test_gradients("original, 3 identities", tiny_yaml, 6, 1e-3); }
static void part_grad_df_ud(void) { test_gradients("df-ud", df_ud_yaml, 2, 2e-4); }
/* df-t (full-resolution decoders for 3 identities, 65 nodes) is the slowest: 3 shards. */
static void part_grad_df_t(int shard) { test_gradients_shard("df-t, 3 identities", df_t_yaml, 1, 2e-4, shard, 3); }
static void part_grad_df_t1(void) { part_grad_df_t(0); }
static void part_grad_df_t2(void) { part_grad_df_t(1); }
static void part_grad_df_t3(void) { part_grad_df_t(2); }
static void part_grad_liae_ud(void) { test_gradients("liae-ud", liae_ud_yaml, 2, 2e-4); }
static void part_grad_liae_dt(void) { test_gradients("liae-dt", liae_dt_yaml, 1, 2e-4); }
static void part_partial(void) {
    test_partial_batch("original", tiny_yaml);
    test_partial_batch("liae-ud", liae_ud_yaml);
}

static const struct {
    const char *name;
    void (*run)(void);
} PARTS[] = {
    {"graph", part_graph},
    {"grad_original", part_grad_original},
    {"grad_df_ud", part_grad_df_ud},
    {"grad_df_t1", part_grad_df_t1},
    {"grad_df_t2", part_grad_df_t2},
    {"grad_df_t3", part_grad_df_t3},
    {"grad_liae_ud", part_grad_liae_ud},
    {"grad_liae_dt", part_grad_liae_dt},
    {"partial", part_partial},
};

int main(int argc, char **argv) {
    int ran = 0;
    for (size_t i = 0; i < sizeof PARTS / sizeof PARTS[0]; i++)
        if (argc < 2 || !strcmp(argv[1], PARTS[i].name)) PARTS[i].run(), ran++;
    if (!ran) {
        fprintf(stderr,
                "model_unit: no part '%s'\n  hint: graph, grad_original, grad_df_ud, grad_df_t1..3, "
                "grad_liae_ud, grad_liae_dt, partial (none: all)\n",
                argv[1]);
        return 2;
    }
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("model tests passed\n");
    return failures ? 1 : 0;
}
