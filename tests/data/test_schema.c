/* test_schema.c — schema v1 round trip (writer -> reader, attributes, hyperslab and gather
 * reads, storage), atomic writes, synth files (labels, determinism, identities that differ),
 * and the PNG helpers (tEXt, round trip; writes a preview grid of synth faces). */
#include <dirent.h>
#include <math.h>

#include "data/dataset.h"
#include "data/image.h"
#include "data/synth.h"
#include "tests/data/testutil.h"

static int no_temp_files(const char *dir) {
    DIR *d = opendir(dir);
    int clean = 1;
    for (struct dirent *de; d && (de = readdir(d));)
        if (strstr(de->d_name, ".tmp.")) clean = 0, fprintf(stderr, "left behind: %s/%s\n", dir, de->d_name);
    if (d) closedir(d);
    return clean;
}

static void round_trip(const char *dir) {
    enum { N = 37, S = 24 };
    char path[600];
    snprintf(path, sizeof path, "%s/P.h5", dir);
    uint8_t *faces = malloc((size_t)N * S * S * 3), *back = malloc((size_t)N * S * S * 3);
    for (long k = 0; k < N; k++) test_face(k, S, faces + (size_t)k * S * S * 3);
    fs_error e = {0};
    fs_faces_meta m = {.identity = "P", .consent = "consent-record-17", .source = "unit test", .synthetic = 0};
    fs_faces_writer *w;
    CHECK(fs_faces_create(&w, path, S, &m, &e) == 0, "%s", e.msg);
    CHECK(!fs_exists(path), "the final name must not exist before commit");
    CHECK(fs_faces_append(w, faces, 20, &e) == 0 && fs_faces_append(w, faces + (size_t)20 * S * S * 3, N - 20, &e) == 0,
          "%s", e.msg);
    CHECK(fs_faces_commit(w, &e) == 0, "%s", e.msg);
    CHECK(no_temp_files(dir), "temp files left in %s", dir);
    fs_faces *f;
    CHECK(fs_faces_open(&f, path, NULL, &e) == 0, "%s", e.msg);
    if (!f) return;
    CHECK(fs_faces_count(f) == N && fs_faces_size(f) == S, "count %ld size %d", fs_faces_count(f), fs_faces_size(f));
    CHECK(!strcmp(fs_faces_attr(f, "identity"), "P") && !strcmp(fs_faces_attr(f, "consent"), "consent-record-17") &&
              !strcmp(fs_faces_attr(f, "source"), "unit test") && !strcmp(fs_faces_attr(f, "version"), "2") &&
              !strcmp(fs_faces_attr(f, "format"), FS_FACES_FORMAT) && !fs_faces_attr(f, "synthetic")[0],
          "attributes differ: identity '%s'", fs_faces_attr(f, "identity"));
    CHECK(fs_faces_read(f, 0, N, back, &e) == 0 && !memcmp(back, faces, (size_t)N * S * S * 3), "whole read %s", e.msg);
    long idx[5] = {30, 2, 3, 4, 36};
    CHECK(fs_faces_read_index(f, idx, 5, back, &e) == 0, "%s", e.msg);
    for (int k = 0; k < 5; k++)
        CHECK(!memcmp(back + (size_t)k * S * S * 3, faces + (size_t)idx[k] * S * S * 3, (size_t)S * S * 3),
              "gather: face %ld", idx[k]);
    char chunking[128], filters[128];
    fs_faces_storage(f, chunking, sizeof chunking, filters, sizeof filters);
    CHECK(!strcmp(chunking, "chunked [1,24,24,3]") && !strcmp(filters, "none"), "%s / %s", chunking, filters);
    e.code = 0;
    CHECK(fs_faces_read(f, N - 1, 2, back, &e) != 0 && strstr(e.msg, "P.h5"), "out of range read: '%s'", e.msg);
    CHECK(fs_faces_check_extras(f, &e) == 0, "%s", e.msg);
    fs_faces_close(f);
    free(faces), free(back);
}

static void empty_commit(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/empty.h5", dir);
    fs_error e = {0};
    fs_faces_meta m = {.identity = "E", .consent = "c", .source = "s"};
    fs_faces_writer *w;
    CHECK(fs_faces_create(&w, path, 16, &m, &e) == 0, "%s", e.msg);
    CHECK(fs_faces_commit(w, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "no faces"), "zero faces: '%s'", e.msg);
    CHECK(!fs_exists(path) && no_temp_files(dir), "nothing may be left after a refused commit");
}

/* Mean colour of the central box (the face) of each of n faces. */
static void centre_mean(const uint8_t *faces, int n, int S, double out[3]) {
    out[0] = out[1] = out[2] = 0;
    for (int k = 0; k < n; k++)
        for (int y = S * 3 / 8; y < S * 5 / 8; y++)
            for (int x = S * 3 / 8; x < S * 5 / 8; x++)
                for (int c = 0; c < 3; c++) out[c] += faces[(((size_t)k * S + y) * S + x) * 3 + c];
    for (int c = 0; c < 3; c++) out[c] /= (double)n * (S / 4) * (S / 4);
}

static void synth_files(const char *dir) {
    enum { N = 40, S = 64 };
    fs_error e = {0};
    double t0 = fs_now();
    CHECK(fs_synth_write(dir, 2, N, S, 7, &e) == 0, "%s", e.msg);
    double dt = fs_now() - t0;
    CHECK(dt < 5.0, "2 x %d faces took %.2f s", N, dt);
    uint8_t *faces[2] = {malloc((size_t)N * S * S * 3), malloc((size_t)N * S * S * 3)}, *one = malloc(S * S * 3);
    for (int i = 0; i < 2; i++) {
        char path[600], name[8];
        fs_synth_name(i, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s.h5", dir, name);
        fs_faces *f;
        CHECK(fs_faces_open(&f, path, NULL, &e) == 0, "%s", e.msg);
        if (!f) continue;
        CHECK(!strcmp(fs_faces_attr(f, "synthetic"), "true") &&
                  !strcmp(fs_faces_attr(f, "consent"), "synthetic: no real person") &&
                  !strcmp(fs_faces_attr(f, "source"), "faceswarm data synth seed 7") &&
                  !strcmp(fs_faces_attr(f, "identity"), name),
              "synth labels of %s", path);
        CHECK(fs_faces_count(f) == N && fs_faces_size(f) == S, "%s: count/size", path);
        CHECK(fs_faces_read(f, 0, N, faces[i], &e) == 0, "%s", e.msg);
        fs_faces_close(f);
        fs_synth_identity id;
        fs_synth_identity_draw(&id, 7, i);
        fs_synth_render(&id, 7, i, 11, S, one, NULL); /* a pure function of (seed, identity, sample) */
        CHECK(!memcmp(one, faces[i] + (size_t)11 * S * S * 3, S * S * 3), "%s: sample 11 not reproducible", path);
    }
    double ma[3], mb[3];
    centre_mean(faces[0], N, S, ma);
    centre_mean(faces[1], N, S, mb);
    double d =
        sqrt((ma[0] - mb[0]) * (ma[0] - mb[0]) + (ma[1] - mb[1]) * (ma[1] - mb[1]) + (ma[2] - mb[2]) * (ma[2] - mb[2]));
    CHECK(d > 25.0, "identities A and B should differ clearly: mean face colour distance %.1f", d);
    CHECK(memcmp(faces[0], faces[0] + S * S * 3, S * S * 3) != 0, "samples of one identity must vary");
    free(faces[0]), free(faces[1]), free(one);
}

/* A 4 x 8 grid of synth faces (rows: identities), written as PNG with tEXt and read back. */
static void preview_png(const char *dir) {
    enum { S = 64, R = 4, C = 8 };
    uint8_t *grid = malloc((size_t)R * C * S * S * 3), *face = malloc(S * S * 3), *back = NULL;
    for (int r = 0; r < R; r++) {
        fs_synth_identity id;
        fs_synth_identity_draw(&id, 1, r);
        for (int c = 0; c < C; c++) {
            fs_synth_render(&id, 1, r, c, S, face, NULL);
            for (int y = 0; y < S; y++)
                memcpy(grid + (((size_t)r * S + y) * C * S + (size_t)c * S) * 3, face + (size_t)y * S * 3, S * 3);
        }
    }
    char path[600];
    snprintf(path, sizeof path, "%s/synth_preview.png", dir);
    const char *kv[] = {"faceswarm", "synthetic faces", "synthetic", "true", NULL};
    fs_error e = {0};
    int w = 0, h = 0;
    CHECK(fs_png_write(path, grid, C * S, R * S, kv, &e) == 0, "%s", e.msg);
    CHECK(fs_image_read(path, &back, &w, &h, &e) == 0 && w == C * S && h == R * S &&
              !memcmp(back, grid, (size_t)R * C * S * S * 3),
          "PNG round trip %dx%d: %s", w, h, e.msg);
    FILE *f = fopen(path, "rb");
    char buf[4096] = {0};
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    int found = 0;
    for (size_t i = 0; i + 9 < n && !found; i++) found = !memcmp(buf + i, "tEXtfaceswarm", 13);
    CHECK(found, "tEXt chunk 'faceswarm' missing from %s", path);
    CHECK(no_temp_files(dir), "temp PNG left");
    free(grid), free(face), free(back);
}

int main(void) {
    const char *dir = test_dir("schema");
    round_trip(dir);
    empty_commit(dir);
    synth_files(dir);
    preview_png(dir);
    return test_done("data_schema");
}
