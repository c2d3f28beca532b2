/* error.h — errors with a hint: the exit codes shared by every subcommand and fs_error, the status
 * that library-like code fills for its caller (core/common.h gives the conventions) */
#ifndef FACESWARM_CORE_ERROR_H
#define FACESWARM_CORE_ERROR_H

/* Exit codes shared by every subcommand. */
enum {
    FS_EXIT_OK = 0,
    FS_EXIT_FAIL = 1,     /* runtime failure (I/O, MPI, device, divergence) */
    FS_EXIT_BADINPUT = 2, /* bad config, bad file, bad command line */
    FS_EXIT_STOPPED = 3,  /* stopped by a signal after writing a checkpoint (Slurm requeues) */
};

typedef struct fs_error {
    int code;       /* one of FS_EXIT_*; 0 = no error */
    char msg[2048]; /* "file:line: what was found; expected ...\n  hint: ..." */
} fs_error;

/* Sets e (if not NULL) and returns code, so that `return fs_errorf(e, 2, ...)` reads well. */
int fs_errorf(fs_error *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepends context ("while reading X: ") to an error already set. */
void fs_error_prefix(fs_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
