/* nccl_bench.c — fs_nccl_bench(): the NCCL rows of `faceswarm bench allreduce`, nccl-tests
 * style. For sizes from min to max bytes (doubling), two ways of summing a device float
 * buffer across the ranks, in place, each checked against the exact sum:
 *   plain     one ncclAllReduce on the whole buffer, on the backend's compute stream;
 *   bucketed  fs_nccl_*: buckets launched through ready() in backward order (BENCH_LAYERS
 *             ready() calls, no compute between them), finish() waiting for the last.
 * algbw = bytes / time; busbw = algbw * 2(P-1)/P; time is the slowest rank's mean. Only
 * rank 0 prints (the harness of `bench allreduce`, core/bench.h). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "comms/nccl/nccl_internal.h"
#include "kernels/cuda/cuda_backend.h"

#define MIB ((size_t)1 << 20)
#define BENCH_LAYERS 32       /* ready() calls per simulated backward pass */
#define BENCH_TIMEOUT_S 120.0 /* finish()'s bound: far above any size's time */

typedef struct nb_ctx {
    fs_world *w;
    fs_nccl_allreduce *ar;
    float *buf, *pristine; /* device, [max count]: reduced in place / this rank's input */
    float *host;           /* host, [max count]: the input, then the result to check */
    size_t count;          /* floats of the current size */
    size_t bucket_bytes;
    int iters, warmup;
} nb_ctx;

typedef struct nb_result {
    double time_s; /* mean time of one all-reduce (slowest rank), s */
    long wrong;    /* elements differing from the exact sum, all ranks */
    int buckets;
} nb_result;

typedef int (*nb_op)(nb_ctx *b, fs_error *e);

/* ---------------------------------------------------------------- data: exact sums */
/* value(r, i) = a(i) + r * b(i), small integers (the MPI bench's): sums over thousands of
 * ranks are exact in float in any order, and the expected sum has a closed form. */
static double val_a(size_t i) { return (double)(i % 1021) - 510.0; }
static double val_b(size_t i) { return (double)(i % 7) - 3.0; }

static int upload_input(nb_ctx *b, size_t max_count, fs_error *e) {
    for (size_t i = 0; i < max_count; i++) b->host[i] = (float)(val_a(i) + b->w->rank * val_b(i));
    CUDA_TRY(e, cudaMemcpy(b->pristine, b->host, max_count * sizeof(float), cudaMemcpyHostToDevice));
    return 0;
}

static int count_wrong(nb_ctx *b, long *wrong, fs_error *e) {
    double p = b->w->size, tri = p * (p - 1) / 2;
    CUDA_TRY(e, cudaStreamSynchronize(b->ar->compute));
    CUDA_TRY(e, cudaMemcpy(b->host, b->buf, b->count * sizeof(float), cudaMemcpyDeviceToHost));
    *wrong = 0;
    for (size_t i = 0; i < b->count; i++) *wrong += b->host[i] != (float)(p * val_a(i) + tri * val_b(i));
    return 0;
}

/* ---------------------------------------------------------------- the paths */
static int op_plain(nb_ctx *b, fs_error *e) {
    NCCL_TRY(e, ncclAllReduce(b->buf, b->buf, b->count, ncclFloat, ncclSum, b->ar->comm, b->ar->compute));
    CUDA_TRY(e, cudaStreamSynchronize(b->ar->compute));
    return 0;
}

static int op_bucketed(nb_ctx *b, fs_error *e) {
    fs_nccl_begin(b->ar);
    for (size_t l = 1; l <= BENCH_LAYERS; l++) fs_nccl_ready(b->ar, b->count - b->count * l / BENCH_LAYERS);
    int rc = fs_nccl_finish(b->ar, BENCH_TIMEOUT_S, NULL, e);
    if (!rc) CUDA_TRY(e, cudaStreamSynchronize(b->ar->compute));
    return rc;
}

static int time_op(nb_ctx *b, nb_op op, nb_result *res, fs_error *e) {
    double sum = 0;
    for (int it = -b->warmup; it < b->iters; it++) {
        CUDA_TRY(e, cudaMemcpyAsync(b->buf, b->pristine, b->count * sizeof(float), cudaMemcpyDeviceToDevice,
                                    b->ar->compute));
        CUDA_TRY(e, cudaStreamSynchronize(b->ar->compute));
        FS_MPI_TRY(e, MPI_Barrier(b->w->comm));
        double t0 = fs_now();
        int rc = op(b, e);
        if (rc) return rc;
        if (it >= 0) sum += fs_now() - t0;
    }
    long wrong = 0;
    int rc = count_wrong(b, &wrong, e);
    if (rc) return rc;
    FS_MPI_TRY(e, MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_DOUBLE, MPI_MAX, b->w->comm));
    FS_MPI_TRY(e, MPI_Allreduce(MPI_IN_PLACE, &wrong, 1, MPI_LONG, MPI_SUM, b->w->comm));
    *res = (nb_result){.time_s = sum / b->iters, .wrong = wrong, .buckets = b->ar->plan.nbuckets};
    return 0;
}

static int bench_size(nb_ctx *b, int iters, nb_result res[2], fs_error *e) {
    size_t bytes = b->count * sizeof(float);
    /* Fewer iterations for big buffers, as the MPI bench does; small ones need a warmup
     * (NCCL connects lazily on a size's first protocol). */
    b->iters = bytes <= 8 * MIB ? iters : FS_MAX(1, (int)((double)iters * 4.0 * MIB / (double)bytes));
    b->warmup = bytes <= 32 * MIB ? 3 : 1;
    int rc = fs_nccl_rebind(b->ar, b->buf, b->count, b->bucket_bytes, e);
    if (!rc) rc = time_op(b, op_plain, &res[0], e);
    if (!rc) rc = time_op(b, op_bucketed, &res[1], e);
    return rc;
}

/* ---------------------------------------------------------------- output (rank 0) */
static double algbw(size_t bytes, double t) { return t > 0 ? (double)bytes / t / 1e9 : 0; }
static double busbw(size_t bytes, double t, int p) { return algbw(bytes, t) * 2.0 * (p - 1) / p; }

/* The NCCL table's facts come after the MPI table's rows: they are summary facts (bench.h). */
static int print_header(const nb_ctx *b, fs_bench *B, fs_error *e) {
    char hosts[1024], ver[32];
    int v = 0, rc = fs_world_hosts(b->w, hosts, sizeof hosts, e);
    if (rc) return rc;
    NCCL_TRY(e, ncclGetVersion(&v));
    snprintf(ver, sizeof ver, "%d.%d.%d", v / 10000, v % 10000 / 100, v % 100);
    fs_bench_fact_str(B, "nccl", ver);
    fs_bench_fact_str(B, "nccl_device", fs_cuda_device_name());
    fs_bench_fact_num(B, "nccl_bucket_mib", (double)b->bucket_bytes / (double)MIB, 3, "MiB");
    fs_bench_fact_int(B, "nccl_layers", BENCH_LAYERS);
    fs_bench_note(B,
                  "NCCL path on %s: op sum, dtype float, in place, device buffers; plain ncclAllReduce (plain_), "
                  "bucketed fs_nccl (bucketed_), %d ready() calls per pass",
                  hosts, BENCH_LAYERS);
    fs_bench_columns(B, "nccl", fs_allreduce_bench_cols, FS_ALLREDUCE_BENCH_NCCL_COLS);
    return 0;
}

static void print_row(const nb_ctx *b, fs_bench *B, const nb_result r[2]) {
    size_t bytes = b->count * sizeof(float);
    int p = b->w->size;
    fs_bench_row(B, (fs_bench_val[]){FS_INT(bytes), FS_INT(b->count), FS_STR("float"), FS_NUM(1e6 * r[0].time_s),
                                     FS_NUM(algbw(bytes, r[0].time_s)), FS_NUM(busbw(bytes, r[0].time_s, p)),
                                     FS_INT(r[0].wrong), FS_NUM(1e6 * r[1].time_s), FS_NUM(algbw(bytes, r[1].time_s)),
                                     FS_NUM(busbw(bytes, r[1].time_s, p)), FS_INT(r[1].wrong), FS_INT(r[1].buckets)});
}

/* ---------------------------------------------------------------- run */
static int sweep(nb_ctx *b, size_t min_bytes, size_t max_bytes, int iters, fs_bench *B, long *wrong, fs_error *e) {
    for (size_t bytes = min_bytes; bytes <= max_bytes; bytes *= 2) {
        nb_result r[2];
        b->count = bytes / sizeof(float);
        int rc = bench_size(b, iters, r, e);
        if (rc) return rc;
        print_row(b, B, r);
        *wrong += r[0].wrong + r[1].wrong;
        if (bytes > max_bytes / 2) break;
    }
    return 0;
}

static int check_args(size_t min_bytes, size_t max_bytes, int iters, fs_error *e) {
    if (min_bytes < sizeof(float) || max_bytes < min_bytes || iters < 1)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "bench allreduce (NCCL): --min %zu --max %zu --iters %d: expected 4 <= min <= max and "
                         "iters >= 1\n  hint: e.g. --min 4K --max 256M --iters 20",
                         min_bytes, max_bytes, iters);
    return 0;
}

/* Device and host buffers of max_count floats; the handle exists (the GPU is open). */
static int alloc_buffers(nb_ctx *b, size_t max_count, fs_error *e) {
    CUDA_TRY(e, cudaMalloc((void **)&b->buf, max_count * sizeof(float)));
    CUDA_TRY(e, cudaMalloc((void **)&b->pristine, max_count * sizeof(float)));
    b->host = fs_aligned_alloc(max_count * sizeof(float));
    return upload_input(b, max_count, e);
}

static void free_buffers(nb_ctx *b) {
    if (b->buf) cudaFree(b->buf);
    if (b->pristine) cudaFree(b->pristine);
    free(b->host);
}

int fs_nccl_bench(fs_world *w, size_t min_bytes, size_t max_bytes, size_t bucket_bytes, int iters, fs_bench *B,
                  fs_error *e) {
    nb_ctx b = {.w = w, .bucket_bytes = bucket_bytes};
    long wrong = 0;
    int rc = check_args(min_bytes, max_bytes, iters, e);
    /* Bound to an empty buffer first: the GPU is opened (and the buffers can be
     * allocated on it) by the handle's init; each size re-binds. */
    if (!rc) rc = fs_nccl_init(&b.ar, w, NULL, 0, bucket_bytes, e);
    if (rc) return -1;
    rc = fs_nccl_agree(w, alloc_buffers(&b, max_bytes / sizeof(float), e), "allocate the bench's buffers", e);
    if (!rc) rc = print_header(&b, B, e);
    if (!rc) rc = sweep(&b, min_bytes, max_bytes, iters, B, &wrong, e);
    free_buffers(&b);
    fs_nccl_free(b.ar);
    if (rc) return -1;
    return wrong > INT_MAX ? INT_MAX : (int)wrong;
}
