/* test_badfiles.c — each kind of bad input is refused with code 2 and a message that names
 * the file (and the dataset or attribute) and carries a hint: truncated, garbage, a damaged
 * superblock, wrong dtype, wrong rank, zero faces, missing attributes, a wrong format or
 * version, a directory, a missing file. (Size mismatch between identities: data_loader.) */
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "tests/data/h5fixture.h"

enum { N = 6, S = 16 };
static uint8_t g_faces[N * S * S * 3];

/* Open, then read every face (a truncated file may open and fail at the read). */
static void expect_bad(const char *path, const char *a, const char *b) {
    fs_faces *f = NULL;
    fs_error e = {0};
    uint8_t back[N * S * S * 3];
    int rc = fs_faces_open(&f, path, NULL, &e);
    if (rc == 0) rc = fs_faces_read(f, 0, fs_faces_count(f), back, &e);
    CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, path) && strstr(e.msg, a) && strstr(e.msg, b) &&
              strstr(e.msg, "hint:"),
          "%s: rc %d, message '%s' should name the file, '%s', '%s' and a hint", path, rc, e.msg, a, b);
    fs_faces_close(f);
}

static void good_file(const char *path) {
    fixture fx = {"/faces", H5T_NATIVE_UINT8, 4, {N, S, S, 3}, g_faces, 0, 1, NULL, 0};
    fx_write(path, &fx);
}

static void truncate_to(const char *path, double fraction) {
    struct stat st;
    if (stat(path, &st) != 0 || truncate(path, (off_t)(st.st_size * fraction)) != 0) exit(1);
}

static void overwrite(const char *path, long at, const char *bytes, size_t n) {
    FILE *f = fopen(path, "r+b");
    if (!f || fseek(f, at, SEEK_SET) != 0 || fwrite(bytes, 1, n, f) != n) exit(1);
    fclose(f);
}

int main(void) {
    const char *d = test_dir("badfiles");
    char dir[600], p[1024];
    snprintf(dir, sizeof dir, "%s", d);
    for (int k = 0; k < N; k++) test_face(k, S, g_faces + (size_t)k * S * S * 3);
#define PATH(name) (snprintf(p, sizeof p, "%s/%s", dir, name), p)
    good_file(PATH("good.h5"));
    fs_faces *f;
    fs_error e = {0};
    CHECK(fs_faces_open(&f, PATH("good.h5"), NULL, &e) == 0, "the control file must open: %s", e.msg);
    fs_faces_close(f);

    good_file(PATH("truncated.h5"));
    truncate_to(p, 0.5);
    expect_bad(p, "truncated", "HDF5");
    good_file(PATH("superblock.h5"));
    overwrite(p, 8, "\xde\xad\xbe\xef\xde\xad\xbe\xef\xde\xad\xbe\xef\xde\xad\xbe\xef", 16);
    expect_bad(p, "HDF5", "corrupted");
    FILE *g = fopen(PATH("garbage.h5"), "wb");
    for (int i = 0; i < 4096; i++) fputc((int)(fs_mix64((uint64_t)i) & 0xff), g);
    fclose(g);
    expect_bad(p, "not an HDF5 file", "truncated, corrupted");

    static double f64[N * S * S * 3];
    fixture fx = {"/faces", H5T_NATIVE_DOUBLE, 4, {N, S, S, 3}, f64, 0, 1, NULL, 0};
    fx_write(PATH("float64.h5"), &fx);
    expect_bad(p, "/faces has dtype float64", "expected uint8");
    fixture rank3 = {"/faces", H5T_NATIVE_UINT8, 3, {N, S, S * 3}, g_faces, 0, 1, NULL, 0};
    fx_write(PATH("rank3.h5"), &rank3);
    expect_bad(p, "/faces has rank 3", "expected 4");
    fixture zero = {"/faces", H5T_NATIVE_UINT8, 4, {0, S, S, 3}, NULL, 0, 1, NULL, 0};
    fx_write(PATH("zero.h5"), &zero);
    expect_bad(p, "/faces holds zero faces", "import");
    fixture noconsent = {"/faces", H5T_NATIVE_UINT8, 4, {N, S, S, 3}, g_faces, 0, 1, "consent", 0};
    fx_write(PATH("noconsent.h5"), &noconsent);
    expect_bad(p, "attribute 'consent'", "--consent");
    fixture v3 = {"/faces", H5T_NATIVE_UINT8, 4, {N, S, S, 3}, g_faces, 0, 1, NULL, 3};
    fx_write(PATH("v3.h5"), &v3);
    expect_bad(p, "version=3", "expected 1 or 2");
    fixture v2 = {"/faces", H5T_NATIVE_UINT8, 4, {N, S, S, 3}, g_faces, 0, 1, NULL, 2};
    fx_write(PATH("v2.h5"), &v2);
    expect_bad(p, "/checksums/faces does not", "re-create");
    fixture other = {"/images", H5T_NATIVE_UINT8, 4, {N, S, S, 3}, g_faces, 0, 1, NULL, 0};
    fx_write(PATH("other_name.h5"), &other);
    expect_bad(p, "no dataset '/faces'", "images");

    /* Found by fuzz_dataset: a chunk larger than the dataset's fixed extent made HDF5 1.10
     * overrun its heap in H5Dread; it is refused before HDF5 reads. */
    char fuzzed[1024];
    snprintf(fuzzed, sizeof fuzzed, "%s/tests/fuzz/corpus/dataset/chunk-past-extent-1",
             getenv("FACESWARM_SOURCE_DIR") ? getenv("FACESWARM_SOURCE_DIR") : "..");
    expect_bad(fuzzed, "chunk dimension 2 is 2048", "damaged");
    /* Found by ckpt_mutation under ASan: an index whose keys and addresses were zeroed (6
     * chunks, 1 found by position) made HDF5 1.10 copy chunks out of an 8-byte buffer (before,
     * only the item checksums refused it, after the overrun); it is refused at open. */
    snprintf(fuzzed, sizeof fuzzed, "%s/tests/fuzz/corpus/dataset/chunk-index-zeroed",
             getenv("FACESWARM_SOURCE_DIR") ? getenv("FACESWARM_SOURCE_DIR") : "..");
    expect_bad(fuzzed, "its chunk index holds 6 chunks, 1 of them where they belong", "restore a copy");
    if (mkdir(PATH("adir.h5"), 0755) != 0) return 1;
    expect_bad(p, "is a directory", "expected an HDF5 face file");
    expect_bad(PATH("missing.h5"), "no such file", "synth");
    return test_done("data_badfiles");
}
