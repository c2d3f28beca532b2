/* test_foreign.c — files written by other tools, read through the data mapping (dataset path,
 * layout, dtype): NCHW, float32 in [0,1], gzip+shuffle chunks, another dataset name; and what
 * is refused (int16, floats outside [0,1], the wrong layout, a missing dataset, no mapping). */
#include <math.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "tests/data/h5fixture.h"

enum { N = 5, S = 16 };
#define FACES ((size_t)N * S * S * 3)
static uint8_t g_nhwc[FACES];

static void to_nchw_u8(uint8_t *out) {
    for (int k = 0; k < N; k++)
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < S * S; p++)
                out[((size_t)k * 3 + c) * S * S + p] = g_nhwc[((size_t)k * S * S + p) * 3 + c];
}

static void expect_read(const char *path, const fs_faces_map *map, const char *what) {
    fs_faces *f;
    fs_error e = {0};
    uint8_t back[FACES];
    if (fs_faces_open(&f, path, map, &e)) {
        CHECK(0, "%s: %s", what, e.msg);
        return;
    }
    CHECK(fs_faces_count(f) == N && fs_faces_size(f) == S, "%s: count %ld size %d", what, fs_faces_count(f),
          fs_faces_size(f));
    CHECK(fs_faces_read(f, 0, N, back, &e) == 0 && !memcmp(back, g_nhwc, FACES), "%s: faces differ %s", what, e.msg);
    long idx[3] = {4, 0, 1};
    CHECK(fs_faces_read_index(f, idx, 3, back, &e) == 0 && !memcmp(back, g_nhwc + 4 * S * S * 3, S * S * 3) &&
              !memcmp(back + S * S * 3, g_nhwc, 2 * S * S * 3),
          "%s: gather differs", what);
    fs_faces_close(f);
}

static void expect_refusal(const char *path, const fs_faces_map *map, int at_read, const char *a, const char *b) {
    fs_faces *f = NULL;
    fs_error e = {0};
    uint8_t back[FACES];
    int rc = fs_faces_open(&f, path, map, &e);
    if (rc == 0 && at_read) rc = fs_faces_read(f, 0, N, back, &e);
    CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, path) && strstr(e.msg, a) && strstr(e.msg, b),
          "%s: rc %d, message '%s' should say '%s' and '%s'", path, rc, e.msg, a, b);
    fs_faces_close(f);
}

/* A mapped foreign file opens without a consent record, so training's check (require_consent)
 * is what refuses it: each of identity, consent and source missing is named; with all three
 * it is accepted. path: an h5py-like file with /faces and no attributes. */
static void consent_record(const char *path) {
    const char *names[] = {"identity", "consent", "source"};
    const fs_faces_map map = {"/faces", "nhwc", "uint8"};
    for (int missing = 0; missing <= 3; missing++) {
        fs_error e = {0};
        fs_faces *f;
        hid_t h = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        for (int i = 0; i < 3; i++)
            if (H5Aexists(h, names[i]) > 0) H5Adelete(h, names[i]);
        for (int i = 0; i < 3; i++)
            if (i != missing) fx_attr(h, names[i], "x");
        H5Fclose(h);
        CHECK(fs_faces_open(&f, path, &map, &e) == 0, "open %s: %s", path, e.msg);
        if (e.code) continue;
        int rc = fs_faces_check_use(f, NULL, 1, 1, 0, &e);
        char want[64] = "";
        if (missing < 3) snprintf(want, sizeof want, "attribute '%s'", names[missing]);
        CHECK(missing < 3 ? rc == FS_EXIT_BADINPUT && strstr(e.msg, want) : rc == 0,
              "require_consent with %s missing: rc %d: %s", missing < 3 ? names[missing] : "nothing", rc, e.msg);
        CHECK(fs_faces_check_use(f, NULL, 0, 1, 0, &e) == 0, "require_consent false must accept the file");
        fs_faces_close(f);
    }
}

int main(void) {
    const char *d = test_dir("foreign");
    char dir[600], p[8][700];
    snprintf(dir, sizeof dir, "%s", d);
    const char *names[8] = {"nchw.h5", "f32.h5", "gz.h5", "f32nchw_gz.h5", "i16.h5", "f255.h5", "h5py.h5", ""};
    for (int i = 0; i < 7; i++) snprintf(p[i], sizeof p[i], "%s/%s", dir, names[i]);
    for (int k = 0; k < N; k++) test_face(k, S, g_nhwc + (size_t)k * S * S * 3);
    static uint8_t nchw[FACES];
    static float f32[FACES], f32nchw[FACES], f255[FACES];
    static int16_t i16[FACES];
    to_nchw_u8(nchw);
    for (size_t i = 0; i < FACES; i++)
        f32[i] = g_nhwc[i] / 255.0f, f32nchw[i] = nchw[i] / 255.0f, f255[i] = g_nhwc[i], i16[i] = g_nhwc[i];
    fixture fx[7] = {
        {"/faces", H5T_NATIVE_UINT8, 4, {N, 3, S, S}, nchw, 0, 0, NULL, 0},
        {"/data", H5T_NATIVE_FLOAT, 4, {N, S, S, 3}, f32, 0, 0, NULL, 0},
        {"/images/train", H5T_NATIVE_UINT8, 4, {N, S, S, 3}, g_nhwc, 6, 0, NULL, 0},
        {"/x", H5T_NATIVE_FLOAT, 4, {N, 3, S, S}, f32nchw, 4, 0, NULL, 0},
        {"/faces", H5T_NATIVE_INT16, 4, {N, S, S, 3}, i16, 0, 0, NULL, 0},
        {"/faces", H5T_NATIVE_FLOAT, 4, {N, S, S, 3}, f255, 0, 0, NULL, 0},
        {"/faces", H5T_NATIVE_UINT8, 4, {N, S, S, 3}, g_nhwc, 0, 0, NULL, 0},
    };
    for (int i = 0; i < 7; i++) fx_write(p[i], &fx[i]);

    expect_read(p[0], &(fs_faces_map){"/faces", "nchw", "uint8"}, "NCHW uint8");
    expect_read(p[1], &(fs_faces_map){"/data", "nhwc", "float32"}, "NHWC float32");
    expect_read(p[2], &(fs_faces_map){"/images/train", "nhwc", "uint8"}, "gzip chunks, nested name");
    expect_read(p[3], &(fs_faces_map){"/x", "nchw", "float32"}, "NCHW float32 gzip");
    expect_read(p[6], &(fs_faces_map){"/faces", "nhwc", "uint8"}, "h5py-like /faces without attributes");

    fs_faces *f;
    fs_error e = {0};
    char chunking[128], filters[128];
    if (fs_faces_open(&f, p[2], &(fs_faces_map){"/images/train", NULL, NULL}, &e) == 0) {
        fs_faces_storage(f, chunking, sizeof chunking, filters, sizeof filters);
        CHECK(strstr(chunking, "chunked [2,16,16,3]") && strstr(filters, "shuffle") && strstr(filters, "gzip(level 6)"),
              "storage of gz.h5: %s / %s", chunking, filters);
        fs_faces_close(f);
    }

    expect_refusal(p[4], &(fs_faces_map){"/faces", "nhwc", "uint8"}, 0, "int16", "expected uint8");
    expect_refusal(p[5], &(fs_faces_map){"/faces", "nhwc", "float32"}, 1, "face 0 holds", "expected float32 in [0,1]");
    expect_refusal(p[0], &(fs_faces_map){"/faces", "nhwc", "uint8"}, 0, "[5,3,16,16]", "looks like NCHW");
    expect_refusal(p[2], &(fs_faces_map){"/faces", "nhwc", "uint8"}, 0, "no dataset '/faces'", "images");
    /* One rule for every reader: no format attribute = foreign, with or without a mapping. */
    expect_read(p[6], NULL, "h5py-like /faces without attributes, no mapping");
    expect_refusal(p[0], &(fs_faces_map){"/faces", "chw", "uint8"}, 0, "'chw'", "nhwc or nchw");

    /* The loader reads a mapped foreign file like its own. */
    const char *paths[2] = {p[0], p[3]};
    fs_loader_opts o = {.paths = paths,
                        .n_identities = 2,
                        .map = {"/faces", "nchw", "uint8"},
                        .resolution = S,
                        .global_batch = 4,
                        .world = 1,
                        .seed = 1,
                        .prefetch = 1,
                        .threads = 1};
    fs_loader *L;
    e.code = 0;
    CHECK(fs_loader_open(&L, &o, &e) != 0 && strstr(e.msg, "f32nchw_gz.h5"),
          "one map for all files: the float "
          "file must be refused under a uint8 mapping: '%s'",
          e.msg);
    paths[1] = p[0];
    if (fs_loader_open(&L, &o, &e) == 0) {
        const fs_batch *B = fs_loader_next(L, &e);
        CHECK(B && B->per_rank == 4 && B->size == S, "loader on NCHW files: %s", e.msg);
        fs_loader_close(L);
    } else {
        CHECK(0, "loader on NCHW files: %s", e.msg);
    }
    consent_record(p[6]);
    return test_done("data_foreign");
}
