/* test_world.c — the MPI world at any size: identities (rank, local rank, host), gather and
 * sum of doubles, broadcast, batch split, host list, rank-list formatting, and barriers that
 * everyone reaches. */
#include <stdlib.h>

#include "comms/world.h"
#include "tests/mpi/mpi_test.h"

static void check_identity(const fs_world *w) {
    int r = -1, s = -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    T_CHECK(w->rank == r && w->size == s, "world %d/%d, MPI says %d/%d", w->rank, w->size, r, s);
    T_CHECK(w->local_rank >= 0 && w->local_rank < w->local_size && w->local_size <= w->size,
            "local rank %d of %d (world %d)", w->local_rank, w->local_size, w->size);
    /* The tests run under one mpirun on one host: the node is the world. */
    T_CHECK(w->local_rank == w->rank && w->local_size == w->size, "local %d/%d vs world %d/%d", w->local_rank,
            w->local_size, w->rank, w->size);
    T_CHECK(w->host[0] != 0, "empty host name");
}

static void check_gather_sum(fs_world *w) {
    fs_error e = {0};
    double mine[2] = {w->rank, 10.0 * w->rank + 0.5};
    double *all = w->rank == 0 ? fs_malloc(sizeof(double) * 2 * (size_t)w->size) : NULL;
    T_OK(fs_world_gather_doubles(w, mine, 2, all, &e), &e);
    for (int r = 0; all && r < w->size; r++)
        T_CHECK(all[2 * r] == r && all[2 * r + 1] == 10.0 * r + 0.5, "gathered [%d] = %g, %g", r, all[2 * r],
                all[2 * r + 1]);
    free(all);
    double v[2] = {1.0, w->rank};
    T_OK(fs_world_sum_doubles(w, v, 2, &e), &e);
    double want = (double)w->size * (w->size - 1) / 2;
    T_CHECK(v[0] == w->size && v[1] == want, "sums %g %g, expected %d %g", v[0], v[1], w->size, want);
}

static void check_bcast(fs_world *w) {
    fs_error e = {0};
    size_t n = 3u << 20;
    unsigned char *b = fs_malloc(n);
    int root = w->size - 1;
    for (size_t i = 0; i < n; i++) b[i] = w->rank == root ? (unsigned char)(i * 7 + 3) : 0;
    T_OK(fs_world_bcast(w, b, n, root, &e), &e);
    for (size_t i = 0; i < n; i++) T_CHECK(b[i] == (unsigned char)(i * 7 + 3), "byte %zu is %d", i, b[i]);
    T_CHECK(fs_world_bcast(w, b, 1, w->size, &e) != 0, "root out of range accepted");
    T_HAS(&e, "is not a rank");
    free(b);
}

static void check_split(const fs_world *w) {
    fs_error e = {0};
    int local = 0;
    T_OK(fs_world_split_batch(w, 12 * w->size, "train.batch_per_identity", &local, &e), &e);
    T_CHECK(local == 12, "local batch %d, expected 12", local);
    if (w->size == 1) return;
    int bad = 3 * w->size + 1;
    T_CHECK(fs_world_split_batch(w, bad, "train.batch_per_identity", &local, &e) == FS_EXIT_BADINPUT,
            "batch %d accepted over %d ranks", bad, w->size);
    T_HAS(&e, "train.batch_per_identity");
    T_HAS(&e, "expected a multiple of");
    T_HAS(&e, "hint:");
}

static void check_hosts_and_format(fs_world *w) {
    fs_error e = {0};
    char hosts[512], want[300];
    T_OK(fs_world_hosts(w, hosts, sizeof hosts, &e), &e);
    snprintf(want, sizeof want, "%s x%d", w->host, w->size);
    if (w->rank == 0) T_CHECK(strcmp(hosts, want) == 0, "hosts \"%s\", expected \"%s\"", hosts, want);
    int ranks[20];
    char out[256];
    for (int i = 0; i < 20; i++) ranks[i] = i + 1;
    fs_world_format_ranks(ranks, 2, out, sizeof out);
    T_CHECK(strcmp(out, "1, 2") == 0, "formatted \"%s\"", out);
    fs_world_format_ranks(ranks, 20, out, sizeof out);
    T_CHECK(strstr(out, "12, ... (20 ranks)") != NULL, "formatted \"%s\"", out);
}

int main(int argc, char **argv) {
    fs_world w;
    fs_error e = {0};
    T_OK(fs_world_init(&w, &argc, &argv, &e), &e);
    check_identity(&w);
    check_gather_sum(&w);
    check_bcast(&w);
    check_split(&w);
    check_hosts_and_format(&w);
    T_OK(fs_world_check_same_u64(&w, 0x1234, "config hash", &e), &e);
    for (int i = 0; i < 3; i++) T_OK(fs_world_barrier_timeout(&w, 20.0, "test barrier", &e), &e);
    if (w.rank == 0) printf("world: size %d on %s ok\n", w.size, w.host);
    fs_world_finalize(&w);
    return 0;
}
