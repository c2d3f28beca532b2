/* test_wedge.c — every sequence number the daemon acknowledges is in its files, so a restart
 * never leaves a rank behind a gap (issue 12), and coordinator/metrics.jsonl holds every step
 * of every rank once:
 *  A. a preview is the last message acknowledged before a SIGKILL: the restarted daemon
 *     rebuilds its sequence number (events.jsonl) and the rank's later metrics are stored
 *     (before: the daemon rebuilt an older seq and refused everything after the gap);
 *  B. the daemon's files lost what it had acknowledged (events.jsonl removed): the rank says
 *     at registration what it had acknowledged, the gap is recorded as lost and the rank goes on;
 *  C. a rank restarts (a new incarnation) and sends again steps the killed one had sent: its
 *     lines of those steps replace the old ones. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comms/coord_client.h"
#include "tests/coord/coord_testlib.h"
#include "core/common.h"

#define WORLD 3

static char g_addr[256];
static const char *g_run;
static pid_t g_daemon;

static fs_coord_client *connect_rank(int r) {
    fs_coord_identity id = {"wedge-job", r, WORLD, "wedgehost", 4000 + r, 1};
    fs_coord_client *c;
    fs_error e = {0};
    CHECK(!fs_coord_connect(&c, g_addr, NULL, &id, 0.05, &e), "rank %d: %s", r, e.msg);
    return c;
}

static void metrics(fs_coord_client *c, int from, int to) {
    for (int s = from; s <= to; s++) {
        char json[64];
        snprintf(json, sizeof json, "{\"loss\":%d.25}", s);
        fs_coord_set_step(c, s);
        fs_coord_metrics(c, s, json);
    }
}

static int drained(fs_coord_client *c, double timeout_s) {
    double t0 = fs_now();
    while (fs_coord_pending(c) > 0 && fs_now() - t0 < timeout_s)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    return fs_coord_pending(c) == 0;
}

static void restart_daemon(int drop_events) {
    tl_kill(g_daemon, SIGKILL);
    if (drop_events) {
        char path[700];
        snprintf(path, sizeof path, "%s/coordinator/events.jsonl", g_run);
        unlink(path); /* what an older daemon did: previews acknowledged and never written */
    }
    char addr[256];
    g_daemon = tl_daemon(g_run, addr, sizeof addr, g_addr, NULL); /* the job recorded in the run directory */
    CHECK(!strcmp(addr, g_addr), "restarted on %s, not %s", addr, g_addr);
}

/* Lines of rank r in metrics.jsonl: each step in [1, last] exactly once; returns the seq of
 * step `probe`'s line. */
static long check_steps(const char *text, int r, int last, int probe) {
    static int seen[200];
    memset(seen, 0, sizeof seen);
    long probe_seq = -1;
    char pat[32];
    snprintf(pat, sizeof pat, "{\"rank\":%d,", r);
    for (const char *p = text; (p = strstr(p, pat)); p++) {
        int step = atoi(strstr(p, "\"step\":") + 7);
        CHECK(step >= 1 && step <= last, "rank %d: step %d is not in 1..%d", r, step, last);
        seen[step]++;
        if (step == probe) probe_seq = atol(strstr(p, "\"seq\":") + 6);
    }
    for (int s = 1; s <= last; s++)
        CHECK(seen[s] == 1, "rank %d: step %d appears %d times in metrics.jsonl", r, s, seen[s]);
    return probe_seq;
}

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    g_run = tl_run_dir("coord_wedge");
    g_daemon = tl_daemon(g_run, g_addr, sizeof g_addr, "tcp://127.0.0.1:*", "--job-id", "wedge-job", "--world-size",
                         "3", NULL);

    /* A: a preview (seq 6) and a checkpoint (seq 7) are the last acknowledged messages when the
     * daemon dies. */
    fs_coord_client *a = connect_rank(0);
    metrics(a, 1, 5);
    fs_coord_preview(a, 5, "previews/none.png", "preview");
    /* then a checkpoint whose checksums are named like the line's own fields */
    const char *names[] = {"rank", "seq"}, *sums[] = {"00ff", "ff00"};
    fs_coord_checkpoint(a, 5, "checkpoints/ckpt-5.h5", names, sums, 2);
    CHECK(drained(a, 5), "rank 0: %ld messages not acknowledged before the kill", fs_coord_pending(a));
    restart_daemon(0);
    metrics(a, 6, 10);
    CHECK(drained(a, 5), "rank 0 is wedged after the daemon's restart: %ld messages never acknowledged",
          fs_coord_pending(a));
    fs_coord_goodbye(a, 1, "done");
    fs_coord_close(a);
    int rc;
    char *status = tl_run_status(&rc, "--coordinator", g_addr, "--json", NULL);
    CHECK(rc == 0 && strstr(status, "\"lost\":0}"),
          "the restarted daemon did not rebuild every acknowledged seq of rank 0: %s", status);
    free(status);
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/events.jsonl", g_run);
    char *text = tl_slurp(path);
    CHECK(text && strstr(text, "{\"rank\":0,") && strstr(text, "\"seq\":6,\"type\":\"preview\""),
          "events.jsonl has no line for rank 0's preview: %s", text);
    free(text);

    /* B: the daemon's files lost an acknowledged message. */
    fs_coord_client *b = connect_rank(1);
    metrics(b, 1, 3);
    fs_coord_preview(b, 3, "previews/none.png", "preview");
    CHECK(drained(b, 5), "rank 1: not acknowledged before the kill");
    restart_daemon(1);
    metrics(b, 4, 6);
    CHECK(drained(b, 5), "rank 1 is wedged behind a gap the daemon cannot fill: %ld messages never acknowledged",
          fs_coord_pending(b));
    fs_coord_goodbye(b, 1, "done");
    fs_coord_close(b);

    /* C: rank 2 is killed after step 30 (no goodbye) and resumes from step 21. */
    fs_coord_client *c1 = connect_rank(2);
    metrics(c1, 1, 30);
    CHECK(drained(c1, 5), "rank 2: not acknowledged");
    fs_coord_close(c1);
    fs_coord_client *c2 = connect_rank(2);
    metrics(c2, 21, 40);
    fs_coord_goodbye(c2, 1, "done");
    CHECK(fs_coord_pending(c2) == 0, "rank 2 (new incarnation): %ld not acknowledged", fs_coord_pending(c2));
    fs_coord_close(c2);

    status = tl_run_status(&rc, "--coordinator", g_addr, "--json", NULL);
    CHECK(rc == 0 && strstr(status, "\"lost\":1}"), "status should count the one lost message (rank 1's seq 4): %s",
          status);
    free(status);
    tl_kill(g_daemon, SIGTERM);
    snprintf(path, sizeof path, "%s/coordinator/metrics.jsonl", g_run);
    text = tl_slurp(path);
    CHECK(text, "no %s", path);
    check_steps(text, 0, 10, 0);
    check_steps(text, 1, 6, 0);
    long seq = check_steps(text, 2, 40, 21);
    CHECK(seq == 1, "rank 2's step 21 has seq %ld; expected the new incarnation's line (seq 1)", seq);
    free(text);
    snprintf(path, sizeof path, "%s/coordinator/events.jsonl", g_run);
    text = tl_slurp(path);
    CHECK(text && strstr(text, "\"type\":\"lost\"") && strstr(text, "\"first\":4"),
          "events.jsonl does not record the lost seq 4: %s", text);
    free(text);
    tl_cleanup();
    printf("wedge: a preview acknowledged before a kill, a gap in the daemon's files and a restarted rank: every step "
           "once, none stalled\n");
    return 0;
}
