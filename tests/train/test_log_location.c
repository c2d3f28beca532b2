/* test_log_location.c — fs_die's message carries the source location (file:line) only at
 * debug level (FACESWARM_LOG=debug or -v), never otherwise: user-facing messages show no
 * source paths. Each case runs fs_die in a child and reads its stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/common.h"

static int die_in_child(const char *env_level, char *out, size_t len, int *status) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        if (env_level) setenv("FACESWARM_LOG", env_level, 1);
        else unsetenv("FACESWARM_LOG");
        if (fs_log_init_from_env() != 0) _exit(99);
        fs_die(FS_EXIT_FAIL, "boom\n  hint: none");
    }
    close(fd[1]);
    ssize_t n, got = 0;
    while ((n = read(fd[0], out + got, len - 1 - (size_t)got)) > 0) got += n;
    out[got] = 0;
    close(fd[0]);
    waitpid(pid, status, 0);
    return 0;
}

int main(void) {
    char msg[1024];
    int st, fails = 0;
    const char *cases[] = {NULL, "info", "warning", "debug"};
    for (int i = 0; i < 4; i++) {
        if (die_in_child(cases[i], msg, sizeof msg, &st) != 0) return 1;
        int debug = cases[i] && !strcmp(cases[i], "debug");
        int has_loc = strstr(msg, "test_log_location.c:") != NULL;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != FS_EXIT_FAIL || !strstr(msg, "error: boom") || has_loc != debug) {
            fprintf(stderr, "FAIL: FACESWARM_LOG=%s: status %d, message '%s' (location expected: %d)\n",
                    cases[i] ? cases[i] : "(unset)", WIFEXITED(st) ? WEXITSTATUS(st) : -1, msg, debug);
            fails++;
        }
    }
    if (fs_log_parse_level("warn") != FS_LOG_WARN || fs_log_parse_level("loud") != -1) {
        fprintf(stderr, "FAIL: fs_log_parse_level\n");
        fails++;
    }
    if (!fails) printf("log location: only at debug level\n");
    return fails ? 1 : 0;
}
