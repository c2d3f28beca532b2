/* allreduce.c — see allreduce.h. */
#include "comms/allreduce.h"

#include <stdlib.h>
#include <strings.h>

#include "comms/allreduce_shm.h"
#include <string.h>

/* MPI counts are int: buckets are capped at 2^28 floats (1 GiB). */
#define MAX_BUCKET_FLOATS ((size_t)1 << 28)

struct fs_allreduce {
    fs_world *w;
    float *grads;  /* [n], reduced in place, not owned */
    size_t n;      /* floats in grads */
    size_t bucket; /* floats per bucket; the last (lowest) bucket may be shorter */
    int nbuckets;
    MPI_Request *req;   /* [nbuckets], MPI_REQUEST_NULL unless in flight */
    int *idx;           /* [nbuckets], scratch for MPI_Testsome */
    int launched;       /* buckets launched this step: 0 .. launched-1 */
    int done;           /* of those, completed */
    uint64_t seq;       /* buckets launched since init */
    double t_first;     /* when bucket 0 of this step was launched, s */
    double t_last;      /* when the last completion was seen, s */
    fs_error err;       /* first MPI failure of this step (ready() cannot return one) */
    fs_shm_reduce *shm; /* the shm path, NULL on the mpi path */
};

static size_t bucket_lo(const fs_allreduce *ar, int k) { return fs_bucket_lo(ar->n, ar->bucket, k); }
static size_t bucket_hi(const fs_allreduce *ar, int k) { return fs_bucket_hi(ar->n, ar->bucket, k); }

int fs_allreduce_parse_mode(const char *s, fs_allreduce_mode *mode, fs_error *e) {
    static const char *names[] = {"auto", "shm", "mpi"};
    for (int i = 0; i < 3; i++)
        if (!strcasecmp(s, names[i])) {
            *mode = (fs_allreduce_mode)i;
            return 0;
        }
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "comms.allreduce = '%s'; expected auto, shm or mpi\n  hint: auto uses shared memory between "
                     "the ranks of a node and MPI between nodes",
                     s);
}

const char *fs_allreduce_path(const fs_allreduce *ar) {
    if (ar->w->size == 1) return "none (one rank)";
    if (ar->shm) return fs_shm_reduce_describe(ar->shm);
    return ar->w->local_size < ar->w->size ? "MPI_Iallreduce (inside and between nodes)" : "MPI_Iallreduce";
}

/* Opens the shm path when asked for or automatic; *grads moves into the shared region. */
static int open_shm(fs_allreduce *ar, float **grads, fs_allreduce_mode mode, fs_error *e) {
    if (mode == FS_ALLREDUCE_MPI || ar->w->size == 1 || ar->n == 0) return 0;
    char why[256];
    int rc = fs_shm_reduce_open(&ar->shm, ar->w, ar->n, ar->bucket, why, sizeof why, e);
    if (rc) return rc;
    if (!ar->shm) {
        if (mode == FS_ALLREDUCE_SHM)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "comms.allreduce = shm, but shared memory cannot serve this job: %s\n  hint: use "
                             "comms.allreduce: auto (falls back to MPI) or mpi; shm needs the same number (> 1) of "
                             "ranks on every node and room in /dev/shm for (ranks per node) x the gradients",
                             why[0] ? why : "every node holds one rank");
        static int warned; /* once per process: bench allreduce opens one per size */
        if (ar->w->rank == 0 && why[0] && !warned++)
            fs_warn("gradient all-reduce: shared memory not usable, using MPI: %s\n"
                    "  hint: shm needs the same number of ranks on every node and room in /dev/shm (docker run "
                    "--shm-size); it makes the node-local sum several times cheaper",
                    why);
        return 0;
    }
    float *seg = fs_shm_reduce_buffer(ar->shm);
    memcpy(seg, *grads, ar->n * sizeof(float));
    *grads = ar->grads = seg;
    return 0;
}
static int check_args(const fs_world *w, const float *grads, size_t n, size_t bucket_bytes, fs_error *e) {
    if (bucket_bytes < sizeof(float))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "comms.bucket_mb gives all-reduce buckets of %zu bytes; expected at least %zu "
                         "(one float)\n  hint: use a bucket size of about 25 MB",
                         bucket_bytes, sizeof(float));
    if (n > 0 && !grads)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "fs_allreduce_init: no gradient buffer for %zu floats\n"
                         "  hint: allocate the model before the all-reduce",
                         n);
    return 0;
}

int fs_allreduce_init(fs_allreduce **out, fs_world *w, float **grads, size_t n, size_t bucket_bytes,
                      fs_allreduce_mode mode, fs_error *e) {
    *out = NULL;
    int rc = check_args(w, *grads, n, bucket_bytes, e);
    if (rc) return rc;
    size_t b = FS_MIN(bucket_bytes / sizeof(float), MAX_BUCKET_FLOATS);
    rc = fs_world_check_same_u64(w, fs_hash3(n, b, 0), "gradient buffer size and all-reduce bucket size", e);
    if (rc) return rc;
    fs_allreduce *ar = fs_calloc(1, sizeof *ar);
    ar->w = w;
    ar->grads = *grads;
    ar->n = n;
    ar->bucket = b;
    ar->nbuckets = n ? (int)((n + b - 1) / b) : 0;
    ar->req = fs_malloc(sizeof(MPI_Request) * (size_t)FS_MAX(ar->nbuckets, 1));
    ar->idx = fs_malloc(sizeof(int) * (size_t)FS_MAX(ar->nbuckets, 1));
    for (int k = 0; k < ar->nbuckets; k++) ar->req[k] = MPI_REQUEST_NULL;
    if ((rc = open_shm(ar, grads, mode, e))) {
        fs_allreduce_free(ar);
        return rc;
    }
    *out = ar;
    return 0;
}

int fs_allreduce_buckets(const fs_allreduce *ar) { return ar->nbuckets; }

void fs_allreduce_begin(fs_allreduce *ar) {
    if (ar->shm) fs_shm_reduce_begin(ar->shm);
    ar->launched = ar->done = 0;
    ar->t_first = ar->t_last = 0;
    ar->err.code = 0;
    ar->err.msg[0] = 0;
}

static void launch(fs_allreduce *ar, int k) {
    size_t lo = bucket_lo(ar, k), hi = bucket_hi(ar, k);
    if (k == 0) ar->t_first = fs_now();
    int rc = MPI_Iallreduce(MPI_IN_PLACE, ar->grads + lo, (int)(hi - lo), MPI_FLOAT, MPI_SUM, ar->w->comm, &ar->req[k]);
    ar->seq++;
    if (rc != MPI_SUCCESS) {
        ar->req[k] = MPI_REQUEST_NULL;
        ar->done++; /* nothing to wait for; the failure is reported by finish() */
        if (!ar->err.code) {
            fs_mpi_error(&ar->err, rc, "MPI_Iallreduce", __FILE__, __LINE__);
            fs_error_prefix(&ar->err, "gradient bucket %d (floats [%zu, %zu), seq %llu): ", k, lo, hi,
                            (unsigned long long)ar->seq - 1);
        }
    }
}

/* Tests the buckets in flight; MPI_Testsome is also what drives their progress. */
static void progress(fs_allreduce *ar) {
    if (ar->done == ar->launched) return;
    int got = 0;
    int rc = MPI_Testsome(ar->launched, ar->req, &got, ar->idx, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) {
        if (!ar->err.code) fs_mpi_error(&ar->err, rc, "MPI_Testsome(gradient buckets)", __FILE__, __LINE__);
        return;
    }
    if (got == MPI_UNDEFINED || got == 0) return;
    ar->done += got;
    ar->t_last = fs_now();
}

void fs_allreduce_ready(fs_allreduce *ar, size_t ready_from) {
    if (ar->w->size == 1) return;
    if (ar->shm) {
        if (!ar->t_first && ready_from <= bucket_lo(ar, 0)) ar->t_first = fs_now();
        fs_shm_reduce_ready(ar->shm, ready_from);
        return;
    }
    while (ar->launched < ar->nbuckets && ready_from <= bucket_lo(ar, ar->launched)) launch(ar, ar->launched++);
    progress(ar);
}

void fs_allreduce_ready_cb(void *ctx, size_t ready_from) { fs_allreduce_ready(ctx, ready_from); }

/* The first bucket still in flight (buckets complete in any order). */
static int first_pending(const fs_allreduce *ar) {
    for (int k = 0; k < ar->launched; k++)
        if (ar->req[k] != MPI_REQUEST_NULL) return k;
    return -1;
}

/* A bucket did not complete: the ranks still able to talk run a short probe barrier, whose
 * error names the ranks that are not waiting here too (rank 0 can tell), or which succeeds
 * when every rank is waiting (then they launched different buckets). */
static int timeout_error(fs_allreduce *ar, double timeout_s, fs_error *e) {
    int k = first_pending(ar);
    uint64_t seq = ar->seq - (uint64_t)(ar->launched - k);
    fs_error probe = {0};
    double grace = FS_MAX(2.0, FS_MIN(0.25 * timeout_s, 30.0));
    int prc = fs_world_barrier_timeout(ar->w, grace, "a probe of all ranks", &probe);
    probe.msg[strcspn(probe.msg, "\n")] = 0; /* keep the finding, the hint comes below */
    return fs_errorf(e, FS_EXIT_FAIL,
                     "gradient all-reduce timed out after %.1f s: bucket %d of %d (floats [%zu, %zu), seq "
                     "%llu) did not complete; %s\n  hint: %s",
                     timeout_s, k, ar->nbuckets, bucket_lo(ar, k), bucket_hi(ar, k), (unsigned long long)seq,
                     prc ? probe.msg : "every rank is waiting here, so the ranks launched different buckets",
                     prc ? "the ranks named are hung (a deadlock, a stuck filesystem or device) or dead: look at "
                           "their last messages; raise comms.timeout_s only if they are just slow"
                         : "start every rank with the same config (model and comms.bucket_mb)");
}

static void fill_stats(const fs_allreduce *ar, double wait_s, int early, fs_allreduce_stats *st) {
    if (!st) return;
    st->early = early;
    st->wait_s = wait_s;
    st->busy_s = ar->launched ? ar->t_last - ar->t_first : 0;
    st->buckets = ar->w->size == 1 ? 0 : ar->launched;
    st->seq = ar->seq;
}

static int finish_shm(fs_allreduce *ar, double t0, double timeout_s, fs_allreduce_stats *st, fs_error *e) {
    int early = 0, rc = fs_shm_reduce_finish(ar->shm, timeout_s, &early, e);
    if (rc) return rc;
    ar->launched = ar->nbuckets;
    ar->seq = fs_shm_reduce_seq(ar->shm);
    ar->t_last = fs_now();
    if (!ar->t_first) ar->t_first = t0;
    fill_stats(ar, ar->t_last - t0, early, st);
    ar->launched = ar->done = 0;
    ar->t_first = 0;
    return 0;
}

int fs_allreduce_finish(fs_allreduce *ar, double timeout_s, fs_allreduce_stats *st, fs_error *e) {
    if (ar->w->size == 1) {
        fill_stats(ar, 0, 0, st);
        return 0;
    }
    double t0 = fs_now(), t_end = t0 + timeout_s;
    if (ar->shm) return finish_shm(ar, t0, timeout_s, st, e);
    progress(ar);
    int early = ar->done;
    fs_allreduce_ready(ar, 0);
    while (ar->done < ar->launched && !ar->err.code) {
        if (fs_now() > t_end) return timeout_error(ar, timeout_s, e);
        progress(ar); /* busy polling, as MPI_Wait does; Open MPI yields the core by itself when
                         oversubscribed (mpi_yield_when_idle) */
    }
    if (ar->err.code) {
        if (e) *e = ar->err;
        return ar->err.code;
    }
    fill_stats(ar, fs_now() - t0, early, st);
    ar->launched = ar->done = 0; /* the next step starts clean even without begin() */
    return 0;
}

void fs_allreduce_free(fs_allreduce *ar) {
    if (!ar) return;
    /* A nonblocking collective cannot be cancelled or freed: one still in flight (after a
     * timeout) is left to MPI, with a warning. */
    int stuck = 0;
    for (int k = 0; k < ar->launched; k++) {
        int flag = 0;
        if (ar->req[k] != MPI_REQUEST_NULL && MPI_Test(&ar->req[k], &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && !flag)
            stuck++;
    }
    if (stuck)
        fs_warn("%d gradient all-reduce bucket(s) still in flight at shutdown; leaving them to MPI\n"
                "  hint: this follows an earlier timeout or error; abort the job rather than continue",
                stuck);
    fs_shm_reduce_close(ar->shm);
    free(ar->req);
    free(ar->idx);
    free(ar);
}
