/* test_timeout.c — a rank stopped with SIGSTOP (a forked child process, as a real rank
 * would be) is named within the heartbeat timeout, with its host, last step and the
 * collective it was in, in status.json and in `faceswarm status --json`; a straggler (step
 * time far above the median) is flagged too. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "comms/coord_client.h"
#include "tests/coord/coord_testlib.h"
#include "core/common.h"

#define TIMEOUT_S "2"

static char g_addr[256];
static const char *g_run;

static fs_coord_client *connect_rank(int rank, const char *host) {
    fs_coord_identity id = {"timeout-job", rank, 4, host, (long)getpid(), 7};
    fs_coord_client *c;
    fs_error e = {0};
    if (fs_coord_connect(&c, g_addr, NULL, &id, 0.1, &e)) fprintf(stderr, "rank %d: %s\n", rank, e.msg), exit(1);
    return c;
}

/* The child rank: registers, reports step 1200 inside all-reduce bucket 5 (seq 9131), then
 * heartbeats until it is stopped. */
static void child_rank(void) {
    fs_coord_client *c = connect_rank(3, "node7");
    fs_coord_set_step(c, 1200);
    fs_coord_set_collective(c, 9131, 5, 1);
    fs_coord_metrics(c, 1200, "{\"step_ms\":100}");
    for (;;) pause();
}

static int named(void *arg) {
    (void)arg;
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/status.json", g_run);
    char *text = tl_slurp(path);
    int ok = text && strstr(text, "rank 3 on node7: no heartbeat for ") &&
             strstr(text, "last step 1200; in all-reduce bucket 5, seq 9131");
    free(text);
    return ok;
}

static int registered(void *arg) { return fs_coord_registered(arg) && fs_coord_pending(arg) == 0; }

static int child_seen(void *arg) {
    (void)arg;
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/status.json", g_run);
    char *text = tl_slurp(path);
    int ok = text && strstr(text, "\"host\":\"node7\"") && strstr(text, "\"step\":1200");
    free(text);
    return ok;
}

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    g_run = tl_run_dir("coord_timeout");
    pid_t d = tl_daemon(g_run, g_addr, sizeof g_addr, "tcp://127.0.0.1:*", "--job-id", "timeout-job", "--world-size",
                        "4", "--timeout", TIMEOUT_S, NULL);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) child_rank();
    fs_coord_client *ranks[3];
    for (int r = 0; r < 3; r++) ranks[r] = connect_rank(r, "node1");
    fs_coord_set_collective(ranks[0], 9140, 2, 0);
    fs_coord_metrics(ranks[0], 1201, "{\"step_ms\":100}");
    fs_coord_metrics(ranks[1], 1201, "{\"step_ms\":110}");
    fs_coord_metrics(ranks[2], 1201, "{\"step_ms\":900}"); /* 8x the median: a straggler */
    for (int r = 0; r < 3; r++) CHECK(tl_wait(registered, ranks[r], 5), "rank %d never registered", r);
    CHECK(tl_wait(child_seen, NULL, 5), "the child rank never showed in status.json");
    kill(child, SIGSTOP);
    double t0 = fs_now();
    CHECK(tl_wait(named, NULL, 2.0 + 3.0), "the stopped rank was not named within timeout + 3 s");
    double took = fs_now() - t0;
    int rc;
    char *out = tl_run_status(&rc, "--run", g_run, "--json", NULL);
    CHECK(rc == 0 && out && strstr(out, "rank 3 on node7: no heartbeat for") && strstr(out, "\"state\":\"silent\""),
          "status --json:\n%s", out);
    CHECK(strstr(out, "rank 2 on node1: straggler: step time 900 ms"), "straggler not flagged:\n%s", out);
    CHECK(!strstr(out, "rank 0 on node1: no heartbeat") && !strstr(out, "rank 1 on node1: no"),
          "a live rank was named:\n%s", out);
    free(out);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    for (int r = 0; r < 3; r++) fs_coord_goodbye(ranks[r], 1, ""), fs_coord_close(ranks[r]);
    tl_kill(d, SIGTERM);
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/coordinator.log", g_run);
    char *log = tl_slurp(path);
    CHECK(log && strstr(log, "warning: rank 3 on node7: no heartbeat"), "the log does not name the rank:\n%s", log);
    free(log);
    tl_cleanup();
    printf("timeout: stopped rank named %.1f s after SIGSTOP (timeout %s s); straggler flagged\n", took, TIMEOUT_S);
    return 0;
}
