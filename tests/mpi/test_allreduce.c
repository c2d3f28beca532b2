/* test_allreduce.c — the bucketed, overlapped all-reduce equals the plain sum exactly, on
 * both paths (mpi, and shm: the node's shared region plus MPI across "nodes"): odd n,
 * several bucket sizes (one float, n not a multiple of the bucket, bucket > n), and ready()
 * called with decreasing offsets in arbitrary steps that differ from rank to rank (the
 * buckets must still be launched in the same order everywhere).
 *
 * The shm path also promises its bits: on one node every element is summed in rank order
 * ((g0 + g1) + g2) + ..., which is checked with values whose sum depends on the order, and
 * every rank ends with the same bits (checksum compared across ranks). Runs at any world
 * size; FACESWARM_TEST_RANKS_PER_NODE=k splits the ranks into "nodes" of k. */
#include <stdlib.h>
#include <string.h>

#include "comms/allreduce.h"
#include "tests/mpi/mpi_test.h"

/* Small integers: every partial sum over ranks is exact in float, in any order. */
static float value(int rank, size_t i) { return (float)((int)(i % 1021) - 510) + (float)(rank * ((int)(i % 7) - 3)); }

static void fill(float *g, size_t n, int rank) {
    for (size_t i = 0; i < n; i++) g[i] = value(rank, i);
}

static void check_sum(const fs_world *w, const float *g, size_t n, size_t bucket) {
    for (size_t i = 0; i < n; i++) {
        float want = 0;
        for (int r = 0; r < w->size; r++) want += value(r, i);
        T_CHECK(g[i] == want, "n=%zu bucket=%zu: element %zu is %g, expected %g", n, bucket, i, (double)g[i],
                (double)want);
    }
}

/* One step: ready() at offsets falling from n towards 0 by random amounts (repeats allowed),
 * not always reaching 0, so finish() must launch the rest. */
static void backward_steps(fs_allreduce *ar, size_t n, fs_rng *rng) {
    size_t off = n;
    while (off > 0) {
        size_t step = fs_rng_below(rng, (uint32_t)(n / 3 + 2));
        off = step >= off ? 0 : off - step;
        if (off == 0 && fs_rng_below(rng, 2)) break;
        fs_allreduce_ready(ar, off);
    }
}

static void run_case(fs_world *w, size_t n, size_t bucket, fs_allreduce_mode mode) {
    float *mine = fs_malloc(sizeof(float) * (n ? n : 1)), *g = mine;
    fs_allreduce *ar = NULL;
    fs_error e = {0};
    T_OK(fs_allreduce_init(&ar, w, &g, n, bucket * sizeof(float), mode, &e), &e);
    int nb = fs_allreduce_buckets(ar);
    T_CHECK(nb == (int)((n + bucket - 1) / bucket), "n=%zu bucket=%zu gives %d buckets", n, bucket, nb);
    fs_rng rng;
    fs_rng_init(&rng, 1234, (uint64_t)w->rank, n * 131 + bucket);
    for (int step = 0; step < 3; step++) {
        fill(g, n, w->rank);
        fs_allreduce_stats st;
        if (step != 1) fs_allreduce_begin(ar); /* step 1: finish() alone must have reset the state */
        backward_steps(ar, n, &rng);
        T_OK(fs_allreduce_finish(ar, 20.0, &st, &e), &e);
        check_sum(w, g, n, bucket);
        int want_buckets = w->size == 1 ? 0 : nb;
        uint64_t want_seq = w->size == 1 ? 0 : (uint64_t)nb * (uint64_t)(step + 1);
        T_CHECK(st.buckets == want_buckets, "n=%zu bucket=%zu: stats say %d buckets, expected %d", n, bucket,
                st.buckets, want_buckets);
        T_CHECK(st.seq == want_seq, "n=%zu: seq %llu, expected %llu", n, (unsigned long long)st.seq,
                (unsigned long long)want_seq);
        T_CHECK(st.wait_s >= 0 && st.busy_s >= 0, "negative times %g %g", st.wait_s, st.busy_s);
    }
    fs_allreduce_free(ar);
    free(mine);
}

/* Values with 24 significant bits at very different scales: their float sum depends on the
 * order of the additions. */
static float messy(int rank, size_t i) {
    fs_rng r;
    fs_rng_init(&r, 99, (uint64_t)rank, i);
    return (float)(fs_rng_range(&r, -1, 1) * (rank % 3 == 0 ? 1e-3 : rank % 3 == 1 ? 1.0 : 1e3));
}

static void bits_case(fs_world *w, int one_node) {
    size_t n = 300007, bucket = 65536;
    float *mine = fs_malloc(sizeof(float) * n), *g = mine;
    fs_allreduce *ar = NULL;
    fs_error e = {0};
    T_OK(fs_allreduce_init(&ar, w, &g, n, bucket * sizeof(float), FS_ALLREDUCE_SHM, &e), &e);
    T_CHECK(w->size == 1 || g != mine, "the shm path must move the gradients into its region");
    T_CHECK(w->size == 1 || strstr(fs_allreduce_path(ar), one_node ? "(one node)" : "MPI_Iallreduce between nodes"),
            "path: %s", fs_allreduce_path(ar));
    for (size_t i = 0; i < n; i++) g[i] = messy(w->rank, i);
    fs_allreduce_begin(ar);
    fs_allreduce_ready(ar, n / 2);
    T_OK(fs_allreduce_finish(ar, 20.0, NULL, &e), &e);
    long off = 0;
    for (size_t i = 0; i < n && one_node; i++) {
        float want = messy(0, i);
        for (int r = 1; r < w->size; r++) want += messy(r, i);
        off += memcmp(&want, &g[i], sizeof want) != 0;
    }
    T_CHECK(off == 0, "%ld of %zu sums differ from the rank-order sum", off, n);
    T_OK(fs_world_check_same_u64(w, fs_checksum64(g, n * sizeof(float)), "shm all-reduce result", &e), &e);
    fs_allreduce_free(ar);
    free(mine);
}

static void bad_bucket(fs_world *w) {
    float g[4], *gp = g;
    fs_allreduce *ar = NULL;
    fs_error e = {0};
    T_CHECK(fs_allreduce_init(&ar, w, &gp, 4, 2, FS_ALLREDUCE_AUTO, &e) == FS_EXIT_BADINPUT,
            "2-byte buckets were accepted");
    T_HAS(&e, "comms.bucket_mb");
    T_CHECK(ar == NULL, "no all-reduce may be returned on error");
    fs_allreduce_mode m;
    T_CHECK(fs_allreduce_parse_mode("nccl", &m, &e) == FS_EXIT_BADINPUT, "'nccl' was accepted as comms.allreduce");
    T_HAS(&e, "comms.allreduce = 'nccl'");
    T_CHECK(fs_allreduce_parse_mode("SHM", &m, &e) == 0 && m == FS_ALLREDUCE_SHM, "'SHM' not read as shm");
}

int main(int argc, char **argv) {
    fs_world w;
    fs_error e = {0};
    T_OK(fs_world_init(&w, &argc, &argv, &e), &e);
    static const size_t ns[] = {0, 1, 7, 1001, 100003};
    static const size_t buckets[] = {1, 3, 64, 1000, 4096, 200000};
    static const fs_allreduce_mode modes[] = {FS_ALLREDUCE_MPI, FS_ALLREDUCE_SHM};
    int cases = 0;
    for (size_t m = 0; m < FS_ARRAY_LEN(modes); m++)
        for (size_t i = 0; i < FS_ARRAY_LEN(ns); i++)
            for (size_t j = 0; j < FS_ARRAY_LEN(buckets); j++) {
                if (ns[i] / buckets[j] > 2000) continue; /* thousands of tiny collectives: slow, no new path */
                run_case(&w, ns[i], buckets[j], modes[m]);
                cases++;
            }
    const char *per_node = getenv("FACESWARM_TEST_RANKS_PER_NODE");
    int one_node = !per_node || atoi(per_node) >= w.size;
    bits_case(&w, one_node);
    bad_bucket(&w);
    if (w.rank == 0)
        printf("allreduce: %d cases exact at world size %d (mpi and shm paths), shm bits %s\n", cases, w.size,
               one_node ? "in rank order" : "equal on every rank");
    fs_world_finalize(&w);
    return 0;
}
