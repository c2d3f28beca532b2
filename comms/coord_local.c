/* coord_local.c — a coordinator for a run with none configured (rank 0 starts one on
 * 127.0.0.1 and keeps it running), and the checkpoint registry reader that `--resume auto`
 * consults first. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "comms/coord_client.h"
#include "core/json.h"
#include "comms/protocol.h"

#define SPAWN_WAIT_S 10.0
#define RESTART_BACKOFF_S 0.5 /* doubled after each restart */

struct fs_coord_local {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char exe[4096], run_dir[4096], keyfile[4096], job[FS_PROTO_MAX_JOB + 1], address[300];
    char timeout[32], world[16];
    pid_t pid;    /* under mu: the child running now, 0 = none */
    int stopping; /* under mu: fs_coord_local_stop was called */
    int restarts; /* under mu */
    int thread_started;
};

/* Runs in the child after fork: only exec. */
static void exec_daemon(const fs_coord_local *l, const char *bind) {
    setpgid(0, 0); /* a Ctrl-C meant for the trainer does not take the job's memory with it */
    char *argv[20] = {(char *)l->exe,     "coordinator",  "--bind",       (char *)bind,     "--state-dir",
                      (char *)l->run_dir, "--idle-exit",  "60",           "--timeout",      (char *)l->timeout,
                      "--job-id",         (char *)l->job, "--world-size", (char *)l->world, NULL};
    int n = 14;
    if (l->keyfile[0]) argv[n++] = "--keys", argv[n++] = (char *)l->keyfile;
    argv[n] = NULL;
    execv(l->exe, argv);
    fprintf(stderr, "error: cannot run %s coordinator: %s\n", l->exe, strerror(errno));
    _exit(127);
}

static pid_t fork_daemon(const fs_coord_local *l, const char *bind, fs_error *e) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return fs_errorf(e, FS_EXIT_FAIL, "fork for the local coordinator: %s\n  hint: too many processes?",
                         strerror(errno)),
               -1;
    if (pid == 0) exec_daemon(l, bind);
    return pid;
}

/* Waits for the child to write <run>/coordinator/address (the port it bound). */
static int wait_address(pid_t pid, const char *path, char *out, size_t len, fs_error *e) {
    double t0 = fs_now();
    while (fs_now() - t0 < SPAWN_WAIT_S) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return fs_errorf(e, FS_EXIT_FAIL,
                             "the local coordinator (pid %ld) exited with status %d before it listened\n  hint: see "
                             "its messages above",
                             (long)pid, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        char *text = fs_exists(path) ? fs_read_file(path, NULL, NULL) : NULL;
        if (text) {
            text[strcspn(text, "\n")] = 0;
            snprintf(out, len, "%s", text);
            free(text);
            return 0;
        }
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return fs_errorf(e, FS_EXIT_FAIL,
                     "the local coordinator (pid %ld) did not write %s within %.0f s\n  hint: check the run directory "
                     "is writable",
                     (long)pid, path, SPAWN_WAIT_S);
}

static void describe_exit(int st, char *out, size_t n) {
    if (WIFSIGNALED(st)) snprintf(out, n, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else snprintf(out, n, "exited with status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* Sleeps s seconds unless stopped meanwhile (under mu); returns stopping. */
static int backoff(fs_coord_local *l, double s) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long ns = until.tv_nsec + (long)((s - (long)s) * 1e9);
    until.tv_sec += (time_t)s + ns / 1000000000L, until.tv_nsec = ns % 1000000000L;
    while (!l->stopping && pthread_cond_timedwait(&l->cv, &l->mu, &until) == 0) {}
    return l->stopping;
}

/* The supervisor: the ranks' metrics, checkpoints and status need the daemon for the whole
 * run, so a death is said at once and the daemon is started again on the same address (the
 * ranks reconnect and resend what it did not store). Bounded: a daemon that keeps dying is
 * given up on, with a warning that says what is lost. */
static void *supervise(void *arg) {
    fs_coord_local *l = arg;
    double wait_s = RESTART_BACKOFF_S;
    pthread_mutex_lock(&l->mu);
    while (!l->stopping && l->pid > 0) {
        pid_t pid = l->pid;
        pthread_mutex_unlock(&l->mu);
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        pthread_mutex_lock(&l->mu);
        l->pid = 0;
        if (l->stopping) break;
        char how[128];
        describe_exit(st, how, sizeof how);
        if (l->restarts >= FS_COORD_LOCAL_RESTARTS || (WIFEXITED(st) && WEXITSTATUS(st) == FS_EXIT_BADINPUT)) {
            fs_warn("the local coordinator (pid %ld) %s; not restarted (%d restarts so far): the rest of this run's "
                    "coordinator metrics, "
                    "checkpoint registry and status are lost (training goes on; see %s/coordinator/coordinator.log)",
                    (long)pid, how, l->restarts, l->run_dir);
            break;
        }
        l->restarts++;
        fs_warn("the local coordinator (pid %ld) %s; restarting it on %s in %.1f s (restart %d of at most %d)",
                (long)pid, how, l->address, wait_s, l->restarts, FS_COORD_LOCAL_RESTARTS);
        if (backoff(l, wait_s)) break;
        wait_s *= 2;
        fs_error e = {0};
        l->pid = fork_daemon(l, l->address, &e);
        if (l->pid < 0) fs_warn("%s", e.msg), l->pid = 0;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int fs_coord_local_start(fs_coord_local **out, const fs_coord_local_opts *o, char *address_out, size_t len,
                         fs_error *e) {
    *out = NULL;
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/coordinator", o->run_dir);
    snprintf(path, sizeof path, "%s/address", dir);
    if (fs_mkdir_p(dir, e)) return -1;
    if (fs_exists(path) && unlink(path))
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot remove the stale address file: %s", path, strerror(errno));
    fs_coord_local *l = fs_calloc(1, sizeof *l);
    snprintf(l->exe, sizeof l->exe, "%s", o->exe);
    snprintf(l->run_dir, sizeof l->run_dir, "%s", o->run_dir);
    snprintf(l->keyfile, sizeof l->keyfile, "%s", o->keyfile ? o->keyfile : "");
    snprintf(l->job, sizeof l->job, "%s", o->job_id);
    snprintf(l->timeout, sizeof l->timeout, "%g", o->timeout_s > 0 ? o->timeout_s : 30.0);
    snprintf(l->world, sizeof l->world, "%d", o->world);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->pid = fork_daemon(l, "tcp://127.0.0.1:*", e);
    if (l->pid < 0 || wait_address(l->pid, path, l->address, sizeof l->address, e)) {
        l->pid = 0;
        fs_coord_local_stop(l);
        return -1;
    }
    snprintf(address_out, len, "%s", l->address);
    int rc = pthread_create(&l->thread, NULL, supervise, l);
    if (rc) {
        fs_warn("cannot start the local coordinator's supervisor thread (%s): it is not restarted if it dies",
                strerror(rc));
        l->thread_started = -1; /* the stop reaps the child itself */
    } else l->thread_started = 1;
    *out = l;
    return 0;
}

long fs_coord_local_pid(fs_coord_local *l) {
    pthread_mutex_lock(&l->mu);
    long pid = l->pid;
    pthread_mutex_unlock(&l->mu);
    return pid;
}

int fs_coord_local_restarts(fs_coord_local *l) {
    pthread_mutex_lock(&l->mu);
    int n = l->restarts;
    pthread_mutex_unlock(&l->mu);
    return n;
}

void fs_coord_local_stop(fs_coord_local *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stopping = 1;
    pid_t pid = l->pid;
    if (pid > 0) kill(pid, SIGTERM);
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (l->thread_started == 1) pthread_join(l->thread, NULL); /* it reaps the child */
    else if (pid > 0) waitpid(pid, NULL, 0);
    pthread_cond_destroy(&l->cv), pthread_mutex_destroy(&l->mu);
    free(l);
}

/* ---------------------------------------------------------------- registry */
int fs_coord_registry_read(const char *run_dir, char ***paths_out, long **steps_out, fs_error *e) {
    char path[4300];
    snprintf(path, sizeof path, "%s/coordinator/registry.jsonl", run_dir);
    *paths_out = NULL, *steps_out = NULL;
    if (!fs_exists(path)) return 0;
    FILE *f = fs_fopen(path, "r", e);
    if (!f) return -1;
    char **paths = NULL, *line = NULL, rel[FS_PROTO_MAX_PATH + 1], why[256];
    long *steps = NULL;
    int n = 0;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        int64_t step;
        /* A torn last line (the daemon was killed mid-write) has no newline: skip it. */
        if (!strchr(line, '\n') || fs_json_get_i64(line, "step", &step) ||
            fs_json_get_str(line, "path", rel, sizeof rel) || fs_proto_path_ok(rel, strlen(rel), why, sizeof why) ||
            !strstr(line, "\"checksums\":{\""))
            continue;
        paths = fs_realloc(paths, (size_t)(n + 1) * sizeof *paths);
        steps = fs_realloc(steps, (size_t)(n + 1) * sizeof *steps);
        paths[n] = fs_strdup(rel), steps[n++] = (long)step;
    }
    free(line);
    fclose(f);
    for (int i = 0; i < n / 2; i++) { /* newest first */
        char *tp = paths[i];
        long ts = steps[i];
        paths[i] = paths[n - 1 - i], steps[i] = steps[n - 1 - i];
        paths[n - 1 - i] = tp, steps[n - 1 - i] = ts;
    }
    *paths_out = paths, *steps_out = steps;
    return n;
}
