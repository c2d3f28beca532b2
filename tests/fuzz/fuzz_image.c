/* fuzz_image.c — libFuzzer target for PNG/JPEG import (FACESWARM_FUZZ=ON, clang): any bytes
 * through fs_image_decode, then the resize that import applies. A refusal must carry code 2, a
 * message naming the input and a hint; an image that decodes must be inside the caps with
 * every pixel readable. The same entry point replays tests/fuzz/corpus/image in ctest
 * (data_fuzz_image, tests/fuzz/replay.c) with seeded mutations. */
#include <stdlib.h>
#include <string.h>

#include "data/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const fs_error *e, size_t size) {
    fprintf(stderr, "fuzz_image: %s\n  code %d, message \"%s\"\n  input of %zu bytes\n", what, e->code, e->msg, size);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fs_image img = {.max_pixels = 1 << 22}; /* 4 Mpx: the cap is the code under test, smaller is faster */
    fs_error e = {0};
    int rc = fs_image_decode(&img, data, size, "fuzz-input", &e);
    if (rc) {
        if (rc != FS_EXIT_BADINPUT || e.code != rc) fail("refusal without code 2", &e, size);
        if (!strstr(e.msg, "fuzz-input") || !strstr(e.msg, "hint:")) fail("refusal without name and hint", &e, size);
        if (img.rgb) fail("a refusal left pixels", &e, size);
        return 0;
    }
    if (!img.rgb || img.w < 1 || img.h < 1 || img.w > FS_IMAGE_MAX_SIDE || img.h > FS_IMAGE_MAX_SIDE ||
        (long)img.w * img.h > img.max_pixels || img.orientation < 1 || img.orientation > 8 || img.alpha < 0 ||
        img.alpha > 1 || memchr(img.warning, 0, sizeof img.warning) == NULL)
        fail("an accepted image out of its bounds", &e, size);
    unsigned sum = 0; /* every byte is read: a short buffer shows under ASan */
    for (size_t i = 0; i < (size_t)img.w * img.h * 3; i++) sum += img.rgb[i];
    uint8_t face[16 * 16 * 3];
    fs_image_resize(img.rgb, img.w, img.h, face, 16, 16);
    fs_image_free(&img);
    return (int)(sum & 0) + face[0] * 0;
}
