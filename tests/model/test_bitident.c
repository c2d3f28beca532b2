/* test_bitident.c — model_bitident: the model code trains configs/original-64.yaml and
 * configs/quickstart.yaml bit for bit as faceswarm did before the model became a graph
 * (main at 6d3861c, the chain of layers per net).
 *
 * For each config: build, allocate for a small batch on the fast CPU backend with ONE thread
 * (results are bit-identical run to run for a fixed thread count, kernels/cpu/cpu.h), He
 * init from a seed, then three full steps (synthetic input and target from fs_rng, MSE +
 * DSSIM into every identity's output gradient, backward with the ready callback, Keras-form
 * Adam), one partial-batch step (n = batch - 1: the encoder runs per identity segment) and
 * an fs_model_infer. What is compared: the checksum of the parameter buffer after each
 * step, of the gradients of the partial step, of the inferred images, every loss (exact
 * bits) and the sequence of ready offsets. The values were recorded from main with
 * `model_bitident --record CONFIG`.
 *
 * The fast CPU backend's sums depend on its GEMM's kernel set (fs_cpu_kernel_set: OpenBLAS's
 * core for the CPU, or the own GEMM's, FACESWARM_CPU_GEMM), so the values hold for the kernel
 * set they were recorded on (printed; the own GEMM's AVX-512 and AVX2 kernels count as one); on another one the test exits 77 (skipped) and
 * says so: record there with --record to compare a change on that machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "trainer/config.h"
#include "trainer/model.h"

#define STEPS 3

typedef struct ref {
    const char *config; /* file name under configs/ */
    int batch;
    const char *core; /* kernel set recorded on (fs_cpu_kernel_set) */
    uint64_t params[STEPS], grads_partial, infer, ready;
    const char *loss[STEPS]; /* "%a %a" per identity */
} ref;

static const ref REFS[] = {
#include "tests/model/bitident_refs.h"
};

typedef struct ready_log {
    uint64_t hash;
    size_t last;
    int calls, bad;
} ready_log;

static void on_ready(void *ctx, size_t from) {
    ready_log *r = ctx;
    if (r->calls && from >= r->last) r->bad = 1;
    r->last = from, r->calls++;
    r->hash = fs_mix64(r->hash ^ (uint64_t)from);
}

static uint64_t sum_of(const fs_backend *be, const float *dev, size_t n) {
    float *h = fs_malloc(n * sizeof(float));
    be->download(h, dev, n * sizeof(float));
    uint64_t s = fs_checksum64(h, n * sizeof(float));
    free(h);
    return s;
}

static void fill(float *host, size_t n, uint64_t stream, uint64_t step) {
    fs_rng r;
    fs_rng_init(&r, 4242, stream, step);
    for (size_t i = 0; i < n; i++) host[i] = (float)fs_rng_uniform(&r);
}

typedef struct got {
    uint64_t params[STEPS], grads_partial, infer, ready;
    char loss[STEPS][128];
    int ready_bad;
} got;

/* One step: fresh data, forward of n samples per identity, losses, backward. */
static void step(fs_model *m, int n, int s, float **dout, float *target, float *host, char *loss, size_t loss_len,
                 ready_log *rl) {
    const fs_backend *be = m->be;
    int res = m->resolution, ids = m->n_decoders;
    size_t img = (size_t)res * res * 3, all = (size_t)ids * m->batch * img;
    fill(host, all, 1, (uint64_t)s);
    be->upload(m->input, host, all * sizeof(float));
    fill(host, all, 2, (uint64_t)s);
    be->upload(target, host, all * sizeof(float));
    fs_model_forward(m, n);
    size_t len = 0;
    loss[0] = 0;
    for (int i = 0; i < ids; i++) {
        const float *pred = fs_model_output(m, i), *tgt = target + (size_t)i * m->batch * img;
        be->zero(dout[i], img * (size_t)n * sizeof(float));
        double l = be->mse(n, res, res, 3, pred, tgt, dout[i], 1.0f);
        l += be->dssim(n, res, res, 3, FS_DSSIM_WIN, pred, tgt, dout[i], 1.0f);
        len += (size_t)snprintf(loss + len, loss_len - len, "%s%a", i ? " " : "", l);
    }
    be->zero(m->grads, m->n_params * sizeof(float));
    fs_model_backward(m, n, dout, NULL, rl ? on_ready : NULL, rl);
}

static int run(const char *path, int batch, got *g) {
    fs_config c;
    fs_error e = {0};
    fs_model m;
    if (fs_config_load(&c, path, &e) || fs_model_build(&m, &c, &e)) {
        printf("FAIL: %s: %s\n", path, e.msg);
        return 1;
    }
    const fs_backend *be = fs_backend_cpu();
    fs_cpu_set_threads(1);
    fs_model_alloc(&m, be, batch);
    fs_model_init_params(&m, c.train.seed);
    int res = m.resolution, ids = m.n_decoders;
    size_t img = (size_t)res * res * 3, all = (size_t)ids * batch * img;
    float *host = fs_malloc(all * sizeof(float)), *target = be->alloc(all * sizeof(float));
    float *dout[FS_MAX_IDENTITIES];
    for (int i = 0; i < ids; i++) dout[i] = be->alloc(img * (size_t)batch * sizeof(float));
    ready_log rl = {0};
    memset(g, 0, sizeof *g);
    for (int s = 0; s < STEPS; s++) {
        step(&m, batch, s, dout, target, host, g->loss[s], sizeof g->loss[s], s == 0 ? &rl : NULL);
        fs_adam_args a = {.lr = 1e-4,
                          .beta1 = 0.9,
                          .beta2 = 0.999,
                          .eps = 1e-7,
                          .step = s + 1,
                          .grad_scale = 1.0f,
                          .weight_decay = 0.0f,
                          .variant = FS_ADAM_KERAS};
        be->adam(m.n_params, m.params, m.grads, m.adam_m, m.adam_v, &a);
        g->params[s] = sum_of(be, m.params, m.n_params);
    }
    char partial[128];
    step(&m, batch - 1, STEPS, dout, target, host, partial, sizeof partial, NULL);
    g->grads_partial = sum_of(be, m.grads, m.n_params);
    float *y = be->alloc(img * (size_t)batch * sizeof(float));
    fs_model_infer(&m, m.input, batch, ids - 1, y);
    g->infer = sum_of(be, y, img * (size_t)batch);
    g->ready = rl.hash, g->ready_bad = rl.bad || rl.last != 0;
    be->free(y), be->free(target);
    for (int i = 0; i < ids; i++) be->free(dout[i]);
    free(host);
    fs_model_free(&m);
    return 0;
}

static void print_record(const char *name, int batch, const got *g) {
    printf("    {\"%s\", %d, \"%s\",\n     {", name, batch, fs_cpu_kernel_set());
    for (int s = 0; s < STEPS; s++) printf("%s0x%016llxull", s ? ", " : "", (unsigned long long)g->params[s]);
    printf("},\n     0x%016llxull, 0x%016llxull, 0x%016llxull,\n     {", (unsigned long long)g->grads_partial,
           (unsigned long long)g->infer, (unsigned long long)g->ready);
    for (int s = 0; s < STEPS; s++) printf("%s\"%s\"", s ? ", " : "", g->loss[s]);
    printf("}},\n");
}

static int check(const char *dir, const ref *r) {
    char path[2048];
    snprintf(path, sizeof path, "%s/configs/%s", dir, r->config);
    got g;
    if (run(path, r->batch, &g)) return 1;
    int bad = 0;
    for (int s = 0; s < STEPS; s++) {
        if (g.params[s] != r->params[s])
            bad++, printf("FAIL: %s: parameters after step %d: checksum %016llx, recorded %016llx\n", r->config, s + 1,
                          (unsigned long long)g.params[s], (unsigned long long)r->params[s]);
        if (strcmp(g.loss[s], r->loss[s]))
            bad++, printf("FAIL: %s: losses of step %d: %s, recorded %s\n", r->config, s + 1, g.loss[s], r->loss[s]);
    }
    if (g.grads_partial != r->grads_partial)
        bad++, printf("FAIL: %s: gradients of the partial batch differ from the recorded ones\n", r->config);
    if (g.infer != r->infer)
        bad++, printf("FAIL: %s: fs_model_infer's images differ from the recorded ones\n", r->config);
    if (g.ready != r->ready || g.ready_bad)
        bad++, printf("FAIL: %s: the ready offsets differ from the recorded sequence (or do not decrease to 0)\n",
                      r->config);
    if (!bad) printf("ok: %s: %d steps bit-identical to the recorded run\n", r->config, STEPS);
    return bad;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--record")) {
        got g;
        const char *name = strrchr(argv[2], '/') ? strrchr(argv[2], '/') + 1 : argv[2];
        if (run(argv[2], atoi(argv[3]), &g)) return 1;
        print_record(name, atoi(argv[3]), &g);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: model_bitident SOURCE_DIR | --record CONFIG BATCH\n");
        return 2;
    }
    const char *core = fs_cpu_kernel_set();
    int bad = 0, compared = 0;
    for (size_t i = 0; i < sizeof REFS / sizeof REFS[0]; i++) {
        if (!fs_cpu_kernel_sets_agree(REFS[i].core, core)) {
            printf("note: %s was recorded with kernel set %s, this run uses %s\n", REFS[i].config, REFS[i].core, core);
            continue;
        }
        bad += check(argv[1], &REFS[i]), compared++;
    }
    if (!compared) {
        printf("SKIP: no values recorded for kernel set %s (record them: model_bitident --record CONFIG BATCH)\n",
               core);
        return 77;
    }
    if (bad) printf("model_bitident: %d checks FAILED\n", bad);
    return bad ? 1 : 0;
}
