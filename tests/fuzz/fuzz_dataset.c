/* fuzz_dataset.c — libFuzzer target for the HDF5 face-dataset reader (FACESWARM_FUZZ=ON,
 * clang): the input is written to a file, opened with fs_faces_open (no mapping, as data
 * inspect/verify and train do), and every face, mask and extra is read, as data verify does.
 * It must not crash; every refusal carries code 2 and a hint. The same entry point replays the
 * corpus tests/fuzz/corpus/dataset in ctest (data_fuzz_corpus). */
#include "data/dataset.h"
#include "tests/fuzz/fuzz_h5file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads everything in blocks; the first refusal ends it. */
static int read_all(fs_faces *f, fs_error *e) {
    const long n = fs_faces_count(f), S = fs_faces_size(f), block = 16;
    if ((double)n * S * S * 3 > 256e6) return 0; /* a header claiming gigabytes: nothing to read cheaply */
    uint8_t *buf = fs_malloc((size_t)(block * S * S * 3));
    int rc = 0;
    for (long k = 0; k < n && !rc; k += block) rc = fs_faces_read(f, k, FS_MIN(block, n - k), buf, e);
    for (long k = 0; k < n && !rc && fs_faces_has_masks(f); k += block)
        rc = fs_faces_read_masks(f, k, FS_MIN(block, n - k), buf, e);
    if (!rc) rc = fs_faces_check_extras(f, e);
    free(buf);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("faces", data, size);
    fs_faces *f = NULL;
    fs_error e = {0};
    int rc = fs_faces_open(&f, path, NULL, &e);
    if (!rc) {
        char chunking[128], filters[256];
        fs_faces_storage(f, chunking, sizeof chunking, filters, sizeof filters);
        rc = read_all(f, &e);
        fs_faces_close(f);
    }
    if (rc) fuzz_check_refusal("dataset", rc, &e);
    unlink(path);
    return 0;
}
