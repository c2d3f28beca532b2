/* coord_testlib.c — see coord_testlib.h. */
#include "tests/coord/coord_testlib.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "trainer/cli.h"
#include "core/common.h"

static char g_run[4][512];
static int g_nrun;
static pid_t g_daemons[16];
static int g_ndaemons;

void tl_dispatch(int argc, char **argv) {
    if (argc < 2) return;
    if (!strcmp(argv[1], "coordinator")) exit(cmd_coordinator(argc - 1, argv + 1));
    if (!strcmp(argv[1], "status")) exit(cmd_status(argc - 1, argv + 1));
    if (!strcmp(argv[1], "keys")) exit(cmd_keys(argc - 1, argv + 1));
    if (!strcmp(argv[1], "bench-coordinator")) exit(bench_coordinator(argc - 1, argv + 1));
}

const char *tl_run_dir(const char *name) {
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *d = g_run[g_nrun++ % 4];
    snprintf(d, 512, "%s/fs_%s_%ld", tmp, name, (long)getpid());
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", d, d);
    if (system(cmd) != 0) fprintf(stderr, "cannot create %s\n", d), exit(1);
    return d;
}

static int addr_ready(void *arg) { return fs_exists(arg); }

pid_t tl_daemon(const char *run, char *addr, size_t len, const char *bind, ...) {
    char *argv[32] = {"/proc/self/exe", "coordinator", "--bind", (char *)bind, "--state-dir", (char *)run};
    int n = 6;
    va_list ap;
    va_start(ap, bind);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 30;) argv[n++] = (char *)a;
    va_end(ap);
    char path[600];
    snprintf(path, sizeof path, "%s/coordinator/address", run);
    unlink(path);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    g_daemons[g_ndaemons++ % 16] = pid;
    if (!tl_wait(addr_ready, path, 10)) fprintf(stderr, "FAIL: daemon did not write %s\n", path), tl_cleanup(), exit(1);
    char *text = tl_slurp(path);
    snprintf(addr, len, "%.*s", (int)strcspn(text, "\n"), text);
    free(text);
    return pid;
}

void tl_kill(pid_t pid, int sig) {
    kill(pid, sig);
    if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT) waitpid(pid, NULL, 0);
    for (int i = 0; i < 16; i++)
        if (g_daemons[i] == pid && (sig == SIGKILL || sig == SIGTERM || sig == SIGINT)) g_daemons[i] = 0;
}

static char *run_v(int *rc, int with_stderr, const char *sub, va_list ap) {
    char *argv[32] = {"/proc/self/exe", (char *)sub};
    int n = 2, fd[2];
    for (const char *a; (a = va_arg(ap, const char *)) && n < 30;) argv[n++] = (char *)a;
    if (pipe(fd)) return NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        if (with_stderr) dup2(fd[1], 2);
        close(fd[0]);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(fd[1]);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    ssize_t got;
    while ((got = read(fd[0], out + len, cap - 1 - len)) > 0) {
        len += (size_t)got;
        if (len + 1 >= cap) out = realloc(out, cap *= 2);
    }
    out[len] = 0;
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

char *tl_run_status(int *rc, ...) {
    va_list ap;
    va_start(ap, rc);
    char *out = run_v(rc, 0, "status", ap);
    va_end(ap);
    return out;
}

char *tl_run(int *rc, const char *sub, ...) {
    va_list ap;
    va_start(ap, sub);
    char *out = run_v(rc, 1, sub, ap);
    va_end(ap);
    return out;
}

long tl_rss_kb(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    char *text = tl_slurp(path);
    const char *at = text ? strstr(text, "VmRSS:") : NULL;
    long kb = at ? atol(at + 6) : -1;
    free(text);
    return kb;
}

int tl_wait(int (*pred)(void *), void *arg, double timeout_s) {
    double t0 = fs_now();
    while (fs_now() - t0 < timeout_s) {
        if (pred(arg)) return 1;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return pred(arg);
}

char *tl_slurp(const char *path) { return fs_exists(path) ? fs_read_file(path, NULL, NULL) : NULL; }

long tl_count(const char *hay, const char *needle) {
    long n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

void tl_cleanup(void) {
    for (int i = 0; i < 16; i++)
        if (g_daemons[i] > 0) kill(g_daemons[i], SIGKILL), waitpid(g_daemons[i], NULL, 0), g_daemons[i] = 0;
    if (getenv("KEEP_RUN")) return;
    for (int i = 0; i < g_nrun && i < 4; i++) {
        char cmd[2100];
        snprintf(cmd, sizeof cmd, "rm -rf '%.511s'", g_run[i]);
        if (system(cmd) != 0) fprintf(stderr, "warning: cannot remove %s\n", g_run[i]);
    }
}

static void *g_raw_ctx;

void *tl_raw_open(const char *addr) {
    if (!g_raw_ctx) g_raw_ctx = zmq_ctx_new();
    void *s = zmq_socket(g_raw_ctx, ZMQ_DEALER);
    int linger = 1000, hwm = 100000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (zmq_connect(s, addr))
        fprintf(stderr, "FAIL: connect %s: %s\n", addr, zmq_strerror(zmq_errno())), tl_cleanup(), exit(1);
    return s;
}

void tl_raw_send(void *s, const fs_msg *m) {
    static uint8_t buf[FS_PROTO_MAX_MSG];
    char why[256];
    long n = fs_proto_encode(m, buf, sizeof buf, why, sizeof why);
    if (n < 0) fprintf(stderr, "FAIL: encode: %s\n", why), tl_cleanup(), exit(1);
    zmq_send(s, buf, (size_t)n, 0);
}

int tl_raw_recv(void *s, fs_msg *m, double timeout_s) {
    static uint8_t buf[1 << 20];
    char why[256];
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, (long)(timeout_s * 1000)) <= 0) return 0;
    int n = zmq_recv(s, buf, sizeof buf, 0);
    return n > 0 && (size_t)n <= sizeof buf && fs_proto_decode(buf, (size_t)n, m, why, sizeof why) == 0;
}

void tl_raw_close(void *s) { zmq_close(s); }
