/* fuzz_h5file.h — shared by the HDF5 file fuzz targets (fuzz_dataset.c, fuzz_checkpoint.c,
 * fuzz_alignments.c): the input becomes a file (the readers take paths), and a refusal must be
 * a proper one. */
#ifndef FACESWARM_TESTS_FUZZ_H5FILE_H
#define FACESWARM_TESTS_FUZZ_H5FILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"

/* The input as a file of its own (one per process, so parallel fuzz jobs do not collide). */
static inline const char *fuzz_file(const char *kind, const uint8_t *data, size_t size) {
    static char path[128];
    snprintf(path, sizeof path, "/tmp/fs-fuzz-%s-%ld.h5", kind, (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
    return path;
}

/* A refusal: exit code 2, a message with a hint, and no source location in it (faceswarm's
 * is FILE.c:LINE). Text the message quotes from the file ('...') is the file's, not
 * faceswarm's: it is blanked before the check; so is a name that is not followed by a line
 * number (libFuzzer learns the names below from the comparison and writes them into the file,
 * and a dataset name the file lists comes back unquoted). */
static inline void fuzz_check_refusal(const char *what, int rc, const fs_error *e) {
    static const char *const sources[] = {"dataset.c:", "checkpoint.c:", "h5check.c:",
                                          "common.c:",  "seal.c:",       "alignments.c:"};
    char own[sizeof e->msg];
    snprintf(own, sizeof own, "%s", e->msg);
    int in = 0;
    for (char *q = own; *q; q++) {
        if (*q == '\'') in = !in;
        else if (in) *q = ' ';
    }
    int source = 0; /* (".c:" alone also matches text quoted from the damaged file itself) */
    for (size_t i = 0; i < sizeof sources / sizeof *sources; i++)
        for (const char *at = strstr(own, sources[i]); at; at = strstr(at + 1, sources[i]))
            source |= at[strlen(sources[i])] >= '0' && at[strlen(sources[i])] <= '9';
    if (rc == FS_EXIT_BADINPUT && e->code == FS_EXIT_BADINPUT && e->msg[0] && strstr(e->msg, "hint:") && !source)
        return;
    fprintf(stderr, "fuzz %s: a bad refusal: rc %d, code %d, message \"%s\"\n", what, rc, e->code, e->msg);
    abort();
}

#endif
