/* file.h — checked file calls, atomic writes (nothing under a final name unless it is whole),
 * the temp-file protocol, fault injection for tests, and faceswarm's own data files */
#ifndef FACESWARM_CORE_FILE_H
#define FACESWARM_CORE_FILE_H

#include <stddef.h>
#include <stdio.h>
#include "core/error.h"

/* fopen that fills e with the path, errno text and a hint on failure. */
FILE *fs_fopen(const char *path, const char *mode, fs_error *e);
/* Reads a whole file into a NUL-terminated buffer (caller frees); *len may be NULL. */
char *fs_read_file(const char *path, size_t *len, fs_error *e);

/* Writes data to path atomically: path.tmp.<pid>, fsync, rename, fsync of the directory.
 * Nothing is left under the final name unless it is whole. */
int fs_write_file_atomic(const char *path, const void *data, size_t len, fs_error *e);
/* The temp-file protocol for writers that need a FILE or a library (HDF5, PNG):
 * fs_tmp_path() names the temp file; fs_commit_file() fsyncs it, renames it over path and
 * fsyncs the directory; on failure the temp file is removed. */
void fs_tmp_path(const char *path, char *out, size_t outlen);
int fs_commit_file(const char *tmp, const char *path, fs_error *e);
int fs_fsync_path(const char *path, fs_error *e);
/* Appends one whole record (a metrics line) to fd: every byte or none, never a torn record
 * (a failed write is cut back with ftruncate). fault names an fs_fault() point, or NULL. */
int fs_append(int fd, const char *path, const void *data, size_t len, const char *fault, fs_error *e);
/* Test-only fault injection: FACESWARM_FAULT="point:N,..." makes the N-th fs_fault(point)
 * call return ENOSPC (0 otherwise). Points: metrics_write, metrics_fsync. */
int fs_fault(const char *point);
int fs_mkdir_p(const char *dir, fs_error *e); /* mode 0755, like mkdir -p */
/* An output file the user named (opt: the option, for the message): its directory must exist
 * and be writable, and path must not be a directory. Checked before any work, so that a bad
 * path is bad input (exit 2) and nothing is half made. */
int fs_check_out_file(const char *opt, const char *path, fs_error *e);
int fs_is_dir(const char *path);
int fs_exists(const char *path);

/* ---------------------------------------------------------------- data files
 * faceswarm's own files (the job script template, configs), named by their path in the
 * source tree ("slurm/faceswarm.sbatch"). Looked for under $FACESWARM_DATA_DIR when it is
 * set (and only there); else where `cmake --install` puts them, next to the binary
 * (BIN/../share/faceswarm/); else in the source tree the binary was built from, so that a
 * build directory may be anywhere. Fills e (FS_EXIT_BADINPUT) naming every place looked in. */
int fs_data_file(const char *rel, char *out, size_t n, fs_error *e);
/* The absolute path of the running binary ("" when /proc/self/exe cannot be read). */
const char *fs_self_exe(void);

#endif
