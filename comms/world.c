/* world.c — see world.h. */
#include "comms/world.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Broadcasts are sent in pieces below INT_MAX bytes (MPI counts are int). */
#define BCAST_CHUNK ((size_t)1 << 30)
/* Tags of the timeout probes on w->ctl: two per probe, cycling well below MPI_TAG_UB's
 * guaranteed minimum of 32767. */
#define PROBE_TAG_BASE 16
#define PROBE_TAG_CYCLE 16000u

int fs_mpi_error(fs_error *e, int rc, const char *call, const char *file, int line) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error code %d", rc);
    char where[1100];
    fs_where(where, sizeof where, file, line);
    return fs_errorf(e, FS_EXIT_FAIL,
                     "%s failed: %s%s\n  hint: another rank may have died or the interconnect "
                     "failed; look for the first error printed by any rank",
                     call, text, where);
}

void fs_world_format_ranks(const int *ranks, int n, char *out, size_t outlen) {
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < n && used < outlen; i++) {
        if (i == 12) {
            snprintf(out + used, outlen - used, ", ... (%d ranks)", n);
            return;
        }
        int k = snprintf(out + used, outlen - used, "%s%d", i ? ", " : "", ranks[i]);
        if (k < 0) return;
        used += (size_t)k;
    }
}

/* ---------------------------------------------------------------- init / finalize */
static int env_int(const char *name, int *out) {
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > INT_MAX) return 0;
    *out = (int)v;
    return 1;
}

/* The GPU of a rank is chosen from its local rank, so a launcher that disagrees with MPI's
 * own view of the node is worth a warning. Only the launcher that started us is checked:
 * under mpirun inside a Slurm allocation SLURM_LOCALID describes the outer step. */
static void cross_check_local_rank(const fs_world *w) {
    static const char *vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"};
    for (size_t i = 0; i < FS_ARRAY_LEN(vars); i++) {
        int v = 0;
        if (!env_int(vars[i], &v)) continue;
        if (v != w->local_rank)
            fs_warn("local rank from MPI's shared-memory split is %d but %s=%d; using %d\n"
                    "  hint: check the launcher's process placement (one rank per GPU); "
                    "device selection follows the MPI value",
                    w->local_rank, vars[i], v, w->local_rank);
        return;
    }
}

static int world_local(fs_world *w, fs_error *e) {
    MPI_Comm node;
    FS_MPI_TRY(e, MPI_Comm_split_type(w->comm, MPI_COMM_TYPE_SHARED, w->rank, MPI_INFO_NULL, &node));
    int rc = MPI_Comm_rank(node, &w->local_rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(node, &w->local_size);
    MPI_Comm_free(&node);
    if (rc != MPI_SUCCESS) return fs_mpi_error(e, rc, "MPI_Comm_rank/size(node)", __FILE__, __LINE__);
    cross_check_local_rank(w);
    return 0;
}

static int world_start_mpi(fs_world *w, int *argc, char ***argv, fs_error *e) {
    int inited = 0, provided = MPI_THREAD_SINGLE;
    FS_MPI_TRY(e, MPI_Initialized(&inited));
    if (!inited) {
        FS_MPI_TRY(e, MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
        w->owns_mpi = 1;
    } else {
        FS_MPI_TRY(e, MPI_Query_thread(&provided));
    }
    if (provided < MPI_THREAD_FUNNELED)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "MPI provides thread level %d; expected at least MPI_THREAD_FUNNELED (%d)\n"
                         "  hint: use an MPI library built with thread support (Open MPI >= 4 is)",
                         provided, MPI_THREAD_FUNNELED);
    FS_MPI_TRY(e, MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    return 0;
}

int fs_world_init(fs_world *w, int *argc, char ***argv, fs_error *e) {
    memset(w, 0, sizeof *w);
    w->comm = w->ctl = MPI_COMM_NULL;
    int rc = world_start_mpi(w, argc, argv, e);
    if (rc) return rc;
    FS_MPI_TRY(e, MPI_Comm_rank(MPI_COMM_WORLD, &w->rank));
    FS_MPI_TRY(e, MPI_Comm_size(MPI_COMM_WORLD, &w->size));
    /* Duplicates inherit ERRORS_RETURN; the library's traffic stays apart from the caller's. */
    FS_MPI_TRY(e, MPI_Comm_dup(MPI_COMM_WORLD, &w->comm));
    FS_MPI_TRY(e, MPI_Comm_dup(MPI_COMM_WORLD, &w->ctl));
    snprintf(w->host, sizeof w->host, "%s", fs_hostname());
    fs_log_set_rank(w->rank, w->size);
    return world_local(w, e);
}

void fs_world_finalize(fs_world *w) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (fin) return;
    if (w->comm != MPI_COMM_NULL) MPI_Comm_free(&w->comm);
    if (w->ctl != MPI_COMM_NULL) MPI_Comm_free(&w->ctl);
    if (w->owns_mpi) MPI_Finalize();
    w->owns_mpi = 0;
}

_Noreturn void fs_world_abort(fs_world *w, int code) {
    fflush(stdout);
    fflush(stderr);
    int inited = 0, fin = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&fin);
    if (inited && !fin) MPI_Abort(MPI_COMM_WORLD, code ? code : FS_EXIT_FAIL);
    (void)w;
    exit(code);
}

/* ---------------------------------------------------------------- consistency checks */
/* Every rank holds all[0..size); names the ranks whose value differs from rank 0's. */
static int describe_mismatch(const fs_world *w, const uint64_t *all, const char *what, const char *hint, int code,
                             fs_error *e) {
    int *bad = fs_malloc(sizeof(int) * (size_t)w->size), nbad = 0;
    for (int r = 1; r < w->size; r++)
        if (all[r] != all[0]) bad[nbad++] = r;
    if (nbad == 0) {
        free(bad);
        return 0;
    }
    char list[256], vals[256];
    fs_world_format_ranks(bad, nbad, list, sizeof list);
    size_t used = (size_t)snprintf(vals, sizeof vals, "rank 0: %016llx", (unsigned long long)all[0]);
    for (int i = 0; i < nbad && i < 3 && used < sizeof vals; i++)
        used += (size_t)snprintf(vals + used, sizeof vals - used, ", rank %d: %016llx", bad[i],
                                 (unsigned long long)all[bad[i]]);
    fs_errorf(e, code, "%s differs between ranks: %s %s %s from rank 0 (%s)\n  hint: %s", what,
              nbad == 1 ? "rank" : "ranks", list, nbad == 1 ? "differs" : "differ", vals, hint);
    free(bad);
    return code;
}

/* code: what a mismatch is (FS_EXIT_BADINPUT for inputs, FS_EXIT_FAIL for state). */
static int check_same(fs_world *w, uint64_t value, const char *what, const char *hint, int code, fs_error *e) {
    if (w->size == 1) return 0;
    uint64_t *all = fs_malloc(sizeof(uint64_t) * (size_t)w->size);
    int rc = MPI_Allgather(&value, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, w->comm);
    if (rc != MPI_SUCCESS) {
        free(all);
        return fs_mpi_error(e, rc, "MPI_Allgather", __FILE__, __LINE__);
    }
    rc = describe_mismatch(w, all, what, hint, code, e);
    free(all);
    return rc;
}

int fs_world_check_same_u64(fs_world *w, uint64_t value, const char *what, fs_error *e) {
    return check_same(w, value, what,
                      "start every rank with the same inputs: the same config file and --set options, "
                      "the same files (on a shared filesystem), the same binary",
                      FS_EXIT_BADINPUT, e);
}

int fs_world_check_params(fs_world *w, const float *params, size_t n, fs_error *e) {
    uint64_t sum = fs_checksum64(params, n * sizeof(float));
    return check_same(w, sum, "parameter checksum",
                      "the parameters diverged: the ranks applied different updates (a lost or corrupted "
                      "all-reduce, a non-deterministic kernel, or faulty memory on a rank named); restart "
                      "from the last checkpoint, and suspect the named ranks' node if it happens again",
                      FS_EXIT_FAIL, e);
}

int fs_world_split_batch(const fs_world *w, int global, const char *key, int *local, fs_error *e) {
    int p = w->size;
    if (global >= p && global % p == 0) {
        *local = global / p;
        return 0;
    }
    int down = global / p * p, up = down + p;
    char alt[64] = "";
    if (down > 0) snprintf(alt, sizeof alt, "%d or ", down);
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s = %d cannot be split over %d ranks: every rank needs the same whole number of "
                     "samples; expected a multiple of %d\n  hint: set %s to %s%d, or run on a number of "
                     "ranks that divides %d",
                     key, global, p, p, key, alt, up, global);
}

/* ---------------------------------------------------------------- collectives */
static void nap(void);

/* Waits for a nonblocking collective at most w->timeout_s. On a timeout the ranks still able
 * to talk run a short probe barrier, whose error names the ranks that are not there (a dead
 * rank, or a node behind a cut link); the request is left to MPI (it cannot be cancelled):
 * the caller reports and aborts. */
static int wait_collective(fs_world *w, MPI_Request *rq, const char *what, fs_error *e) {
    double t_end = fs_now() + w->timeout_s;
    for (;;) {
        int done = 0, rc = MPI_Test(rq, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return fs_mpi_error(e, rc, what, __FILE__, __LINE__);
        if (done) return 0;
        if (fs_now() > t_end) break;
        nap();
    }
    fs_error probe = {0};
    double grace = FS_MAX(2.0, FS_MIN(0.25 * w->timeout_s, 30.0));
    int prc = fs_world_barrier_timeout(w, grace, "a probe of all ranks", &probe);
    probe.msg[strcspn(probe.msg, "\n")] = 0; /* keep the finding, the hint comes below */
    return fs_errorf(e, FS_EXIT_FAIL, "%s timed out after %.1f s; %s\n  hint: %s", what, w->timeout_s,
                     prc ? probe.msg : "every rank answered a probe, so the ranks are in different collectives",
                     prc ? "the ranks named are hung, dead, or on a node that cannot be reached (a cut link): look "
                           "at their last messages; raise comms.timeout_s only if they are just slow"
                         : "start every rank with the same config and binary");
}

int fs_world_gather_doubles(fs_world *w, const double *mine, int n, double *all_on_root, fs_error *e) {
    if (w->rank == 0 && !all_on_root)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "fs_world_gather_doubles: rank 0 passed no output buffer\n"
                         "  hint: rank 0 needs room for size * n doubles");
    if (w->timeout_s > 0 && w->size > 1) {
        MPI_Request rq;
        FS_MPI_TRY(e, MPI_Igather(mine, n, MPI_DOUBLE, all_on_root, n, MPI_DOUBLE, 0, w->comm, &rq));
        return wait_collective(w, &rq, "gathering the per-rank step times (MPI_Igather)", e);
    }
    FS_MPI_TRY(e, MPI_Gather(mine, n, MPI_DOUBLE, all_on_root, n, MPI_DOUBLE, 0, w->comm));
    return 0;
}

int fs_world_sum_doubles(fs_world *w, double *vals, int n, fs_error *e) {
    if (w->size == 1) return 0;
    if (w->timeout_s > 0) {
        MPI_Request rq;
        FS_MPI_TRY(e, MPI_Iallreduce(MPI_IN_PLACE, vals, n, MPI_DOUBLE, MPI_SUM, w->comm, &rq));
        return wait_collective(w, &rq, "summing the step's losses over ranks (MPI_Iallreduce)", e);
    }
    FS_MPI_TRY(e, MPI_Allreduce(MPI_IN_PLACE, vals, n, MPI_DOUBLE, MPI_SUM, w->comm));
    return 0;
}

int fs_world_bcast(fs_world *w, void *buf, size_t bytes, int root, fs_error *e) {
    if (root < 0 || root >= w->size)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "fs_world_bcast: root %d is not a rank of this world (size %d)\n"
                         "  hint: pass a root in [0, size)",
                         root, w->size);
    if (w->size == 1) return 0;
    for (size_t off = 0; off < bytes; off += BCAST_CHUNK) {
        int count = (int)FS_MIN(BCAST_CHUNK, bytes - off);
        FS_MPI_TRY(e, MPI_Bcast((char *)buf + off, count, MPI_BYTE, root, w->comm));
    }
    return 0;
}

int fs_world_hosts(fs_world *w, char *out, size_t outlen, fs_error *e) {
    size_t hl = sizeof w->host;
    char *all = w->rank == 0 ? fs_malloc(hl * (size_t)w->size) : NULL;
    int rc = MPI_Gather(w->host, (int)hl, MPI_CHAR, all, (int)hl, MPI_CHAR, 0, w->comm);
    out[0] = 0;
    if (rc != MPI_SUCCESS) {
        free(all);
        return fs_mpi_error(e, rc, "MPI_Gather(host names)", __FILE__, __LINE__);
    }
    size_t used = 0;
    for (int r = 0; all && r < w->size && used < outlen; r++) {
        const char *h = all + hl * (size_t)r;
        int seen = 0, count = 0;
        for (int q = 0; q < w->size; q++) {
            int same = strcmp(h, all + hl * (size_t)q) == 0;
            if (same && q < r) seen = 1;
            count += same;
        }
        if (!seen) used += (size_t)snprintf(out + used, outlen - used, "%s%s x%d", used ? ", " : "", h, count);
    }
    free(all);
    return 0;
}

/* ---------------------------------------------------------------- barrier with a timeout */
/* The protocol runs on w->ctl with point-to-point messages only: a timed-out receive can be
 * cancelled, whereas a nonblocking collective (MPI_Ibarrier) that never completes cannot be
 * cancelled or freed and would stay pending on the communicator. */
static void nap(void) {
    struct timespec ts = {0, 200000}; /* 0.2 ms: polling must not starve oversubscribed ranks */
    nanosleep(&ts, NULL);
}

static int probe_tag(uint32_t seq) { return PROBE_TAG_BASE + 2 * (int)(seq % PROBE_TAG_CYCLE); }

/* Polls rq[0..n) until every request completed or t_end; returns how many are pending. */
static int poll_requests(int n, MPI_Request *rq, int pending, double t_end, fs_error *e) {
    int *idx = fs_malloc(sizeof(int) * (size_t)n);
    while (pending > 0) {
        int got = 0, rc = MPI_Testsome(n, rq, &got, idx, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) {
            free(idx);
            fs_mpi_error(e, rc, "MPI_Testsome(barrier messages)", __FILE__, __LINE__);
            return -1;
        }
        if (got != MPI_UNDEFINED) pending -= got;
        if (pending > 0 && fs_now() > t_end) break;
        if (got == 0) nap();
    }
    free(idx);
    return pending;
}

/* Rank 0: waits for the arrival notices; returns the number of ranks still missing, listed
 * in missing[], or -1 with e filled. */
static int root_collect(fs_world *w, int tag, double timeout_s, int *missing, fs_error *e) {
    int p = w->size, nmiss = 0, rc = MPI_SUCCESS;
    int *notes = fs_calloc((size_t)p, sizeof(int));
    MPI_Request *rq = fs_malloc(sizeof(MPI_Request) * (size_t)p);
    for (int r = 0; r < p; r++) rq[r] = MPI_REQUEST_NULL;
    for (int r = 1; r < p && rc == MPI_SUCCESS; r++) rc = MPI_Irecv(&notes[r], 1, MPI_INT, r, tag, w->ctl, &rq[r]);
    int pending = rc == MPI_SUCCESS ? poll_requests(p, rq, p - 1, fs_now() + timeout_s, e) : -1;
    if (rc != MPI_SUCCESS) fs_mpi_error(e, rc, "MPI_Irecv(arrival notice)", __FILE__, __LINE__);
    for (int r = 1; r < p; r++) {
        if (rq[r] == MPI_REQUEST_NULL) continue;
        /* Cancelling a receive is local; one that matched meanwhile reports not cancelled. */
        MPI_Status st;
        int cancelled = 0;
        if (MPI_Cancel(&rq[r]) == MPI_SUCCESS && MPI_Wait(&rq[r], &st) == MPI_SUCCESS)
            MPI_Test_cancelled(&st, &cancelled);
        if (cancelled) missing[nmiss++] = r;
    }
    free(notes);
    free(rq);
    return pending < 0 ? -1 : nmiss;
}

/* Rank 0: tells every other rank the verdict [nmissing, missing...]. A send that cannot
 * complete (its rank is gone) is freed; its buffer is then left allocated on purpose, as MPI
 * may still read it. */
static void root_answer(fs_world *w, int tag, const int *missing, int nmiss) {
    int p = w->size;
    int *verdict = fs_malloc(sizeof(int) * (size_t)(p + 1));
    verdict[0] = nmiss;
    memcpy(verdict + 1, missing, sizeof(int) * (size_t)nmiss);
    MPI_Request *rq = fs_malloc(sizeof(MPI_Request) * (size_t)p);
    rq[0] = MPI_REQUEST_NULL;
    for (int r = 1; r < p; r++)
        if (MPI_Isend(verdict, nmiss + 1, MPI_INT, r, tag + 1, w->ctl, &rq[r]) != MPI_SUCCESS)
            rq[r] = MPI_REQUEST_NULL; /* that rank hears nothing and reports rank 0 silent */
    int all_done = 0;
    for (double t_end = fs_now() + 1.0; !all_done && fs_now() < t_end;) {
        if (MPI_Testall(p, rq, &all_done, MPI_STATUSES_IGNORE) != MPI_SUCCESS) break;
        if (!all_done) nap();
    }
    for (int r = 1; r < p && !all_done; r++)
        if (rq[r] != MPI_REQUEST_NULL) MPI_Request_free(&rq[r]);
    if (all_done) free(verdict);
    free(rq);
}

static int root_barrier(fs_world *w, int tag, double timeout_s, const char *what, fs_error *e) {
    int *missing = fs_malloc(sizeof(int) * (size_t)w->size);
    int nmiss = root_collect(w, tag, timeout_s, missing, e);
    if (nmiss < 0) {
        free(missing);
        return FS_EXIT_FAIL;
    }
    root_answer(w, tag, missing, nmiss);
    int rc = 0;
    if (nmiss > 0) {
        char list[256];
        fs_world_format_ranks(missing, nmiss, list, sizeof list);
        rc = fs_errorf(e, FS_EXIT_FAIL,
                       "%s: %s %s did not arrive within %.1f s (%d of %d ranks arrived)\n"
                       "  hint: the missing ranks are hung (a deadlock, a stuck filesystem or device) or "
                       "dead: look at their last messages; raise comms.timeout_s if they are only slow",
                       what, nmiss == 1 ? "rank" : "ranks", list, timeout_s, w->size - nmiss, w->size);
    }
    free(missing);
    return rc;
}

/* Other ranks: what rank 0's verdict [nmissing, missing...] means for this rank. */
static int member_verdict(const fs_world *w, const int *verdict, double timeout_s, const char *what, fs_error *e) {
    int nmiss = verdict[0];
    if (nmiss <= 0) return 0;
    char list[256];
    fs_world_format_ranks(verdict + 1, nmiss, list, sizeof list);
    int late = 0;
    for (int i = 0; i < nmiss; i++) late |= verdict[1 + i] == w->rank;
    return fs_errorf(e, FS_EXIT_FAIL,
                     "%s: rank 0 waited %.1f s and reports %s %s missing%s\n"
                     "  hint: the missing ranks are hung (a deadlock, a stuck filesystem or device) or dead: "
                     "look at their last messages; raise comms.timeout_s if they are only slow",
                     what, timeout_s, nmiss == 1 ? "rank" : "ranks", list,
                     late ? " (this rank arrived after rank 0 gave up)" : "");
}

/* Other ranks: notice to rank 0, then wait for its verdict a little longer than rank 0
 * waits, so that a rank 0 which arrives late still answers in time. */
static int member_barrier(fs_world *w, int tag, double timeout_s, const char *what, fs_error *e) {
    static const int note = 1; /* static: the notice may outlive this call if rank 0 is gone */
    int p = w->size;
    int *verdict = fs_malloc(sizeof(int) * (size_t)(p + 1));
    MPI_Request sreq = MPI_REQUEST_NULL, rreq = MPI_REQUEST_NULL;
    int rc = MPI_Isend(&note, 1, MPI_INT, 0, tag, w->ctl, &sreq);
    if (rc == MPI_SUCCESS) rc = MPI_Irecv(verdict, p + 1, MPI_INT, 0, tag + 1, w->ctl, &rreq);
    double wait_s = timeout_s + FS_MAX(1.0, 0.5 * timeout_s);
    int pending = rc == MPI_SUCCESS ? poll_requests(1, &rreq, 1, fs_now() + wait_s, e) : -1;
    if (rc != MPI_SUCCESS) fs_mpi_error(e, rc, "MPI_Isend/Irecv(barrier)", __FILE__, __LINE__);
    int sent = 0;
    if (sreq != MPI_REQUEST_NULL && (MPI_Test(&sreq, &sent, MPI_STATUS_IGNORE) != MPI_SUCCESS || !sent))
        MPI_Request_free(&sreq);
    if (rreq != MPI_REQUEST_NULL && MPI_Cancel(&rreq) == MPI_SUCCESS) MPI_Wait(&rreq, MPI_STATUS_IGNORE);
    if (pending == 0) rc = member_verdict(w, verdict, timeout_s, what, e);
    else if (pending > 0)
        rc = fs_errorf(e, FS_EXIT_FAIL,
                       "%s: rank 0 did not answer within %.1f s (it is hung, dead, or still waiting for "
                       "another rank)\n  hint: look at rank 0's last messages",
                       what, wait_s);
    else rc = FS_EXIT_FAIL;
    free(verdict);
    return rc;
}

int fs_world_barrier_timeout(fs_world *w, double timeout_s, const char *what, fs_error *e) {
    if (w->size == 1) return 0;
    int tag = probe_tag(w->probe_seq++);
    return w->rank == 0 ? root_barrier(w, tag, timeout_s, what, e) : member_barrier(w, tag, timeout_s, what, e);
}
