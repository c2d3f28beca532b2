/* test_timeout.c — a rank that does not arrive is named instead of hanging everyone.
 *
 *   test_timeout barrier    the last rank sleeps past a 2 s barrier timeout: rank 0 names it,
 *                           the other ranks repeat rank 0's list, the late rank learns it was
 *                           late; then everyone meets again and the world still works.
 *   test_timeout allreduce  the last rank starts its all-reduce 5 s late: the others' finish()
 *                           gives up after 1.5 s naming the bucket, its seq and the late rank;
 *                           the late rank's buckets then complete against the ones still
 *                           pending, and everyone exits cleanly.
 *   test_timeout allreduce-shm  the same on the shared-memory path: the others name the late
 *                           rank (local and world rank) and the stage it is missing from; the
 *                           late rank, whose partners have given up, times out in turn
 *                           naming one of them.
 *   test_timeout sum        the last rank starts fs_world_sum_doubles (the step's loss sum)
 *                           5 s late with w->timeout_s = 1.5: the others give up naming it
 *                           (a blocking MPI_Allreduce would wait for ever, as it did for ranks
 *                           whose node was cut off); the late rank's sum completes.
 * World size >= 2. */
#include <stdlib.h>
#include <unistd.h>

#include "comms/allreduce.h"
#include "tests/mpi/mpi_test.h"

static void expect_late_named(const fs_world *w, const fs_error *e, int late) {
    char frag[128];
    if (w->rank == 0 || w->rank == late) printf("rank %d's error (expected):\n%s\n", w->rank, e->msg);
    if (w->rank == 0) snprintf(frag, sizeof frag, "rank %d did not arrive", late);
    else snprintf(frag, sizeof frag, "reports rank %d missing", late);
    T_HAS(e, frag);
    T_HAS(e, "hint:");
}

static void barrier_case(fs_world *w) {
    fs_error e = {0};
    int late = w->size - 1;
    T_OK(fs_world_barrier_timeout(w, 10.0, "first barrier", &e), &e);
    if (w->rank == late) sleep(3);
    double t0 = fs_now();
    int rc = fs_world_barrier_timeout(w, 2.0, "test barrier", &e);
    double took = fs_now() - t0;
    T_CHECK(rc == FS_EXIT_FAIL, "the late rank went unnoticed (rc %d)", rc);
    T_HAS(&e, "test barrier");
    expect_late_named(w, &e, late);
    if (w->rank == late) T_HAS(&e, "this rank arrived after rank 0 gave up");
    if (w->rank != late) T_CHECK(took < 8.0, "gave up only after %.1f s", took);
    MPI_Barrier(MPI_COMM_WORLD);
    T_OK(fs_world_barrier_timeout(w, 10.0, "barrier after the timeout", &e), &e);
}

static void allreduce_shm_case(fs_world *w) {
    fs_error e = {0};
    int late = w->size - 1;
    size_t n = 10000;
    float *mine = fs_malloc(sizeof(float) * n), *g = mine;
    fs_allreduce *ar = NULL;
    T_OK(fs_allreduce_init(&ar, w, &g, n, 4096 * sizeof(float), FS_ALLREDUCE_SHM, &e), &e);
    for (size_t i = 0; i < n; i++) g[i] = 1.0f;
    fs_allreduce_begin(ar);
    char frag[160];
    if (w->rank == late) {
        sleep(5);
        double t0 = fs_now();
        T_CHECK(fs_allreduce_finish(ar, 1.5, NULL, &e) == FS_EXIT_FAIL, "the late rank's partners went unnoticed");
        T_CHECK(fs_now() - t0 < 6.0, "gave up only after %.1f s", fs_now() - t0);
        printf("late rank's error (expected):\n%s\n", e.msg);
        T_HAS(&e, "has not summed its share of this bucket");
    } else {
        fs_allreduce_ready(ar, n - 4096);
        int rc = fs_allreduce_finish(ar, 1.5, NULL, &e);
        T_CHECK(rc == FS_EXIT_FAIL, "the late rank went unnoticed (rc %d)", rc);
        if (w->rank == 0) printf("rank 0's error (expected):\n%s\n", e.msg);
        T_HAS(&e, "gradient all-reduce (shared memory");
        T_HAS(&e, "timed out after 1.5 s");
        snprintf(frag, sizeof frag,
                 "(rank %d) has not finished its backward pass of this bucket (bucket 0 of 3, seq 1)", late);
        T_HAS(&e, frag);
        T_HAS(&e, "hint:");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    fs_allreduce_free(ar);
    free(mine);
}

static void allreduce_case(fs_world *w) {
    fs_error e = {0};
    int late = w->size - 1;
    size_t n = 10000;
    float *g = fs_malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) g[i] = 1.0f;
    fs_allreduce *ar = NULL;
    float *gp = g;
    T_OK(fs_allreduce_init(&ar, w, &gp, n, 4096 * sizeof(float), FS_ALLREDUCE_MPI, &e), &e);
    fs_allreduce_begin(ar);
    if (w->rank == late) {
        sleep(5);
        T_OK(fs_allreduce_finish(ar, 30.0, NULL, &e), &e); /* completes once the others drive progress */
        T_CHECK(g[0] == (float)w->size && g[n - 1] == (float)w->size, "late rank sum %g", (double)g[0]);
    } else {
        fs_allreduce_ready(ar, n - 4096); /* bucket 0 launched during "backward" */
        int rc = fs_allreduce_finish(ar, 1.5, NULL, &e);
        T_CHECK(rc == FS_EXIT_FAIL, "the late rank went unnoticed (rc %d)", rc);
        T_HAS(&e, "gradient all-reduce timed out after 1.5 s: bucket 0 of 3");
        T_HAS(&e, "seq 0");
        expect_late_named(w, &e, late);
    }
    MPI_Barrier(MPI_COMM_WORLD); /* the others' pending buckets progress in here */
    fs_allreduce_free(ar);
    free(g);
}

static void sum_case(fs_world *w) {
    fs_error e = {0};
    int late = w->size - 1;
    double v[3] = {1, 2, 3};
    w->timeout_s = 1.5;
    if (w->rank == late) {
        sleep(5);
        w->timeout_s = 30;
        T_OK(fs_world_sum_doubles(w, v, 3, &e), &e); /* completes against the others' pending sum */
        T_CHECK(v[0] == w->size && v[2] == 3.0 * w->size, "late rank's sums %g %g", v[0], v[2]);
    } else {
        double t0 = fs_now();
        int rc = fs_world_sum_doubles(w, v, 3, &e);
        T_CHECK(rc == FS_EXIT_FAIL, "the late rank went unnoticed (rc %d)", rc);
        T_CHECK(fs_now() - t0 < 8.0, "gave up only after %.1f s", fs_now() - t0);
        T_HAS(&e, "summing the step's losses over ranks (MPI_Iallreduce) timed out after 1.5 s");
        expect_late_named(w, &e, late);
    }
    MPI_Barrier(MPI_COMM_WORLD); /* the others' pending sum progresses in here */
}

int main(int argc, char **argv) {
    fs_world w;
    fs_error e = {0};
    T_OK(fs_world_init(&w, &argc, &argv, &e), &e);
    T_CHECK(w.size >= 2, "this test needs at least 2 ranks, got %d", w.size);
    T_CHECK(argc == 2 && (!strcmp(argv[1], "barrier") || !strcmp(argv[1], "allreduce") ||
                          !strcmp(argv[1], "allreduce-shm") || !strcmp(argv[1], "sum")),
            "usage: test_timeout barrier|allreduce|allreduce-shm|sum");
    if (!strcmp(argv[1], "barrier")) barrier_case(&w);
    else if (!strcmp(argv[1], "allreduce")) allreduce_case(&w);
    else if (!strcmp(argv[1], "sum")) sum_case(&w);
    else allreduce_shm_case(&w);
    if (w.rank == 0) printf("timeout (%s): late rank %d named at world size %d\n", argv[1], w.size - 1, w.size);
    fs_world_finalize(&w);
    return 0;
}
