/* test_job.c — the daemon serves the job of its command line, whatever clients send
 * (issue 12): a register of another job sent first does not lock the real job out; a daemon
 * with no job to serve exits 2; a world of 65,536 costs memory for the ranks present, not
 * for the highest rank number; a flood of re-registrations is O(1) each and logs a bounded
 * number of lines, with "similar lines suppressed" for the rest. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comms/coord_client.h"
#include "tests/coord/coord_testlib.h"
#include "core/common.h"

#define FLOOD 3000

static char g_addr[256];

static fs_msg reg(const char *job, uint32_t rank, uint32_t world, uint64_t inc) {
    fs_msg m = {.type = FS_MSG_REGISTER, .rank = rank, .inc = inc};
    m.u.reg.world = world, m.u.reg.pid = 1 + rank, m.u.reg.config_hash = 1;
    snprintf(m.u.reg.job_id, sizeof m.u.reg.job_id, "%s", job);
    snprintf(m.u.reg.host, sizeof m.u.reg.host, "flood");
    return m;
}

/* A welcome for (rank, inc) arrives within timeout_s (other replies are skipped). */
static int welcomed(void *s, uint32_t rank, uint64_t inc, double timeout_s) {
    fs_msg m;
    double t0 = fs_now();
    while (fs_now() - t0 < timeout_s)
        if (tl_raw_recv(s, &m, 0.1) && m.type == FS_MSG_WELCOME && m.rank == rank && m.inc == inc) return 1;
    return 0;
}

static void no_job_is_bad_input(void) {
    const char *run = tl_run_dir("coord_job_none");
    int rc;
    char *out = tl_run(&rc, "coordinator", "--bind", "tcp://127.0.0.1:*", "--state-dir", run, NULL);
    CHECK(rc == 2 && strstr(out, "--job-id") && strstr(out, "hint:"), "a daemon with no job to serve: exit %d, %s", rc,
          out);
    free(out);
    out = tl_run(&rc, "coordinator", "--state-dir", run, "--job-id", "a b", "--world-size", "2", NULL);
    CHECK(rc == 2 && strstr(out, "--job-id 'a b'"), "a bad --job-id: exit %d, %s", rc, out);
    free(out);
}

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    no_job_is_bad_input();
    const char *run = tl_run_dir("coord_job");
    pid_t d =
        tl_daemon(run, g_addr, sizeof g_addr, "tcp://127.0.0.1:*", "--job-id", "job-a", "--world-size", "65536", NULL);
    long rss0 = tl_rss_kb(d);

    /* A stray register of another job arrives first. */
    void *s = tl_raw_open(g_addr);
    fs_msg m = reg("job-b", 0, 4, 11);
    tl_raw_send(s, &m);
    CHECK(!welcomed(s, 0, 11, 0.5), "a register of job-b was welcomed by job-a's coordinator");
    fs_coord_identity id = {"job-a", 0, 65536, "realhost", 99, 1};
    fs_coord_client *c;
    fs_error e = {0};
    CHECK(!fs_coord_connect(&c, g_addr, NULL, &id, 0.05, &e), "%s", e.msg);
    double t0 = fs_now();
    while (!fs_coord_registered(c) && fs_now() - t0 < 3) nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    CHECK(fs_coord_registered(c), "the real job's rank 0 was locked out by a stray register of another job");

    /* The highest rank of the world, and a world size that is not the job's. */
    m = reg("job-a", 65535, 65536, 12);
    tl_raw_send(s, &m);
    CHECK(welcomed(s, 65535, 12, 2), "rank 65535 of the job's world was not welcomed");
    m = reg("job-a", 7, 8, 13);
    tl_raw_send(s, &m);
    CHECK(!welcomed(s, 7, 13, 0.3), "a register with world 8 was welcomed by a coordinator of world 65536");
    long rss1 = tl_rss_kb(d);
    CHECK(rss1 - rss0 < 40 * 1024, "RSS grew from %ld to %ld kB for 2 present ranks of a 65536-rank world", rss0, rss1);

    /* A flood of re-registrations of one rank, each a new incarnation. */
    for (uint64_t i = 0; i < FLOOD; i++) {
        m = reg("job-a", 5, 65536, 1000 + i);
        tl_raw_send(s, &m);
    }
    CHECK(welcomed(s, 5, 1000 + FLOOD - 1, 10), "the last of %d registrations was not welcomed", FLOOD);
    long rss2 = tl_rss_kb(d);
    CHECK(rss2 - rss0 < 40 * 1024, "RSS grew from %ld to %ld kB after %d registrations", rss0, rss2, FLOOD);
    int rc;
    char *st = tl_run_status(&rc, "--coordinator", g_addr, "--json", NULL);
    CHECK(rc == 0 && strstr(st, "\"job\":\"job-a\"") && strstr(st, "\"world\":65536,"), "status: %s", st);
    free(st);
    fs_coord_goodbye(c, 1, "done");
    fs_coord_close(c);
    tl_raw_close(s);
    tl_kill(d, SIGTERM);

    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/coordinator.log", run);
    char *log = tl_slurp(path);
    CHECK(log, "no %s", path);
    CHECK(strstr(log, "refused a register from rank 0 of job 'job-b'") &&
              strstr(log, "this coordinator serves job 'job-a'"),
          "no refusal logged:\n%.2000s", log);
    long again = tl_count(log, "registered again");
    CHECK(again >= 1 && again <= 20, "%ld 're-registered' lines for %d registrations; expected at most 20", again,
          FLOOD);
    CHECK(strstr(log, "similar lines suppressed"), "no 'similar lines suppressed' summary:\n%.3000s", log);
    CHECK(tl_count(log, "\n") < 200, "%ld log lines for a flood of %d registrations", tl_count(log, "\n"), FLOOD);
    free(log);
    snprintf(path, sizeof path, "%s/coordinator/job.json", run);
    log = tl_slurp(path);
    CHECK(log && strstr(log, "\"job\":\"job-a\"") && strstr(log, "\"world\":65536"), "job.json: %s", log);
    free(log);
    tl_cleanup();
    printf("job: another job's register refused, the real job served; RSS +%ld kB for a 65536-rank world; %d "
           "re-registrations logged in a few lines\n",
           rss2 - rss0, FLOOD);
    return 0;
}
