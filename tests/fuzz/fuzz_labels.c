/* fuzz_labels.c — libFuzzer target for the image provenance labels (FACESWARM_FUZZ=ON, clang):
 * any bytes as a raw XMP packet through fs_xmp_parse (in a buffer of exactly their size: the
 * packet need not be NUL-terminated), and as a file through fs_labels_read (PNG tEXt, zTXt,
 * iTXt; JPEG APP1), as `faceswarm detect` reads images. Neither may crash; the labels read
 * back keep xmp.h's promises (fuzz_labels.h); a refusal carries code 2, the file's name and a
 * hint. The same entry point replays tests/fuzz/corpus/labels in ctest (provenance_fuzz_labels,
 * tests/fuzz/replay.c) with seeded mutations. */
#include "tests/fuzz/fuzz_labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fs_labels L; /* 20 kB: not on the stack */
    char *packet = fs_malloc(size ? size : 1);
    memcpy(packet, data, size);
    memset(&L, 0, sizeof L);
    fs_xmp_parse(packet, size, &L);
    free(packet);
    fuzz_check_labels("labels (XMP packet)", &L, 0);

    const char *path = fuzz_label_file("labels", ".img", data, size);
    fs_error e = {0};
    int rc = fs_labels_read(path, &L, &e);
    if (rc) fuzz_check_label_refusal("labels (file)", rc, &e, path);
    else fuzz_check_labels("labels (file)", &L, 0);
    unlink(path);
    return 0;
}
