/* test_nccl_init.c — fs_nccl_init is a clear error, never a crash, where it cannot work:
 * a bucket below one float (bad input, before any GPU is touched), no device gradient
 * buffer, no GPU (this machine) or no NCCL in the build. Where a GPU is usable it must
 * succeed instead. Also: the NCCL plan cuts as many buckets as the MPI backend
 * (fs_allreduce_buckets) for the same n and comms.bucket_mb. Runs on one rank. */
#include <stdio.h>
#include <string.h>

#include "comms/allreduce.h"
#include "comms/nccl/nccl_allreduce.h"
#include "comms/nccl/nccl_plan.h"

#include "tests/check.h"

static void check_clear(const fs_error *e, int rc, const char *what) {
    CHECK(rc != 0 && e->code == rc, "%s: rc %d, error code %d", what, rc, e->code);
    CHECK(strstr(e->msg, "hint:") != NULL, "%s: no hint in '%s'", what, e->msg);
}

static void check_bad_input(fs_world *w, float *dev) {
    fs_nccl_allreduce *ar = (fs_nccl_allreduce *)&ar; /* must come back NULL */
    fs_error e = {0};
    int rc = fs_nccl_init(&ar, w, dev, 1000, 2, &e);
    printf("bucket of 2 bytes -> %s\n", e.msg);
    check_clear(&e, rc, "bucket of 2 bytes");
    CHECK(ar == NULL, "bucket of 2 bytes: the handle is not NULL");
    CHECK(rc == FS_EXIT_BADINPUT, "bucket of 2 bytes: code %d, expected %d", rc, FS_EXIT_BADINPUT);
    CHECK(strstr(e.msg, fs_nccl_available() ? "comms.bucket_mb" : "without NCCL") != NULL,
          "bucket of 2 bytes: the message names neither comms.bucket_mb nor the build");
    e = (fs_error){0};
    rc = fs_nccl_init(&ar, w, NULL, 1000, 1 << 20, &e);
    printf("no gradient buffer -> %s\n", e.msg);
    check_clear(&e, rc, "no gradient buffer");
    CHECK(ar == NULL, "no gradient buffer: the handle is not NULL");
}

/* No GPU here: a clear error naming what is missing; with a GPU: a working handle. */
static void check_no_gpu(fs_world *w) {
    fs_nccl_allreduce *ar = NULL;
    fs_error e = {0};
    float *not_touched = (float *)&e; /* never dereferenced: init fails before, or binds */
    int rc = fs_nccl_init(&ar, w, not_touched, 1000, 1 << 20, &e);
    if (rc == 0) {
        printf("fs_nccl_init succeeded: a GPU is usable here\n");
        CHECK(ar != NULL && fs_nccl_available(), "init succeeded without a handle or without NCCL");
        fs_allreduce_stats st;
        fs_nccl_begin(ar);
        fs_nccl_ready(ar, 0); /* world size 1: nothing is reduced, the buffer is not read */
        CHECK(fs_nccl_finish(ar, 5.0, &st, &e) == 0 && st.buckets == 0, "world size 1: finish %s", e.msg);
        fs_nccl_free(ar);
        return;
    }
    printf("no GPU -> %s\n", e.msg);
    check_clear(&e, rc, "no GPU");
    CHECK(ar == NULL, "no GPU: the handle is not NULL");
    CHECK(strstr(e.msg, "NCCL") != NULL, "no GPU: the message does not say it is the NCCL all-reduce");
    CHECK(strstr(e.msg, "driver") || strstr(e.msg, "no CUDA device") || strstr(e.msg, "without"),
          "no GPU: the message names neither the driver, the device nor the build");
    fs_nccl_free(NULL); /* allowed, as free(NULL) */
}

/* The bench's NCCL path: clear error without a GPU; with one (world size 1), no wrong value. */
static void check_bench(fs_world *w) {
    fs_error e = {0};
    int wrong = fs_nccl_bench(w, 4096, 65536, 16384, 2, 0, &e);
    if (wrong >= 0) {
        CHECK(wrong == 0, "bench on a GPU: %d wrong values", wrong);
        return;
    }
    printf("bench without GPU -> %s\n", e.msg);
    CHECK(e.code != 0 && strstr(e.msg, "hint:"), "bench returned %d without a clear error: '%s'", wrong, e.msg);
    wrong = fs_nccl_bench(w, 8192, 4096, 16384, 2, 0, &e);
    CHECK(wrong < 0 && e.code == FS_EXIT_BADINPUT, "bench --min 8192 --max 4096: returned %d, code %d", wrong, e.code);
}

/* Same n and bucket size -> same number of buckets as the MPI backend. */
static void check_same_buckets_as_mpi(fs_world *w) {
    static const size_t ns[] = {1, 1000, 1000003, 82062470};
    static const size_t bytes[] = {4, 4000, 25u << 20, (size_t)5 << 30};
    float dummy = 0; /* world size 1: the MPI backend keeps the pointer and never reads it */
    for (size_t i = 0; i < FS_ARRAY_LEN(ns); i++)
        for (size_t j = 0; j < FS_ARRAY_LEN(bytes); j++) {
            fs_allreduce *mpi = NULL;
            fs_nccl_plan p;
            fs_error e = {0};
            float *dp = &dummy;
            CHECK(fs_allreduce_init(&mpi, w, &dp, ns[i], bytes[j], FS_ALLREDUCE_MPI, &e) == 0, "MPI init: %s", e.msg);
            CHECK(fs_nccl_plan_init(&p, ns[i], bytes[j], &e) == 0, "plan: %s", e.msg);
            if (mpi)
                CHECK(fs_allreduce_buckets(mpi) == p.nbuckets, "n=%zu bytes=%zu: MPI %d buckets, NCCL plan %d", ns[i],
                      bytes[j], fs_allreduce_buckets(mpi), p.nbuckets);
            fs_allreduce_free(mpi);
        }
}

int main(int argc, char **argv) {
    fs_world w;
    fs_error e = {0};
    if (fs_world_init(&w, &argc, &argv, &e)) {
        printf("FAIL: fs_world_init: %s\n", e.msg);
        return 1;
    }
    printf("NCCL in this build: %s\n", fs_nccl_available() ? "yes" : "no");
    check_bad_input(&w, (float *)&e);
    check_no_gpu(&w);
    check_bench(&w);
    check_same_buckets_as_mpi(&w);
    fs_world_finalize(&w);
    if (failures) {
        printf("nccl_init: %d check(s) failed\n", failures);
        return 1;
    }
    printf("nccl_init: ok\n");
    return 0;
}
