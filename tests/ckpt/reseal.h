/* reseal.h — for the tests of what a checkpoint's seal covers: a tamperer who also rewrites the
 * seal (the user block zeroed, then sealed again over the changed bytes), or a file from before
 * seals, leaves only the checksums inside the file to refuse the change. */
#ifndef FACESWARM_TESTS_CKPT_RESEAL_H
#define FACESWARM_TESTS_CKPT_RESEAL_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/seal.h"

/* 0, or 1 with the reason on stderr. */
static inline int test_reseal(const char *path) {
    static const char zero[FS_SEAL_BYTES];
    int fd = open(path, O_WRONLY);
    int bad = fd < 0 || pwrite(fd, zero, sizeof zero, 0) != (ssize_t)sizeof zero;
    if (fd >= 0) close(fd);
    fs_seal s;
    fs_error e = {0};
    if (bad || fs_seal_file(path, &s, &e)) {
        fprintf(stderr, "FAIL: cannot reseal %s: %s\n", path, bad ? "cannot clear its user block" : e.msg);
        return 1;
    }
    return 0;
}

#endif
