/* fuzz_checkpoint.c — libFuzzer target for the checkpoint reader (FACESWARM_FUZZ=ON, clang):
 * the input is written to a file and read by fs_ckpt_read, as `checkpoint verify` and
 * `train --resume` do. It must not crash; a refusal carries code 2 and a hint; a file that
 * verifies reads again, into buffers, to the same checksums. The same entry point replays the
 * corpus tests/fuzz/corpus/checkpoint in ctest (ckpt_fuzz_corpus). */
#include "tests/fuzz/fuzz_h5file.h"
#include "trainer/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("ckpt", data, size);
    fs_ckpt_meta m;
    fs_ckpt_sums s1, s2;
    fs_error e = {0};
    int rc = fs_ckpt_read(path, 0, &m, NULL, NULL, NULL, &s1, &e);
    if (rc) {
        fuzz_check_refusal("checkpoint", rc, &e);
    } else {
        long n = m.n_params; /* bounded by the file's size: the reader checked it */
        fs_ckpt_meta_free(&m);
        float *p = fs_malloc(sizeof(float) * (size_t)n * 3);
        rc = fs_ckpt_read(path, n, &m, p, p + n, p + 2 * n, &s2, &e);
        if (rc || memcmp(&s1, &s2, sizeof s1) != 0) {
            fprintf(stderr, "fuzz checkpoint: verifies but reads differently (rc %d: %s)\n", rc, e.msg);
            abort();
        }
        fs_ckpt_meta_free(&m);
        free(p);
    }
    unlink(path);
    return 0;
}
