/* test_loader.c — the sample order and sharding (every sample exactly once per epoch across
 * the ranks, for world sizes 1..4), batch content independent of the world size and of the
 * resume step, the identity wrap, prefetching (wait_ms), previews, and the loader's errors. */
#include <unistd.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "tests/data/testutil.h"

enum { S = 16, NA = 23, NB = 17, G = 12 };
static char g_paths[3][600];

/* Face k of identity i carries (k, i) in its first pixel, so that a batch can be decoded. */
static void write_identity(const char *path, int i, long n, int size) {
    uint8_t *faces = malloc((size_t)n * size * size * 3);
    for (long k = 0; k < n; k++) {
        uint8_t *f = faces + (size_t)k * size * size * 3;
        test_face(k + 1000 * i, size, f);
        f[0] = (uint8_t)(k & 0xff), f[1] = (uint8_t)(k >> 8), f[2] = (uint8_t)i;
    }
    fs_error e = {0};
    char name[8];
    snprintf(name, sizeof name, "%c", 'A' + i);
    fs_faces_meta m = {.identity = name, .consent = "test", .source = "test_loader"};
    fs_faces_writer *w;
    if (fs_faces_create(&w, path, size, &m, &e) || fs_faces_append(w, faces, n, &e) || fs_faces_commit(w, &e)) {
        fprintf(stderr, "fixture %s: %s\n", path, e.msg);
        exit(1);
    }
    free(faces);
}

static fs_loader_opts base_opts(int world, int rank, int augment) {
    static const char *paths[2] = {g_paths[0], g_paths[1]};
    fs_loader_opts o = {.paths = paths,
                        .n_identities = 2,
                        .resolution = S,
                        .global_batch = G,
                        .rank = rank,
                        .world = world,
                        .seed = 5,
                        .prefetch = 2,
                        .threads = 2};
    if (augment) o.rotation = 10, o.zoom = 0.05f, o.shift = 0.05f, o.flip = 0.5f, o.warp = 1;
    return o;
}

static fs_loader *open_or_die(const fs_loader_opts *o) {
    fs_loader *L;
    fs_error e = {0};
    if (fs_loader_open(&L, o, &e)) {
        fprintf(stderr, "fs_loader_open: %s\n", e.msg);
        exit(1);
    }
    return L;
}

enum { STEPS = 6, EPOCHS = 3 }; /* 6 steps x 12 = 72 positions >= 3 epochs of 23 */
static const size_t FACE = (size_t)S * S * 3;

/* Every rank's share, decoded: each sample of every complete epoch exactly once across the
 * ranks (identity B, 17 < 23, wraps: its first 17 positions of an epoch are a permutation). */
static void check_coverage(int world) {
    fs_loader *L[4];
    for (int r = 0; r < world; r++) {
        fs_loader_opts o = base_opts(world, r, 0);
        L[r] = open_or_die(&o);
    }
    static int seen[2][EPOCHS][2][NA]; /* [identity][epoch][cycle][file index] */
    memset(seen, 0, sizeof seen);
    int b = G / world, order_differs = 0;
    long first_order[NA];
    for (long s = 0; s < STEPS; s++)
        for (int r = 0; r < world; r++) {
            fs_error e = {0};
            const fs_batch *B = fs_loader_next(L[r], &e);
            CHECK(B && B->step == s && B->per_rank == b && B->n_identities == 2, "world %d rank %d step %ld: %s", world,
                  r, s, e.msg);
            if (!B) continue;
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < b; j++) {
                    const uint8_t *t = B->target + ((size_t)i * b + j) * FACE;
                    long k = t[0] | t[1] << 8, p = s * G + (long)r * b + j, n = i ? NB : NA;
                    CHECK(t[2] == i && k == fs_loader_index(L[r], i, p),
                          "world %d: identity %d position %ld holds "
                          "face %ld of identity %d, expected face %ld",
                          world, i, p, k, t[2], fs_loader_index(L[r], i, p));
                    long ep = p / NA, q = p % NA;
                    if (ep < EPOCHS && k < n) seen[i][ep][q / n][k]++;
                    if (i == 0 && ep == 0) first_order[q] = k;
                    if (i == 0 && ep == 1) order_differs |= first_order[q] != k;
                }
        }
    for (int ep = 0; ep < EPOCHS; ep++)
        for (int k = 0; k < NA; k++) {
            CHECK(seen[0][ep][0][k] == 1, "world %d: identity A epoch %d sample %d seen %d times", world, ep, k,
                  seen[0][ep][0][k]);
            CHECK(k >= NB || seen[1][ep][0][k] == 1, "world %d: identity B epoch %d cycle 0 sample %d seen %d times",
                  world, ep, k, seen[1][ep][0][k]);
            CHECK(k >= NB || seen[1][ep][1][k] <= 1, "world %d: identity B epoch %d wrap repeats sample %d", world, ep,
                  k);
        }
    CHECK(order_differs, "world %d: epochs 0 and 1 have the same order", world);
    CHECK(fs_loader_epoch_length(L[0]) == NA, "epoch length %ld, expected %d", fs_loader_epoch_length(L[0]), NA);
    for (int r = 0; r < world; r++) fs_loader_close(L[r]);
}

/* The reference: world 1, augmentation on, steps 0..STEPS-1. */
static uint8_t *g_ref_in, *g_ref_tg; /* [STEPS][2][G] faces */

static void make_reference(void) {
    g_ref_in = malloc((size_t)STEPS * 2 * G * FACE), g_ref_tg = malloc((size_t)STEPS * 2 * G * FACE);
    fs_loader_opts o = base_opts(1, 0, 1);
    fs_loader *L = open_or_die(&o);
    for (int s = 0; s < STEPS; s++) {
        fs_error e = {0};
        const fs_batch *B = fs_loader_next(L, &e);
        CHECK(B != NULL, "%s", e.msg);
        if (!B) break;
        memcpy(g_ref_in + (size_t)s * 2 * G * FACE, B->input, 2 * G * FACE);
        memcpy(g_ref_tg + (size_t)s * 2 * G * FACE, B->target, 2 * G * FACE);
    }
    CHECK(memcmp(g_ref_in, g_ref_tg, 2 * G * FACE) != 0, "warp on: input must differ from target");
    fs_loader_close(L);
}

/* Concatenating the ranks' shares at world P gives world 1's batch, byte for byte. */
static void check_world_independence(int world) {
    fs_loader *L[4];
    int b = G / world;
    for (int r = 0; r < world; r++) {
        fs_loader_opts o = base_opts(world, r, 1);
        o.threads = 1 + r % 2; /* the thread count must not matter either */
        L[r] = open_or_die(&o);
    }
    for (int s = 0; s < STEPS; s++)
        for (int r = 0; r < world; r++) {
            fs_error e = {0};
            const fs_batch *B = fs_loader_next(L[r], &e);
            CHECK(B != NULL, "%s", e.msg);
            if (!B) continue;
            for (int i = 0; i < 2; i++) {
                size_t ref = (((size_t)s * 2 + i) * G + (size_t)r * b) * FACE, got = (size_t)i * b * FACE;
                CHECK(!memcmp(B->input + got, g_ref_in + ref, b * FACE) &&
                          !memcmp(B->target + got, g_ref_tg + ref, b * FACE),
                      "world %d rank %d step %d identity %d differs from world 1", world, r, s, i);
            }
        }
    for (int r = 0; r < world; r++) fs_loader_close(L[r]);
}

/* Resuming at step 3 gives steps 3, 4, 5 exactly as the run from 0 did. */
static void check_resume(void) {
    fs_loader_opts o = base_opts(1, 0, 1);
    o.start_step = 3;
    fs_loader *L = open_or_die(&o);
    for (int s = 3; s < STEPS; s++) {
        fs_error e = {0};
        const fs_batch *B = fs_loader_next(L, &e);
        CHECK(B && B->step == s && B->epoch == s * G / NA, "resume: step %d: %s", s, e.msg);
        if (!B) continue;
        CHECK(!memcmp(B->input, g_ref_in + (size_t)s * 2 * G * FACE, 2 * G * FACE) &&
                  !memcmp(B->target, g_ref_tg + (size_t)s * 2 * G * FACE, 2 * G * FACE),
              "resume: step %d differs from the uninterrupted run", s);
    }
    fs_loader_close(L);
    o = base_opts(1, 0, 1);
    o.seed = 6;
    L = open_or_die(&o);
    const fs_batch *B = fs_loader_next(L, NULL);
    CHECK(B && memcmp(B->target, g_ref_tg, 2 * G * FACE) != 0, "another seed must give another batch");
    fs_loader_close(L);
}

/* Once the prefetch thread is ahead, fs_loader_next does not wait; previews read raw faces. */
static void check_prefetch_and_sample(void) {
    fs_loader_opts o = base_opts(1, 0, 1);
    fs_loader *L = open_or_die(&o);
    usleep(300 * 1000);
    fs_error e = {0};
    const fs_batch *B = fs_loader_next(L, &e);
    CHECK(B && B->wait_ms >= 0 && B->wait_ms < 50, "prefetched batch waited %.1f ms", B ? B->wait_ms : -1);
    CHECK(fs_loader_wait_ms_total(L) >= (B ? B->wait_ms : 0), "wait total");
    uint8_t face[S * S * 3], want[S * S * 3];
    CHECK(fs_loader_sample(L, 1, 9, face, &e) == 0, "%s", e.msg);
    test_face(9 + 1000, S, want);
    want[0] = 9, want[1] = 0, want[2] = 1;
    CHECK(!memcmp(face, want, sizeof face), "fs_loader_sample(B, 9) returned another face");
    CHECK(fs_loader_sample(L, 2, 0, face, &e) != 0, "identity 2 of 2 must be refused");
    CHECK(fs_loader_sample(L, 1, NB + 9, face, &e) == 0 && !memcmp(face, want, sizeof face),
          "index wraps modulo the count");
    fs_loader_close(L);
}

static void expect_error(const fs_loader_opts *o, const char *a, const char *b, const char *what) {
    fs_loader *L = NULL;
    fs_error e = {0};
    int rc = fs_loader_open(&L, o, &e);
    CHECK(rc == FS_EXIT_BADINPUT && !L && strstr(e.msg, a) && strstr(e.msg, b) && strstr(e.msg, "hint:"),
          "%s: rc %d, message '%s' should name '%s' and '%s'", what, rc, e.msg, a, b);
    if (L) fs_loader_close(L);
}

static void check_errors(void) {
    fs_loader_opts o = base_opts(4, 0, 0);
    o.global_batch = 10;
    expect_error(&o, "10", "4", "batch not divisible by world");
    o = base_opts(1, 0, 0);
    o.resolution = 32;
    expect_error(&o, g_paths[0], "32", "resolution mismatch");
    const char *mixed[2] = {g_paths[0], g_paths[2]};
    o = base_opts(1, 0, 0);
    o.paths = mixed, o.resolution = 0;
    expect_error(&o, g_paths[2], g_paths[0], "face size mismatch between identities");
}

int main(void) {
    const char *dir = test_dir("loader");
    for (int i = 0; i < 3; i++) snprintf(g_paths[i], sizeof g_paths[i], "%s/%c.h5", dir, 'A' + i);
    write_identity(g_paths[0], 0, NA, S);
    write_identity(g_paths[1], 1, NB, S);
    write_identity(g_paths[2], 2, 5, S + 4);
    for (int w = 1; w <= 4; w++) check_coverage(w);
    make_reference();
    for (int w = 2; w <= 4; w++) check_world_independence(w);
    check_resume();
    check_prefetch_and_sample();
    check_errors();
    free(g_ref_in), free(g_ref_tg);
    return test_done("data_loader");
}
