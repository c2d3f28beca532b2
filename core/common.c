/* common.c — errors, logging, checked allocation and file calls, the clock and faceswarm's
 * data files (core/error.h, log.h, alloc.h, file.h, clock.h); see core/common.h. */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef FS_HAVE_GIT_COMMIT_H
#include "fs_git_commit.h" /* generated at every build by scripts/git_commit.cmake */
#endif
#ifndef FS_GIT_COMMIT
#define FS_GIT_COMMIT "unknown"
#endif

/* ---------------------------------------------------------------- errors */
int fs_errorf(fs_error *e, int code, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

void fs_error_prefix(fs_error *e, const char *fmt, ...) {
    if (!e) return;
    char head[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    size_t hl = strlen(head);
    if (hl >= sizeof e->msg) hl = sizeof e->msg - 1;
    memcpy(e->msg, head, hl);
    size_t room = sizeof e->msg - 1 - hl, ol = strnlen(old, room);
    memcpy(e->msg + hl, old, ol);
    e->msg[hl + ol] = 0;
}

/* ---------------------------------------------------------------- logging */
static int g_rank = 0, g_world = 1;
static fs_log_level g_level = FS_LOG_INFO;

const char *fs_hostname(void) {
    static char host[256];
    if (!host[0]) {
        if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "unknown");
        char *dot = strchr(host, '.');
        if (dot) *dot = 0;
    }
    return host;
}

void fs_log_set_rank(int rank, int world) {
    g_rank = rank;
    g_world = world;
}
void fs_log_set_level(fs_log_level lvl) { g_level = lvl; }
fs_log_level fs_log_get_level(void) { return g_level; }

int fs_log_parse_level(const char *s) {
    static const char *const names[] = {"debug", "info", "warning", "error"};
    for (int i = 0; s && i < (int)FS_ARRAY_LEN(names); i++)
        if (!strcmp(s, names[i]) || (i == FS_LOG_WARN && !strcmp(s, "warn"))) return i;
    return -1;
}

int fs_log_init_from_env(void) {
    const char *env = getenv("FACESWARM_LOG");
    if (!env || !env[0]) return 0;
    int lvl = fs_log_parse_level(env);
    if (lvl < 0) {
        fprintf(stderr,
                "error: FACESWARM_LOG='%s': unknown log level; expected debug, info, warning or error\n"
                "  hint: FACESWARM_LOG=debug also prints the source location of errors\n",
                env);
        return -1;
    }
    g_level = (fs_log_level)lvl;
    return 0;
}

static void log_prefix(FILE *f, fs_log_level lvl) {
    static const char *names[] = {"debug", "info", "warning", "error"};
    /* Progress is rank 0's alone and needs no prefix; what any rank may say does. */
    if (g_world > 1 && lvl != FS_LOG_INFO) fprintf(f, "[rank %d %s] ", g_rank, fs_hostname());
    if (lvl != FS_LOG_INFO) fprintf(f, "%s: ", names[lvl]);
}

static FILE *g_progress; /* the stream whose line a progress line holds open, NULL = none */

void fs_progress(FILE *f, int in_place, const char *fmt, ...) {
    if (g_progress && g_progress != f) fs_progress_end();
    if (in_place) fputs("\r\033[K", f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    if (!in_place) fputc('\n', f);
    g_progress = in_place ? f : NULL;
    fflush(f);
}

void fs_progress_end(void) {
    if (!g_progress) return;
    fputc('\n', g_progress);
    fflush(g_progress);
    g_progress = NULL;
}

void fs_log(fs_log_level lvl, const char *fmt, ...) {
    if (lvl < g_level) return;
    /* Progress (info) is rank 0's alone; warnings and errors come from every rank. */
    if (lvl <= FS_LOG_INFO && g_rank != 0) return;
    fs_progress_end();
    FILE *f = lvl >= FS_LOG_WARN ? stderr : stdout;
    log_prefix(f, lvl);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
}

void fs_where(char *out, size_t len, const char *file, int line) {
    if (g_level == FS_LOG_DEBUG) snprintf(out, len, " (%s:%d)", file, line);
    else if (len) out[0] = 0;
}

void fs_die_at(const char *file, int line, int code, const char *fmt, ...) {
    fs_progress_end();
    fflush(stdout);
    log_prefix(stderr, FS_LOG_ERROR);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    char where[1100];
    fs_where(where, sizeof where, file, line);
    fputs(where, stderr);
    fputc('\n', stderr);
    fflush(stderr);
    exit(code);
}

/* ---------------------------------------------------------------- checked calls */
static _Noreturn void oom(size_t n, const char *file, int line) {
    fs_die_at(file, line, FS_EXIT_FAIL,
              "out of memory allocating %zu bytes\n  hint: reduce train.batch_per_identity "
              "or the model size, or run on a node with more memory",
              n);
}
void *fs_malloc_at(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n, file, line);
    return p;
}
void *fs_calloc_at(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size, file, line);
    return p;
}
void *fs_realloc_at(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n, file, line);
    return q;
}
void *fs_aligned_alloc_at(size_t n, const char *file, int line) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) oom(n, file, line);
    return p;
}
char *fs_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = fs_malloc(n);
    memcpy(p, s, n);
    return p;
}

FILE *fs_fopen(const char *path, const char *mode, fs_error *e) {
    if (mode[0] == 'r' && fs_is_dir(path)) {
        fs_errorf(e, FS_EXIT_BADINPUT, "%s: is a directory, expected a file\n  hint: name a file inside it", path);
        return NULL;
    }
    FILE *f = fopen(path, mode);
    if (!f) {
        int err = errno;
        fs_errorf(e, err == ENOENT || err == EACCES ? FS_EXIT_BADINPUT : FS_EXIT_FAIL,
                  "%s: cannot open for %s: %s\n  hint: %s", path, mode[0] == 'r' ? "reading" : "writing", strerror(err),
                  err == ENOENT   ? "check the path (relative paths are taken from the current directory)"
                  : err == EACCES ? "check the file's permissions"
                                  : "check the disk and the path");
    }
    return f;
}

char *fs_read_file(const char *path, size_t *len, fs_error *e) {
    FILE *f = fs_fopen(path, "rb", e);
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = fs_malloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = fs_realloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        fs_errorf(e, FS_EXIT_FAIL, "%s: read error\n  hint: check the disk", path);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

/* ---------------------------------------------------------------- files */
int fs_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
int fs_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* A path the user named that cannot be made is bad input (exit 2); a full or failing disk
 * is a runtime failure (exit 1). */
static int path_errno_code(int err) {
    return err == ENOENT || err == ENOTDIR || err == EACCES || err == EPERM || err == EROFS || err == ENAMETOOLONG ||
                   err == ELOOP
               ? FS_EXIT_BADINPUT
               : FS_EXIT_FAIL;
}
static const char *path_errno_hint(int err) {
    if (err == EACCES || err == EPERM) return "you may not write there: choose a directory of your own";
    if (err == EROFS) return "that file system is read-only: choose a writable location";
    if (err == ENOSPC || err == EDQUOT) return "the disk (or your quota) is full: free space or choose another disk";
    return "choose a location on a writable file system whose parent directories exist";
}

int fs_check_out_file(const char *opt, const char *path, fs_error *e) {
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s %s: path too long\n  hint: use a shorter path", opt, path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = 0;
    else *slash = 0;
    if (fs_is_dir(path))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s %s is a directory; expected a file name\n"
                         "  hint: name a file inside it, e.g. %s/out.h5",
                         opt, path, path);
    if (!fs_is_dir(dir))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s %s: the directory %s does not exist\n"
                         "  hint: mkdir -p %s, or choose another location",
                         opt, path, dir, dir);
    /* access(W_OK) says yes to root everywhere (even /proc): only creating a file tells. */
    char probe[4096 + 64];
    snprintf(probe, sizeof probe, "%s/.faceswarm-probe.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        int err = errno;
        return fs_errorf(e, path_errno_code(err), "%s %s: cannot create a file in %s: %s\n  hint: %s", opt, path, dir,
                         strerror(err), path_errno_hint(err));
    }
    close(fd);
    unlink(probe);
    return 0;
}

int fs_mkdir_p(const char *dir, fs_error *e) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: path too long", dir);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                int err = errno;
                return fs_errorf(e, path_errno_code(err),
                                 "%s: cannot create directory %s: %s\n"
                                 "  hint: %s",
                                 dir, buf, strerror(err), path_errno_hint(err));
            }
            if (!fs_is_dir(buf) && !strcmp(buf, dir))
                return fs_errorf(e, FS_EXIT_BADINPUT,
                                 "%s: exists and is not a directory; expected a directory "
                                 "(it is created when missing)\n  hint: move that file away or name another "
                                 "directory",
                                 dir);
            if (!fs_is_dir(buf))
                return fs_errorf(e, FS_EXIT_BADINPUT,
                                 "%s: %s exists and is not a directory\n"
                                 "  hint: choose another path, or move %s away",
                                 dir, buf, buf);
            *p = c;
            if (c == 0) break;
        }
    }
    return 0;
}

int fs_fsync_path(const char *path, fs_error *e) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot open to fsync: %s", path, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    /* Some file systems refuse fsync on a directory (EINVAL): that is not data loss. */
    if (rc != 0 && err != EINVAL)
        return fs_errorf(e, FS_EXIT_FAIL, "%s: fsync failed: %s\n  hint: check the disk", path, strerror(err));
    return 0;
}

void fs_tmp_path(const char *path, char *out, size_t outlen) {
    snprintf(out, outlen, "%s.tmp.%ld", path, (long)getpid());
}

int fs_commit_file(const char *tmp, const char *path, fs_error *e) {
    if (fs_fsync_path(tmp, e) != 0) {
        unlink(tmp);
        return e ? e->code : FS_EXIT_FAIL;
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot rename %s into place: %s", path, tmp, strerror(err));
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    return fs_fsync_path(dirname(dir), e);
}

/* FACESWARM_FAULT="point:N[,point:N...]": the N-th call (1-based) of fs_fault(point) returns
 * ENOSPC, every other call 0. Read once; single-threaded callers only (rank 0's writers). */
int fs_fault(const char *point) {
    static long calls[8];
    static const char *names[8];
    const char *env = getenv("FACESWARM_FAULT");
    if (!env) return 0;
    size_t pl = strlen(point);
    int slot = 0;
    while (slot < 8 && names[slot] && strcmp(names[slot], point) != 0) slot++;
    if (slot == 8) return 0;
    names[slot] = point;
    long n = ++calls[slot];
    for (const char *p = env; (p = strstr(p, point)) != NULL; p += pl)
        if ((p == env || p[-1] == ',') && p[pl] == ':' && strtol(p + pl + 1, NULL, 10) == n) return ENOSPC;
    return 0;
}

int fs_append(int fd, const char *path, const void *data, size_t len, const char *fault, fs_error *e) {
    off_t start = lseek(fd, 0, SEEK_END);
    const char *p = data;
    size_t done = 0;
    int err = fault ? fs_fault(fault) : 0;
    while (!err && done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) err = w < 0 ? errno : ENOSPC;
        else done += (size_t)w;
    }
    if (!err) return 0;
    /* The file keeps only whole records: a torn one would merge with the next. */
    int cut = start >= 0 && ftruncate(fd, start) == 0;
    return fs_errorf(e, FS_EXIT_FAIL, "%s: write failed after %zu of %zu bytes: %s%s\n  hint: %s", path, done, len,
                     strerror(err), cut && done ? " (the partial record was removed)" : "",
                     err == ENOSPC || err == EDQUOT ? "free space on that filesystem (df -h, quotas)"
                                                    : "check the filesystem holding the run directory");
}

int fs_write_file_atomic(const char *path, const void *data, size_t len, fs_error *e) {
    char tmp[4200];
    fs_tmp_path(path, tmp, sizeof tmp);
    FILE *f = fs_fopen(tmp, "wb", e);
    if (!f) return e ? e->code : FS_EXIT_FAIL;
    size_t put = fwrite(data, 1, len, f);
    int bad = put != len || fflush(f) != 0;
    if (fclose(f) != 0) bad = 1;
    if (bad) {
        unlink(tmp);
        return fs_errorf(e, FS_EXIT_FAIL, "%s: write failed (%s)\n  hint: check free disk space", tmp, strerror(errno));
    }
    return fs_commit_file(tmp, path, e);
}

/* ---------------------------------------------------------------- time */
double fs_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
double fs_wall_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
void fs_iso_time(char out[32]) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *fs_git_commit(void) { return FS_GIT_COMMIT; }

/* ---------------------------------------------------------------- data files */
#ifndef FS_SOURCE_DIR
#define FS_SOURCE_DIR "" /* set by CMakeLists.txt: the source tree of this build */
#endif
#define DATA_PATH_LEN 4096
#ifndef FS_DATA_FROM_BIN
#define FS_DATA_FROM_BIN "../share/faceswarm" /* set by CMakeLists.txt from the install dirs */
#endif

const char *fs_self_exe(void) {
    static char exe[DATA_PATH_LEN];
    if (!exe[0]) {
        ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[len > 0 ? len : 0] = 0;
    }
    return exe;
}

int fs_data_file(const char *rel, char *out, size_t n, fs_error *e) {
    const char *env = getenv("FACESWARM_DATA_DIR");
    if (env && env[0]) {
        int w = snprintf(out, n, "%s/%s", env, rel);
        if (w > 0 && (size_t)w < n && fs_exists(out)) return 0;
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s is not under FACESWARM_DATA_DIR=%s\n"
                         "  hint: point FACESWARM_DATA_DIR at an installed share/faceswarm "
                         "or at the source tree, or unset it",
                         rel, env);
    }
    char bindir[DATA_PATH_LEN], places[2][DATA_PATH_LEN + 64];
    snprintf(bindir, sizeof bindir, "%s", fs_self_exe());
    char *slash = strrchr(bindir, '/');
    if (slash) *slash = 0;
    snprintf(places[0], sizeof places[0], "%s/%s", bindir, FS_DATA_FROM_BIN);
    snprintf(places[1], sizeof places[1], "%s", FS_SOURCE_DIR);
    for (size_t i = 0; i < FS_ARRAY_LEN(places); i++) {
        int w = snprintf(out, n, "%s/%s", places[i], rel);
        if (!places[i][0] || w <= 0 || (size_t)w >= n || !fs_exists(out)) continue;
        char *real = realpath(out, NULL); /* BIN/../share/... reads better without the .. */
        if (real && strlen(real) < n) snprintf(out, n, "%s", real);
        free(real);
        return 0;
    }
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s was found neither where it is installed (%s/) nor in the source "
                     "tree this binary was built from (%s/)\n"
                     "  hint: cmake --install BUILD_DIR, or set FACESWARM_DATA_DIR to a "
                     "directory holding %s",
                     rel, places[0], places[1][0] ? places[1] : "?", rel);
}
