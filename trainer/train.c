/* train.c — `faceswarm train`: one data-parallel training run.
 *
 * Each step: the loader's batch (this rank's share of every identity's global batch) is
 * uploaded, the encoder runs once on all identities, each decoder on its own, losses and
 * their gradients are formed, and the backward pass hands finished gradient slices to the
 * all-reduce as it goes. After the buckets complete, every rank holds the same summed
 * gradient; the global norm decides clipping and the non-finite guard identically on every
 * rank, and Adam updates. One small all-reduce of scalars per step carries the losses, the
 * timings and the stop flag (so all ranks stop after the same step).
 * Only rank 0 writes: metrics.jsonl, previews, checkpoints. */
#include "trainer/train.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "comms/allreduce.h"
#include "comms/coord_client.h"
#include "comms/coord_keys.h"
#include "comms/nccl/nccl_allreduce.h"
#include "comms/world.h"
#include "data/loader.h"
#include "kernels/cpu/cpu.h"
#include "trainer/checkpoint.h"
#include "trainer/memory.h"
#include "trainer/preview.h"

/* ---------------------------------------------------------------- the step core */
/* The step's device buffers, floats: target, each of mask / eye / mouth, each identity's dout
 * and dmask (fs_step_buffers_alloc allocates these; fs_step_buffers_bytes counts them). */
typedef struct step_sizes {
    size_t target, plane, dout, dmask;
} step_sizes;
static step_sizes step_buffer_sizes(const fs_model *m) {
    size_t img = (size_t)m->resolution * m->resolution * 3, all = (size_t)m->batch * m->n_decoders;
    return (step_sizes){img * all, img / 3 * all, img * m->batch, img / 3 * m->batch};
}

size_t fs_step_buffers_bytes(const fs_model *m, size_t *loss_bytes) {
    step_sizes z = step_buffer_sizes(m);
    *loss_bytes = fs_loss_bytes(m->resolution, m->batch);
    return sizeof(float) * (z.target + 3 * z.plane + (size_t)m->n_decoders * (z.dout + z.dmask));
}

void fs_step_buffers_alloc(fs_step_buffers *b, const fs_model *m) {
    step_sizes z = step_buffer_sizes(m);
    b->target = m->be->alloc(sizeof(float) * z.target);
    b->mask = m->be->alloc(sizeof(float) * z.plane);
    b->eye = m->be->alloc(sizeof(float) * z.plane);
    b->mouth = m->be->alloc(sizeof(float) * z.plane);
    b->have_mask = b->have_regions = 0;
    b->dout = fs_calloc((size_t)m->n_decoders, sizeof(float *));
    b->dmask = fs_calloc((size_t)m->n_decoders, sizeof(float *));
    for (int i = 0; i < m->n_decoders; i++) {
        b->dout[i] = m->be->alloc(sizeof(float) * z.dout);
        b->dmask[i] = m->be->alloc(sizeof(float) * z.dmask);
    }
    b->loss = fs_calloc((size_t)m->n_decoders, sizeof(double));
    b->terms = fs_calloc((size_t)m->n_decoders, sizeof *b->terms);
    fs_loss_init(&b->lossfn, m->be, m->resolution, m->batch);
}

void fs_step_buffers_free(fs_step_buffers *b, const fs_model *m) {
    m->be->free(b->target), m->be->free(b->mask), m->be->free(b->eye), m->be->free(b->mouth);
    for (int i = 0; i < m->n_decoders; i++) m->be->free(b->dout[i]), m->be->free(b->dmask[i]);
    free(b->dout), free(b->dmask);
    free(b->loss), free(b->terms);
    fs_loss_free(&b->lossfn);
}

float **fs_step_dmask(const fs_step_buffers *b) { return b->mask_loss_on ? b->dmask : NULL; }

double fs_step_forward_loss(fs_model *m, const fs_config *cfg, fs_step_buffers *b, int n) {
    size_t plane = (size_t)m->resolution * m->resolution, img = plane * 3;
    fs_loss_weights w;
    fs_loss_weights_from_config(cfg, &w);
    fs_model_forward(m, n);
    double total = 0;
    for (int i = 0; i < m->n_decoders; i++) {
        size_t at = (size_t)i * m->batch;
        fs_loss_in in = {.pred = fs_model_output(m, i),
                         .target = b->target + at * img,
                         .mask = b->have_mask ? b->mask + at * plane : NULL,
                         .pred_mask = fs_model_mask(m, i),
                         .eye = b->have_regions ? b->eye + at * plane : NULL,
                         .mouth = b->have_regions ? b->mouth + at * plane : NULL};
        b->mask_output = in.pred_mask != NULL;
        b->mask_loss_on = in.pred_mask && in.mask && w.mask > 0;
        b->loss[i] = fs_loss_compute(&b->lossfn, &w, n, &in, b->dout[i], b->dmask[i], b->terms[i]);
        total += b->loss[i];
    }
    return total;
}

/* ---------------------------------------------------------------- signals */
static volatile sig_atomic_t g_stop_signal = 0;
static void on_stop_signal(int sig) { g_stop_signal = sig; }
static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

/* ---------------------------------------------------------------- gradient sync
 * MPI on host gradients (cpu), NCCL on device gradients (cuda with more than one rank):
 * the same begin / ready / finish protocol, picked once here. */
typedef struct grad_sync {
    fs_allreduce *mpi;
    fs_nccl_allreduce *nccl;
} grad_sync;

/* On the shm path the gradients move into the node's shared region (fs_model_use_grads). */
static int grad_sync_init(grad_sync *g, fs_world *w, fs_model *m, const fs_config *c, fs_error *e) {
    size_t bucket_bytes = (size_t)(c->comms.bucket_mb * 1e6);
    if (m->be->device == FS_DEV_CUDA && w->size > 1)
        return fs_nccl_init(&g->nccl, w, m->grads, m->n_params, bucket_bytes, e);
    fs_allreduce_mode mode;
    int rc = fs_allreduce_parse_mode(c->comms.allreduce, &mode, e);
    float *grads = m->grads;
    if (!rc) rc = fs_allreduce_init(&g->mpi, w, &grads, m->n_params, bucket_bytes, mode, e);
    if (!rc) fs_model_use_grads(m, grads);
    return rc;
}
static const char *grad_sync_path(const grad_sync *g) {
    return g->nccl ? "NCCL" : g->mpi ? fs_allreduce_path(g->mpi) : "none";
}
static void grad_sync_begin(grad_sync *g) {
    if (g->nccl) fs_nccl_begin(g->nccl);
    else fs_allreduce_begin(g->mpi);
}
static void grad_sync_ready(void *ctx, size_t ready_from) {
    grad_sync *g = ctx;
    if (g->nccl) fs_nccl_ready(g->nccl, ready_from);
    else fs_allreduce_ready(g->mpi, ready_from);
}
static int grad_sync_finish(grad_sync *g, double timeout_s, fs_allreduce_stats *st, fs_error *e) {
    return g->nccl ? fs_nccl_finish(g->nccl, timeout_s, st, e) : fs_allreduce_finish(g->mpi, timeout_s, st, e);
}
static int grad_sync_buckets(const grad_sync *g) { return g->mpi ? fs_allreduce_buckets(g->mpi) : 0; }
static void grad_sync_free(grad_sync *g) {
    if (g->nccl) fs_nccl_free(g->nccl);
    if (g->mpi) fs_allreduce_free(g->mpi);
    g->nccl = NULL, g->mpi = NULL;
}

/* ---------------------------------------------------------------- run state */
typedef struct trainer {
    fs_config cfg;
    fs_world world;
    const fs_backend *be;
    fs_model model;
    fs_step_buffers sb;
    fs_loader *loader;
    grad_sync gs;
    fs_coord_client *coord;
    fs_coord_local *coord_local; /* local coordinator started (and kept running) by rank 0, NULL if none */
    int coord_used;              /* every rank was given a coordinator address */
    int local_batch;             /* samples per identity on this rank */
    long step;                   /* completed steps */
    long epoch;
    long restart_count;
    long nonfinite_in_row, nonfinite_total;
    int metrics_fd; /* rank 0: <run>/metrics.jsonl (O_APPEND), -1 if not open */
    char metrics_path[FS_PATH_LEN + 32];
    int lock_fd;               /* rank 0: <run>/run.lock, flock'd for the run's life; -1 if none */
    int tty;                   /* rank 0's stdout is a terminal: progress updates in place */
    int launched;              /* started by mpirun/srun (seen before MPI_Init, which sets PMIX_RANK) */
    int nothing_to_do;         /* resumed at or past train.steps: nothing is set up or written */
    char threads_from[128];    /* where the CPU thread count came from, for the run header */
    char resumed_precision[8]; /* train.precision of the checkpoint resumed from ("" when none) */
    double t_start;
    long steps_this_run;
    char *config_text;
    char model_text[1 << 16];
    char last_ckpt[FS_PATH_LEN + 64];
    long preview_step;   /* rank 0: step of the last preview written in this run, 0 = none */
    size_t rss_before;   /* VmRSS before the model was built, bytes */
    fs_mem_estimate mem; /* what this rank was planned to allocate */
} trainer;

/* Per-step scalars summed over ranks in one all-reduce: losses, then these. The optimizer
 * and the whole step end after that all-reduce, so SC_OPT_MS and SC_STEP_MS hold this
 * rank's own times (rank 0's are logged; every rank's step time is gathered separately). */
enum { SC_STOP = 0, SC_DATA_MS, SC_STEP_MS, SC_FWD_MS, SC_BWD_MS, SC_COMM_MS, SC_OPT_MS, SC_COUNT };

/* ---------------------------------------------------------------- set-up */
static int load_config(trainer *t, const fs_train_args *a, fs_error *e) {
    int rc = fs_config_load(&t->cfg, a->config_path, e);
    for (int i = 0; !rc && i < a->n_sets; i++) rc = fs_config_set(&t->cfg, a->sets[i], e);
    if (!rc && a->steps > 0) t->cfg.train.steps = a->steps;
    if (!rc) rc = fs_config_validate(&t->cfg, e);
    if (rc) return rc;
    if (t->world.rank == 0 && t->cfg.file_keys == 0)
        fs_warn("%s is empty (it sets no key): training on the built-in defaults%s (faceswarm train %s "
                "--print-config shows them)",
                a->config_path, a->n_sets ? " and the --set values" : "", a->config_path);
    t->config_text = fs_config_dump(&t->cfg);
    return fs_world_check_same_u64(&t->world, fs_config_hash(&t->cfg),
                                   "config hash (ranks were started with "
                                   "different configs or --set values)",
                                   e);
}

/* One run at a time per run directory: rank 0 (the only rank that writes there) holds an
 * flock on RUN/run.lock for the run's life; the file names the holder. The kernel drops the
 * lock when the holder dies, so a stale file is simply taken over. On NFS, Linux turns flock
 * into a POSIX lock the server arbitrates across nodes (NFSv4, or v3 with lockd); a
 * filesystem without locks (Lustre mounted without -o flock) gets a warning, not a refusal. */
static int lock_run_dir(trainer *t, fs_error *e) {
    char path[FS_PATH_LEN + 32], holder[256] = "";
    snprintf(path, sizeof path, "%s/run.lock", t->cfg.run.dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "%s: cannot open the run lock: %s\n  hint: check that run.dir is "
                         "writable",
                         path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (err != EWOULDBLOCK) {
            fs_warn("%s: cannot lock (%s): nothing keeps a second run out of this run.dir (on Lustre, mount "
                    "with -o flock)",
                    path, strerror(err));
            close(fd);
            return 0;
        }
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        close(fd);
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "run.dir %s is in use by another training run (%s)\n  hint: wait "
                         "for it to end or stop it (kill -USR1 that pid on that host), or choose another run.dir",
                         t->cfg.run.dir, holder[0] ? holder : "holder unknown");
    }
    char iso[32], line[400];
    fs_iso_time(iso);
    int len = snprintf(line, sizeof line, "host %s, pid %ld, since %s\n", fs_hostname(), (long)getpid(), iso);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len)
        fs_warn("%s: could not record the holder: %s", path, strerror(errno));
    t->lock_fd = fd;
    return 0;
}

static int setup_run_dir(trainer *t, fs_error *e) {
    const char *run = t->cfg.run.dir;
    char path[FS_PATH_LEN + 64];
    int rc = fs_mkdir_p(run, e);
    if (rc) fs_error_prefix(e, "run.dir: ");
    if (!rc) rc = lock_run_dir(t, e);
    snprintf(path, sizeof path, "%s/checkpoints", run);
    if (!rc) rc = fs_mkdir_p(path, e);
    snprintf(path, sizeof path, "%s/previews", run);
    if (!rc) rc = fs_mkdir_p(path, e);
    snprintf(path, sizeof path, "%s/config.yaml", run);
    if (!rc) rc = fs_write_file_atomic(path, t->config_text, strlen(t->config_text), e);
    if (!rc) fs_ckpt_prune(run, t->cfg.checkpoint.keep);
    return rc;
}

static void model_description(trainer *t) {
    FILE *f = fmemopen(t->model_text, sizeof t->model_text - 1, "w");
    if (!f) return;
    fs_model_print(&t->model, f);
    fclose(f);
}

/* A positive integer environment variable, or 0. */
static int env_count(const char *name) {
    const char *v = getenv(name);
    char *end;
    long n = v && *v ? strtol(v, &end, 10) : 0;
    return n > 0 && n <= 4096 && !*end ? (int)n : 0;
}

/* Threads per rank: train.threads if set; else OMP_NUM_THREADS (a user's explicit choice),
 * else Slurm's cpus per task (per rank already), else the cores this process may run on
 * (its affinity mask: what a launcher's binding left it) shared by the node's ranks. */
static int choose_threads(int configured, int local_ranks, char *from, size_t len) {
    int n;
    if (configured > 0) return snprintf(from, len, "train.threads"), configured;
    if ((n = env_count("OMP_NUM_THREADS"))) return snprintf(from, len, "OMP_NUM_THREADS"), n;
    if ((n = env_count("SLURM_CPUS_PER_TASK"))) return snprintf(from, len, "SLURM_CPUS_PER_TASK"), n;
    cpu_set_t set;
    int cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    cores = FS_MAX(1, cores);
    n = FS_MAX(1, cores / FS_MAX(1, local_ranks));
    snprintf(from, len, "affinity: %d cores / %d ranks on this node", cores, FS_MAX(1, local_ranks));
    return n;
}

/* The memory this rank will allocate (trainer/memory.h) against what it can have: host
 * memory (MemAvailable, the cgroup's limit) shared by the node's ranks, or the GPU's free
 * memory; FACESWARM_TEST_MEM_AVAILABLE stands in for either in tests. Before anything big
 * is allocated: a run that cannot fit stops with exit 2 and the largest batch that fits. */
static int check_memory(trainer *t, fs_error *e) {
    const fs_config *c = &t->cfg;
    int threads = t->be->device == FS_DEV_CPU ? fs_cpu_threads() : 1;
    fs_mem_estimate_at(&t->model, c, t->local_batch, t->world.size, threads, &t->mem);
    size_t avail;
    const char *from = "FACESWARM_TEST_MEM_AVAILABLE";
    char why[160];
    if (!fs_mem_test_available(&avail)) {
        int host = t->be->device == FS_DEV_CPU || strcmp(t->be->name, "cuda") != 0; /* the emulator: host memory */
        avail = t->be->mem_available() / (size_t)(host ? FS_MAX(1, t->world.local_size) : 1);
        snprintf(why, sizeof why, "%s on %s%s", host ? "MemAvailable / cgroup limit" : "the GPU's free memory",
                 fs_hostname(), host && t->world.local_size > 1 ? ", shared by its ranks" : "");
        from = why;
    }
    if (t->mem.total <= avail) return 0;
    int fits = fs_mem_largest_batch(&t->model, c, t->world.size, threads, avail);
    char need[32], have[32], suggest[96], hint[128];
    fs_mem_human(t->mem.total, need, sizeof need), fs_mem_human(avail, have, sizeof have);
    if (fits > 0) {
        snprintf(suggest, sizeof suggest, "the largest train.batch_per_identity that fits is %d", fits);
        snprintf(hint, sizeof hint, "--set train.batch_per_identity=%d (or fewer ranks per node)", fits);
    } else {
        snprintf(suggest, sizeof suggest, "not even train.batch_per_identity %d fits", t->world.size);
        snprintf(hint, sizeof hint, "a narrower model, fewer ranks per node or a device with more memory");
    }
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s: training needs about %s per rank (%zu bytes at train.batch_per_identity %d, %d per rank), "
                     "but %s (%zu bytes) is available per rank (%s); %s\n  hint: %s; faceswarm model %s --batch N "
                     "prints the estimate",
                     c->source[0] ? c->source : "config", need, t->mem.total, c->train.batch_per_identity,
                     t->local_batch, have, avail, from, suggest, hint, c->source[0] ? c->source : "CONFIG");
}

static int setup_model(trainer *t, fs_error *e) {
    int rc = fs_world_split_batch(&t->world, t->cfg.train.batch_per_identity, "train.batch_per_identity",
                                  &t->local_batch, e);
    if (rc) return rc;
    t->rss_before = fs_mem_rss();
    if ((rc = fs_model_build(&t->model, &t->cfg, e))) return rc;
    if (t->cfg.train.device[0] == 'c' && !strcmp(t->cfg.train.device, "cpu"))
        fs_cpu_set_threads(
            choose_threads(t->cfg.train.threads, t->world.local_size, t->threads_from, sizeof t->threads_from));
    t->be = fs_backend_select(t->cfg.train.device, t->world.local_rank, e);
    if (!t->be) return e->code ? e->code : FS_EXIT_FAIL;
    if ((rc = check_memory(t, e))) return rc;
    /* bf16 on cuda also stores the activations in bf16 (check_memory's estimate counted them so) */
    int prec = strcmp(t->cfg.train.precision, "bf16") ? FS_PREC_FP32
               : fs_mem_act_bf16(&t->cfg)             ? FS_PREC_BF16_ACT
                                                      : FS_PREC_BF16;
    t->model.act_bf16 = prec == FS_PREC_BF16_ACT;
    if (t->be->set_precision(prec) != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: train.precision: %s is not supported by backend %s\n  hint: set train.precision: fp32, "
                         "or train.device to one whose kernels have a bf16 path (cpu, cuda)",
                         t->cfg.source[0] ? t->cfg.source : "config", t->cfg.train.precision, t->be->name);
    fs_model_alloc(&t->model, t->be, t->local_batch);
    fs_model_init_params(&t->model, t->cfg.train.seed);
    fs_step_buffers_alloc(&t->sb, &t->model);
    model_description(t);
    return 0;
}

/* The Adam variant a checkpoint was trained with: its config text's train.adam_epsilon, or
 * "legacy" when the text has none (written by 0.1.0, before the key existed). */
/* The GEMM precision a checkpoint was trained with (its config text's train.precision; fp32
 * when it records none, written before the key existed). */
static void checkpoint_precision(const fs_ckpt_meta *meta, char out[8]) {
    char v[64];
    int found = meta->config_text ? fs_config_text_value(meta->config_text, "train.precision", v, sizeof v) : 0;
    snprintf(out, 8, "%s", found == 1 && !strcmp(v, "bf16") ? "bf16" : "fp32");
}

static void checkpoint_adam(const fs_ckpt_meta *meta, char out[8]) {
    char v[64] = "";
    int found = meta->config_text ? fs_config_text_value(meta->config_text, "train.adam_epsilon", v, sizeof v) : 0;
    snprintf(out, 8, "%s", found == 1 && fs_adam_variant_parse(v) >= 0 ? v : "legacy");
}

/* The optimizer a checkpoint was trained with: its config text's train.optimizer, or "adam"
 * when the text has none (written before the key existed, when Adam was the only one). */
static void checkpoint_optimizer(const fs_ckpt_meta *meta, char out[16]) {
    char v[64] = "";
    int found = meta->config_text ? fs_config_text_value(meta->config_text, "train.optimizer", v, sizeof v) : 0;
    snprintf(out, 16, "%s", found == 1 ? v : "adam");
}

/* The checkpoint's moments belong to its optimizer: another one would continue from numbers
 * that mean something else, so a mismatch stops the run instead. */
static int check_checkpoint_optimizer(const trainer *t, const char *path, const fs_ckpt_meta *meta, fs_error *e) {
    char opt[16];
    checkpoint_optimizer(meta, opt);
    if (!strcmp(opt, t->cfg.train.optimizer)) return 0;
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s: trained with train.optimizer: %s, but the config says %s; one "
                     "optimizer's moments (/adam_m, /adam_v) cannot continue the other's\n  hint: resume with --set "
                     "train.optimizer=%s, or start a new run (another run.dir, no --resume) to change the optimizer",
                     path, opt, t->cfg.train.optimizer, opt);
}

/* A resumed run keeps the Adam its checkpoint was trained with, so that it continues exactly
 * (and a 0.1.0 checkpoint continues as 0.1.0 trained it). The effective config, saved into
 * run.dir and every later checkpoint, records it. */
static void keep_checkpoint_adam(trainer *t, const char *path, const char *adam) {
    if (!strcmp(adam, t->cfg.train.adam_epsilon)) return;
    if (t->world.rank == 0)
        fs_warn("%s was trained with train.adam_epsilon: %s%s; continuing with it (the config says %s; a new "
                "run can change it)",
                path, adam, strcmp(adam, "legacy") ? "" : " (faceswarm 0.1.0's Adam)", t->cfg.train.adam_epsilon);
    snprintf(t->cfg.train.adam_epsilon, sizeof t->cfg.train.adam_epsilon, "%s", adam);
    free(t->config_text);
    t->config_text = fs_config_dump(&t->cfg);
}

/* The kernels this run's sums come from, as checkpoints record them: the backend's name and,
 * for the fast CPU path, its GEMM's kernel set ("cpu own-avx512-12x32", "cpu own-avx2-6x16",
 * "cpu SkylakeX") and, with train.precision bf16, its bf16 path ("cpu own-avx512-12x32
 * bf16-round", "... bf16-dot", "... bf16-amx": fs_cpu_bf16_path). Two runs on the same kernels (or on two own
 * ones), config and world size compute the same bits. */
static void kernels_name(const trainer *t, char *out, size_t len) {
    if (strcmp(t->be->name, "cpu")) snprintf(out, len, "%s", t->be->name);
    else if (!strcmp(t->cfg.train.precision, "bf16"))
        snprintf(out, len, "cpu %s bf16-%s", fs_cpu_kernel_set(), fs_cpu_bf16_path());
    else snprintf(out, len, "cpu %s", fs_cpu_kernel_set());
}

/* Splits a kernels name's " bf16-PATH" tail off into bf16 ("" when it has none). */
static void split_bf16(const char *name, char *base, size_t len, char bf16[16]) {
    const char *tail = strstr(name, " bf16-");
    size_t n = tail ? (size_t)(tail - name) : strlen(name);
    snprintf(base, len, "%.*s", (int)n, name);
    snprintf(bf16, 16, "%s", tail ? tail + 6 : "");
}

/* A resume on other kernels than the checkpoint's continues from the same state, but its later
 * steps round differently from a run that never stopped: say so, and how to get them back. A
 * change of train.precision is said by the header's precision line instead. */
static void check_checkpoint_kernels(const trainer *t, const char *path, const fs_ckpt_meta *meta) {
    char mine[sizeof meta->kernels], theirs_base[sizeof meta->kernels], mine_base[sizeof meta->kernels];
    char theirs_bf16[16], mine_bf16[16];
    kernels_name(t, mine, sizeof mine);
    if (!meta->kernels[0] || !strcmp(meta->kernels, mine)) return;
    split_bf16(meta->kernels, theirs_base, sizeof theirs_base, theirs_bf16);
    split_bf16(mine, mine_base, sizeof mine_base, mine_bf16);
    int bf16_differs = theirs_bf16[0] && mine_bf16[0] && strcmp(theirs_bf16, mine_bf16);
    /* the own GEMM's kernels (AVX-512, AVX2) all sum alike: nothing to say between them */
    int base_agrees =
        !strcmp(theirs_base, mine_base) || (!strncmp(theirs_base, "cpu ", 4) && !strncmp(mine_base, "cpu ", 4) &&
                                            fs_cpu_kernel_sets_agree(theirs_base + 4, mine_base + 4));
    if (base_agrees && !bf16_differs) return;
    char how[200] = "the backend it was written with";
    if (!strncmp(theirs_base, "cpu own", 7)) snprintf(how, sizeof how, "FACESWARM_CPU_GEMM=own");
    else if (!strncmp(theirs_base, "cpu ", 4))
        snprintf(how, sizeof how, "FACESWARM_CPU_GEMM=openblas OPENBLAS_CORETYPE=%s", theirs_base + 4);
    if (bf16_differs) {
        size_t n = strlen(how);
        snprintf(how + n, sizeof how - n, " FACESWARM_CPU_BF16=%s%s", theirs_bf16,
                 !strcmp(theirs_bf16, "dot")   ? " (it needs AVX512_BF16)"
                 : !strcmp(theirs_bf16, "amx") ? " (it needs AMX-BF16)"
                                               : "");
    }
    fs_warn("%s was written by kernels '%s'; this run uses '%s': training continues from the same state, but "
            "its steps are not bit-identical to a run that stayed on '%s'\n  hint: for that, resume with %s "
            "on a CPU that has those kernels (docs/cpu.md)",
            path, meta->kernels, mine, meta->kernels, how);
}

/* Loads a checkpoint on rank 0 and broadcasts it; every rank then holds the same state. */
static int load_checkpoint(trainer *t, const char *path, fs_error *e) {
    fs_model *m = &t->model;
    size_t bytes = sizeof(float) * m->n_params;
    float *host[3] = {fs_malloc(bytes), fs_malloc(bytes), fs_malloc(bytes)};
    long hdr[4] = {0, 0, 0, 0};
    char adam[8] = "";
    int rc = 0;
    if (t->world.rank == 0) {
        fs_ckpt_meta meta;
        rc = fs_ckpt_read(path, (long)m->n_params, &meta, host[0], host[1], host[2], NULL, e);
        if (!rc && fs_ckpt_notice(&meta)) fs_warn("%s: %s", path, fs_ckpt_notice(&meta));
        if (!rc) rc = check_checkpoint_optimizer(t, path, &meta, e);
        if (!rc) check_checkpoint_kernels(t, path, &meta);
        if (!rc && meta.model_hash != fs_config_model_hash(&t->cfg))
            rc = fs_errorf(e, FS_EXIT_BADINPUT,
                           "%s: the checkpoint's model section differs from the config's\n"
                           "  hint: resume with the config the checkpoint was trained with (faceswarm checkpoint "
                           "inspect %s prints it)",
                           path, path);
        if (!rc && meta.global_batch != t->cfg.train.batch_per_identity)
            fs_warn("%s: trained with global batch %d per identity, continuing with %d: the sample order "
                    "continues at the same position but batches are grouped differently",
                    path, meta.global_batch, t->cfg.train.batch_per_identity);
        if (!rc) hdr[0] = meta.step, hdr[1] = meta.epoch, hdr[2] = meta.nonfinite_skipped, hdr[3] = meta.world_size;
        if (!rc) checkpoint_adam(&meta, adam);
        if (!rc) checkpoint_precision(&meta, t->resumed_precision);
        if (!rc) fs_ckpt_meta_free(&meta);
    }
    hdr[3] = rc; /* rank 0's verdict travels with the header */
    int brc = fs_world_bcast(&t->world, hdr, sizeof hdr, 0, e);
    if (!brc) brc = fs_world_bcast(&t->world, adam, sizeof adam, 0, e);
    if (!brc) brc = fs_world_bcast(&t->world, t->resumed_precision, sizeof t->resumed_precision, 0, e);
    if (!brc && hdr[3] == 0)
        for (int k = 0; k < 3 && !brc; k++) brc = fs_world_bcast(&t->world, host[k], bytes, 0, e);
    if (!brc && hdr[3] == 0) {
        m->be->upload(m->params, host[0], bytes);
        m->be->upload(m->adam_m, host[1], bytes);
        m->be->upload(m->adam_v, host[2], bytes);
        t->step = hdr[0], t->epoch = hdr[1], t->nonfinite_total = hdr[2];
        keep_checkpoint_adam(t, path, adam);
    }
    for (int k = 0; k < 3; k++) free(host[k]);
    if (brc) return brc;
    if (hdr[3] != 0 && t->world.rank != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "rank 0 could not load checkpoint %s", path);
    return rc;
}

/* A fresh start (--resume none, the default) into a run.dir that already holds checkpoints:
 * checkpoint.keep keeps the highest steps, so this run's own checkpoints would be pruned in
 * favour of the earlier run's until it passes them, and --resume auto would go back to those. */
static void warn_fresh_over_checkpoints(const trainer *t) {
    char **paths = NULL;
    fs_error le = {0};
    int n = t->world.rank == 0 ? fs_ckpt_list(t->cfg.run.dir, &paths, &le) : 0;
    if (n > 0)
        fs_warn("%s holds %d checkpoint(s) of an earlier run (newest %s) and this run starts from step 0 "
                "(--resume none, the default): checkpoint.keep keeps the highest steps, so this run's own "
                "checkpoints are removed until it passes them, and --resume auto would take the earlier "
                "run's\n  hint: --resume auto to continue that run, or another run.dir (or remove %s/checkpoints) "
                "to start afresh",
                t->cfg.run.dir, n, paths[0], t->cfg.run.dir);
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

/* --resume: auto = newest checkpoint that verifies (registry first), PATH, or none. */
static int resume(trainer *t, const char *how, fs_error *e) {
    if (!how || !strcmp(how, "none")) {
        warn_fresh_over_checkpoints(t);
        return 0;
    }
    char path[FS_PATH_LEN + 64] = "";
    int found = 1;
    if (!strcmp(how, "auto")) {
        if (t->world.rank == 0) {
            char **reg = NULL;
            long *steps = NULL;
            int nreg = fs_coord_registry_read(t->cfg.run.dir, &reg, &steps, NULL);
            if (nreg < 0) nreg = 0;
            found = fs_ckpt_find_latest(t->cfg.run.dir, reg, nreg, path, sizeof path, e);
            for (int i = 0; i < nreg; i++) free(reg[i]);
            free(reg);
            free(steps);
        }
        int rc = fs_world_bcast(&t->world, &found, sizeof found, 0, e);
        if (!rc) rc = fs_world_bcast(&t->world, path, sizeof path, 0, e);
        if (rc) return rc;
        if (found < 0) return fs_errorf(e, FS_EXIT_FAIL, "cannot list %s/checkpoints", t->cfg.run.dir);
        if (found == 0) {
            fs_info("resume auto: no checkpoint in %s/checkpoints, starting from step 0", t->cfg.run.dir);
            return 0;
        }
    } else {
        snprintf(path, sizeof path, "%s", how);
    }
    int rc = load_checkpoint(t, path, e);
    if (!rc) fs_info("resumed from %s at step %ld (epoch %ld)", path, t->step, t->epoch);
    if (!rc) snprintf(t->last_ckpt, sizeof t->last_ckpt, "%s", path);
    return rc;
}

static int setup_loader(trainer *t, fs_error *e) {
    const fs_config *c = &t->cfg;
    char paths[FS_MAX_IDENTITIES][FS_PATH_LEN + 80];
    const char *pp[FS_MAX_IDENTITIES], *ids[FS_MAX_IDENTITIES];
    for (int i = 0; i < c->model.n_identities; i++) {
        fs_config_data_path(c, i, paths[i], sizeof paths[i]);
        pp[i] = paths[i], ids[i] = c->model.identities[i];
    }
    fs_loader_opts o = {
        .paths = pp,
        .n_identities = c->model.n_identities,
        .map = {.dataset = c->data.dataset, .layout = c->data.layout, .dtype = c->data.dtype},
        .resolution = c->model.resolution,
        .global_batch = c->train.batch_per_identity,
        .rank = t->world.rank,
        .world = t->world.size,
        .seed = c->train.seed,
        .start_step = t->step,
        .prefetch = c->data.prefetch,
        .threads = c->data.threads,
        .rotation = c->data.rotation,
        .zoom = c->data.zoom,
        .shift = c->data.shift,
        .flip = c->data.flip,
        .warp = c->data.warp,
        .masks = fs_loader_masks_mode(c->train.mask_loss),
        .identities = ids,
        .require_consent = c->data.require_consent,
    };
    fs_loss_weights w;
    fs_loss_weights_from_config(c, &w);
    char why[96];
    snprintf(why, sizeof why,
             c->train.eye_multiplier != 1.0f ? "train.eye_multiplier = %g" : "train.mouth_multiplier = %g",
             (double)(c->train.eye_multiplier != 1.0f ? c->train.eye_multiplier : c->train.mouth_multiplier));
    o.regions = fs_loss_wants_regions(&w), o.regions_why = why;
    return fs_loader_open(&t->loader, &o, e);
}

/* coordinator.keys is input: a key file that is missing or unusable stops the run (exit 2)
 * before anything is written, instead of a run without the coordinator it asked for. */
static int check_coord_keys(const trainer *t, fs_error *e) {
    const char *path = t->cfg.coordinator.keys;
    fs_coord_keys k;
    if (!path[0] || !strcmp(t->cfg.coordinator.address, "off") || !fs_coord_keys_load(path, &k, e)) return 0;
    fs_error why = *e;
    return fs_errorf(e, FS_EXIT_BADINPUT, "coordinator.keys = '%s': %.3500s", path, why.msg);
}

/* The coordinator is optional to training: if it cannot be reached the run goes on. */
static void setup_coordinator(trainer *t) {
    const fs_config *c = &t->cfg;
    char addr[256];
    snprintf(addr, sizeof addr, "%s", c->coordinator.address);
    if (!strcmp(addr, "off")) return;
    fs_error e = {0};
    char job[64];
    const char *slurm_job = getenv("SLURM_JOB_ID");
    snprintf(job, sizeof job, "%s", slurm_job ? slurm_job : "local");
    if (!addr[0] && t->world.rank == 0) {
        char exe[FS_PATH_LEN];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        fs_coord_local_opts lo = {.exe = exe,
                                  .run_dir = c->run.dir,
                                  .keyfile = c->coordinator.keys,
                                  .job_id = job,
                                  .world = t->world.size,
                                  .timeout_s = c->coordinator.timeout_s};
        if (fs_coord_local_start(&t->coord_local, &lo, addr, sizeof addr, &e) != 0) {
            fs_warn("could not start a local coordinator (%s); training goes on without one", e.msg);
            addr[0] = 0;
        }
    }
    if (fs_world_bcast(&t->world, addr, sizeof addr, 0, &e) != 0 || !addr[0]) return;
    t->coord_used = 1; /* the same on every rank */
    fs_coord_identity id = {.job_id = job,
                            .rank = t->world.rank,
                            .world = t->world.size,
                            .host = t->world.host,
                            .pid = (long)getpid(),
                            .config_hash = fs_config_hash(c)};
    if (fs_coord_connect(&t->coord, addr, c->coordinator.keys, &id, c->coordinator.heartbeat_s, &e) != 0) {
        fs_warn("coordinator %s: %s; training goes on without it", addr, e.msg);
        t->coord = NULL;
    } else if (t->world.rank == 0) {
        fs_info("coordinator: %s (faceswarm status --run %s)", addr, c->run.dir);
    }
}

/* Keeps only the lines of metrics.jsonl up to the resumed step: steps after it are trained
 * again, so the file shows every step exactly once. */
static void trim_metrics(const char *path, long step) {
    char *text = fs_read_file(path, NULL, NULL);
    if (!text) return;
    size_t cap = strlen(text) + 1, n = 0;
    char *out = fs_malloc(cap);
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        const char *s = strstr(line, "\"step\":");
        size_t len = strlen(line);
        /* A line cut short (a crash or a full disk mid-write) is dropped, never joined to another. */
        if (!s || strtol(s + 7, NULL, 10) > step || line[0] != '{' || line[len - 1] != '}' || !next) continue;
        n += (size_t)snprintf(out + n, cap - n, "%s\n", line);
    }
    fs_write_file_atomic(path, out, n, NULL);
    free(out);
    free(text);
}

static int open_metrics(trainer *t, fs_error *e) {
    char *path = t->metrics_path;
    snprintf(path, sizeof t->metrics_path, "%s/metrics.jsonl", t->cfg.run.dir);
    trim_metrics(path, t->step);
    t->metrics_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (t->metrics_fd < 0)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "%s: cannot open for appending: %s\n  hint: check that run.dir is "
                         "writable",
                         path, strerror(errno));
    return 0;
}

/* Metrics are part of the run's record: a line that cannot be written stops the run at once
 * (exit 1), WITHOUT a new checkpoint, since a checkpoint past a missing line would leave
 * that step missing for good. --resume auto then continues from the last checkpoint, whose
 * steps' lines are durable (fsynced before it was written), and logs the rest again. */
static int metrics_failed(trainer *t, fs_error *e) {
    fs_error_prefix(e, "metrics of step %ld not written, run stopped: ", t->step);
    char tail[sizeof t->last_ckpt + 200];
    snprintf(tail, sizeof tail,
             "\n  the last checkpoint (%s) is whole; after fixing this, --resume auto "
             "continues from it and logs the steps after it again",
             t->last_ckpt[0] ? t->last_ckpt : "none from this run: it starts over");
    size_t n = strlen(e->msg);
    snprintf(e->msg + n, sizeof e->msg - n, "%s", tail);
    return e->code;
}

/* Before a checkpoint: every metrics line up to its step is on disk. */
static int sync_metrics(trainer *t, fs_error *e) {
    if (t->metrics_fd < 0) return 0;
    int err = fs_fault("metrics_fsync");
    if (!err && fsync(t->metrics_fd) != 0) err = errno;
    if (!err) return 0;
    fs_errorf(e, FS_EXIT_FAIL, "%s: fsync failed: %s\n  hint: free space or fix the filesystem holding run.dir",
              t->metrics_path, strerror(err));
    return metrics_failed(t, e);
}

/* ---------------------------------------------------------------- one step */
typedef struct step_result {
    double loss; /* mean over ranks, summed over identities */
    double loss_id[FS_MAX_IDENTITIES];
    double term[FS_TERM_COUNT]; /* each loss term summed over identities, mean over ranks */
    double grad_norm;
    double sc[SC_COUNT]; /* summed over ranks */
    double rank_step_ms; /* this rank's */
    double rank_data_ms;
    int applied; /* 0 when the non-finite guard skipped the update */
    int stop;
} step_result;

/* Test hook for the non-finite guard: FACESWARM_TEST_NAN_AT="STEP[:COUNT]" poisons one
 * gradient element on steps STEP .. STEP+COUNT-1 (1-based, as logged). */
static void inject_nan(trainer *t) {
    const char *env = getenv("FACESWARM_TEST_NAN_AT");
    if (!env) return;
    char *end;
    long at = strtol(env, &end, 10), count = *end == ':' ? strtol(end + 1, NULL, 10) : 1;
    long s = t->step + 1;
    if (s < at || s >= at + count) return;
    float nan = NAN;
    t->be->upload(t->model.grads, &nan, sizeof nan);
}

static void upload_batch(trainer *t, const fs_batch *b) {
    size_t n = (size_t)b->n_identities * b->per_rank * b->size * b->size * 3;
    t->be->u8_to_float(n, b->input, t->model.input);
    t->be->u8_to_float(n, b->target, t->sb.target);
    t->sb.have_mask = b->mask != NULL;
    if (b->mask) t->be->u8_to_float(n / 3, b->mask, t->sb.mask); /* [n_identities * per_rank, S, S] */
    t->sb.have_regions = b->eye != NULL;
    if (b->eye) t->be->u8_to_float(n / 3, b->eye, t->sb.eye), t->be->u8_to_float(n / 3, b->mouth, t->sb.mouth);
}

static int run_step(trainer *t, step_result *r, fs_error *e) {
    fs_model *m = &t->model;
    const fs_backend *be = t->be;
    double t0 = fs_now();
    const fs_batch *b = fs_loader_next(t->loader, e);
    if (!b) return e->code ? e->code : FS_EXIT_FAIL;
    t->epoch = b->epoch;
    upload_batch(t, b);
    double t1 = fs_now();
    be->zero(m->grads, sizeof(float) * m->n_params);
    fs_step_forward_loss(m, &t->cfg, &t->sb, t->local_batch);
    be->sync();
    double t2 = fs_now();
    grad_sync_begin(&t->gs);
    fs_model_backward(m, t->local_batch, t->sb.dout, fs_step_dmask(&t->sb), grad_sync_ready, &t->gs);
    be->sync();
    double t3 = fs_now();
    fs_allreduce_stats st;
    /* The heartbeat carries "in the gradient all-reduce of step s" so that the coordinator
     * can name a rank that stays in it while the others moved on. */
    if (t->coord) fs_coord_set_collective(t->coord, (uint64_t)t->step + 1, grad_sync_buckets(&t->gs), 1);
    int rc = grad_sync_finish(&t->gs, t->cfg.comms.timeout_s, &st, e);
    if (t->coord) fs_coord_set_collective(t->coord, (uint64_t)t->step + 1, grad_sync_buckets(&t->gs), 0);
    if (rc) return rc;
    double t4 = fs_now();
    int nid = m->n_decoders, P = t->world.size;
    double v[FS_MAX_IDENTITIES + FS_TERM_COUNT + SC_COUNT] = {0};
    for (int i = 0; i < nid; i++) v[i] = t->sb.loss[i];
    for (int i = 0; i < nid; i++)
        for (int k = 0; k < FS_TERM_COUNT; k++) v[nid + k] += t->sb.terms[i][k];
    double *sc = v + nid + FS_TERM_COUNT;
    sc[SC_STOP] = g_stop_signal ? 1 : 0;
    sc[SC_DATA_MS] = b->wait_ms;
    sc[SC_FWD_MS] = 1e3 * (t2 - t1), sc[SC_BWD_MS] = 1e3 * (t3 - t2), sc[SC_COMM_MS] = 1e3 * st.wait_s;
    inject_nan(t);
    double sumsq = be->sumsq(m->n_params, m->grads);
    sc[SC_OPT_MS] = 0, sc[SC_STEP_MS] = 0;
    if ((rc = fs_world_sum_doubles(&t->world, v, nid + FS_TERM_COUNT + SC_COUNT, e))) return rc;
    r->loss = 0;
    for (int i = 0; i < nid; i++) r->loss += (r->loss_id[i] = v[i] / P);
    for (int k = 0; k < FS_TERM_COUNT; k++) r->term[k] = v[nid + k] / P;
    r->grad_norm = sqrt(sumsq) / P; /* the gradient is the SUM over ranks */
    r->applied = isfinite(r->grad_norm) && isfinite(r->loss);
    if (r->applied) {
        float clip = t->cfg.train.clip_norm, factor = 1.0f;
        if (clip > 0 && r->grad_norm >= clip) factor = (float)(clip / r->grad_norm); /* DFL's tf_clip_norm */
        fs_adam_variant variant = (fs_adam_variant)fs_adam_variant_parse(t->cfg.train.adam_epsilon);
        /* The bias corrections count the updates applied; 0.1.0 (legacy) counted every step. */
        long updates = t->step + 1 - (variant == FS_ADAM_LEGACY ? 0 : t->nonfinite_total);
        fs_adam_args a = {.lr = t->cfg.train.lr,
                          .beta1 = t->cfg.train.beta1,
                          .beta2 = t->cfg.train.beta2,
                          .eps = t->cfg.train.eps,
                          .step = updates,
                          .grad_scale = factor / (float)P,
                          .weight_decay = t->cfg.train.weight_decay,
                          .variant = variant};
        if (!strcmp(t->cfg.train.optimizer, "adabelief")) { /* adam_m, adam_v hold AdaBelief's m and s */
            a.eps = t->cfg.train.adabelief_eps;
            a.lr_dropout = t->cfg.train.lr_dropout, a.dropout_seed = t->cfg.train.seed;
            be->adabelief(m->n_params, m->params, m->grads, m->adam_m, m->adam_v, &a);
        } else {
            be->adam(m->n_params, m->params, m->grads, m->adam_m, m->adam_v, &a);
        }
        be->sync();
    }
    double t5 = fs_now();
    memcpy(r->sc, sc, sizeof r->sc);
    r->sc[SC_OPT_MS] = 1e3 * (t5 - t4);
    r->sc[SC_STEP_MS] = 1e3 * (t5 - t0);
    r->rank_step_ms = 1e3 * (t5 - t0);
    r->rank_data_ms = b->wait_ms;
    r->stop = sc[SC_STOP] > 0;
    return 0;
}

/* ---------------------------------------------------------------- output */
static double images_per_s(const trainer *t, double step_ms) {
    double imgs = (double)t->cfg.train.batch_per_identity * t->cfg.model.n_identities;
    return step_ms > 0 ? imgs / (step_ms / 1e3) : 0;
}

static void fmt_eta(double s, char *out, size_t n) {
    if (!isfinite(s) || s < 0) s = 0;
    long x = (long)s;
    snprintf(out, n, "%ld:%02ld:%02ld", x / 3600, x / 60 % 60, x % 60);
}

static void print_progress(trainer *t, const step_result *r, double step_ms) {
    double elapsed = fs_now() - t->t_start;
    double rate = t->steps_this_run / FS_MAX(elapsed, 1e-9);
    char eta[32], losses[256] = "";
    fmt_eta((double)(t->cfg.train.steps - t->step) / FS_MAX(rate, 1e-9), eta, sizeof eta);
    size_t n = 0;
    for (int i = 0; i < t->cfg.model.n_identities && n < sizeof losses - 40; i++)
        n += (size_t)snprintf(losses + n, sizeof losses - n, " %s %.4f", t->cfg.model.identities[i], r->loss_id[i]);
    char line[512];
    snprintf(line, sizeof line, "step %ld/%ld  loss %.4f (%s )  %.1f img/s  data wait %.1f ms  ETA %s", t->step,
             t->cfg.train.steps, r->loss, losses + 1, images_per_s(t, step_ms), r->sc[SC_DATA_MS] / t->world.size, eta);
    fs_progress(stdout, t->tty, "%s", line); /* any log line ends it first */
}

/* Whether loss term k is part of this run's loss (its weight is set): a metrics field. */
static int term_on(const trainer *t, int k) {
    const fs_config *c = &t->cfg;
    switch (k) {
    case FS_TERM_MSE: return c->train.loss_mse > 0;
    case FS_TERM_DSSIM: return c->train.loss_dssim > 0;
    case FS_TERM_L1: return c->train.loss_l1 > 0;
    case FS_TERM_EYE: return c->train.eye_multiplier != 1.0f;
    case FS_TERM_MOUTH: return c->train.mouth_multiplier != 1.0f;
    default: return t->sb.mask_loss_on;
    }
}

/* One metrics line: rank 0 appends it to metrics.jsonl; every rank sends its own to the
 * coordinator. The per-rank step and data-wait times are gathered to rank 0 so that a slow
 * rank shows. */
static int log_metrics(trainer *t, const step_result *r, fs_error *e) {
    int P = t->world.size, nid = t->cfg.model.n_identities;
    double mine[2] = {r->rank_step_ms, r->rank_data_ms};
    double *all = t->world.rank == 0 ? fs_malloc(sizeof(double) * 2 * (size_t)P) : NULL;
    int rc = fs_world_gather_doubles(&t->world, mine, 2, all, e);
    if (rc) {
        free(all);
        return rc;
    }
    char line[8192];
    size_t n = 0, cap = sizeof line;
    double step_ms = r->rank_step_ms; /* rank 0's; every rank's is in rank_step_ms */
    n += (size_t)snprintf(line + n, cap - n, "{\"step\":%ld,\"epoch\":%ld,\"loss\":%.6g", t->step, t->epoch, r->loss);
    for (int i = 0; i < nid; i++)
        n += (size_t)snprintf(line + n, cap - n, ",\"loss_%s\":%.6g", t->cfg.model.identities[i], r->loss_id[i]);
    for (int k = 0; k < FS_TERM_COUNT; k++)
        if (term_on(t, k))
            n += (size_t)snprintf(line + n, cap - n, ",\"term_%s\":%.6g", fs_loss_term_names[k], r->term[k]);
    n += (size_t)snprintf(line + n, cap - n,
                          ",\"grad_norm\":%.6g,\"lr\":%.6g,\"images_per_s\":%.2f,\"data_wait_ms\":%.3f,"
                          "\"step_ms\":%.3f,\"forward_ms\":%.3f,\"backward_ms\":%.3f,\"comm_wait_ms\":%.3f,"
                          "\"optimizer_ms\":%.3f,\"skipped\":%d,\"world_size\":%d,\"restart_count\":%ld,\"masked\":%d",
                          isfinite(r->grad_norm) ? r->grad_norm : -1.0, t->cfg.train.lr, images_per_s(t, step_ms),
                          r->sc[SC_DATA_MS] / P, step_ms, r->sc[SC_FWD_MS] / P, r->sc[SC_BWD_MS] / P,
                          r->sc[SC_COMM_MS] / P, r->sc[SC_OPT_MS], !r->applied, P, t->restart_count, t->sb.have_mask);
    if (t->coord && t->world.rank != 0) {
        char own[256];
        double own_imgs = (double)t->local_batch * t->cfg.model.n_identities; /* this rank's images per step */
        snprintf(own, sizeof own, "{\"step_ms\":%.3f,\"data_wait_ms\":%.3f,\"loss\":%.6g,\"images_per_s\":%.2f}",
                 r->rank_step_ms, r->rank_data_ms, r->loss,
                 r->rank_step_ms > 0 ? own_imgs / (r->rank_step_ms / 1e3) : 0.0);
        fs_coord_metrics(t->coord, t->step, own);
    }
    if (t->world.rank == 0) {
        if (t->coord) { /* the coordinator takes flat objects; it gets every rank's own times */
            char flat[8192];
            snprintf(flat, sizeof flat, "%.*s,\"target_step\":%ld}", (int)n, line,
                     t->cfg.train.steps); /* for the ETA of `faceswarm status` */
            fs_coord_metrics(t->coord, t->step, flat);
        }
        for (int k = 0; k < 2; k++) {
            n += (size_t)snprintf(line + n, cap - n, k ? ",\"rank_data_wait_ms\":[" : ",\"rank_step_ms\":[");
            for (int q = 0; q < P && n < cap - 64; q++)
                n += (size_t)snprintf(line + n, cap - n, "%s%.3f", q ? "," : "", all[2 * q + k]);
            n += (size_t)snprintf(line + n, cap - n, "]");
        }
        n += (size_t)snprintf(line + n, cap - n, "}\n");
        rc = fs_append(t->metrics_fd, t->metrics_path, line, FS_MIN(n, cap - 1), "metrics_write", e);
        if (rc) rc = metrics_failed(t, e);
        else print_progress(t, r, step_ms);
    }
    free(all);
    return rc;
}

/* ---------------------------------------------------------------- checkpoints */
/* Appends key=value to the consent chain, tabs and newlines in value (they would split fields
 * or lines) as spaces. */
static void chain_put(char **out, size_t *len, size_t *cap, const char *key, const char *value, char end) {
    size_t need = strlen(key) + strlen(value) + 3;
    while (*len + need >= *cap) *out = fs_realloc(*out, *cap *= 2);
    *len += (size_t)snprintf(*out + *len, *cap - *len, "%s=", key);
    for (const char *p = value; *p; p++) (*out)[(*len)++] = (*p == '\t' || *p == '\n' || *p == '\r') ? ' ' : *p;
    (*out)[(*len)++] = end;
    (*out)[*len] = 0;
}

/* The consent chain a checkpoint carries (checkpoint.h): each identity's consent record as its
 * dataset holds it, with the dataset's attribute checksum, which covers that record. */
static char *consent_chain(const trainer *t) {
    size_t cap = 256, len = 0;
    char *out = fs_malloc(cap), file[FS_NAME_LEN + 8];
    out[0] = 0;
    for (int i = 0; i < t->cfg.model.n_identities; i++) {
        const char *sum = fs_loader_attr(t->loader, i, "checksum");
        snprintf(file, sizeof file, "%s.h5", t->cfg.model.identities[i]);
        chain_put(&out, &len, &cap, "identity", fs_loader_attr(t->loader, i, "identity"), '\t');
        chain_put(&out, &len, &cap, "consent", fs_loader_attr(t->loader, i, "consent"), '\t');
        chain_put(&out, &len, &cap, "source", fs_loader_attr(t->loader, i, "source"), '\t');
        chain_put(&out, &len, &cap, "dataset", file, '\t');
        chain_put(&out, &len, &cap, "dataset_checksum", sum[0] ? sum : "none", '\n');
    }
    return out;
}

static int write_checkpoint(trainer *t, fs_error *e) {
    if (t->world.rank != 0) return 0;
    if (sync_metrics(t, e)) return e->code;
    fs_model *m = &t->model;
    size_t bytes = sizeof(float) * m->n_params;
    float *host[3] = {m->params, m->adam_m, m->adam_v};
    int on_device = t->be->device != FS_DEV_CPU;
    if (on_device) {
        for (int k = 0; k < 3; k++) host[k] = fs_malloc(bytes);
        t->be->download(host[0], m->params, bytes);
        t->be->download(host[1], m->adam_m, bytes);
        t->be->download(host[2], m->adam_v, bytes);
    }
    fs_ckpt_meta meta = {.step = t->step,
                         .epoch = t->epoch,
                         .seed = t->cfg.train.seed,
                         .world_size = t->world.size,
                         .global_batch = t->cfg.train.batch_per_identity,
                         .model_hash = fs_config_model_hash(&t->cfg),
                         .n_params = (long)m->n_params,
                         .nonfinite_skipped = t->nonfinite_total,
                         .restart_count = t->restart_count,
                         .config_text = t->config_text,
                         .model_text = t->model_text,
                         .consent_text = consent_chain(t)};
    kernels_name(t, meta.kernels, sizeof meta.kernels);
    char path[FS_PATH_LEN + 64];
    fs_ckpt_path(t->cfg.run.dir, t->step, path, sizeof path);
    fs_ckpt_sums sums;
    double t0 = fs_now();
    int rc = fs_ckpt_write(path, &meta, host[0], host[1], host[2], &sums, e);
    free(meta.consent_text);
    if (on_device)
        for (int k = 0; k < 3; k++) free(host[k]);
    if (rc) return rc;
    fs_ckpt_prune(t->cfg.run.dir, t->cfg.checkpoint.keep);
    snprintf(t->last_ckpt, sizeof t->last_ckpt, "%s", path);
    fs_info("checkpoint %s (step %ld, %.2f s)", path, t->step, fs_now() - t0);
    if (t->coord) {
        char rel[FS_PATH_LEN + 64];
        snprintf(rel, sizeof rel, "checkpoints/ckpt-%010ld.h5", t->step);
        const char *names[] = {"params", "adam_m", "adam_v", "config"};
        const char *vals[] = {sums.params, sums.adam_m, sums.adam_v, sums.config};
        fs_coord_checkpoint(t->coord, t->step, rel, names, vals, 4);
    }
    return 0;
}

static void write_preview(trainer *t) {
    if (t->world.rank != 0) return;
    fs_error e = {0};
    char path[FS_PATH_LEN + 64];
    snprintf(path, sizeof path, "%s/previews/preview-%010ld.png", t->cfg.run.dir, t->step);
    if (fs_preview_write(&t->model, &t->cfg, t->loader, t->step, path, &e) != 0) {
        fs_warn("preview not written: %s", e.msg);
        return;
    }
    if (t->coord) {
        char rel[64];
        snprintf(rel, sizeof rel, "previews/preview-%010ld.png", t->step);
        fs_coord_preview(t->coord, t->step, rel, "preview");
    }
    char latest[FS_PATH_LEN + 64];
    snprintf(latest, sizeof latest, "%s/previews/latest.png", t->cfg.run.dir);
    char *data;
    size_t len;
    if ((data = fs_read_file(path, &len, &e))) {
        if (fs_write_file_atomic(latest, data, len, &e) == 0) t->preview_step = t->step;
        free(data);
    }
}

/* Divergence guard: every rank's parameters must be bit-identical (same gradients, same
 * update); a checksum comparison names the ranks that differ. */
static int check_divergence(trainer *t, fs_error *e) {
    fs_model *m = &t->model;
    if (t->be->device == FS_DEV_CPU) return fs_world_check_params(&t->world, m->params, m->n_params, e);
    float *host = fs_malloc(sizeof(float) * m->n_params);
    t->be->download(host, m->params, sizeof(float) * m->n_params);
    int rc = fs_world_check_params(&t->world, host, m->n_params, e);
    free(host);
    return rc;
}

/* After the first step of a run, rank 0's measured peak against its estimate: the peak
 * resident set (VmHWM) less the resident set before the model was built (libraries, MPI,
 * the config). Logged before any checkpoint is written (tests/train/memory_estimate.sh). */
static void report_memory(const trainer *t) {
    size_t peak = fs_mem_peak_rss(), grown = peak > t->rss_before ? peak - t->rss_before : 0;
    char a[32], b[32], c[32];
    fs_mem_human(grown, a, sizeof a), fs_mem_human(t->rss_before, b, sizeof b), fs_mem_human(t->mem.total, c, sizeof c);
    fs_info("memory after the first step: peak RSS %zu bytes, %zu bytes (%s) above the %zu bytes (%s) before the model "
            "was built; "
            "estimate %zu bytes (%s)%s",
            peak, grown, a, t->rss_before, b, t->mem.total, c, t->mem.cuda ? " of device memory" : "");
}

/* ---------------------------------------------------------------- the loop */
static int every(long step, int k) { return k > 0 && step % k == 0; }

static int train_loop(trainer *t, fs_error *e) {
    const fs_config *c = &t->cfg;
    t->t_start = fs_now();
    int rc = 0, stopped = 0;
    while (t->step < c->train.steps) {
        step_result r;
        if ((rc = run_step(t, &r, e))) return rc;
        t->step++;
        if (t->steps_this_run++ == 0 && t->world.rank == 0) report_memory(t);
        if (t->coord) fs_coord_set_step(t->coord, t->step);
        if (!r.applied) {
            t->nonfinite_in_row++, t->nonfinite_total++;
            fs_warn("step %ld: non-finite %s (loss %g, gradient norm %g); update skipped (%ld in a row, limit %d)",
                    t->step, isfinite(r.loss) ? "gradient" : "loss", r.loss, r.grad_norm, t->nonfinite_in_row,
                    c->train.max_nonfinite);
            if (t->nonfinite_in_row >= c->train.max_nonfinite)
                return fs_errorf(e, FS_EXIT_FAIL,
                                 "training diverged: %ld non-finite steps in a row up to step %ld; "
                                 "the last good checkpoint was left as it was (%s)\n  hint: lower train.lr, set "
                                 "train.clip_norm, or check the data for corrupt faces",
                                 t->nonfinite_in_row, t->step,
                                 t->last_ckpt[0] ? t->last_ckpt : "none written in this run");
        } else {
            t->nonfinite_in_row = 0;
        }
        int last = t->step >= c->train.steps;
        if (every(t->step, c->train.log_every) || last || r.stop || !r.applied)
            if ((rc = log_metrics(t, &r, e))) return rc;
        if (c->comms.check_every > 0 && t->step % c->comms.check_every == 0 && t->world.size > 1 &&
            (rc = check_divergence(t, e)))
            return rc;
        if (every(t->step, c->train.preview_every) || (last && c->train.preview_every > 0)) write_preview(t);
        if (r.stop) {
            stopped = 1;
            fs_info("stop requested (signal): step %ld finished, writing a checkpoint", t->step);
        }
        if (every(t->step, c->checkpoint.every) || last || stopped)
            if ((rc = write_checkpoint(t, e))) return rc;
        if (stopped) return FS_EXIT_STOPPED;
    }
    return 0;
}

/* ---------------------------------------------------------------- entry */
static void print_header(trainer *t) {
    char hosts[1024] = "";
    fs_world_hosts(&t->world, hosts, sizeof hosts, NULL); /* collective */
    if (t->world.rank != 0) return;
    printf("# faceswarm %s (commit %s)\n", FS_VERSION, fs_git_commit());
    printf("# config %s, run dir %s\n", t->cfg.source[0] ? t->cfg.source : "(defaults)", t->cfg.run.dir);
    if (t->be->device == FS_DEV_CPU)
        printf("# world size %d (%s), device cpu, %d thread(s) per rank (from %s), gemm %s, OpenBLAS '%s' "
               "kernels\n",
               t->world.size, hosts, fs_cpu_threads(), t->threads_from, fs_cpu_gemm_desc(), fs_cpu_blas_core());
    else printf("# world size %d (%s), device %s\n", t->world.size, hosts, t->be->name);
    if (t->world.size > 1)
        printf("# gradient all-reduce: %s, buckets of %g MB\n", grad_sync_path(&t->gs), t->cfg.comms.bucket_mb);
    printf("# model: %zu parameters, %d identities, %d px; global batch %d per identity (%d per rank)\n",
           t->model.n_params, t->model.n_decoders, t->model.resolution, t->cfg.train.batch_per_identity,
           t->local_batch);
    const char *adam = t->cfg.train.adam_epsilon;
    if (!strcmp(t->cfg.train.optimizer, "adabelief"))
        printf("# optimizer: AdaBelief (DeepFaceLab's), lr %g, betas %g %g, eps %g, lr_dropout %g%s\n", t->cfg.train.lr,
               t->cfg.train.beta1, t->cfg.train.beta2, t->cfg.train.adabelief_eps, (double)t->cfg.train.lr_dropout,
               t->cfg.train.lr_dropout > 0 ? "" : " (off)");
    else
        printf("# optimizer: Adam, lr %g, eps %g added to %s (train.adam_epsilon: %s)\n", t->cfg.train.lr,
               t->cfg.train.eps,
               !strcmp(adam, "keras")   ? "sqrt(v), as faceswap's Keras Adam"
               : !strcmp(adam, "paper") ? "sqrt(v_hat), as the Adam paper and PyTorch"
                                        : "sqrt(v_hat) with float32 constants, as faceswarm 0.1.0",
               adam);
    const char *prec = t->cfg.train.precision;
    printf("# precision: %s (train.precision)%s", prec,
           strcmp(prec, "bf16") ? "" : ": conv/dense GEMM operands rounded to bf16, fp32 sums, fp32 everything else");
    if (!strcmp(prec, "bf16") && !strcmp(t->be->name, "cpu"))
        printf("; bf16 path %s (FACESWARM_CPU_BF16: dot = the vdpbf16ps GEMM, round = rounded copies, fp32 GEMM)",
               fs_cpu_bf16_desc());
    if (t->resumed_precision[0] && strcmp(t->resumed_precision, prec))
        printf("; resumed from a checkpoint trained in %s", t->resumed_precision);
    printf("\n");
    if (t->cfg.train.clip_norm > 0) printf("# gradient clipping at global norm %g\n", t->cfg.train.clip_norm);
    printf("# steps %ld..%ld; checkpoints every %d, previews every %d; SLURM_RESTART_COUNT=%ld\n", t->step,
           t->cfg.train.steps, t->cfg.checkpoint.every, t->cfg.train.preview_every, t->restart_count);
    printf("# outputs are synthetic media: previews and swaps are labelled as such\n");
    fflush(stdout);
}

static int train_setup(trainer *t, const fs_train_args *a, fs_error *e) {
    int rc = load_config(t, a, e);
    if (rc) return rc;
    if (a->print_config) {
        if (t->world.rank == 0) fputs(t->config_text, stdout);
        return -1;
    }
    if ((rc = setup_model(t, e))) return rc;
    if ((rc = resume(t, a->resume, e))) return rc;
    /* Decided before the data, the run directory or a coordinator is touched: a finished run
     * resumed again leaves everything as it was. */
    if (t->step >= t->cfg.train.steps) return t->nothing_to_do = 1, 0;
    /* Every rank initialised from the same seed (or received rank 0's checkpoint): verify. */
    if (t->world.size > 1 && (rc = check_divergence(t, e))) return rc;
    /* The data is checked before anything is written: a bad file leaves no run directory. */
    if ((rc = setup_loader(t, e))) return rc;
    if ((rc = check_coord_keys(t, e))) return rc;
    if (t->world.rank == 0 && (rc = setup_run_dir(t, e))) return rc;
    if ((rc = grad_sync_init(&t->gs, &t->world, &t->model, &t->cfg, e))) return rc;
    if (t->world.rank == 0 && (rc = open_metrics(t, e))) return rc;
    setup_coordinator(t);
    return 0;
}

static void train_teardown(trainer *t, int rc, const char *msg) {
    int clean = rc == 0 || rc == FS_EXIT_STOPPED;
    if (t->coord) {
        fs_coord_goodbye(t->coord, clean, msg); /* returns once the coordinator has everything */
        fs_coord_close(t->coord);
    }
    /* Rank 0's local coordinator stops only after every rank's goodbye came back: killed
     * earlier, it would miss the other ranks' last metric lines. After an error the job is
     * aborted instead, and a bounded wait keeps a dead rank from holding rank 0 here. */
    if (clean && t->coord_used && t->world.size > 1) {
        fs_error be = {0};
        if (fs_world_barrier_timeout(&t->world, 30.0, "the coordinator goodbye", &be)) fs_warn("%s", be.msg);
    }
    fs_coord_local_stop(t->coord_local);
    if (t->metrics_fd >= 0) close(t->metrics_fd);
    if (t->lock_fd >= 0) close(t->lock_fd); /* releases the run directory */
    if (t->loader) fs_loader_close(t->loader);
    grad_sync_free(&t->gs);
    if (t->model.be) fs_step_buffers_free(&t->sb, &t->model); /* allocated together with the model */
    fs_model_free(&t->model);
    free(t->config_text);
}

/* Read before MPI_Init: a single process's MPI_Init sets PMIX_RANK (and OMPI_* variables)
 * itself, which would make every run look launched. */
static int started_by_launcher(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("SLURM_PROCID") || getenv("PMI_RANK") ||
           getenv("MPI_LOCALRANKID");
}

/* In place only on a real terminal: mpirun and srun hand ranks a pty even when their own
 * output goes to a file, so under a launcher progress is plain lines. */
int fs_progress_in_place(int rank, int stdout_is_tty, int launched) { return rank == 0 && stdout_is_tty && !launched; }

int fs_train_main(const fs_train_args *a, int *argc, char ***argv) {
    static trainer T; /* large; one per process */
    trainer *t = &T;
    memset(t, 0, sizeof *t);
    t->metrics_fd = t->lock_fd = -1;
    t->launched = started_by_launcher();
    /* glibc raises its mmap threshold to each freed mmap'd block (up to 32 MiB) and its trim
     * threshold to twice that: the step's per-call scratch then lands in the heap and stays
     * resident after free, 27 MB of liae-ud-256's peak that nothing holds (docs/architectures.md).
     * A threshold set once does not move: large blocks are mapped and returned on free. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    fs_error e = {0};
    if (fs_world_init(&t->world, argc, argv, &e) != 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        return FS_EXIT_FAIL;
    }
    const char *rc_env = getenv("SLURM_RESTART_COUNT");
    t->restart_count = 0; /* Slurm's count; anything but a whole number counts as none */
    if (rc_env && fs_parse_long("SLURM_RESTART_COUNT", rc_env, 0, 1L << 40, &t->restart_count, NULL))
        t->restart_count = 0;
    install_signals();
    int rc = train_setup(t, a, &e);
    if (rc == -1) { /* --print-config */
        train_teardown(t, 0, "printed config");
        fs_world_finalize(&t->world);
        return 0;
    }
    if (rc == 0 && t->nothing_to_do) {
        fs_info("nothing to do: already at step %ld of train.steps %ld (raise it with --steps N)", t->step,
                t->cfg.train.steps);
    } else if (rc == 0) {
        t->tty = fs_progress_in_place(t->world.rank, isatty(STDOUT_FILENO), t->launched);
        /* the per-step collectives outside the gradient all-reduce are bounded too: a rank on a
           node that is lost (a cut link) is named instead of waited for forever */
        t->world.timeout_s = t->cfg.comms.timeout_s;
        print_header(t);
        rc = train_loop(t, &e);
        if (rc == 0 && t->world.rank == 0 && t->steps_this_run > 0) {
            if (t->preview_step) /* only a preview this run wrote */
                fs_info("done: %ld steps; checkpoint %s; preview %s/previews/latest.png (step %ld)", t->step,
                        t->last_ckpt, t->cfg.run.dir, t->preview_step);
            else fs_info("done: %ld steps; checkpoint %s", t->step, t->last_ckpt);
        }
    }
    if (rc != 0 && rc != FS_EXIT_STOPPED) fs_log(FS_LOG_ERROR, "%s", e.msg);
    train_teardown(t, rc, rc && rc != FS_EXIT_STOPPED ? e.msg : "finished");
    if (rc != 0 && rc != FS_EXIT_STOPPED && t->world.size > 1) fs_world_abort(&t->world, rc);
    fs_world_finalize(&t->world);
    return rc;
}
