/* test_nccl_run.c — the real NCCL all-reduce on GPUs (one per rank), or a clear skip.
 *
 * Each step zeroes the device gradient buffer, then "runs the backward pass": for layer
 * l = last .. first, a device-to-device copy on the compute stream writes that layer's
 * slice of this rank's gradients, and ready(slice start) follows. The comms stream must
 * wait for those copies (events), so a bucket reduced too early would hold zeros or half
 * a slice: every element is checked against the exact sum over ranks, and the stats
 * against the bucket plan. Three steps, the second without begin(). Exit 77 (skipped) when
 * the build has no NCCL, no GPU is usable, or two ranks of a node would share one GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comms/nccl/nccl_allreduce.h"
#include "comms/nccl/nccl_plan.h"
#include "kernels/ops.h"
#include "tests/nccl/nccl_test.h"

#define N_FLOATS ((size_t)1000003)     /* odd: the last bucket is short */
#define BUCKET_BYTES ((size_t)1 << 18) /* 65536 floats: 16 buckets */
#define LAYERS 37                      /* ready() calls per pass, not aligned with buckets */

static float value(int rank, size_t i) { return (float)((int)(i % 1021) - 510) + (float)(rank * ((int)(i % 7) - 3)); }

/* Why this rank cannot run the test ("" if it can); all ranks then agree (max). */
static int skip_reason(fs_world *w, char *why, size_t len) {
    fs_error e = {0};
    why[0] = 0;
    if (!fs_nccl_available()) snprintf(why, len, "built without NCCL");
    else if (!fs_backend_cuda(w->local_rank, &e)) snprintf(why, len, "no GPU (%.*s)", (int)strcspn(e.msg, "\n"), e.msg);
    /* Ranks on one node must sit on different GPUs (NCCL refuses "Duplicate GPU"). */
    int mine = nt_gpu_index(), *all = fs_malloc(sizeof(int) * (size_t)w->size);
    MPI_Comm node;
    MPI_Comm_split_type(w->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Allgather(&mine, 1, MPI_INT, all, 1, MPI_INT, node);
    for (int r = 0; r < w->local_size && !why[0]; r++)
        if (r != w->local_rank && mine >= 0 && all[r] == mine)
            snprintf(why, len, "local ranks %d and %d would share GPU %d: needs one GPU per rank", r, w->local_rank,
                     mine);
    MPI_Comm_free(&node);
    free(all);
    int skip = why[0] != 0, any = 0;
    MPI_Allreduce(&skip, &any, 1, MPI_INT, MPI_MAX, w->comm);
    if (any && !skip) snprintf(why, len, "another rank cannot run it");
    return any;
}

static int check_sum(const fs_world *w, const float *g, int step) {
    long bad = 0;
    for (size_t i = 0; i < N_FLOATS; i++) {
        float want = 0;
        for (int r = 0; r < w->size; r++) want += value(r, i);
        if (g[i] != want && bad++ < 5)
            printf("FAIL step %d: element %zu is %g, expected %g\n", step, i, (double)g[i], (double)want);
    }
    if (bad) printf("FAIL step %d: %ld of %zu elements wrong\n", step, bad, N_FLOATS);
    return bad != 0;
}

static void backward(const fs_backend *be, fs_nccl_allreduce *ar, float *grads, const float *src) {
    size_t prev = N_FLOATS;
    for (size_t l = 1; l <= LAYERS; l++) {
        size_t lo = N_FLOATS - N_FLOATS * l / LAYERS;
        be->copy(grads + lo, src + lo, (prev - lo) * sizeof(float));
        fs_nccl_ready(ar, lo);
        prev = lo;
    }
}

static int run_steps(fs_world *w, const fs_backend *be, float *grads, const float *src, float *host) {
    fs_nccl_allreduce *ar = NULL;
    fs_error e = {0};
    fs_nccl_plan plan;
    fs_nccl_plan_init(&plan, N_FLOATS, BUCKET_BYTES, NULL);
    if (fs_nccl_init(&ar, w, grads, N_FLOATS, BUCKET_BYTES, &e)) return printf("FAIL: init: %s\n", e.msg), 1;
    int f = 0;
    for (int step = 0; step < 3 && !f; step++) {
        fs_allreduce_stats st;
        be->zero(grads, N_FLOATS * sizeof(float));
        if (step != 1) fs_nccl_begin(ar); /* step 1: finish() alone must have reset the state */
        backward(be, ar, grads, src);
        if (fs_nccl_finish(ar, 30.0, &st, &e)) {
            printf("FAIL step %d: finish: %s\n", step, e.msg);
            f = 1;
            break;
        }
        be->download(host, grads, N_FLOATS * sizeof(float));
        f |= check_sum(w, host, step);
        uint64_t want_seq = (uint64_t)plan.nbuckets * (uint64_t)(step + 1);
        if (st.buckets != plan.nbuckets || st.seq != want_seq || st.early < 0 || st.early > st.buckets)
            printf("FAIL step %d: stats buckets %d seq %llu early %d; expected %d, %llu, 0..%d\n", step, st.buckets,
                   (unsigned long long)st.seq, st.early, plan.nbuckets, (unsigned long long)want_seq, plan.nbuckets),
                f = 1;
        if (w->rank == 0)
            printf("step %d: %d buckets, %d done before finish(), wait %.1f us, busy %.1f us\n", step, st.buckets,
                   st.early, 1e6 * st.wait_s, 1e6 * st.busy_s);
    }
    fs_nccl_free(ar);
    return f;
}

static int run_on_gpu(fs_world *w) {
    fs_error e = {0};
    const fs_backend *be = fs_backend_cuda(w->local_rank, &e);
    float *host = fs_malloc(N_FLOATS * sizeof(float));
    for (size_t i = 0; i < N_FLOATS; i++) host[i] = value(w->rank, i);
    float *grads = be->alloc(N_FLOATS * sizeof(float)), *src = be->alloc(N_FLOATS * sizeof(float));
    be->upload(src, host, N_FLOATS * sizeof(float));
    int f = run_steps(w, be, grads, src, host);
    be->free(grads);
    be->free(src);
    free(host);
    return f;
}

int main(int argc, char **argv) {
    fs_world w;
    fs_error e = {0};
    if (fs_world_init(&w, &argc, &argv, &e)) return printf("FAIL: fs_world_init: %s\n", e.msg), 1;
    char why[512];
    int rc = 0;
    if (skip_reason(&w, why, sizeof why)) {
        printf("nccl_run rank %d: skipped: %s; ran nothing\n", w.rank, why);
        rc = NT_SKIP;
    } else {
        int f = run_on_gpu(&w), any = 0;
        MPI_Allreduce(&f, &any, 1, MPI_INT, MPI_MAX, w.comm);
        if (w.rank == 0) printf(any ? "nccl_run: FAILED\n" : "nccl_run: ok on %d GPUs\n", w.size);
        rc = any ? 1 : 0;
    }
    fs_world_finalize(&w);
    return rc;
}
