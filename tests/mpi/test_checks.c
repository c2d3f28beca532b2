/* test_checks.c — start-up and divergence checks name the ranks that differ: a config hash
 * that differs on the odd ranks, and parameters perturbed on the last rank. World size >= 2. */
#include <math.h>
#include <stdlib.h>

#include "comms/world.h"
#include "tests/mpi/mpi_test.h"

/* "1, 3" for the odd ranks of the world: what the error must name. */
static void odd_ranks(int size, char *out, size_t len) {
    int ranks[64], n = 0;
    for (int r = 1; r < size && n < 64; r += 2) ranks[n++] = r;
    fs_world_format_ranks(ranks, n, out, len);
}

static void check_config_hash(fs_world *w) {
    fs_error e = {0};
    uint64_t mine = w->rank % 2 ? 0xbadc0ffeeULL : 0x600dULL;
    T_CHECK(fs_world_check_same_u64(w, mine, "config hash", &e) == FS_EXIT_BADINPUT,
            "config hash mismatch not detected (code %d)", e.code);
    char list[128], frag[200];
    odd_ranks(w->size, list, sizeof list);
    snprintf(frag, sizeof frag, "config hash differs between ranks: %s %s", w->size > 3 ? "ranks" : "rank", list);
    if (w->rank == 0) printf("config hash error (expected):\n%s\n", e.msg);
    T_HAS(&e, frag);
    T_HAS(&e, "0000000badc0ffee");
    T_HAS(&e, "hint:");
    T_OK(fs_world_check_same_u64(w, 0x600dULL, "config hash", &e), &e);
}

static void check_divergence(fs_world *w) {
    fs_error e = {0};
    size_t n = 100001;
    float *p = fs_malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) p[i] = (float)i * 1e-3f;
    T_OK(fs_world_check_params(w, p, n, &e), &e);
    int last = w->size - 1;
    if (w->rank == last) p[n / 2] = nextafterf(p[n / 2], 1e9f); /* one ulp of one parameter */
    T_CHECK(fs_world_check_params(w, p, n, &e) == FS_EXIT_FAIL, "a diverged parameter went unnoticed");
    char frag[96];
    snprintf(frag, sizeof frag, "parameter checksum differs between ranks: rank %d differs from rank 0", last);
    if (w->rank == 0) printf("divergence error (expected):\n%s\n", e.msg);
    T_HAS(&e, frag);
    free(p);
}

int main(int argc, char **argv) {
    fs_world w;
    fs_error e = {0};
    T_OK(fs_world_init(&w, &argc, &argv, &e), &e);
    T_CHECK(w.size >= 2, "this test needs at least 2 ranks, got %d", w.size);
    check_config_hash(&w);
    check_divergence(&w);
    if (w.rank == 0) printf("checks: mismatches named correctly at world size %d\n", w.size);
    fs_world_finalize(&w);
    return 0;
}
