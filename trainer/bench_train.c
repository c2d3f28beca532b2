/* bench_train.c — `faceswarm bench train`: images/s of whole training steps and the split
 * of a step's time, for the shipped configs quickstart, original-64, quickstart-liae,
 * df-ud-128 and liae-ud-256 (or the configs named).
 *
 * Batches are synthetic faces (data/synth.h) drawn in memory with the face masks and, when the
 * config's eye or mouth priority asks for them, the eye and mouth regions of their landmarks
 * (data/regions.h), as `faceswarm data synth` files give the trainer: so the mask loss, the
 * penalized (masked) face loss, the learned mask's backward and the priority terms are in the
 * step as in `faceswarm train`. The loader's own rate is `faceswarm bench loader`; "upload" is
 * the uint8 -> float conversion of the batch (faces, targets, masks, regions) the trainer does
 * every step. The split is consecutive: upload + forward (with the losses) + backward + comm
 * wait + optimizer = step. Under mpirun with P > 1 ranks it also measures
 * weak scaling in the same run: rank 0 alone first (the others wait), then all P ranks with
 * the same per-rank batch, each rank on one thread; efficiency = rate(P) / (P * rate(1)).
 * A last row runs every rank alone at the same time: what the cores reach with no
 * communication at all, separating the machine's own scaling limit from faceswarm's.
 *
 * --torch[=PYTHON] (one process) also times the same step in PyTorch on the same CPU
 * (tests/bench/torch_train.py: same model, loss, Adam, batch and thread count), alternating
 * with faceswarm's within every round (faceswarm, torch, faceswarm, torch, ...), and prints
 * table "torch": both images/s and their ratio (the median of the rounds' ratios). */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "comms/allreduce.h"
#include "comms/world.h"
#include "core/bench.h"
#include "data/loader.h"
#include "data/regions.h"
#include "data/synth.h"
#include "kernels/cpu/cpu.h"
#include "core/json.h"
#include "trainer/cli.h"
#include "trainer/train.h"

typedef struct bench_row {
    double img_s, step_ms, upload_ms, fwd_ms, bwd_ms, comm_ms, opt_ms;
    double loss0, loss1; /* first and last step's loss: the steps must train */
    int batch;           /* per rank and identity */
    char terms[48];      /* what the loss had: masked face loss, mask loss, eye/mouth priority */
    double cpu_img_s;    /* images per second of process CPU time / threads (--torch's second ratio) */
    char path[112];      /* the gradient all-reduce's path */
} bench_row;

typedef struct bench_opts {
    int steps, batch, json, threads; /* batch: per rank and identity (a config's own when 0) */
    int rounds;                      /* every row measured this many times, interleaved; medians printed */
    const char *python;              /* --torch: the interpreter that runs torch_train.py; NULL: no torch */
    int torch_compile;               /* --torch-compile: a torch.compile row after the eager one */
    char script[FS_PATH_LEN];
} bench_opts;

/* One run of torch_train.py (its JSON line). */
typedef struct torch_row {
    double img_s, cpu_img_s, fwd_ms, bwd_ms, opt_ms;
    long long params;
    char version[48];
} torch_row;

enum { TORCH_EAGER, TORCH_COMPILE, N_TORCH };
static const char *const TORCH_MODES[N_TORCH] = {"eager", "compile"};

/* The images of one step, uint8 as the loader gives them: identity i's faces at samples
 * [i * batch, (i + 1) * batch), their masks and, with regions, eye and mouth maps. */
typedef struct bench_batch {
    uint8_t *faces, *mask, *eye, *mouth; /* eye, mouth NULL without regions */
    size_t n;                            /* bytes of faces: n_identities * batch * S * S * 3 */
} bench_batch;

/* Synthetic faces of identity i (as `faceswarm data synth --seed 1` draws them), samples
 * rank * batch + s, so that ranks train on different faces. */
static void synth_batch(bench_batch *b, int ids, int batch, int S, int rank, int regions) {
    size_t plane = (size_t)S * S, per = (size_t)ids * batch;
    b->n = per * plane * 3;
    b->faces = fs_malloc(b->n), b->mask = fs_malloc(per * plane);
    b->eye = regions ? fs_malloc(per * plane) : NULL, b->mouth = regions ? fs_malloc(per * plane) : NULL;
    for (int i = 0; i < ids; i++) {
        fs_synth_identity id;
        fs_synth_identity_draw(&id, 1, i);
        for (int s = 0; s < batch; s++) {
            size_t at = (size_t)i * batch + s;
            long k = (long)rank * batch + s;
            fs_synth_render(&id, 1, i, k, S, b->faces + at * plane * 3, b->mask + at * plane);
            if (!regions) continue;
            float lm[68][2];
            fs_synth_landmarks(&id, 1, i, k, S, lm);
            fs_face_regions((const float(*)[2])lm, S, b->eye + at * plane, b->mouth + at * plane);
        }
    }
}

static void batch_free(bench_batch *b) { free(b->faces), free(b->mask), free(b->eye), free(b->mouth); }

/* What upload_batch (trainer/train.c) does with a loader batch: input and target faces, the
 * target's mask unless train.mask_loss is off, and the regions when the loss wants them. */
static void upload(const fs_backend *be, const bench_batch *b, fs_model *m, fs_step_buffers *sb, int masks) {
    be->u8_to_float(b->n, b->faces, m->input);
    be->u8_to_float(b->n, b->faces, sb->target);
    sb->have_mask = masks;
    if (masks) be->u8_to_float(b->n / 3, b->mask, sb->mask);
    sb->have_regions = b->eye != NULL;
    if (b->eye) be->u8_to_float(b->n / 3, b->eye, sb->eye), be->u8_to_float(b->n / 3, b->mouth, sb->mouth);
}

/* The optimizer of the config (Adam or AdaBelief) with the bench's fixed step size. */
static void optimizer_step(const fs_backend *be, fs_model *m, const fs_config *cfg, int step, int P) {
    fs_adam_args a =
        {.lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-7f, .step = step, .grad_scale = 1.0f / (float)P};
    if (!strcmp(cfg->train.optimizer, "adabelief")) {
        a.eps = cfg->train.adabelief_eps;
        be->adabelief(m->n_params, m->params, m->grads, m->adam_m, m->adam_v, &a);
    } else be->adam(m->n_params, m->params, m->grads, m->adam_m, m->adam_v, &a);
}

/* The batch per rank and identity of a config: --batch, or 16 lowered (to 2 at least) until
 * a step's forward is at most 128 GFLOP, so that the large models take seconds a step, not
 * minutes (df-ud-128: 4, liae-ud-256: 2). */
static int bench_train_batch(const fs_model *m, int asked) {
    if (asked > 0) return asked;
    double per_image = fs_model_forward_flops(m) * m->n_decoders;
    int b = 16;
    while (b > 2 && b * per_image > 128e9) b /= 2;
    return b;
}

/* Runs warm-up + o->steps steps on world w (a sub-world of one rank for the baseline). */
static int bench_steps(fs_world *w, const fs_config *cfg, const bench_opts *o, fs_allreduce_mode mode, bench_row *row,
                       fs_error *e) {
    fs_model m;
    int rc = fs_model_build(&m, cfg, e);
    if (rc) return rc;
    const fs_backend *be = fs_backend_cpu();
    be->set_precision(strcmp(cfg->train.precision, "bf16") ? FS_PREC_FP32 : FS_PREC_BF16); /* as train does */
    int batch = bench_train_batch(&m, o->batch);
    fs_model_alloc(&m, be, batch);
    fs_model_init_params(&m, cfg->train.seed);
    fs_step_buffers sb;
    fs_step_buffers_alloc(&sb, &m);
    fs_loss_weights lw;
    fs_loss_weights_from_config(cfg, &lw);
    bench_batch in;
    synth_batch(&in, m.n_decoders, batch, m.resolution, w->rank, fs_loss_wants_regions(&lw));
    int masks = fs_loader_masks_mode(cfg->train.mask_loss) != FS_MASKS_OFF;
    fs_allreduce *ar;
    float *grads = m.grads;
    if ((rc = fs_allreduce_init(&ar, w, &grads, m.n_params, (size_t)(cfg->comms.bucket_mb * 1e6), mode, e))) return rc;
    fs_model_use_grads(&m, grads); /* the shm path computes them in the node's shared region */
    snprintf(row->path, sizeof row->path, "%s", fs_allreduce_path(ar));
    row->batch = batch;
    double t_all = 0, cpu_all = 0;
    for (int s = -1; s < o->steps && !rc; s++) { /* s = -1: warm-up, not timed */
        double t0 = fs_now(), c0 = fs_cpu_seconds();
        upload(be, &in, &m, &sb, masks);
        double t1 = fs_now();
        be->zero(m.grads, sizeof(float) * m.n_params);
        double loss = fs_step_forward_loss(&m, cfg, &sb, batch);
        be->sync();
        double t2 = fs_now();
        fs_allreduce_begin(ar);
        fs_model_backward(&m, batch, sb.dout, fs_step_dmask(&sb), fs_allreduce_ready_cb, ar);
        be->sync();
        double t3 = fs_now();
        fs_allreduce_stats st;
        rc = fs_allreduce_finish(ar, 300, &st, e);
        double t4 = fs_now();
        optimizer_step(be, &m, cfg, s + 2, w->size);
        be->sync();
        double t5 = fs_now(), c5 = fs_cpu_seconds();
        if (s == 0) row->loss0 = loss;
        row->loss1 = loss;
        snprintf(row->terms, sizeof row->terms, "%s%s%s", sb.have_mask ? "masked face" : "face",
                 sb.mask_loss_on ? " + mask" : "", sb.have_regions ? " + eye/mouth" : "");
        if (s < 0) continue;
        t_all += t5 - t0, cpu_all += c5 - c0;
        row->upload_ms += 1e3 * (t1 - t0), row->fwd_ms += 1e3 * (t2 - t1), row->bwd_ms += 1e3 * (t3 - t2);
        row->comm_ms += 1e3 * (t4 - t3), row->opt_ms += 1e3 * (t5 - t4);
    }
    double k = 1.0 / o->steps;
    row->step_ms = 1e3 * t_all * k;
    row->upload_ms *= k, row->fwd_ms *= k, row->bwd_ms *= k, row->comm_ms *= k, row->opt_ms *= k;
    row->img_s = (double)m.n_decoders * batch * w->size / (t_all * k);
    row->cpu_img_s = (double)m.n_decoders * batch * o->steps * fs_cpu_threads() / cpu_all;
    fs_step_buffers_free(&sb, &m);
    fs_model_free(&m); /* before the region its gradients live in */
    fs_allreduce_free(ar);
    batch_free(&in);
    be->set_precision(FS_PREC_FP32);
    return rc;
}

static const fs_bench_col COLS[] = {
    FS_COL_S("config", NULL, NULL, -20),
    FS_COL_S("run", NULL, NULL, -14),
    FS_COL_I("ranks", NULL, NULL, 5),
    FS_COL_I("threads", NULL, NULL, 7),
    FS_COL_I("batch_per_rank", "batch", NULL, 6),
    FS_COL_N("images_per_s", "images/s", "img/s", 9, 2, 2),
    FS_COL_N("step_ms", "step", "ms", 9, 1, 2),
    FS_COL_N("upload_ms", "upload", "ms", 8, 1, 2),
    FS_COL_N("forward_ms", "forward", "ms", 8, 1, 2),
    FS_COL_N("backward_ms", "backward", "ms", 8, 1, 2),
    FS_COL_N("comm_wait_ms", "comm_wait", "ms", 9, 1, 2),
    FS_COL_N("optimizer_ms", "optim", "ms", 8, 1, 2),
    FS_COL_P("comm_frac", "comm/step", 9, 1, 3),
    FS_COL_P("efficiency", "effic.", 7, 1, 3),
    FS_COL_S("allreduce", "all-reduce", NULL, -36),
    FS_COL_S("loss_terms", "loss terms", NULL, -24),
};

/* One row; eff <= 0: no efficiency (the one-rank row); comm < 0: no communication (the
 * independent ranks). */
static void print_row(fs_bench *B, const char *name, const char *run, int ranks, int threads, const bench_row *r,
                      double eff, const char *path) {
    int comm = strcmp(run, "independent") != 0;
    fs_bench_row(B, (fs_bench_val[]){FS_STR(name), FS_STR(run), FS_INT(ranks), FS_INT(threads), FS_INT(r->batch),
                                     FS_NUM(r->img_s), FS_NUM(r->step_ms), FS_NUM(r->upload_ms), FS_NUM(r->fwd_ms),
                                     FS_NUM(r->bwd_ms), comm ? FS_NUM(r->comm_ms) : FS_NONE, FS_NUM(r->opt_ms),
                                     comm ? FS_NUM(r->comm_ms / r->step_ms) : FS_NONE, eff > 0 ? FS_NUM(eff) : FS_NONE,
                                     FS_STR(path), FS_STR(r->terms)});
}

/* The machine's own limit on weak scaling: every rank trains alone at the same time (a world
 * of one each, no communication), so cores share memory bandwidth, caches and clock exactly
 * as in the P-rank run. P x this rank-0 rate is what P ranks could reach with free
 * communication; the data-parallel run's fraction of it is the cost of faceswarm's own
 * synchronisation. Printed as a row "Px1" with that fraction. ind->img_s is the sum of all
 * ranks' rates (on rank 0). */
static int bench_independent(fs_world *w, const fs_config *cfg, const bench_opts *o, bench_row *ind, fs_error *e) {
    fs_world alone = *w;
    MPI_Comm_split(w->comm, w->rank, 0, &alone.comm);
    alone.size = 1, alone.rank = 0;
    int rc = bench_steps(&alone, cfg, o, FS_ALLREDUCE_AUTO, ind, e), any = 0;
    MPI_Comm_free(&alone.comm);
    MPI_Allreduce(&rc, &any, 1, MPI_INT, MPI_MAX, w->comm);
    if (any) return rc ? rc : FS_EXIT_FAIL;
    double sum = 0; /* all ranks' independent rates together */
    MPI_Allreduce(&ind->img_s, &sum, 1, MPI_DOUBLE, MPI_SUM, w->comm);
    ind->img_s = sum;
    return 0;
}

/* Rank 0 alone, in a world of one (the others wait). */
static int bench_solo(fs_world *w, const fs_config *cfg, const bench_opts *o, bench_row *one, fs_error *e) {
    fs_world solo = *w;
    int rc = 0;
    MPI_Comm_split(w->comm, w->rank == 0 ? 0 : MPI_UNDEFINED, 0, &solo.comm);
    if (w->rank == 0) {
        solo.size = 1, solo.rank = 0;
        rc = bench_steps(&solo, cfg, o, FS_ALLREDUCE_AUTO, one, e);
        MPI_Comm_free(&solo.comm);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, w->comm);
    return rc;
}

/* The rows of one config, measured in rounds: 1 rank, P ranks (the config's path), P x 1
 * independent, P ranks through MPI (when the config's path is not MPI). */
enum { ROW_ONE, ROW_ALL, ROW_IND, ROW_MPI, N_ROWS };
#define MAX_ROUNDS 15

static int bench_round(fs_world *w, const fs_config *cfg, const bench_opts *o, bench_row r[N_ROWS], fs_error *e) {
    int rc = bench_solo(w, cfg, o, &r[ROW_ONE], e);
    if (rc || w->size == 1) return rc;
    fs_allreduce_mode mode;
    if ((rc = fs_allreduce_parse_mode(cfg->comms.allreduce, &mode, e))) return rc;
    if ((rc = bench_steps(w, cfg, o, mode, &r[ROW_ALL], e))) return rc;
    if ((rc = bench_independent(w, cfg, o, &r[ROW_IND], e))) return rc;
    if (strcmp(r[ROW_ALL].path, "MPI_Iallreduce") != 0) rc = bench_steps(w, cfg, o, FS_ALLREDUCE_MPI, &r[ROW_MPI], e);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The round whose images/s is the median of row k's (its other columns come with it). */
static const bench_row *median_row(bench_row (*rounds)[N_ROWS], int n, int k) {
    double v[MAX_ROUNDS];
    for (int i = 0; i < n; i++) v[i] = rounds[i][k].img_s;
    double m = median(v, n);
    int best = 0;
    for (int i = 1; i < n; i++)
        if (fabs(rounds[i][k].img_s - m) < fabs(rounds[best][k].img_s - m)) best = i;
    return &rounds[best][k];
}

/* Median over rounds of num(round) / den(round): ratios of rows measured minutes apart on a
 * noisy host drift less when each is taken within its round. */
static double median_ratio(bench_row (*rounds)[N_ROWS], int n, int num, int den, double scale) {
    double v[MAX_ROUNDS];
    for (int i = 0; i < n; i++) v[i] = rounds[i][num].img_s / (scale * rounds[i][den].img_s);
    return median(v, n);
}

/* The rows of one config: solo (rank 0 alone), data-parallel (P ranks, the config's path;
 * efficiency = rate(P) / (P x rate(1))), independent (P ranks alone at once; efficiency =
 * the data-parallel run / this), mpi-comparison (P ranks through MPI, when the config's
 * path is not MPI). */
static void print_rows(fs_bench *B, const fs_world *w, const char *name, int threads, const bench_opts *o,
                       bench_row (*rounds)[N_ROWS]) {
    int n = o->rounds, P = w->size;
    const bench_row *one = median_row(rounds, n, ROW_ONE);
    print_row(B, name, "solo", 1, threads, one, 0, one->path);
    if (P == 1) return;
    const bench_row *all = median_row(rounds, n, ROW_ALL), *ind = median_row(rounds, n, ROW_IND);
    print_row(B, name, "data-parallel", P, threads, all, median_ratio(rounds, n, ROW_ALL, ROW_ONE, P), all->path);
    double capped = median_ratio(rounds, n, ROW_ALL, ROW_IND, 1);
    print_row(B, name, "independent", P, threads, ind, capped, "none (independent ranks at once)");
    if (!rounds[0][ROW_MPI].img_s) return;
    const bench_row *viampi = median_row(rounds, n, ROW_MPI);
    print_row(B, name, "mpi-comparison", P, threads, viampi, median_ratio(rounds, n, ROW_MPI, ROW_ONE, P),
              viampi->path);
}

/* ---------------------------------------------------------------- PyTorch (--torch) */

/* s in single quotes for sh -c (each ' as '\''). */
static void sh_quote(fs_jbuf *b, const char *s) {
    fs_jbuf_printf(b, " '");
    for (; *s; s++) *s == '\'' ? fs_jbuf_printf(b, "'\\''") : fs_jbuf_printf(b, "%c", *s);
    fs_jbuf_printf(b, "'");
}

/* "key":number in a JSON line written with separators (",", ":"). */
static int json_num(const char *line, const char *key, double *v) {
    char pat[72];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(line, pat);
    if (!at) return -1;
    char *end;
    *v = strtod(at + strlen(pat), &end);
    return end == at + strlen(pat) ? -1 : 0;
}

/* 1 when `PYTHON -c 'import torch'` succeeds. */
static int torch_importable(const char *python) {
    fs_jbuf b = {0};
    sh_quote(&b, python);
    fs_jbuf_printf(&b, " -c 'import torch' >/dev/null 2>&1");
    int rc = system(b.p);
    fs_jbuf_free(&b);
    return rc == 0;
}

/* One torch_train.py run of config path in mode m; its stderr passes through. Returns 0, or
 * the script's exit status (or -1) with a note saying why the row is missing. */
static int torch_run(fs_bench *B, const bench_opts *o, const char *path, int threads, int batch, int mode,
                     long long params, torch_row *r) {
    fs_jbuf b = {0};
    sh_quote(&b, o->python);
    sh_quote(&b, o->script);
    sh_quote(&b, path);
    fs_jbuf_printf(&b, " --batch %d --threads %d --steps %d --warmup 1 --mode %s --expect-params %lld", batch, threads,
                   o->steps, TORCH_MODES[mode], params);
    fflush(stdout);
    FILE *f = popen(b.p, "r");
    char line[4096];
    int got = 0;
    while (f && fgets(line, sizeof line, f)) {
        double p = 0;
        if (strncmp(line, "{\"kind\":\"torch_train\"", 21) || json_num(line, "images_per_s", &r->img_s) ||
            json_num(line, "cpu_images_per_s", &r->cpu_img_s) || json_num(line, "forward_ms", &r->fwd_ms) ||
            json_num(line, "backward_ms", &r->bwd_ms) || json_num(line, "optimizer_ms", &r->opt_ms) ||
            json_num(line, "params", &p) || fs_json_get_str(line, "torch", r->version, sizeof r->version))
            continue;
        r->params = (long long)p, got = 1;
    }
    int st = f ? pclose(f) : -1, rc = st == 0 ? 0 : (st > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    if (!rc && !got) rc = -1;
    if (rc)
        fs_bench_note(B, "%s: PyTorch %s run failed (exit %d; its reason above on stderr): %s", path, TORCH_MODES[mode],
                      rc, b.p);
    fs_jbuf_free(&b);
    return rc;
}

static const fs_bench_col TORCH_COLS[] = {
    FS_COL_S("config", NULL, NULL, -16),
    FS_COL_S("torch_mode", "torch", NULL, -8),
    FS_COL_I("threads", NULL, NULL, 7),
    FS_COL_I("batch_per_rank", "batch", NULL, 6),
    FS_COL_I("params", "parameters", NULL, 11),
    FS_COL_N("images_per_s", "faceswarm", "img/s", 10, 2, 2),
    FS_COL_N("torch_images_per_s", "pytorch", "img/s", 9, 2, 2),
    FS_COL_N("ratio", "ratio", "x", 7, 2, 3),
    FS_COL_N("cpu_images_per_s", "fs.cpu", "img/s", 9, 2, 2),
    FS_COL_N("torch_cpu_images_per_s", "t.cpu", "img/s", 9, 2, 2),
    FS_COL_N("cpu_ratio", "cpu_ratio", "x", 9, 2, 3),
    FS_COL_N("torch_forward_ms", "t.forward", "ms", 9, 1, 2),
    FS_COL_N("torch_backward_ms", "t.backward", "ms", 10, 1, 2),
    FS_COL_N("torch_optimizer_ms", "t.adam", "ms", 8, 1, 2),
    FS_COL_S("torch_version", "torch", NULL, -10),
};

/* A config's PyTorch comparison: per round, faceswarm's solo rate and torch's per mode. */
typedef struct torch_cmp {
    char name[64];
    int threads, n, batch; /* batch: per identity, the solo row's (bench_train_batch) */
    long long params;
    double fs[MAX_ROUNDS], fs_cpu[MAX_ROUNDS];
    torch_row t[N_TORCH][MAX_ROUNDS];
    int ok[N_TORCH];
} torch_cmp;

static void print_torch_rows(fs_bench *B, const bench_opts *o, const torch_cmp *c) {
    for (int m = 0; m < N_TORCH; m++) {
        if (!c->ok[m]) continue;
        double fs[MAX_ROUNDS], t[MAX_ROUNDS], q[MAX_ROUNDS], f[MAX_ROUNDS], bw[MAX_ROUNDS], ad[MAX_ROUNDS];
        double fc[MAX_ROUNDS], tcpu[MAX_ROUNDS], qc[MAX_ROUNDS];
        for (int i = 0; i < c->n; i++) {
            fs[i] = c->fs[i], t[i] = c->t[m][i].img_s, q[i] = c->fs[i] / c->t[m][i].img_s;
            fc[i] = c->fs_cpu[i], tcpu[i] = c->t[m][i].cpu_img_s, qc[i] = c->fs_cpu[i] / c->t[m][i].cpu_img_s;
            f[i] = c->t[m][i].fwd_ms, bw[i] = c->t[m][i].bwd_ms, ad[i] = c->t[m][i].opt_ms;
        }
        fs_bench_row(B, (fs_bench_val[]){FS_STR(c->name), FS_STR(TORCH_MODES[m]), FS_INT(c->threads), FS_INT(c->batch),
                                         FS_INT(c->params), FS_NUM(median(fs, c->n)), FS_NUM(median(t, c->n)),
                                         FS_NUM(median(q, c->n)), FS_NUM(median(fc, c->n)), FS_NUM(median(tcpu, c->n)),
                                         FS_NUM(median(qc, c->n)), FS_NUM(median(f, c->n)), FS_NUM(median(bw, c->n)),
                                         FS_NUM(median(ad, c->n)), FS_STR(c->t[m][0].version)});
        if (c->n < 2) continue;
        fs_jbuf b = {0};
        for (int i = 0; i < c->n; i++)
            fs_jbuf_printf(&b, " %.2f/%.2f", c->fs[i] / c->t[m][i].img_s, c->fs_cpu[i] / c->t[m][i].cpu_img_s);
        fs_bench_note(B, "%s %s: faceswarm/PyTorch per round (wall/CPU time):%s", c->name, TORCH_MODES[m], b.p);
        fs_jbuf_free(&b);
    }
}

static int bench_config(fs_bench *B, fs_world *w, const char *path, const bench_opts *o, torch_cmp *tc, fs_error *e) {
    fs_config cfg;
    int rc = fs_config_load(&cfg, path, e);
    if (!rc) rc = fs_config_validate(&cfg, e);
    if (rc) return rc;
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int threads = o->threads > 0 ? o->threads : (w->size > 1 ? 1 : fs_cpu_threads());
    fs_cpu_set_threads(threads);
    bench_row(*rounds)[N_ROWS] = fs_calloc((size_t)o->rounds, sizeof *rounds);
    if (!strcmp(cfg.train.precision, "bf16"))
        fs_bench_note(B, "%s: train.precision bf16: conv and dense operands rounded to bfloat16, fp32 sums%s", name,
                      tc ? " (the PyTorch run: torch.autocast bf16, its own mixed precision)" : "");
    if (tc) {
        fs_model m;
        if ((rc = fs_model_build(&m, &cfg, e))) return free(rounds), rc;
        tc->params = (long long)m.n_params, tc->threads = threads, tc->ok[TORCH_EAGER] = 1;
        tc->batch = bench_train_batch(&m, o->batch);
        tc->ok[TORCH_COMPILE] = o->torch_compile;
        if (strcmp(cfg.model.arch, "original")) { /* torch_train.py builds faceswap's original only */
            fs_bench_note(B, "%s: model.arch %s: no PyTorch comparison (tests/bench/torch_train.py builds 'original')",
                          name, cfg.model.arch);
            tc->ok[TORCH_EAGER] = tc->ok[TORCH_COMPILE] = 0;
        }
        fs_model_free(&m);
        snprintf(tc->name, sizeof tc->name, "%s", name);
    }
    for (int i = 0; i < o->rounds && !rc; i++) {
        rc = bench_round(w, &cfg, o, rounds[i], e);
        if (!rc && w->rank == 0 && !(rounds[i][ROW_ONE].loss1 < rounds[i][ROW_ONE].loss0))
            fs_bench_wrong(B, 1);                        /* the steps did not train */
        for (int m = 0; tc && !rc && m < N_TORCH; m++) { /* right after faceswarm's, same round */
            if (!tc->ok[m]) continue;
            int trc = torch_run(B, o, path, threads, tc->batch, m, tc->params, &tc->t[m][i]);
            if (trc == 3) fs_bench_wrong(B, 1); /* the parameter counts differ: not the same model */
            if (trc) tc->ok[m] = 0;
        }
        if (tc) tc->fs[i] = rounds[i][ROW_ONE].img_s, tc->fs_cpu[i] = rounds[i][ROW_ONE].cpu_img_s, tc->n = i + 1;
    }
    if (!rc && w->rank == 0) print_rows(B, w, name, threads, o, rounds);
    free(rounds);
    return rc;
}

/* The shipped configs, installed or in the source tree (fs_data_file); when neither has
 * them, the relative path, so that the error names the file looked for. */
static const char *default_config(const char *name, char *buf, size_t n) {
    char rel[64];
    snprintf(rel, sizeof rel, "configs/%s", name);
    if (fs_data_file(rel, buf, n, NULL)) snprintf(buf, n, "%s", rel);
    return buf;
}

int bench_train(int argc, char **argv) {
    static const struct option opts[] = {{"steps", required_argument, 0, 's'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"rounds", required_argument, 0, 'r'},
                                         {"threads", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},
                                         {"torch", optional_argument, 0, 'T'},
                                         {"torch-compile", no_argument, 0, 'C'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    bench_opts o = {.steps = 5, .batch = 0, .rounds = 1};
    int c, rc = 0;
    fs_error e = {0};
    fs_bench B;
    fs_bench_init(&B, "train", argc, argv); /* before getopt permutes argv */
    optind = 1;
    while (!rc && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 's') rc = fs_parse_int("--steps", optarg, 1, 1000000, &o.steps, &e);
        else if (c == 'b') rc = fs_parse_int("--batch", optarg, 1, 65536, &o.batch, &e);
        else if (c == 't') rc = fs_parse_int("--threads", optarg, 0, 1024, &o.threads, &e);
        else if (c == 'r') rc = fs_parse_int("--rounds", optarg, 1, MAX_ROUNDS, &o.rounds, &e);
        else if (c == 'j') o.json = 1;
        else if (c == 'T') o.python = optarg && optarg[0] ? optarg : "python3";
        else if (c == 'C') o.torch_compile = 1;
        else {
            FILE *f = c == 'h' ? stdout : stderr;
            fprintf(f, "usage: [mpirun -np P] faceswarm bench train [CONFIG...] [--steps N] [--batch B per rank "
                       "and identity] [--threads T] [--rounds R] [--torch[=PYTHON] [--torch-compile]] [--json]\n  "
                       "--torch[=PYTHON]: also time the step in PyTorch (tests/bench/torch_train.py, default "
                       "python3; one process), alternating with faceswarm's; --torch-compile adds a "
                       "torch.compile row\n  --rounds R: every row R times, "
                       "interleaved (1, P, Px1, P via MPI, "
                       "1, P, ...); medians printed, efficiencies = median of each round's ratio\n  --batch B: "
                       "default 16, lowered for a large model (to 2 at least) until a step's forward is at most "
                       "128 GFLOP; the row's batch column says which\n  default configs: "
                       "configs/quickstart.yaml configs/original-64.yaml configs/quickstart-liae.yaml "
                       "configs/df-ud-128.yaml configs/liae-ud-256.yaml\n");
            fs_bench_free(&B);
            return c == 'h' ? FS_EXIT_OK : FS_EXIT_BADINPUT;
        }
    }
    if (rc) {
        fprintf(stderr, "error: faceswarm bench train: %s\n", e.msg);
        return fs_bench_free(&B), rc;
    }
    if (o.torch_compile && !o.python) o.python = "python3";
    fs_world w;
    if (fs_world_init(&w, &argc, &argv, &e))
        return fprintf(stderr, "error: %s\n", e.msg), fs_bench_free(&B), FS_EXIT_FAIL;
    B.json = o.json, B.quiet = w.rank != 0;
    static const char *const shipped[] = {"quickstart.yaml", "original-64.yaml", "quickstart-liae.yaml",
                                          "df-ud-128.yaml", "liae-ud-256.yaml"};
    enum { N_SHIPPED = (int)FS_ARRAY_LEN(shipped) };
    char bufs[N_SHIPPED][FS_PATH_LEN];
    const char *defaults[N_SHIPPED];
    for (int i = 0; i < N_SHIPPED; i++) defaults[i] = default_config(shipped[i], bufs[i], sizeof bufs[i]);
    const char *const *cfgs = optind < argc ? (const char *const *)argv + optind : defaults;
    int n = optind < argc ? argc - optind : N_SHIPPED;
    fs_bench_fact_int(&B, "world_size", w.size);
    fs_bench_fact_str(&B, "gemm", fs_cpu_gemm_desc());      /* the cpu backend's fp32 GEMM */
    fs_bench_fact_str(&B, "bf16_path", fs_cpu_bf16_desc()); /* its train.precision: bf16 GEMMs */
    fs_bench_fact_int(&B, "steps", o.steps);
    fs_bench_fact_int(&B, "warmup_steps", 1);
    if (o.batch) fs_bench_fact_int(&B, "batch_per_rank", o.batch);
    else
        fs_bench_fact_str(&B, "batch_per_rank", "16, lowered for a large model until a step's forward is <= 128 GFLOP");
    fs_bench_fact_int(&B, "rounds", o.rounds);
    fs_bench_note(&B, "batch per rank and identity (its column), synthetic faces with their masks and, for eye/mouth "
                      "priority, regions, in memory (loader: faceswarm bench loader); upload + forward + backward "
                      "+ comm_wait + optim = step; rows are medians over the rounds");
    if (o.python && w.size > 1)
        rc = fs_errorf(&e, FS_EXIT_BADINPUT,
                       "faceswarm bench train: --torch compares one process with PyTorch, got %d ranks\n"
                       "  hint: run it without mpirun (--threads T sets both thread counts)",
                       w.size);
    if (!rc && o.python && !torch_importable(o.python)) {
        fs_bench_note(&B, "PyTorch not importable (%s -c 'import torch'): ratio not measured", o.python);
        o.python = NULL;
    }
    if (!rc && o.python && fs_data_file("tests/bench/torch_train.py", o.script, sizeof o.script, &e)) {
        fs_bench_note(&B, "tests/bench/torch_train.py not found (%s): ratio not measured", e.msg);
        o.python = NULL, e = (fs_error){0};
    }
    torch_cmp *tc = o.python ? fs_calloc((size_t)n, sizeof *tc) : NULL;
    if (o.python) fs_bench_fact_str(&B, "torch_python", o.python);
    if (!rc) fs_bench_columns(&B, "steps", COLS, (int)FS_ARRAY_LEN(COLS));
    for (int i = 0; i < n && !rc; i++) rc = bench_config(&B, &w, cfgs[i], &o, tc ? &tc[i] : NULL, &e);
    if (!rc && tc) {
        fs_bench_columns(&B, "torch", TORCH_COLS, (int)FS_ARRAY_LEN(TORCH_COLS));
        for (int i = 0; i < n; i++) print_torch_rows(&B, &o, &tc[i]);
    }
    free(tc);
    if (rc) fprintf(stderr, "error: %s\n", e.msg);
    fs_world_finalize(&w);
    if (rc) return fs_bench_free(&B), rc;
    return fs_bench_end(&B, "a run whose loss did not fall over its steps");
}
