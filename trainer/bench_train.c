/* bench_train.c — `faceswarm bench train`: images/s of whole training steps and the split
 * of a step's time, for the quickstart and original-64 models (or the configs named).
 *
 * Batches are random faces made in memory, so the figures are the compute path's (the
 * loader's own rate is `faceswarm bench loader`); "upload" is the uint8 -> float batch
 * conversion the trainer does every step. Under mpirun with P > 1 ranks it also measures
 * weak scaling in the same run: rank 0 alone first (the others wait), then all P ranks with
 * the same per-rank batch, each rank on one thread; efficiency = rate(P) / (P * rate(1)).
 * A last row runs every rank alone at the same time: what the cores reach with no
 * communication at all, separating the machine's own scaling limit from faceswarm's. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comms/allreduce.h"
#include "comms/world.h"
#include "kernels/cpu/cpu.h"
#include "trainer/cli.h"
#include "trainer/train.h"

typedef struct bench_row {
    double img_s, step_ms, upload_ms, fwd_ms, bwd_ms, comm_ms, opt_ms;
    double loss0, loss1; /* first and last step's loss: the steps must train */
    char path[96];       /* the gradient all-reduce's path */
} bench_row;

typedef struct bench_opts {
    int steps, batch, json, threads;
} bench_opts;

static void random_batch(uint8_t *x, size_t n, uint64_t seed) {
    fs_rng r;
    fs_rng_init(&r, seed, 7, 0);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = fs_rng_u64(&r);
        for (size_t k = 0; k < 8 && i + k < n; k++) x[i + k] = (uint8_t)(v >> (8 * k));
    }
}

/* Runs warm-up + o->steps steps on world w (a sub-world of one rank for the baseline). */
static int bench_steps(fs_world *w, const fs_config *cfg, const bench_opts *o, fs_allreduce_mode mode, bench_row *row,
                       fs_error *e) {
    fs_model m;
    int rc = fs_model_build(&m, cfg, e);
    if (rc) return rc;
    const fs_backend *be = fs_backend_cpu();
    fs_model_alloc(&m, be, o->batch);
    fs_model_init_params(&m, cfg->train.seed);
    fs_step_buffers sb;
    fs_step_buffers_alloc(&sb, &m);
    size_t n = (size_t)m.n_decoders * o->batch * m.resolution * m.resolution * 3;
    uint8_t *in = fs_malloc(n), *tg = fs_malloc(n);
    random_batch(in, n, 1 + (uint64_t)w->rank);
    memcpy(tg, in, n);
    fs_allreduce *ar;
    float *grads = m.grads;
    if ((rc = fs_allreduce_init(&ar, w, &grads, m.n_params, (size_t)(cfg->comms.bucket_mb * 1e6), mode, e))) return rc;
    fs_model_use_grads(&m, grads); /* the shm path computes them in the node's shared region */
    snprintf(row->path, sizeof row->path, "%s", fs_allreduce_path(ar));
    double t_all = 0;
    for (int s = -1; s < o->steps && !rc; s++) { /* s = -1: warm-up, not timed */
        double t0 = fs_now();
        be->u8_to_float(n, in, m.input);
        be->u8_to_float(n, tg, sb.target);
        double t1 = fs_now();
        be->zero(m.grads, sizeof(float) * m.n_params);
        double loss = fs_step_forward_loss(&m, cfg, &sb, o->batch);
        double t2 = fs_now();
        fs_allreduce_begin(ar);
        fs_model_backward(&m, o->batch, sb.dout, fs_allreduce_ready_cb, ar);
        double t3 = fs_now();
        fs_allreduce_stats st;
        rc = fs_allreduce_finish(ar, 300, &st, e);
        double t4 = fs_now();
        fs_adam_args a = {.lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-7f, .step = s + 2,
                          .grad_scale = 1.0f / (float)w->size};
        be->adam(m.n_params, m.params, m.grads, m.adam_m, m.adam_v, &a);
        double t5 = fs_now();
        if (s == 0) row->loss0 = loss;
        row->loss1 = loss;
        if (s < 0) continue;
        t_all += t5 - t0;
        row->upload_ms += 1e3 * (t1 - t0), row->fwd_ms += 1e3 * (t2 - t1), row->bwd_ms += 1e3 * (t3 - t2);
        row->comm_ms += 1e3 * (t4 - t3), row->opt_ms += 1e3 * (t5 - t4);
    }
    double k = 1.0 / o->steps;
    row->step_ms = 1e3 * t_all * k;
    row->upload_ms *= k, row->fwd_ms *= k, row->bwd_ms *= k, row->comm_ms *= k, row->opt_ms *= k;
    row->img_s = (double)m.n_decoders * o->batch * w->size / (t_all * k);
    fs_step_buffers_free(&sb, &m);
    fs_model_free(&m); /* before the region its gradients live in */
    fs_allreduce_free(ar);
    free(in);
    free(tg);
    return rc;
}

static void print_row(const char *name, int ranks, int threads, const bench_opts *o, const bench_row *r, double eff,
                      int json) {
    if (json) {
        printf("{\"config\":\"%s\",\"ranks\":%d,\"threads\":%d,\"batch_per_rank\":%d,\"images_per_s\":%.2f,"
               "\"step_ms\":%.2f,\"upload_ms\":%.2f,\"forward_ms\":%.2f,\"backward_ms\":%.2f,\"comm_wait_ms\":%.2f,"
               "\"optimizer_ms\":%.2f,\"efficiency\":%.3f,\"allreduce\":\"%s\"}\n", name, ranks, threads, o->batch, r->img_s,
               r->step_ms, r->upload_ms, r->fwd_ms, r->bwd_ms, r->comm_ms, r->opt_ms, eff, r->path);
        return;
    }
    char effs[16] = "-";
    if (eff > 0) snprintf(effs, sizeof effs, "%.1f%%", 100 * eff);
    printf("%-16s %5d %7d %6d %9.2f %9.1f %8.1f %8.1f %8.1f %8.1f %8.1f %6.1f%% %7s\n", name, ranks, threads,
           o->batch, r->img_s, r->step_ms, r->upload_ms, r->fwd_ms, r->bwd_ms, r->comm_ms, r->opt_ms,
           100 * r->comm_ms / r->step_ms, effs);
}

/* The machine's own limit on weak scaling: every rank trains alone at the same time (a world
 * of one each, no communication), so cores share memory bandwidth, caches and clock exactly
 * as in the P-rank run. P x this rank-0 rate is what P ranks could reach with free
 * communication; the data-parallel run's fraction of it is the cost of faceswarm's own
 * synchronisation. Printed as a row "Px1" with that fraction. */
static int bench_independent(fs_world *w, const fs_config *cfg, const bench_opts *o, const char *name, int threads,
                             double together_img_s, fs_error *e) {
    fs_world alone = *w;
    MPI_Comm_split(w->comm, w->rank, 0, &alone.comm);
    alone.size = 1, alone.rank = 0;
    bench_row ind = {0};
    int rc = bench_steps(&alone, cfg, o, FS_ALLREDUCE_AUTO, &ind, e), any = 0;
    MPI_Comm_free(&alone.comm);
    MPI_Allreduce(&rc, &any, 1, MPI_INT, MPI_MAX, w->comm);
    if (any) return rc ? rc : FS_EXIT_FAIL;
    double sum = 0; /* all ranks' independent rates together */
    MPI_Allreduce(&ind.img_s, &sum, 1, MPI_DOUBLE, MPI_SUM, w->comm);
    if (w->rank != 0) return 0;
    char label[32];
    snprintf(label, sizeof label, "%s", name);
    ind.img_s = sum;
    if (!o->json) printf("%-16s %3dx1 %7d %6d %9.2f %9.1f %8.1f %8.1f %8.1f %8.1f %8.1f %7s %6.1f%%  (independent ranks at once; "
                         "effic. = %d-rank run / this)\n", label, w->size, threads, o->batch, sum, ind.step_ms,
                         ind.upload_ms, ind.fwd_ms, ind.bwd_ms, 0.0, ind.opt_ms, "-", 100 * together_img_s / sum, w->size);
    else printf("{\"config\":\"%s\",\"ranks\":%d,\"independent\":true,\"images_per_s\":%.2f,\"efficiency\":%.3f}\n",
                label, w->size, sum, together_img_s / sum);
    return 0;
}

static int bench_config(fs_world *w, const char *path, const bench_opts *o, int *wrong, fs_error *e) {
    fs_config cfg;
    int rc = fs_config_load(&cfg, path, e);
    if (!rc) rc = fs_config_validate(&cfg, e);
    if (rc) return rc;
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    bench_row one = {0}, all = {0};
    int threads = o->threads > 0 ? o->threads : (w->size > 1 ? 1 : fs_cpu_threads());
    fs_cpu_set_threads(threads);
    /* Baseline: rank 0 alone, in a world of one. */
    fs_world solo = *w;
    MPI_Comm_split(w->comm, w->rank == 0 ? 0 : MPI_UNDEFINED, 0, &solo.comm);
    if (w->rank == 0) {
        solo.size = 1, solo.rank = 0;
        rc = bench_steps(&solo, &cfg, o, FS_ALLREDUCE_AUTO, &one, e);
        MPI_Comm_free(&solo.comm);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, w->comm);
    if (rc) return rc;
    if (w->rank == 0) print_row(name, 1, threads, o, &one, 0, o->json);
    if (w->rank == 0 && !(one.loss1 < one.loss0)) ++*wrong; /* the steps did not train */
    if (w->size > 1) {
        fs_allreduce_mode mode;
        if ((rc = fs_allreduce_parse_mode(cfg.comms.allreduce, &mode, e))) return rc;
        if ((rc = bench_steps(w, &cfg, o, mode, &all, e))) return rc;
        if (w->rank == 0) print_row(name, w->size, threads, o, &all, all.img_s / (w->size * one.img_s), o->json);
        if (w->rank == 0 && !o->json) printf("%-16s   (all-reduce: %s)\n", "", all.path);
        if ((rc = bench_independent(w, &cfg, o, name, threads, all.img_s, e))) return rc;
        if (strcmp(all.path, "MPI_Iallreduce") != 0) { /* the same run through MPI, for the ratio */
            bench_row viampi = {0};
            if ((rc = bench_steps(w, &cfg, o, FS_ALLREDUCE_MPI, &viampi, e))) return rc;
            if (w->rank == 0) print_row(name, w->size, threads, o, &viampi, viampi.img_s / (w->size * one.img_s), o->json);
            if (w->rank == 0 && !o->json) printf("%-16s   (all-reduce: %s, for comparison)\n", "", viampi.path);
        }
    }
    fflush(stdout);
    return 0;
}

static const char *default_config(const char *name, char *buf, size_t n) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    snprintf(buf, n, "%s/configs/%s", src ? src : ".", name);
    return buf;
}

int bench_train(int argc, char **argv) {
    static const struct option opts[] = {{"steps", required_argument, 0, 's'}, {"batch", required_argument, 0, 'b'},
                                         {"threads", required_argument, 0, 't'}, {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    bench_opts o = {.steps = 5, .batch = 16};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 's') o.steps = atoi(optarg);
        else if (c == 'b') o.batch = atoi(optarg);
        else if (c == 't') o.threads = atoi(optarg);
        else if (c == 'j') o.json = 1;
        else {
            FILE *f = c == 'h' ? stdout : stderr;
            fprintf(f, "usage: [mpirun -np P] faceswarm bench train [CONFIG...] [--steps N] [--batch B per rank "
                       "and identity] [--threads T] [--json]\n  default configs: configs/quickstart.yaml "
                       "configs/original-64.yaml\n");
            return c == 'h' ? FS_EXIT_OK : FS_EXIT_BADINPUT;
        }
    }
    if (o.steps < 1 || o.batch < 1) {
        fprintf(stderr, "error: --steps and --batch must be >= 1\n");
        return FS_EXIT_BADINPUT;
    }
    fs_world w;
    fs_error e = {0};
    if (fs_world_init(&w, &argc, &argv, &e)) return fprintf(stderr, "error: %s\n", e.msg), FS_EXIT_FAIL;
    char b1[FS_PATH_LEN], b2[FS_PATH_LEN];
    const char *defaults[] = {default_config("quickstart.yaml", b1, sizeof b1),
                              default_config("original-64.yaml", b2, sizeof b2)};
    const char *const *cfgs = optind < argc ? (const char *const *)argv + optind : defaults;
    int n = optind < argc ? argc - optind : 2, wrong = 0, rc = 0;
    if (w.rank == 0) {
        printf("# faceswarm bench train %s (commit %s)\n# world size %d, %d step(s) after 1 warm-up, batch %d per "
               "rank and identity, random in-memory faces (loader: faceswarm bench loader)\n", FS_VERSION,
               fs_git_commit(), w.size, o.steps, o.batch);
        if (!o.json)
            printf("%-16s %5s %7s %6s %9s %9s %8s %8s %8s %8s %8s %7s %7s\n%-16s %5s %7s %6s %9s %9s %8s %8s %8s %8s "
                   "%8s %7s %7s\n", "config", "ranks", "threads", "batch", "images/s", "step", "upload", "forward",
                   "backward", "comm", "adam", "comm", "effic.", "", "", "", "", "img/s", "ms", "ms", "ms", "ms",
                   "wait ms", "ms", "%step", "");
    }
    for (int i = 0; i < n && !rc; i++) rc = bench_config(&w, cfgs[i], &o, &wrong, &e);
    if (rc) fprintf(stderr, "error: %s\n", e.msg);
    if (w.rank == 0 && !rc) printf("# wrong %d (a run whose loss did not fall over its steps)\n", wrong);
    fs_world_finalize(&w);
    return rc ? rc : wrong ? FS_EXIT_FAIL : FS_EXIT_OK;
}
