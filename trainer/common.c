/* common.c — see common.h. */
#include "common.h"

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
        fprintf(stderr, "error: FACESWARM_LOG='%s': unknown log level; expected debug, info, warning or error\n"
                        "  hint: FACESWARM_LOG=debug also prints the source location of errors\n", env);
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
              "or the model size, or run on a node with more memory", n);
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
        fs_errorf(e, FS_EXIT_BADINPUT, "%s: is a directory, expected a file\n  hint: name a file inside it",
                  path);
        return NULL;
    }
    FILE *f = fopen(path, mode);
    if (!f) {
        int err = errno;
        fs_errorf(e, err == ENOENT || err == EACCES ? FS_EXIT_BADINPUT : FS_EXIT_FAIL,
                  "%s: cannot open for %s: %s\n  hint: %s", path, mode[0] == 'r' ? "reading" : "writing",
                  strerror(err),
                  err == ENOENT ? "check the path (relative paths are taken from the current directory)"
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
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s %s is a directory; expected a file name\n"
                                              "  hint: name a file inside it, e.g. %s/out.h5", opt, path, path);
    if (!fs_is_dir(dir))
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s %s: the directory %s does not exist\n"
                                              "  hint: mkdir -p %s, or choose another location", opt, path, dir, dir);
    /* access(W_OK) says yes to root everywhere (even /proc): only creating a file tells. */
    char probe[4096 + 64];
    snprintf(probe, sizeof probe, "%s/.faceswarm-probe.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        int err = errno;
        return fs_errorf(e, path_errno_code(err), "%s %s: cannot create a file in %s: %s\n  hint: %s", opt, path,
                         dir, strerror(err), path_errno_hint(err));
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
                return fs_errorf(e, path_errno_code(err), "%s: cannot create directory %s: %s\n"
                                 "  hint: %s", dir, buf, strerror(err), path_errno_hint(err));
            }
            if (!fs_is_dir(buf) && !strcmp(buf, dir))
                return fs_errorf(e, FS_EXIT_BADINPUT, "%s: exists and is not a directory; expected a directory "
                                 "(it is created when missing)\n  hint: move that file away or name another "
                                 "directory", dir);
            if (!fs_is_dir(buf))
                return fs_errorf(e, FS_EXIT_BADINPUT, "%s: %s exists and is not a directory\n"
                                 "  hint: choose another path, or move %s away", dir, buf, buf);
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
        return fs_errorf(e, FS_EXIT_FAIL, "%s: write failed (%s)\n  hint: check free disk space", tmp,
                         strerror(errno));
    }
    return fs_commit_file(tmp, path, e);
}

/* ---------------------------------------------------------------- RNG */
uint64_t fs_mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
uint64_t fs_hash3(uint64_t a, uint64_t b, uint64_t c) {
    return fs_mix64(fs_mix64(fs_mix64(a) ^ b) ^ c);
}
void fs_rng_init(fs_rng *r, uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t x = fs_hash3(seed, a, b);
    for (int i = 0; i < 4; i++) r->s[i] = x = fs_mix64(x + (uint64_t)i);
}
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
uint64_t fs_rng_u64(fs_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}
double fs_rng_uniform(fs_rng *r) { return (double)(fs_rng_u64(r) >> 11) * 0x1.0p-53; }
double fs_rng_range(fs_rng *r, double lo, double hi) { return lo + (hi - lo) * fs_rng_uniform(r); }
double fs_rng_normal(fs_rng *r) {
    double u1 = fs_rng_uniform(r), u2 = fs_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
uint32_t fs_rng_below(fs_rng *r, uint32_t n) {
    if (n <= 1) return 0;
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = fs_rng_u64(r);
    while (x >= lim);
    return (uint32_t)(x % n);
}
void fs_permutation(uint32_t *perm, uint32_t n, uint64_t seed, uint64_t a, uint64_t b) {
    fs_rng r;
    fs_rng_init(&r, seed, a, b);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = fs_rng_below(&r, i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

/* ---------------------------------------------------------------- checksums */
static uint32_t crc_table[8][256];
static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}
uint32_t fs_crc32c(uint32_t crc, const void *data, size_t len) {
    static int ready = 0;
    if (!ready) { /* idempotent: a race only recomputes the same table */
        crc_init();
        ready = 1;
    }
    const uint8_t *p = data;
    crc = ~crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^ crc_table[5][(w >> 16) & 0xff] ^
              crc_table[4][(w >> 24) & 0xff] ^ crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
              crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

uint64_t fs_checksum64(const void *data, size_t len) {
    /* Four interleaved 64-bit lanes over 8-byte words, then mixed: fast on large buffers
     * (hundreds of MB of parameters per checkpoint) and sensitive to every bit. */
    const uint8_t *p = data;
    uint64_t h[4] = {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL, 0xa4093822299f31d0ULL, 0x082efa98ec4e6c89ULL};
    size_t i = 0;
    for (; i + 32 <= len; i += 32)
        for (int k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * k, 8);
            h[k] = (h[k] ^ w) * 0x100000001b3ULL;
            h[k] ^= h[k] >> 29;
        }
    uint64_t tail = 0xcbf29ce484222325ULL;
    for (; i < len; i++) tail = (tail ^ p[i]) * 0x100000001b3ULL;
    return fs_hash3(fs_hash3(h[0], h[1], h[2]), h[3] ^ tail, (uint64_t)len);
}
void fs_checksum_hex(uint64_t sum, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)sum); }

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

/* ---------------------------------------------------------------- strings */
int fs_edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 128 || lb > 128) return 1000;
    int prev[129], cur[129];
    for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = FS_MIN(sub, FS_MIN(del, ins));
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

int fs_identity_ok(const char *name) {
    size_t len = strlen(name);
    if (len == 0 || len > FS_IDENTITY_MAX || name[0] == '-') return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-'))
            return 0;
    }
    return 1;
}

const char *fs_git_commit(void) { return FS_GIT_COMMIT; }

/* ---------------------------------------------------------------- command-line numbers */
static int bad_number(const char *opt, const char *text, const char *kind, double lo, double hi, fs_error *e) {
    return fs_errorf(e, FS_EXIT_BADINPUT, "%s '%s' is not %s from %.15g to %.15g\n"
                                          "  hint: write it in digits, e.g. %s %.15g",
                     opt, text, kind, lo, hi, opt, lo > 1 ? lo : (hi < 1 ? hi : 1));
}

/* strtol and strtod skip leading blanks and stop at the first stranger: both are refused. */
static int number_starts(const char *text) {
    return text[0] && !(text[0] == ' ' || (text[0] >= '\t' && text[0] <= '\r'));
}

int fs_parse_long(const char *opt, const char *text, long lo, long hi, long *out, fs_error *e) {
    char *end;
    errno = 0;
    long v = number_starts(text) ? strtol(text, &end, 10) : 0;
    if (!number_starts(text) || *end || errno || v < lo || v > hi)
        return bad_number(opt, text, "an integer", (double)lo, (double)hi, e);
    *out = v;
    return 0;
}

int fs_parse_int(const char *opt, const char *text, int lo, int hi, int *out, fs_error *e) {
    long v;
    int rc = fs_parse_long(opt, text, lo, hi, &v, e);
    if (!rc) *out = (int)v;
    return rc;
}

int fs_parse_double(const char *opt, const char *text, double lo, double hi, double *out, fs_error *e) {
    char *end;
    errno = 0;
    double v = number_starts(text) ? strtod(text, &end) : 0;
    /* !(in range) also refuses nan; hi bounds inf */
    if (!number_starts(text) || *end || errno == ERANGE || !(v >= lo && v <= hi))
        return bad_number(opt, text, "a number", lo, hi, e);
    *out = v;
    return 0;
}

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
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s is not under FACESWARM_DATA_DIR=%s\n"
                                              "  hint: point FACESWARM_DATA_DIR at an installed share/faceswarm "
                                              "or at the source tree, or unset it", rel, env);
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
    return fs_errorf(e, FS_EXIT_BADINPUT, "%s was found neither where it is installed (%s/) nor in the source "
                                          "tree this binary was built from (%s/)\n"
                                          "  hint: cmake --install BUILD_DIR, or set FACESWARM_DATA_DIR to a "
                                          "directory holding %s", rel, places[0], places[1][0] ? places[1] : "?", rel);
}
