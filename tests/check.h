/* check.h — the non-fatal check of the unit tests. A failed CHECK prints file:line, the
 * condition and a message to stderr and counts in `failures`; the test goes on, so one run
 * reports every failing check, and its main returns failures ? 1 : 0. Include it from one
 * translation unit per test program. */
#ifndef FACESWARM_TESTS_CHECK_H
#define FACESWARM_TESTS_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "FAIL %s:%d: (%s) ", __FILE__, __LINE__, #cond);                                           \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

#endif
