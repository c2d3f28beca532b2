/* extract.c — see extract.h: the options, the work folder, the chunks of each rank, the
 * progress line, and rank 0's join. */
#include "data/extract.h"

#include <dirent.h>
#include <libgen.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/extract_int.h"
#include "data/h5check.h"

static volatile int g_stop; /* a signal asked to stop after the current frame */
static void on_signal(int sig) { g_stop = sig; }

static int identity_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

int fs_extract_check_opts(const fs_extract_opts *o, fs_error *e) {
    if (!identity_ok(o->identity))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "--identity '%s': expected 1..63 characters of [A-Za-z0-9_-]\n"
                         "  hint: the identity names a decoder (model.identities) and the file, e.g. --identity A",
                         o->identity);
    if (o->chunk < 1 || o->chunk > 100000)
        return fs_errorf(e, FS_EXIT_BADINPUT, "--chunk %d: expected 1..100000 frames\n  hint: the default is %d",
                         o->chunk, FS_EXTRACT_CHUNK_DEFAULT);
    if (o->every < 1)
        return fs_errorf(e, FS_EXIT_BADINPUT, "--every %d: expected 1 or more\n  hint: 1 searches every frame",
                         o->every);
    if (o->min_face < 40 || o->min_face > 4096)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "--min-face %d: expected 40..4096 px\n  hint: dlib's detector window is "
                         "80 px; smaller faces are searched on a frame upsampled at most 2x",
                         o->min_face);
    if (o->size < 16 || o->size > 1024)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "--size %d: expected 16..1024 px\n  hint: extract at the model's "
                         "resolution (model.resolution)",
                         o->size);
    if (!(o->coverage >= 0.25 && o->coverage <= 1.0))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "--coverage %g: expected 0.25..1 (the fraction of the face the mean-face "
                         "square spans)\n  hint: faceswap's legacy extract is 0.625 (the default)",
                         o->coverage);
    if (!fs_exists(o->landmarks) || fs_is_dir(o->landmarks))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "--landmarks %s: no such file\n  hint: apt-get install libdlib-data "
                         "(it ships shape_predictor_68_face_landmarks.dat), or name the file",
                         o->landmarks);
    char dir[FS_PATH_LEN];
    snprintf(dir, sizeof dir, "%s", o->out);
    const char *d = dirname(dir);
    if (fs_is_dir(o->out))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "-o %s: is a folder; expected the path of a new .h5 file\n"
                         "  hint: name the file inside it, e.g. -o %s/%s.h5",
                         o->out, o->out, o->identity);
    if (!fs_is_dir(d))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "-o %s: the folder %s does not exist\n  hint: create it first "
                         "(mkdir -p %s)",
                         o->out, d, d);
    return 0;
}

/* ---------------------------------------------------------------- the work folder */
static void work_dir(const fs_extract_opts *o, char *out, size_t len) { snprintf(out, len, "%s.work", o->out); }

/* Rank 0: OUT.work/ with a "plan" file naming the work hash. A folder left by other inputs or
 * options is emptied (its parts could not be used). */
static int prepare_work(const char *dir, const xplan *p, long *kept, fs_error *e) {
    char plan[FS_PATH_LEN + 16], want[64], *have;
    snprintf(plan, sizeof plan, "%s/plan", dir);
    xplan_hex(p->work_hash, want);
    strcat(want, "\n");
    if (fs_mkdir_p(dir, e)) return e ? e->code : FS_EXIT_FAIL;
    have = fs_exists(plan) ? fs_read_file(plan, NULL, NULL) : NULL;
    int same = have && !strcmp(have, want), stale = have && !same;
    free(have);
    *kept = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        if (strncmp(de->d_name, "chunk-", 6) != 0) continue;
        char path[FS_PATH_LEN + 300];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (!same || strstr(de->d_name, ".tmp")) remove(path);
        else (*kept)++;
    }
    if (d) closedir(d);
    if (stale) fs_warn("%s: parts of other inputs or options removed", dir);
    return same ? 0 : fs_write_file_atomic(plan, want, strlen(want), e);
}

static void remove_work(const char *dir, const xplan *p) {
    char path[FS_PATH_LEN + 64];
    for (long c = 0; c < p->chunks; c++) {
        xpart_path(dir, c, path, sizeof path);
        remove(path);
    }
    snprintf(path, sizeof path, "%s/plan", dir);
    remove(path);
    rmdir(dir);
}

/* ---------------------------------------------------------------- progress (rank 0) */
typedef struct progress {
    int tty;
    long total, at_start; /* frames; frames found done when this run began */
    int chunk;            /* frames per part */
    double t0, last;
    const char *workdir;
} progress;

/* Frames in finished parts (every rank's): the line moves a chunk at a time. */
static long frames_done(const progress *pg) {
    long parts = 0;
    DIR *d = opendir(pg->workdir);
    for (struct dirent *de; d && (de = readdir(d));)
        if (!strncmp(de->d_name, "chunk-", 6) && !strstr(de->d_name, ".tmp")) parts++;
    if (d) closedir(d);
    return FS_MIN(pg->total, parts * pg->chunk);
}

static void progress_show(progress *pg, int final) {
    double now = fs_now();
    if (!final && now - pg->last < (pg->tty ? 1.0 : 10.0)) return;
    pg->last = now;
    long done = frames_done(pg);
    double rate = (done - pg->at_start) / fmax(now - pg->t0, 1e-9), left = rate > 0 ? (pg->total - done) / rate : 0;
    char line[160];
    snprintf(line, sizeof line, "extract: %ld/%ld frames (%.1f%%), %.1f frames/s, ETA %ldm%02lds", done, pg->total,
             pg->total ? 100.0 * done / pg->total : 100.0, rate, (long)left / 60, (long)left % 60);
    if (pg->tty) fprintf(stderr, "\r%-78s%s", line, final ? "\n" : "");
    else fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

/* ---------------------------------------------------------------- the run */
typedef struct run {
    const fs_extract_opts *o;
    int rank, size;
    xplan plan;
    char workdir[FS_PATH_LEN + 8];
    progress pg;
} run;

/* Every rank learns rank 0's verdict; e keeps its message only on rank 0. */
static int agree(run *x, int rc, fs_error *e) {
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (x->rank != 0 && e) e->msg[0] = 0, e->code = rc;
    return rc;
}

/* The worst code any rank returned (FS_EXIT_STOPPED > BADINPUT > FAIL). Rank 0 keeps the
 * progress line moving while it waits. */
static int all_ranks(run *x, int rc) {
    int worst = 0;
    MPI_Request req;
    MPI_Iallreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req);
    for (int done = 0; !done;) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (!done) {
            if (x->rank == 0 && rc == 0) progress_show(&x->pg, 0);
            usleep(20000);
        }
    }
    return worst;
}

/* Rank r's chunks [c0, c1), skipping those whose parts are whole. */
static int do_chunks(run *x, long *skipped, fs_error *e) {
    long c0 = x->plan.chunks * x->rank / x->size, c1 = x->plan.chunks * (x->rank + 1) / x->size;
    xworker *w = NULL;
    int rc = 0;
    for (long c = c0; c < c1 && rc == 0; c++) {
        char part[FS_PATH_LEN + 64];
        xpart_path(x->workdir, c, part, sizeof part);
        xpart_sink check = {0};
        if (fs_exists(part) && xpart_read(part, x->o->size, x->plan.work_hash, c, &check, NULL) == 0) {
            (*skipped)++;
            continue;
        }
        if (!w && (rc = xworker_init(&w, x->o, &x->plan, e))) break;
        rc = xworker_chunk(w, c, part, &g_stop, e);
        if (x->rank == 0 && rc == 0) progress_show(&x->pg, 0);
    }
    xworker_free(w);
    return rc;
}

static int mpi_up(run *x, fs_error *e) {
    int up = 0;
    MPI_Initialized(&up);
    if (!up) {
        int provided;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return fs_errorf(e, FS_EXIT_FAIL, "extract: MPI_Init failed\n  hint: run under mpirun/srun or alone");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &x->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &x->size);
    fs_log_set_rank(x->rank, x->size);
    return 0;
}

/* Rank 0 plans, checks an existing output and readies the work folder; all ranks agree. */
static int set_up(run *x, fs_extract_result *r, fs_error *e) {
    int rc = agree(x, fs_extract_check_opts(x->o, e), e);
    if (rc) return rc;
    if (x->rank == 0) rc = xplan_build(x->o, &x->plan, e);
    if ((rc = agree(x, rc, e)) || (rc = agree(x, xplan_bcast(&x->plan, x->rank, e), e))) return rc;
    int done = 0;
    long kept = 0;
    work_dir(x->o, x->workdir, sizeof x->workdir);
    if (x->rank == 0) {
        int d = xout_done(x->o, &x->plan, e); /* 1 = done before, 0 = to do, else an error */
        if (d == 1) done = 1;
        else rc = d ? d : prepare_work(x->workdir, &x->plan, &kept, e);
    }
    MPI_Bcast(&done, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if ((rc = agree(x, rc, e))) return rc;
    r->already_done = done;
    x->pg =
        (progress){.tty = x->o->progress_tty, .total = x->plan.first[x->plan.n], .t0 = fs_now(), .workdir = x->workdir};
    x->pg.chunk = x->plan.chunk;
    x->pg.at_start = FS_MIN(kept * x->plan.chunk, x->pg.total);
    return 0;
}

static void install_signals(struct sigaction old[3]) {
    static const int sigs[3] = {SIGINT, SIGTERM, SIGUSR1};
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &sa, &old[i]);
}

static void restore_signals(const struct sigaction old[3]) {
    static const int sigs[3] = {SIGINT, SIGTERM, SIGUSR1};
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &old[i], NULL);
}

/* Every rank's chunks, then rank 0's join. */
static int work(run *x, fs_extract_result *r, fs_error *e) {
    long skipped = 0, total_skipped = 0;
    int rc = do_chunks(x, &skipped, e);
    int worst = all_ranks(x, rc);
    MPI_Reduce(&skipped, &total_skipped, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    r->chunks_skipped = total_skipped;
    if (worst) {
        if (x->rank == 0 && worst == FS_EXIT_STOPPED)
            fs_warn("extract: stopped by a signal; the finished chunks are kept in %s: run the same command again "
                    "to go on",
                    x->workdir);
        if (e && rc == 0) e->msg[0] = 0, e->code = worst; /* another rank reports it */
        return worst;
    }
    if (x->rank == 0) {
        progress_show(&x->pg, 1);
        rc = xout_write(x->o, &x->plan, x->workdir, r, e);
        if (rc == 0 || rc == FS_EXIT_BADINPUT) remove_work(x->workdir, &x->plan); /* done, or nothing to keep */
    }
    return agree(x, rc, e);
}

int fs_extract(const fs_extract_opts *o, fs_extract_result *r, fs_error *e) {
    run x = {.o = o};
    memset(r, 0, sizeof *r);
    double t0 = fs_now();
    if (mpi_up(&x, e)) return FS_EXIT_FAIL;
    fs_h5_init();
    struct sigaction old[3];
    g_stop = 0;
    install_signals(old);
    int rc = set_up(&x, r, e);
    if (rc == 0 && !r->already_done) rc = work(&x, r, e);
    restore_signals(old);
    r->sources = x.plan.n, r->frames = x.plan.first ? x.plan.first[x.plan.n] : 0, r->seconds = fs_now() - t0;
    xplan_free(&x.plan);
    return rc;
}
