/* nccl_allreduce.c — see nccl_allreduce.h. Built only with FACESWARM_HAVE_NCCL (else
 * nccl_absent.c). Library code: every failure returns a status with e filled. */
#include "comms/nccl/nccl_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/ops.h"

/* ---------------------------------------------------------------- errors */
int fs_nccl_cuda_error(fs_error *e, cudaError_t err, const char *call, const char *file, int line) {
    char where[1100];
    fs_where(where, sizeof where, file, line);
    return fs_errorf(e, FS_EXIT_FAIL, "%s failed: %s (%s)%s\n  hint: %s", call, cudaGetErrorString(err),
                     cudaGetErrorName(err), where,
                     err == cudaErrorMemoryAllocation
                         ? "the GPU is out of memory: lower train.batch_per_identity or comms.bucket_mb"
                         : "check the GPU with nvidia-smi; a sticky error comes from an earlier kernel fault "
                           "(run under compute-sanitizer to locate it)");
}

static const char *nccl_hint(ncclResult_t r) {
    switch (r) {
    case ncclUnhandledCudaError: return "a CUDA call inside NCCL failed: check the GPU with nvidia-smi";
    case ncclSystemError:
        return "a system call or the network failed (sockets, /dev/shm, InfiniBand): rerun with NCCL_DEBUG=INFO; "
               "in a container give /dev/shm more room";
    case ncclInvalidUsage:
        return "NCCL refused how it was used, e.g. two ranks on one GPU (\"Duplicate GPU\"): start at most one "
               "rank per GPU on each node";
    case ncclRemoteError: return "a peer rank or the network failed: look for the first error of any rank";
    case ncclInvalidArgument: return "a bad buffer, count or communicator: a faceswarm bug, please report it";
    default: return "rerun with NCCL_DEBUG=INFO to see what NCCL was doing";
    }
}

int fs_nccl_nccl_error(fs_error *e, ncclResult_t r, const char *call, const char *file, int line) {
    const char *last = ncclGetLastError(NULL);
    char where[1100];
    fs_where(where, sizeof where, file, line);
    return fs_errorf(e, FS_EXIT_FAIL, "%s failed: %s%s%s%s\n  hint: %s", call, ncclGetErrorString(r),
                     last && *last ? ": " : "", last ? last : "", where, nccl_hint(r));
}

/* ---------------------------------------------------------------- collective set-up */
/* See nccl_internal.h: a rank that failed never leaves its peers waiting. */
int fs_nccl_agree(fs_world *w, int rc, const char *what, fs_error *e) {
    int failed = rc != 0, *all = fs_malloc(sizeof(int) * (size_t)w->size);
    int *bad = fs_malloc(sizeof(int) * (size_t)w->size);
    int mrc = MPI_Allgather(&failed, 1, MPI_INT, all, 1, MPI_INT, w->comm), nbad = 0;
    for (int r = 0; mrc == MPI_SUCCESS && r < w->size; r++)
        if (all[r]) bad[nbad++] = r;
    char ranks[256];
    fs_world_format_ranks(bad, nbad, ranks, sizeof ranks);
    free(all);
    free(bad);
    if (rc) return rc;
    if (mrc != MPI_SUCCESS) return fs_mpi_error(e, mrc, "MPI_Allgather(NCCL set-up status)", __FILE__, __LINE__);
    if (!nbad) return 0;
    return fs_errorf(e, FS_EXIT_FAIL,
                     "NCCL all-reduce: rank(s) %s could not %s; this rank could\n"
                     "  hint: the error printed by rank(s) %s says why",
                     ranks, what, ranks);
}

/* The backend's GPU: opened here if the trainer has not yet done so (same local_rank rule). */
static int open_gpu(fs_world *w, fs_error *e) {
    if (!fs_backend_cuda(w->local_rank, e)) {
        fs_error_prefix(e, "NCCL all-reduce needs the CUDA backend's GPU: ");
        return e ? e->code : FS_EXIT_FAIL;
    }
    CUDA_TRY(e, cudaSetDevice(fs_cuda_device()));
    return 0;
}

static int check_args(size_t n, const float *grads_dev, size_t bucket_bytes, fs_nccl_plan *plan, fs_error *e) {
    int rc = fs_nccl_plan_init(plan, n, bucket_bytes, e);
    if (rc) return rc;
    if (n > 0 && !grads_dev)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "fs_nccl_init: no device gradient buffer for %zu floats\n"
                         "  hint: allocate the model on the cuda backend before the all-reduce",
                         n);
    return 0;
}

static int create_streams(fs_nccl_allreduce *ar, fs_error *e) {
    int least = 0, greatest = 0;
    ar->compute = (cudaStream_t)fs_cuda_stream();
    CUDA_TRY(e, cudaDeviceGetStreamPriorityRange(&least, &greatest));
    /* Highest priority: a collective's blocks are scheduled ahead of waiting backward
     * kernels, so that the network never idles behind compute. */
    CUDA_TRY(e, cudaStreamCreateWithPriority(&ar->comms, cudaStreamNonBlocking, greatest));
    CUDA_TRY(e, cudaEventCreate(&ar->start_ev));
    return 0;
}

/* Rank 0's ncclUniqueId reaches every rank through MPI, with rank 0's status beside it. */
static int create_comm(fs_nccl_allreduce *ar, fs_error *e) {
    fs_world *w = ar->w;
    struct {
        int failed;
        ncclUniqueId id;
    } msg;
    memset(&msg, 0, sizeof msg);
    fs_error mine = {0};
    ncclResult_t r = w->rank == 0 ? ncclGetUniqueId(&msg.id) : ncclSuccess;
    if (r != ncclSuccess) msg.failed = fs_nccl_nccl_error(&mine, r, "ncclGetUniqueId()", __FILE__, __LINE__);
    int rc = fs_world_bcast(w, &msg, sizeof msg, 0, e);
    if (rc) return rc;
    if (msg.failed) {
        if (w->rank == 0) {
            if (e) *e = mine;
            return mine.code;
        }
        return fs_errorf(e, FS_EXIT_FAIL,
                         "NCCL all-reduce: rank 0 could not create the NCCL unique id\n"
                         "  hint: rank 0's error says why");
    }
    /* Blocking: every rank must reach it (the agreements above make sure they all do). */
    r = ncclCommInitRank(&ar->comm, w->size, msg.id, w->rank);
    if (r != ncclSuccess) {
        ar->comm = NULL;
        rc = fs_nccl_nccl_error(e, r, "ncclCommInitRank()", __FILE__, __LINE__);
    }
    return fs_nccl_agree(w, rc, "create the NCCL communicator", e);
}

/* ---------------------------------------------------------------- events (one set per plan) */
static void destroy_events(fs_nccl_allreduce *ar) {
    for (int k = 0; k < ar->nevents; k++) {
        cudaEventDestroy(ar->ready_ev[k]);
        cudaEventDestroy(ar->done_ev[k]);
    }
    free(ar->ready_ev);
    free(ar->done_ev);
    ar->ready_ev = ar->done_ev = NULL;
    ar->nevents = 0;
}

static int create_events(fs_nccl_allreduce *ar, int count, fs_error *e) {
    size_t slots = (size_t)FS_MAX(count, 1);
    ar->ready_ev = fs_calloc(slots, sizeof(cudaEvent_t));
    ar->done_ev = fs_calloc(slots, sizeof(cudaEvent_t));
    for (; ar->nevents < count; ar->nevents++) {
        cudaEvent_t *ready = &ar->ready_ev[ar->nevents], *done = &ar->done_ev[ar->nevents];
        CUDA_TRY(e, cudaEventCreateWithFlags(ready, cudaEventDisableTiming));
        cudaError_t err = cudaEventCreate(done);
        if (err != cudaSuccess) {
            cudaEventDestroy(*ready); /* keeps nevents counting complete pairs only */
            return fs_nccl_cuda_error(e, err, "cudaEventCreate(done)", __FILE__, __LINE__);
        }
    }
    return 0;
}

int fs_nccl_rebind(fs_nccl_allreduce *ar, float *grads_dev, size_t n, size_t bucket_bytes, fs_error *e) {
    fs_nccl_plan plan;
    int rc = check_args(n, grads_dev, bucket_bytes, &plan, e);
    if (rc) return rc;
    rc = fs_world_check_same_u64(ar->w, fs_hash3(n, plan.bucket, 0),
                                 "gradient buffer size and NCCL all-reduce bucket size", e);
    if (rc) return rc;
    destroy_events(ar);
    ar->grads = grads_dev;
    ar->plan = plan;
    ar->launched = 0;
    return fs_nccl_agree(ar->w, create_events(ar, plan.nbuckets, e), "create the all-reduce's CUDA events", e);
}

int fs_nccl_init(fs_nccl_allreduce **out, fs_world *w, float *grads_dev, size_t n, size_t bucket_bytes, fs_error *e) {
    *out = NULL;
    fs_nccl_plan plan;
    int rc = check_args(n, grads_dev, bucket_bytes, &plan, e);
    if (!rc) rc = open_gpu(w, e);
    rc = fs_nccl_agree(w, rc, "open a GPU for the NCCL all-reduce", e);
    if (rc) return rc;
    fs_nccl_allreduce *ar = fs_calloc(1, sizeof *ar);
    ar->w = w;
    rc = create_streams(ar, e);
    rc = fs_nccl_agree(w, rc, "create the NCCL all-reduce's stream", e);
    if (!rc) rc = create_comm(ar, e);
    if (!rc) rc = fs_nccl_rebind(ar, grads_dev, n, bucket_bytes, e);
    if (rc) {
        ar->failed = 1;
        fs_nccl_free(ar);
        return rc;
    }
    *out = ar;
    return 0;
}

/* ---------------------------------------------------------------- a step */
void fs_nccl_begin(fs_nccl_allreduce *ar) {
    ar->launched = 0;
    ar->err.code = 0;
    ar->err.msg[0] = 0;
}

static void bucket_prefix(fs_nccl_allreduce *ar, fs_error *e, int k, uint64_t seq) {
    fs_error_prefix(e, "gradient bucket %d of %d (floats [%zu, %zu), seq %llu): ", k, ar->plan.nbuckets,
                    fs_nccl_plan_lo(&ar->plan, k), fs_nccl_plan_hi(&ar->plan, k), (unsigned long long)seq);
}

/* One group, so that buckets that became final together go out as one NCCL launch. */
static int enqueue_group(fs_nccl_allreduce *ar, int k0, int upto, int *bad, fs_error *e) {
    NCCL_TRY(e, ncclGroupStart());
    ncclResult_t r = ncclSuccess;
    for (*bad = k0; *bad < upto; ++*bad) {
        size_t lo = fs_nccl_plan_lo(&ar->plan, *bad), hi = fs_nccl_plan_hi(&ar->plan, *bad);
        r = ncclAllReduce(ar->grads + lo, ar->grads + lo, hi - lo, ncclFloat, ncclSum, ar->comm, ar->comms);
        if (r != ncclSuccess) break;
    }
    ncclResult_t g = ncclGroupEnd();
    if (r != ncclSuccess) return fs_nccl_nccl_error(e, r, "ncclAllReduce(in place, SUM)", __FILE__, __LINE__);
    *bad = upto - 1;
    NCCL_TRY(e, g);
    return 0;
}

/* Buckets launched .. upto-1 are final on the compute stream: the comms stream waits for
 * that point, reduces them, and marks each one's completion. */
static int launch(fs_nccl_allreduce *ar, int upto, fs_error *e) {
    int k0 = ar->launched, bad = k0;
    if (!ar->comm)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "NCCL all-reduce: the communicator was aborted after an earlier failure\n"
                         "  hint: that first error says why; abort the job and resume from the "
                         "last checkpoint");
    CUDA_TRY(e, cudaEventRecord(ar->ready_ev[k0], ar->compute));
    CUDA_TRY(e, cudaStreamWaitEvent(ar->comms, ar->ready_ev[k0], 0));
    if (k0 == 0) CUDA_TRY(e, cudaEventRecord(ar->start_ev, ar->comms));
    uint64_t seq0 = ar->seq;
    ar->launched = upto;
    ar->seq += (uint64_t)(upto - k0);
    int rc = enqueue_group(ar, k0, upto, &bad, e);
    if (rc) {
        bucket_prefix(ar, e, bad, seq0 + (uint64_t)(bad - k0));
        return rc;
    }
    for (int k = k0; k < upto; k++) CUDA_TRY(e, cudaEventRecord(ar->done_ev[k], ar->comms));
    return 0;
}

void fs_nccl_ready(void *ctx, size_t ready_from) {
    fs_nccl_allreduce *ar = ctx;
    if (ar->w->size == 1 || ar->err.code) return;
    int upto = fs_nccl_plan_ready(&ar->plan, ar->launched, ready_from);
    if (upto > ar->launched && launch(ar, upto, &ar->err) != 0) ar->failed = 1;
}

/* ---------------------------------------------------------------- finish: a bounded wait */
static void nap(void) {
    struct timespec ts = {0, 20000}; /* 20 us: well below a step, light on the core */
    nanosleep(&ts, NULL);
}

static void abort_comm(fs_nccl_allreduce *ar) {
    ar->failed = 1;
    if (!ar->comm) return;
    ncclCommAbort(ar->comm); /* its result cannot change what is reported: the error comes first */
    ar->comm = NULL;
}

/* After a timeout: the ranks still able to talk run a short probe barrier, whose error
 * names the ranks that are not here (rank 0 can tell), or which succeeds when every rank
 * is waiting (then they launched different buckets). */
static int timeout_error(fs_nccl_allreduce *ar, int k, double timeout_s, fs_error *e) {
    uint64_t seq = ar->seq - (uint64_t)(ar->launched - k);
    abort_comm(ar);
    fs_error probe = {0};
    int prc =
        fs_world_barrier_timeout(ar->w, FS_MAX(2.0, FS_MIN(0.25 * timeout_s, 30.0)), "a probe of all ranks", &probe);
    probe.msg[strcspn(probe.msg, "\n")] = 0; /* keep the finding, the hint comes below */
    return fs_errorf(e, FS_EXIT_FAIL,
                     "NCCL gradient all-reduce timed out after %.1f s: bucket %d of %d (floats [%zu, %zu), seq "
                     "%llu) did not complete; the communicator was aborted; %s\n  hint: %s",
                     timeout_s, k, ar->plan.nbuckets, fs_nccl_plan_lo(&ar->plan, k), fs_nccl_plan_hi(&ar->plan, k),
                     (unsigned long long)seq,
                     prc ? probe.msg : "every rank is waiting here, so the ranks launched different buckets",
                     prc ? "the ranks named are hung (a deadlock, a stuck GPU or filesystem) or dead: look at their "
                           "last messages; raise comms.timeout_s only if they are just slow"
                         : "start every rank with the same config (model and comms.bucket_mb)");
}

/* The communicator's own failure (a peer or the network), seen while bucket k was pending. */
static int check_async(fs_nccl_allreduce *ar, int k, fs_error *e) {
    ncclResult_t async = ncclSuccess, r = ncclCommGetAsyncError(ar->comm, &async);
    if (r == ncclSuccess && (async == ncclSuccess || async == ncclInProgress)) return 0;
    uint64_t seq = ar->seq - (uint64_t)(ar->launched - k);
    fs_nccl_nccl_error(e, r != ncclSuccess ? r : async, "ncclCommGetAsyncError()", __FILE__, __LINE__);
    abort_comm(ar);
    bucket_prefix(ar, e, k, seq);
    return FS_EXIT_FAIL;
}

/* Buckets complete in launch order (one stream): polls the first one not yet done. */
static int wait_done(fs_nccl_allreduce *ar, double timeout_s, fs_error *e) {
    double t_end = fs_now() + timeout_s;
    for (int k = 0;;) {
        cudaError_t q = cudaSuccess;
        while (k < ar->launched && (q = cudaEventQuery(ar->done_ev[k])) == cudaSuccess) k++;
        if (k == ar->launched) return 0;
        if (q != cudaErrorNotReady) {
            fs_nccl_cuda_error(e, q, "cudaEventQuery(bucket done)", __FILE__, __LINE__);
            bucket_prefix(ar, e, k, ar->seq - (uint64_t)(ar->launched - k));
            abort_comm(ar);
            return FS_EXIT_FAIL;
        }
        if (check_async(ar, k, e)) return FS_EXIT_FAIL;
        if (fs_now() > t_end) return timeout_error(ar, k, timeout_s, e);
        nap();
    }
}

static int count_done(const fs_nccl_allreduce *ar) {
    int done = 0;
    while (done < ar->launched && cudaEventQuery(ar->done_ev[done]) == cudaSuccess) done++;
    return done;
}

static void fill_stats(const fs_nccl_allreduce *ar, double wait_s, int early, fs_allreduce_stats *st) {
    if (!st) return;
    float ms = 0;
    if (ar->launched && cudaEventElapsedTime(&ms, ar->start_ev, ar->done_ev[ar->launched - 1]) != cudaSuccess) ms = 0;
    *st = (fs_allreduce_stats){.wait_s = wait_s,
                               .busy_s = ms / 1e3,
                               .early = early,
                               .seq = ar->seq,
                               .buckets = ar->w->size == 1 ? 0 : ar->launched};
}

static int fail_step(fs_nccl_allreduce *ar, fs_error *e) {
    ar->failed = 1;
    if (e) *e = ar->err;
    return ar->err.code;
}

int fs_nccl_finish(fs_nccl_allreduce *ar, double timeout_s, fs_allreduce_stats *st, fs_error *e) {
    if (ar->w->size == 1 || ar->plan.nbuckets == 0) {
        fill_stats(ar, 0, 0, st);
        return 0;
    }
    double t0 = fs_now();
    int early = count_done(ar);
    fs_nccl_ready(ar, 0);
    if (ar->err.code) return fail_step(ar, e);
    cudaError_t err = cudaStreamWaitEvent(ar->compute, ar->done_ev[ar->launched - 1], 0);
    if (err != cudaSuccess) {
        fs_nccl_cuda_error(&ar->err, err, "cudaStreamWaitEvent(compute, last bucket done)", __FILE__, __LINE__);
        return fail_step(ar, e);
    }
    if (wait_done(ar, timeout_s, &ar->err)) return fail_step(ar, e);
    fill_stats(ar, fs_now() - t0, early, st);
    ar->launched = 0; /* the next step starts clean even without begin() */
    return 0;
}

/* ---------------------------------------------------------------- teardown */
void fs_nccl_free(fs_nccl_allreduce *ar) {
    if (!ar) return;
    if (ar->comm && (ar->failed || ar->launched)) {
        fs_warn("NCCL all-reduce freed with a step unfinished or failed; aborting its communicator\n"
                "  hint: this follows an earlier timeout or error; abort the job rather than continue");
        abort_comm(ar);
    }
    if (ar->comm) {
        ncclResult_t r = ncclCommDestroy(ar->comm);
        if (r != ncclSuccess) fs_warn("ncclCommDestroy: %s (ignored at shutdown)", ncclGetErrorString(r));
    }
    destroy_events(ar);
    if (ar->start_ev) cudaEventDestroy(ar->start_ev);
    if (ar->comms) cudaStreamDestroy(ar->comms);
    free(ar);
}

int fs_nccl_available(void) { return 1; }
