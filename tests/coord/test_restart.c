/* test_restart.c — the coordinator is killed (SIGKILL) while ranks stream metrics, then
 * restarted on the same address and run directory: it rebuilds its state from the files,
 * the ranks re-register on their own and resend what was not acknowledged, and in the end
 * every metric line is present exactly once (none lost, none duplicated). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comms/coord_client.h"
#include "comms/tfevents.h"
#include "tests/coord/coord_testlib.h"
#include "core/common.h"

#define N_RANKS 4
#define N_STEPS 400

static char g_addr[256];
static const char *g_run;
static atomic_int g_sent;

static void *rank_main(void *arg) {
    int r = (int)(intptr_t)arg;
    fs_coord_identity id = {"restart-job", r, N_RANKS, "testhost", 2000 + r, 1};
    fs_coord_client *c;
    fs_error e = {0};
    if (fs_coord_connect(&c, g_addr, NULL, &id, 0.05, &e)) return fprintf(stderr, "rank %d: %s\n", r, e.msg), (void *)1;
    for (int s = 1; s <= N_STEPS; s++) {
        char json[96];
        snprintf(json, sizeof json, "{\"loss\":%d.5,\"step_ms\":5}", s);
        fs_coord_set_step(c, s);
        fs_coord_metrics(c, s, json);
        atomic_fetch_add(&g_sent, 1);
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL); /* ~2 s of training */
    }
    double t0 = fs_now(); /* the daemon was down for a while: give the resend time to finish */
    while (fs_coord_pending(c) > 0 && fs_now() - t0 < 10) nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    fs_coord_goodbye(c, 1, "done");
    long left = fs_coord_pending(c), dropped = fs_coord_dropped(c);
    fs_coord_close(c);
    if (left || dropped) fprintf(stderr, "rank %d: %ld unacknowledged, %ld dropped\n", r, left, dropped);
    return (void *)(intptr_t)(left || dropped);
}

static void check_lines(void) {
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/metrics.jsonl", g_run);
    char *text = tl_slurp(path);
    CHECK(text, "no %s", path);
    static int seen[N_RANKS][N_STEPS + 1];
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        CHECK(nl, "torn line at the end of metrics.jsonl: %.80s", line);
        *nl = 0;
        const char *r = strstr(line, "\"rank\":"), *s = strstr(line, "\"step\":");
        CHECK(r && s, "line without rank/step: %s", line);
        int rank = atoi(r + 7), step = atoi(s + 7);
        CHECK(rank >= 0 && rank < N_RANKS && step >= 1 && step <= N_STEPS, "bad line: %s", line);
        seen[rank][step]++;
        line = nl + 1;
    }
    for (int r = 0; r < N_RANKS; r++)
        for (int s = 1; s <= N_STEPS; s++) CHECK(seen[r][s] == 1, "rank %d step %d arrived %d times", r, s, seen[r][s]);
    free(text);
}

/* Every event file (one per daemon start) reads back with good CRCs. */
static void check_events(void) {
    char cmd[800];
    snprintf(cmd, sizeof cmd, "ls %s/tensorboard/events.out.tfevents.* 2>/dev/null | wc -l", g_run);
    FILE *p = popen(cmd, "r");
    int files = 0;
    CHECK(p && fscanf(p, "%d", &files) == 1, "cannot list event files");
    pclose(p);
    CHECK(files == 2, "%d event files; expected one per daemon start (2)", files);
}

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    g_run = tl_run_dir("coord_restart");
    pid_t d = tl_daemon(g_run, g_addr, sizeof g_addr, "tcp://127.0.0.1:*", "--job-id", "restart-job", "--world-size",
                        "4", NULL);
    pthread_t th[N_RANKS];
    for (int r = 0; r < N_RANKS; r++) pthread_create(&th[r], NULL, rank_main, (void *)(intptr_t)r);
    while (atomic_load(&g_sent) < N_RANKS * N_STEPS / 3) nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    tl_kill(d, SIGKILL);
    int sent_at_kill = atomic_load(&g_sent);
    nanosleep(&(struct timespec){0, 400 * 1000 * 1000}, NULL); /* ranks keep training, buffering */
    char addr2[256];
    d = tl_daemon(g_run, addr2, sizeof addr2, g_addr, NULL); /* same port, same run directory, the job it recorded */
    CHECK(!strcmp(addr2, g_addr), "restarted on %s, not %s", addr2, g_addr);
    for (int r = 0; r < N_RANKS; r++) {
        void *bad;
        pthread_join(th[r], &bad);
        CHECK(!bad, "rank %d lost messages", r);
    }
    tl_kill(d, SIGTERM);
    check_lines();
    check_events();
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/coordinator.log", g_run);
    char *log = tl_slurp(path);
    CHECK(log && strstr(log, "rebuilt state from"), "the restarted daemon did not rebuild its state:\n%s", log);
    free(log);
    tl_cleanup();
    printf("restart: killed after %d of %d metrics, restarted; all %d lines present exactly once\n", sent_at_kill,
           N_RANKS * N_STEPS, N_RANKS * N_STEPS);
    return 0;
}
