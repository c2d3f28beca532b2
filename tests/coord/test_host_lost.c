/* test_host_lost.c — when every rank of a host goes silent (two forked child ranks on node7,
 * both stopped with SIGSTOP, as a killed host or a cut link leaves them), the coordinator logs
 * one line naming the host and its ranks, "host node7 lost: ranks 2, 3", once; the status
 * (status.json and `faceswarm status`) lists it while it holds. node1, whose ranks keep
 * heartbeating, is not named. One rank of node7 alone silent is not a lost host; once one of
 * them heartbeats again the host is no longer lost, and the log says so. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "comms/coord_client.h"
#include "tests/coord/coord_testlib.h"
#include "core/common.h"

#define TIMEOUT_S 2.0

static char g_addr[256];
static const char *g_run;

static fs_coord_client *connect_rank(int rank, const char *host) {
    fs_coord_identity id = {"host-lost-job", rank, 4, host, (long)getpid(), 7};
    fs_coord_client *c;
    fs_error e = {0};
    if (fs_coord_connect(&c, g_addr, NULL, &id, 0.1, &e)) fprintf(stderr, "rank %d: %s\n", rank, e.msg), exit(1);
    return c;
}

static void child_rank(int rank) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed CHECK in the parent leaves none behind */
    fs_coord_client *c = connect_rank(rank, "node7");
    fs_coord_set_step(c, 40);
    fs_coord_metrics(c, 40, "{\"step_ms\":100}");
    for (;;) pause();
}

static char *file(const char *name) {
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/%s", g_run, name);
    return tl_slurp(path);
}

static int has(const char *name, const char *needle) {
    char *t = file(name);
    int ok = t && strstr(t, needle);
    free(t);
    return ok;
}

static int status_has(void *arg) { return has("status.json", arg); }
static int log_has(void *arg) { return has("coordinator.log", arg); }
static int registered(void *arg) { return fs_coord_registered(arg) && fs_coord_pending(arg) == 0; }

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    g_run = tl_run_dir("coord_host_lost");
    pid_t d = tl_daemon(g_run, g_addr, sizeof g_addr, "tcp://127.0.0.1:*", "--job-id", "host-lost-job", "--world-size",
                        "4", "--timeout", "2", NULL);
    fflush(NULL);
    pid_t child[2];
    for (int i = 0; i < 2; i++)
        if ((child[i] = fork()) == 0) child_rank(2 + i);
    fs_coord_client *ranks[2];
    for (int r = 0; r < 2; r++) ranks[r] = connect_rank(r, "node1");
    for (int r = 0; r < 2; r++) CHECK(tl_wait(registered, ranks[r], 5), "rank %d never registered", r);
    CHECK(tl_wait(status_has, "\"rank\":3,\"host\":\"node7\"", 5) &&
              tl_wait(status_has, "\"rank\":2,\"host\":\"node7\"", 5),
          "node7's ranks never showed in status.json");

    /* One rank of node7 silent: named, its host not lost. */
    kill(child[0], SIGSTOP);
    CHECK(tl_wait(log_has, "warning: rank 2 on node7: no heartbeat", TIMEOUT_S + 3), "rank 2 was not named");
    usleep(1500 * 1000); /* more cron passes */
    CHECK(!has("coordinator.log", "host node7 lost") && !has("status.json", "host node7 lost"),
          "node7 called lost with rank 3 alive");

    /* Both: one host line with both ranks, in the log once and in the status. */
    kill(child[1], SIGSTOP);
    double t0 = fs_now();
    CHECK(tl_wait(log_has, "warning: host node7 lost: ranks 2, 3 (every rank on it) silent for ", TIMEOUT_S + 3),
          "the log has no host line:\n%s", file("coordinator.log"));
    double took = fs_now() - t0;
    CHECK(tl_wait(status_has, "\"warnings\":[\"host node7 lost: ranks 2, 3 (every rank on it) silent for ", 3),
          "status.json does not list the lost host first:\n%s", file("status.json"));
    int rc;
    char *out = tl_run_status(&rc, "--run", g_run, NULL);
    CHECK(rc == 0 && out && strstr(out, "warnings:\n  host node7 lost: ranks 2, 3 (every rank on it) silent for ") &&
              strstr(out, "; last step 40"),
          "faceswarm status:\n%s", out);
    CHECK(!strstr(out, "host node1 lost"), "node1 was named:\n%s", out);
    free(out);
    usleep(2500 * 1000);
    char *log = file("coordinator.log");
    CHECK(tl_count(log, "host node7 lost") == 1, "the host line is not logged exactly once:\n%s", log);
    CHECK(!strstr(log, "host node1 lost"), "node1 was named:\n%s", log);
    free(log);

    /* Rank 3 heartbeats again: the host is back, and says so once. */
    kill(child[1], SIGCONT);
    CHECK(tl_wait(log_has, "host node7 is no longer lost: not every rank on it is silent (ranks 2, 3)", 5),
          "the end of the loss is not logged:\n%s", file("coordinator.log"));
    CHECK(tl_wait(status_has, "\"warnings\":[\"rank 2 on node7: no heartbeat", 3),
          "status.json still lists node7 lost");

    for (int i = 0; i < 2; i++) kill(child[i], SIGKILL), waitpid(child[i], NULL, 0);
    for (int r = 0; r < 2; r++) fs_coord_goodbye(ranks[r], 1, ""), fs_coord_close(ranks[r]);
    tl_kill(d, SIGTERM);
    tl_cleanup();
    printf("host_lost: node7 (ranks 2, 3) named %.1f s after its second rank stopped (timeout %.0f s)\n", took,
           TIMEOUT_S);
    return 0;
}
