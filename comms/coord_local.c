/* coord_local.c — a coordinator for a run with none configured (rank 0 starts one on
 * 127.0.0.1), and the checkpoint registry reader that `--resume auto` consults first. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "comms/coord_client.h"
#include "comms/coord_json.h"
#include "comms/protocol.h"

#define SPAWN_WAIT_S 10.0

static void exec_daemon(const char *exe, const char *run_dir, const char *keyfile, double timeout_s) {
    setpgid(0, 0); /* a Ctrl-C meant for the trainer does not take the job's memory with it */
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%g", timeout_s > 0 ? timeout_s : 30.0);
    char *argv[14] = {(char *)exe, "coordinator", "--bind", "tcp://127.0.0.1:*", "--state-dir", (char *)run_dir,
                      "--idle-exit", "60", "--timeout", timeout, NULL};
    int n = 10;
    if (keyfile && keyfile[0]) argv[n++] = "--keys", argv[n++] = (char *)keyfile;
    argv[n] = NULL;
    execv(exe, argv);
    fprintf(stderr, "error: cannot run %s coordinator: %s\n", exe, strerror(errno));
    _exit(127);
}

/* Waits for the child to write <run>/coordinator/address (the port it bound). */
static int wait_address(pid_t pid, const char *path, char *out, size_t len, fs_error *e) {
    double t0 = fs_now();
    while (fs_now() - t0 < SPAWN_WAIT_S) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return fs_errorf(e, FS_EXIT_FAIL, "the local coordinator (pid %ld) exited with status %d before it listened\n  hint: see its messages above",
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
    return fs_errorf(e, FS_EXIT_FAIL, "the local coordinator (pid %ld) did not write %s within %.0f s\n  hint: check the run directory is writable",
                     (long)pid, path, SPAWN_WAIT_S);
}

int fs_coord_spawn_local(const char *exe, const char *run_dir, const char *keyfile, double timeout_s, char *address_out,
                         size_t len, long *pid_out, fs_error *e) {
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/coordinator", run_dir);
    snprintf(path, sizeof path, "%s/address", dir);
    if (fs_mkdir_p(dir, e)) return -1;
    if (fs_exists(path) && unlink(path))
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot remove the stale address file: %s", path, strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return fs_errorf(e, FS_EXIT_FAIL, "fork for the local coordinator: %s", strerror(errno));
    if (pid == 0) exec_daemon(exe, run_dir, keyfile, timeout_s);
    if (pid_out) *pid_out = (long)pid;
    return wait_address(pid, path, address_out, len, e);
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
        if (!strchr(line, '\n') || fs_json_get_i64(line, "step", &step) || fs_json_get_str(line, "path", rel, sizeof rel) ||
            fs_proto_path_ok(rel, strlen(rel), why, sizeof why) || !strstr(line, "\"checksums\":{\""))
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
