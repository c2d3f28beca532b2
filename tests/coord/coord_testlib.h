/* coord_testlib.h — helpers for the coordinator tests: a daemon in a child process (the test
 * binary re-executes itself as `coordinator` or `status`, the very code of the faceswarm
 * subcommands), temp run directories, and file checks. */
#ifndef FACESWARM_COORD_TESTLIB_H
#define FACESWARM_COORD_TESTLIB_H

#include <stddef.h>
#include <sys/types.h>

#include "comms/protocol.h"

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                            \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
            tl_cleanup();                                                                                              \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

/* Call first in main(): if argv asks for a subcommand (coordinator, status, keys), runs it
 * and exits. */
void tl_dispatch(int argc, char **argv);
/* A fresh run directory under $TMPDIR (removed by tl_cleanup unless KEEP_RUN is set). */
const char *tl_run_dir(const char *name);
/* Starts the daemon: extra args after --state-dir run (NULL-terminated). Waits for
 * <run>/coordinator/address and copies it into addr. Returns the child's pid. */
pid_t tl_daemon(const char *run, char *addr, size_t len, const char *bind, ...);
void tl_kill(pid_t pid, int sig); /* signals and reaps */
/* Runs this binary as `status ARGS...` and captures its stdout (caller frees); *rc = exit code. */
char *tl_run_status(int *rc, ...);
/* Runs this binary as `SUB ARGS...` (coordinator, status, keys, bench-coordinator) and
 * captures stdout and stderr together (caller frees); *rc = exit code. */
char *tl_run(int *rc, const char *sub, ...);
long tl_rss_kb(pid_t pid); /* VmRSS of a process, kB; -1 if unreadable */
/* Polls until pred(arg) is true or timeout_s passes; returns 1 when true. */
int tl_wait(int (*pred)(void *), void *arg, double timeout_s);
char *tl_slurp(const char *path); /* whole file or NULL */
long tl_count(const char *hay, const char *needle);
void tl_cleanup(void);
/* A raw DEALER socket, as a broken or hostile client would use (close with tl_raw_close). */
void *tl_raw_open(const char *addr);
void tl_raw_send(void *s, const fs_msg *m);            /* encodes m; exits on an encode error */
int tl_raw_recv(void *s, fs_msg *m, double timeout_s); /* 1 = a reply decoded into m */
void tl_raw_close(void *s);

#endif
