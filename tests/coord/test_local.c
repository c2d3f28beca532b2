/* test_local.c — the local coordinator that rank 0 starts (fs_coord_local_start) is
 * supervised (issue 12): killed with SIGKILL, it is warned about at once and started again on
 * the same address, the rank reconnects by itself, and every metric line is stored once. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comms/coord_client.h"
#include "tests/coord/coord_testlib.h"
#include "core/common.h"

static int drained(fs_coord_client *c, double timeout_s) {
    double t0 = fs_now();
    while (fs_coord_pending(c) > 0 && fs_now() - t0 < timeout_s)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    return fs_coord_pending(c) == 0;
}

static void metrics(fs_coord_client *c, int from, int to) {
    for (int s = from; s <= to; s++) fs_coord_metrics(c, s, "{\"loss\":1}");
}

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    const char *run = tl_run_dir("coord_local");
    char errpath[700], addr[300];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", run);
    int saved = dup(2), fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && saved >= 0, "cannot redirect stderr to %s", errpath);
    dup2(fd, 2), close(fd); /* the supervisor's warnings */
    fs_coord_local *l;
    fs_error e = {0};
    fs_coord_local_opts o = {.exe = "/proc/self/exe", .run_dir = run, .job_id = "local-job", .world = 1, .timeout_s = 5};
    CHECK(!fs_coord_local_start(&l, &o, addr, sizeof addr, &e), "%s", e.msg);
    fs_coord_identity id = {"local-job", 0, 1, "localhost", 5, 1};
    fs_coord_client *c;
    CHECK(!fs_coord_connect(&c, addr, NULL, &id, 0.05, &e), "%s", e.msg);
    metrics(c, 1, 20);
    CHECK(drained(c, 5), "not acknowledged before the kill");
    long pid = fs_coord_local_pid(l);
    CHECK(pid > 0 && kill((pid_t)pid, SIGKILL) == 0, "no local coordinator to kill (pid %ld)", pid);
    double t0 = fs_now();
    while ((fs_coord_local_pid(l) == pid || fs_coord_local_pid(l) == 0) && fs_now() - t0 < 5)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    long pid2 = fs_coord_local_pid(l);
    CHECK(pid2 > 0 && pid2 != pid, "the local coordinator was not restarted (pid %ld, then %ld)", pid, pid2);
    metrics(c, 21, 40);
    CHECK(drained(c, 10), "the rank's metrics after the restart were not acknowledged: %ld pending",
          fs_coord_pending(c));
    fs_coord_goodbye(c, 1, "done");
    fs_coord_close(c);
    CHECK(fs_coord_local_restarts(l) == 1, "%d restarts; expected 1", fs_coord_local_restarts(l));
    fs_coord_local_stop(l);
    fflush(stderr);
    dup2(saved, 2), close(saved);
    char *err = tl_slurp(errpath);
    CHECK(err && strstr(err, "was killed by signal 9") && strstr(err, "restarting it on tcp://127.0.0.1:"),
          "no warning at the death:\n%s", err);
    free(err);
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/metrics.jsonl", run);
    char *text = tl_slurp(path);
    CHECK(text && tl_count(text, "\n") == 40, "%ld metric lines; expected 40", text ? tl_count(text, "\n") : -1);
    for (int s = 1; s <= 40; s++) {
        char pat[64];
        snprintf(pat, sizeof pat, "\"step\":%d,", s);
        CHECK(tl_count(text, pat) == 1, "step %d appears %ld times", s, tl_count(text, pat));
    }
    free(text);
    tl_cleanup();
    printf("local: the killed local coordinator was warned about and restarted (pid %ld -> %ld); all 40 lines stored "
           "once\n",
           pid, pid2);
    return 0;
}
