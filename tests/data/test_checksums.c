/* test_checksums.c — datasets carry checksums from every writer (the schema writer that synth
 * and import use): a changed pixel or mask byte is refused when read (and so by verify and
 * train), a changed consent or source, a dropped synthetic, an added attribute, changed
 * per-face checksums or a dropped /masks are refused at open. /landmarks written through the
 * writer carry per-row checksums (a changed landmark is refused by verify), and datasets the
 * writer was told to seal (fs_faces_writer_cover) are covered: a changed value is refused by
 * verify, a dropped or reshaped one at open. Files of schema v1 (tests/fixtures/v1) still
 * read, with a notice; files of schema v2 from before sealed extras (tests/fixtures/v2) still
 * open and verify. */
#include <hdf5.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/import.h"
#include "data/image.h"
#include "tests/data/testutil.h"

enum { N = 5, S = 16 };
static uint8_t g_faces[N * S * S * 3], g_masks[N * S * S];
static char g_dir[600];

static const char *at(const char *name) {
    static char buf[4][700];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void write_good(const char *path) {
    fs_faces_meta m = {.identity = "P", .consent = "consent-17", .source = "unit test", .synthetic = 1, .masks = 1};
    fs_faces_writer *w;
    fs_error e = {0};
    CHECK(fs_faces_create(&w, path, S, &m, &e) == 0 && fs_faces_append_masked(w, g_faces, g_masks, 2, &e) == 0 &&
              fs_faces_append_masked(w, g_faces + 2 * S * S * 3, g_masks + 2 * S * S, N - 2, &e) == 0 &&
              fs_faces_commit(w, &e) == 0,
          "write: %s", e.msg);
}

static void copy(const char *from, const char *to) {
    size_t len;
    fs_error e = {0};
    char *data = fs_read_file(from, &len, &e);
    if (!data || fs_write_file_atomic(to, data, len, &e)) exit(1);
    free(data);
}

/* Open must fail with code 2 naming want. */
static void expect_open_refused(const char *path, const char *want, const char *why) {
    fs_faces *f = NULL;
    fs_error e = {0};
    int rc = fs_faces_open(&f, path, NULL, &e);
    CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, want) && strstr(e.msg, "hint:") && !strstr(e.msg, ".c:"),
          "%s: open returned %d: '%s' should say '%s' and a hint", why, rc, e.msg, want);
    fs_faces_close(f);
}

static void set_attr(const char *path, const char *name, const char *value) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (H5Aexists(f, name) > 0) H5Adelete(f, name);
    if (value) {
        hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
        H5Tset_size(t, strlen(value) + 1);
        hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, value);
        H5Aclose(a), H5Sclose(sp), H5Tclose(t);
    }
    H5Fclose(f);
}

/* One byte of item k of dataset name (rank 4 faces or rank 3 masks / checksums rank 1). */
static void poke(const char *path, const char *name, long k) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(sp);
    hsize_t off[4] = {(hsize_t)k, 3, 2, 1}, one[4] = {1, 1, 1, 1};
    uint8_t v[8] = {0};
    hid_t msp = H5Screate_simple(rank, one, NULL);
    H5Sselect_hyperslab(sp, H5S_SELECT_SET, off, NULL, one, NULL);
    hid_t t = rank == 1 ? H5T_NATIVE_UINT64 : H5T_NATIVE_UINT8;
    CHECK(H5Dread(d, t, msp, sp, H5P_DEFAULT, v) >= 0, "poke read %s", name);
    v[0] ^= 0x01;
    CHECK(H5Dwrite(d, t, msp, sp, H5P_DEFAULT, v) >= 0, "poke write %s", name);
    H5Sclose(msp), H5Sclose(sp), H5Dclose(d), H5Fclose(f);
}

/* Adds 1 to element [k, 5, 1] of a float [N,68,2] dataset. */
static void poke_landmark(const char *path, long k) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), d = H5Dopen2(f, "/landmarks", H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t off[3] = {(hsize_t)k, 5, 1}, one[3] = {1, 1, 1};
    float v = 0;
    hid_t msp = H5Screate_simple(3, one, NULL);
    H5Sselect_hyperslab(sp, H5S_SELECT_SET, off, NULL, one, NULL);
    CHECK(H5Dread(d, H5T_NATIVE_FLOAT, msp, sp, H5P_DEFAULT, &v) >= 0, "poke read /landmarks");
    v += 1.0f;
    CHECK(H5Dwrite(d, H5T_NATIVE_FLOAT, msp, sp, H5P_DEFAULT, &v) >= 0, "poke write /landmarks");
    H5Sclose(msp), H5Sclose(sp), H5Dclose(d), H5Fclose(f);
}

static float g_lm[N * 68 * 2];

/* A file with /landmarks and two sealed extra datasets (int32 /extra/v [N] and a
 * variable-length string /extra/names [2]), as extract writes them. */
static void write_full(const char *path) {
    fs_faces_meta m = {.identity = "P", .consent = "c", .source = "s", .masks = 1, .landmarks = 1};
    fs_faces_writer *w;
    fs_error e = {0};
    CHECK(fs_faces_create(&w, path, S, &m, &e) == 0, "create: %s", e.msg);
    CHECK(fs_faces_append_masked(w, g_faces, g_masks, 1, &e) == FS_EXIT_FAIL && strstr(e.msg, "without landmarks"),
          "a landmarks writer refuses faces without landmarks: %s", e.msg);
    e = (fs_error){0};
    CHECK(fs_faces_append_full(w, g_faces, g_masks, g_lm, 2, &e) == 0 &&
              fs_faces_append_full(w, g_faces + 2 * S * S * 3, g_masks + 2 * S * S, g_lm + 2 * 68 * 2, N - 2, &e) == 0,
          "append_full: %s", e.msg);
    hid_t f = (hid_t)fs_faces_writer_file(w), lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    int32_t v[N] = {7, 1, 2, 3, 4};
    const char *names[2] = {"a.mp4", "b.mp4"};
    hsize_t n = N, two = 2;
    hid_t sp = H5Screate_simple(1, &n, NULL), st = H5Tcopy(H5T_C_S1), ssp = H5Screate_simple(1, &two, NULL);
    H5Tset_size(st, H5T_VARIABLE);
    hid_t d = H5Dcreate2(f, "/extra/v", H5T_STD_I32LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ds = H5Dcreate2(f, "/extra/names", st, ssp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0 &&
              H5Dwrite(ds, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, names) >= 0,
          "extra datasets written");
    H5Dclose(d), H5Dclose(ds), H5Sclose(sp), H5Sclose(ssp), H5Tclose(st), H5Pclose(lcpl);
    CHECK(fs_faces_writer_cover(w, "/extra/v", &e) == 0 && fs_faces_writer_cover(w, "/extra/names", &e) == 0 &&
              fs_faces_writer_cover(w, "/faces", &e) == FS_EXIT_FAIL,
          "cover: %s", e.msg);
    e = (fs_error){0};
    CHECK(fs_faces_commit(w, &e) == 0, "commit: %s", e.msg);
}

/* verify (fs_faces_check_extras) on path: 0, or the code with e.msg naming want. */
static void expect_verify(const char *path, const char *want, const char *why) {
    fs_faces *f = NULL;
    fs_error e = {0};
    CHECK(fs_faces_open(&f, path, NULL, &e) == 0, "%s: opens: %s", why, e.msg);
    if (!f) return;
    int rc = fs_faces_check_extras(f, &e);
    if (want)
        CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, want) && strstr(e.msg, "hint:"),
              "%s: verify returned %d '%s'; expected 2 naming '%s'", why, rc, e.msg, want);
    else CHECK(rc == 0, "%s: verify: %s", why, e.msg);
    fs_faces_close(f);
}

static void landmarks_and_extras(void) {
    for (int i = 0; i < N * 68 * 2; i++) g_lm[i] = (float)i * 0.25f;
    char full[700];
    snprintf(full, sizeof full, "%s", at("full.h5")); /* at() reuses its buffers */
    write_full(full);
    fs_faces *f = NULL;
    fs_error e = {0};
    CHECK(fs_faces_open(&f, full, NULL, &e) == 0 && fs_faces_has_checksums(f), "full file opens: %s", e.msg);
    fs_faces_close(f);
    hid_t h = H5Fopen(full, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5Dopen2(h, "/landmarks", H5P_DEFAULT);
    float back[N * 68 * 2];
    CHECK(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0 && !memcmp(back, g_lm, sizeof back) &&
              H5Lexists(h, "/checksums/landmarks", H5P_DEFAULT) > 0,
          "landmarks and their checksums stored");
    H5Dclose(d), H5Fclose(h);
    expect_verify(full, NULL, "the full file");
    copy(full, at("lm.h5"));
    poke_landmark(at("lm.h5"), 2);
    expect_verify(at("lm.h5"), "/landmarks item 2 does not match its checksum", "a changed landmark");
    copy(full, at("x.h5"));
    poke(at("x.h5"), "/extra/v", 3);
    expect_verify(at("x.h5"), "/extra/v does not match its checksum", "a changed sealed value");
    copy(full, at("x.h5"));
    h = H5Fopen(at("x.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    const char *names[2] = {"a.mp4", "c.mp4"};
    d = H5Dopen2(h, "/extra/names", H5P_DEFAULT);
    CHECK(H5Dwrite(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, names) >= 0, "rewrite /extra/names");
    H5Dclose(d), H5Tclose(st), H5Fclose(h);
    expect_verify(at("x.h5"), "/extra/names does not match its checksum", "a changed sealed string");
    copy(full, at("x.h5"));
    set_attr(at("x.h5"), "extras", NULL);
    expect_open_refused(at("x.h5"), "attribute checksum mismatch", "a dropped extras list");
    copy(full, at("x.h5"));
    h = H5Fopen(at("x.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(h, "/extra/v", H5P_DEFAULT);
    H5Fclose(h);
    expect_open_refused(at("x.h5"), "/extra/v is listed in attribute 'extras' but does not exist", "a dropped extra");
    copy(full, at("x.h5"));
    h = H5Fopen(at("x.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(h, "/checksums/landmarks", H5P_DEFAULT);
    H5Fclose(h);
    expect_open_refused(at("x.h5"), "/checksums/landmarks does not", "dropped landmark checksums");
}

/* Written by main at 5c71e54 (schema v2, before landmarks and extras were sealed). */
static void v2_files(void) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/v2/A.h5", src ? src : "..");
    expect_verify(path, NULL, "the v2 fixture");
}

static void pixels(const char *good) {
    fs_faces *f = NULL;
    fs_error e = {0};
    uint8_t back[N * S * S * 3];
    copy(good, at("px.h5"));
    poke(at("px.h5"), "/faces", 3);
    CHECK(fs_faces_open(&f, at("px.h5"), NULL, &e) == 0, "a changed pixel opens (checked when read): %s", e.msg);
    if (!f) return;
    CHECK(fs_faces_read(f, 0, 3, back, &e) == 0, "faces 0..2 are whole: %s", e.msg);
    int rc = fs_faces_read(f, 0, N, back, &e);
    CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, "/faces item 3 does not match its checksum"), "changed pixel: %d %s",
          rc, e.msg);
    long idx[2] = {4, 3};
    e = (fs_error){0};
    CHECK(fs_faces_read_index(f, idx, 2, back, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "item 3"), "gather: %s", e.msg);
    fs_faces_close(f);
    copy(good, at("px.h5"));
    poke(at("px.h5"), "/masks", 1);
    f = NULL, e = (fs_error){0};
    CHECK(fs_faces_open(&f, at("px.h5"), NULL, &e) == 0, "%s", e.msg);
    if (!f) return;
    rc = fs_faces_read_masks(f, 0, N, back, &e);
    CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, "/masks item 1 does not match"), "changed mask: %d %s", rc, e.msg);
    fs_faces_close(f);
}

static void attributes(const char *good) {
    static const struct {
        const char *name, *value, *why;
    } cases[] = {
        {"consent", "consent-18", "a changed consent"}, {"source", "elsewhere", "a changed source"},
        {"identity", "Q", "a changed identity"},        {"synthetic", NULL, "a dropped synthetic"},
        {"note", "added", "an added attribute"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        copy(good, at("a.h5"));
        set_attr(at("a.h5"), cases[i].name, cases[i].value);
        expect_open_refused(at("a.h5"), "attribute checksum mismatch", cases[i].why);
    }
    copy(good, at("a.h5"));
    set_attr(at("a.h5"), "checksum", NULL);
    expect_open_refused(at("a.h5"), "'checksum' is missing", "a dropped checksum");
    copy(good, at("a.h5"));
    poke(at("a.h5"), "/checksums/faces", 2);
    expect_open_refused(at("a.h5"), "attribute checksum mismatch", "changed per-face checksums");
    copy(good, at("a.h5"));
    hid_t f = H5Fopen(at("a.h5"), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "/masks", H5P_DEFAULT);
    H5Fclose(f);
    expect_open_refused(at("a.h5"), "/masks is missing", "a dropped /masks");
}

/* The import writer seals its files too. */
static void imported(void) {
    fs_error e = {0};
    CHECK(fs_png_write(at("face.png"), g_faces, S, S, NULL, &e) == 0, "png: %s", e.msg);
    const char *in[] = {at("face.png")};
    fs_import_opts o =
        {.identity = "P", .consent = "c", .source = "s", .out = at("imp.h5"), .size = S, .inputs = in, .n_inputs = 1};
    CHECK(fs_import(&o, NULL, NULL, &e) == 0, "import: %s", e.msg);
    fs_faces *f = NULL;
    CHECK(fs_faces_open(&f, at("imp.h5"), NULL, &e) == 0 && fs_faces_has_checksums(f) && !fs_faces_notice(f),
          "imported file has checksums: %s", e.msg);
    fs_faces_close(f);
}

static void old_files(void) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/v1/A.h5", src ? src : "..");
    fs_faces *f = NULL;
    fs_error e = {0};
    uint8_t back[6 * 16 * 16 * 3];
    CHECK(fs_faces_open(&f, path, NULL, &e) == 0, "v1 fixture: %s", e.msg);
    if (!f) return;
    CHECK(!fs_faces_has_checksums(f) && fs_faces_notice(f) && strstr(fs_faces_notice(f), "schema v1"), "v1 notice");
    CHECK(fs_faces_count(f) == 6 && fs_faces_read(f, 0, 6, back, &e) == 0 &&
              fs_faces_read_masks(f, 0, 6, back, &e) == 0,
          "v1 reads: %s", e.msg);
    fs_faces_close(f);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_dir("checksums"));
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    for (long k = 0; k < N; k++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                for (int c = 0; c < 3; c++) g_faces[((k * S + y) * S + x) * 3 + c] = test_pixel(k, y, x, c);
                g_masks[(k * S + y) * S + x] = (uint8_t)(x > 3 && x < 12 ? 255 : 0);
            }
    char good[700];
    snprintf(good, sizeof good, "%s", at("good.h5"));
    write_good(good);
    fs_faces *f = NULL;
    fs_error e = {0};
    uint8_t back[N * S * S * 3];
    CHECK(fs_faces_open(&f, good, NULL, &e) == 0 && fs_faces_has_checksums(f) && !fs_faces_notice(f) &&
              fs_faces_read(f, 0, N, back, &e) == 0 && !memcmp(back, g_faces, sizeof g_faces) &&
              fs_faces_read_masks(f, 0, N, back, &e) == 0 && !memcmp(back, g_masks, sizeof g_masks),
          "the sealed file reads back: %s", e.msg);
    fs_faces_close(f);
    pixels(good);
    attributes(good);
    imported();
    landmarks_and_extras();
    old_files();
    v2_files();
    return test_done("data_checksums");
}
