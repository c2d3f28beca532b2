/* testutil.h — shared by the data_ tests: failure counting, a scratch directory, and small
 * fixtures. Each test program exits non-zero when any CHECK failed, naming what failed. */
#ifndef FACESWARM_TESTS_DATA_TESTUTIL_H
#define FACESWARM_TESTS_DATA_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

static int g_failures = 0;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            g_failures++;                                                                                              \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                            \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
        }                                                                                                              \
    } while (0)

/* A fresh scratch directory under the current (build) directory. */
static inline const char *test_dir(const char *name) {
    static char dir[512];
    char cmd[1200];
    snprintf(dir, sizeof dir, "data_test_tmp/%s", name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot create %s\n", dir);
        exit(1);
    }
    return dir;
}

/* Deterministic, distinctive face content: pixel value depends on face, row, column, channel. */
static inline uint8_t test_pixel(long face, int y, int x, int c) {
    return (uint8_t)(fs_hash3((uint64_t)face, (uint64_t)(y * 4096 + x), (uint64_t)c) & 0xff);
}
static inline void test_face(long face, int S, uint8_t *out) {
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++) out[((size_t)y * S + x) * 3 + c] = test_pixel(face, y, x, c);
}

static inline int test_done(const char *name) {
    if (g_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, g_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

#endif
