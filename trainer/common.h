/* common.h — what every part of faceswarm shares: errors with a hint, checked
 * allocation and file calls, levelled logging with a rank prefix, a counter-based
 * RNG, checksums, atomic file writes and a monotonic clock.
 *
 * Conventions (STYLE.md):
 *  - library-like code (comms, coordinator, data readers, config) returns an int status
 *    (0 = ok) and fills an fs_error so that its caller can clean up and report;
 *  - leaf code in the training path may call fs_die();
 *  - every message names the file/key/field, the value, what was expected and a hint. */
#ifndef FACESWARM_COMMON_H
#define FACESWARM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FS_VERSION "0.1.0"

/* Exit codes shared by every subcommand. */
enum {
    FS_EXIT_OK = 0,
    FS_EXIT_FAIL = 1,     /* runtime failure (I/O, MPI, device, divergence) */
    FS_EXIT_BADINPUT = 2, /* bad config, bad file, bad command line */
    FS_EXIT_STOPPED = 3,  /* stopped by a signal after writing a checkpoint (Slurm requeues) */
};

/* ---------------------------------------------------------------- errors */
typedef struct fs_error {
    int code;       /* one of FS_EXIT_*; 0 = no error */
    char msg[2048]; /* "file:line: what was found; expected ...\n  hint: ..." */
} fs_error;

/* Sets e (if not NULL) and returns code, so that `return fs_errorf(e, 2, ...)` reads well. */
int fs_errorf(fs_error *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepends context ("while reading X: ") to an error already set. */
void fs_error_prefix(fs_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- logging */
typedef enum { FS_LOG_DEBUG = 0, FS_LOG_INFO, FS_LOG_WARN, FS_LOG_ERROR } fs_log_level;
void fs_log_set_rank(int rank, int world); /* errors gain "[rank N host]" when world > 1 */
void fs_log_set_level(fs_log_level lvl);
fs_log_level fs_log_get_level(void);
/* "debug" | "info" | "warning" (or "warn") | "error" -> its level; -1 for anything else. */
int fs_log_parse_level(const char *s);
/* The level from FACESWARM_LOG when set (debug also prints the source location of errors,
 * which users never see otherwise); -1 after saying why for an unknown value. */
int fs_log_init_from_env(void);
void fs_log(fs_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define fs_info(...) fs_log(FS_LOG_INFO, __VA_ARGS__)
#define fs_warn(...) fs_log(FS_LOG_WARN, __VA_ARGS__)
#define fs_debug(...) fs_log(FS_LOG_DEBUG, __VA_ARGS__)
/* " (file:line)" at debug level, "" otherwise: where an error was raised, for the messages
 * users see (which show no source paths unless asked with -v / FACESWARM_LOG=debug). */
void fs_where(char *out, size_t len, const char *file, int line);
/* Prints the message (with rank prefix) to stderr and exits with code. */
_Noreturn void fs_die_at(const char *file, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define fs_die(code, ...) fs_die_at(__FILE__, __LINE__, code, __VA_ARGS__)
const char *fs_hostname(void);
/* A progress line: on a terminal (in_place) it is redrawn in place ("\r", erase, text, no
 * newline); elsewhere each call is a line of its own. fs_log and fs_die first end an open
 * progress line, so that no message lands on it; fs_progress_end ends it for other output. */
void fs_progress(FILE *f, int in_place, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fs_progress_end(void);

/* ---------------------------------------------------------------- checked calls */
void *fs_malloc_at(size_t n, const char *file, int line);
void *fs_calloc_at(size_t n, size_t size, const char *file, int line);
void *fs_realloc_at(void *p, size_t n, const char *file, int line);
/* 64-byte aligned, for float buffers handed to BLAS and SIMD loops; free with free(). */
void *fs_aligned_alloc_at(size_t n, const char *file, int line);
#define fs_malloc(n) fs_malloc_at((n), __FILE__, __LINE__)
#define fs_calloc(n, s) fs_calloc_at((n), (s), __FILE__, __LINE__)
#define fs_realloc(p, n) fs_realloc_at((p), (n), __FILE__, __LINE__)
#define fs_aligned_alloc(n) fs_aligned_alloc_at((n), __FILE__, __LINE__)
char *fs_strdup(const char *s);
/* fopen that fills e with the path, errno text and a hint on failure. */
FILE *fs_fopen(const char *path, const char *mode, fs_error *e);
/* Reads a whole file into a NUL-terminated buffer (caller frees); *len may be NULL. */
char *fs_read_file(const char *path, size_t *len, fs_error *e);

/* ---------------------------------------------------------------- files */
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

/* ---------------------------------------------------------------- RNG
 * Counter-based: a stream is a pure function of its key words, so the augmentation of
 * sample i in epoch e is fs_rng_init(&r, seed, e, i) on any rank, in any order. */
typedef struct fs_rng {
    uint64_t s[4]; /* xoshiro256** state */
} fs_rng;
uint64_t fs_mix64(uint64_t x);                       /* splitmix64 finaliser */
uint64_t fs_hash3(uint64_t a, uint64_t b, uint64_t c); /* good 3-word hash */
void fs_rng_init(fs_rng *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t fs_rng_u64(fs_rng *r);
double fs_rng_uniform(fs_rng *r);              /* [0, 1) */
double fs_rng_range(fs_rng *r, double lo, double hi);
double fs_rng_normal(fs_rng *r);               /* N(0, 1) */
uint32_t fs_rng_below(fs_rng *r, uint32_t n);  /* uniform in [0, n), unbiased */
/* Fisher–Yates permutation of 0..n-1 drawn from (seed, a, b). */
void fs_permutation(uint32_t *perm, uint32_t n, uint64_t seed, uint64_t a, uint64_t b);

/* ---------------------------------------------------------------- checksums */
uint32_t fs_crc32c(uint32_t crc, const void *data, size_t len); /* Castagnoli, crc=0 to start */
/* 64-bit FNV-1a-style checksum over bytes, used for config hashes and dataset checksums. */
uint64_t fs_checksum64(const void *data, size_t len);
/* Checksum of a float buffer, printed as 16 hex digits by fs_checksum_hex. */
void fs_checksum_hex(uint64_t sum, char out[17]);

/* ---------------------------------------------------------------- time */
double fs_now(void);      /* monotonic seconds */
double fs_wall_time(void); /* seconds since the epoch */
void fs_iso_time(char out[32]); /* UTC, 2026-11-21T12:00:00Z */

/* ---------------------------------------------------------------- strings */
/* Levenshtein distance, for "did you mean" hints. */
int fs_edit_distance(const char *a, const char *b);
/* The one rule for identity names (model.identities, `data import --identity`, the identity
 * of a dataset file): they become file names (<name>.h5), HDF5 attributes and metric keys. */
#define FS_IDENTITY_MAX 63
#define FS_IDENTITY_RULE "1 to 63 letters, digits, '_' or '-', not starting with '-'"
int fs_identity_ok(const char *name);
/* Git commit baked in at configure time ("unknown" outside a checkout). */
const char *fs_git_commit(void);

/* ---------------------------------------------------------------- command-line numbers
 * Every subcommand parses its numeric options with these, never atoi/atof: the whole of
 * text must be one number (digits, no blanks, no unit) in [lo, hi]. Otherwise e names the
 * option, the value and the range, with a hint, and the result is FS_EXIT_BADINPUT. */
int fs_parse_long(const char *opt, const char *text, long lo, long hi, long *out, fs_error *e);
int fs_parse_int(const char *opt, const char *text, int lo, int hi, int *out, fs_error *e);
int fs_parse_double(const char *opt, const char *text, double lo, double hi, double *out, fs_error *e);

/* ---------------------------------------------------------------- data files
 * faceswarm's own files (the job script template, configs), named by their path in the
 * source tree ("slurm/faceswarm.sbatch"). Looked for under $FACESWARM_DATA_DIR when it is
 * set (and only there); else where `cmake --install` puts them, next to the binary
 * (BIN/../share/faceswarm/); else in the source tree the binary was built from, so that a
 * build directory may be anywhere. Fills e (FS_EXIT_BADINPUT) naming every place looked in. */
int fs_data_file(const char *rel, char *out, size_t n, fs_error *e);
/* The absolute path of the running binary ("" when /proc/self/exe cannot be read). */
const char *fs_self_exe(void);

#define FS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FS_MAX(a, b) ((a) > (b) ? (a) : (b))
#define FS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
