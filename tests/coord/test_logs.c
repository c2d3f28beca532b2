/* test_logs.c — what the coordinator says (issue 12):
 *  - a rank that goes silent is logged once when it goes silent and once when it heartbeats
 *    again ("after N s"), not every second while it is silent;
 *  - a goodbye's error text keeps its lines in the log and the status (no '?' for '\n');
 *  - the status shows the job's step of its target step, rank 0's loss and the ETA. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comms/coord_client.h"
#include "tests/coord/coord_testlib.h"
#include "core/common.h"

static char g_addr[256];
static const char *g_run;

static void heartbeat(void *s, uint32_t rank, uint64_t inc, long step) {
    fs_msg m = {.type = FS_MSG_HEARTBEAT, .rank = rank, .inc = inc};
    m.u.hb.step = step, m.u.hb.bucket = -1;
    tl_raw_send(s, &m);
}

static int sleep_s(double s) { return nanosleep(&(struct timespec){(time_t)s, (long)((s - (long)s) * 1e9)}, NULL); }

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    g_run = tl_run_dir("coord_logs");
    pid_t d = tl_daemon(g_run, g_addr, sizeof g_addr, "tcp://127.0.0.1:*", "--job-id", "log-job", "--world-size", "2",
                        "--timeout", "0.3", NULL);
    fs_coord_identity id = {"log-job", 0, 2, "host0", 10, 1};
    fs_coord_client *c;
    fs_error e = {0};
    CHECK(!fs_coord_connect(&c, g_addr, NULL, &id, 0.05, &e), "%s", e.msg);
    fs_coord_set_step(c, 10);
    fs_coord_metrics(c, 10, "{\"loss\":0.25,\"step_ms\":100,\"images_per_s\":160,\"target_step\":1000}");

    /* Rank 1 (a raw client) registers, heartbeats, is silent for 2 s (~7 timeouts), comes back. */
    void *s = tl_raw_open(g_addr);
    fs_msg m = {.type = FS_MSG_REGISTER, .rank = 1, .inc = 77};
    m.u.reg.world = 2, m.u.reg.pid = 11, strcpy(m.u.reg.job_id, "log-job"), strcpy(m.u.reg.host, "host1");
    tl_raw_send(s, &m);
    heartbeat(s, 1, 77, 10);
    sleep_s(2.0);
    heartbeat(s, 1, 77, 10);
    sleep_s(0.4);

    int rc;
    char *st = tl_run_status(&rc, "--coordinator", g_addr, NULL);
    CHECK(rc == 0 && strstr(st, "step 10 of 1000  loss 0.2500  ETA 1m39s"),
          "status without the target step, loss and ETA:\n%s", st);
    free(st);
    st = tl_run_status(&rc, "--coordinator", g_addr, "--json", NULL);
    CHECK(rc == 0 && strstr(st, "\"step\":10,\"target_step\":1000,\"loss\":0.25,\"eta_s\":99,"), "status JSON: %s", st);
    free(st);
    fs_coord_goodbye(c, 0, "training failed: disk full\n  hint: free space in run/");
    fs_coord_close(c);
    sleep_s(0.3);
    st = tl_run_status(&rc, "--coordinator", g_addr, "--json", NULL);
    CHECK(rc == 0 && strstr(st, "exited with an error: training failed: disk full\\n  hint: free space in run/"),
          "status JSON: %s", st);
    free(st);
    tl_raw_close(s);
    tl_kill(d, SIGTERM);

    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/coordinator.log", g_run);
    char *log = tl_slurp(path);
    CHECK(log, "no %s", path);
    char *back = strstr(log, "rank 1 on host1 heartbeats again after 2 s");
    CHECK(back && tl_count(back + 40, "heartbeats again") == 0, "the end of the silence is not logged once:\n%s", log);
    *back = 0; /* (rank 1 goes silent again after the test's last heartbeat) */
    long silent = tl_count(log, "rank 1 on host1: no heartbeat for");
    CHECK(silent == 1, "'no heartbeat' logged %ld times during one 2 s silence; expected once", silent);
    *back = 'r';
    CHECK(strstr(log, "error: training failed: disk full\n  hint: free space in run/\n"),
          "the goodbye's lines are not kept:\n%s", log);
    CHECK(!strstr(log, "disk full?"), "a newline became '?':\n%s", log);
    free(log);
    tl_cleanup();
    printf("logs: a silence logged once and its end once; a goodbye's lines kept; status shows step of target, loss, "
           "ETA\n");
    return 0;
}
