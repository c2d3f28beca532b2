/* test_overflow.c — a rank trains while no coordinator is up: its client buffers
 * FS_COORD_BUFFER messages and counts the rest as dropped (never blocking the caller). When
 * the daemon comes up, every buffered message arrives in order, and the loss is reported:
 * in the client's count, in the lines' "dropped" field, and as a warning in the status. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comms/coord_client.h"
#include "tests/coord/coord_testlib.h"
#include "core/common.h"

#define EXTRA 37

static const char *g_run;

static int drained(void *arg) { return fs_coord_registered(arg) && fs_coord_pending(arg) == 0; }

static int warned(void *arg) {
    (void)arg;
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/status.json", g_run);
    char *text = tl_slurp(path);
    int ok = text && strstr(text, "rank 0 on ovhost: lost 37 messages to a full client buffer");
    free(text);
    return ok;
}

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    g_run = tl_run_dir("coord_overflow");
    char addr[256], addr2[256];
    pid_t d = tl_daemon(g_run, addr, sizeof addr, "tcp://127.0.0.1:*", "--job-id", "overflow-job", "--world-size", "1",
                        NULL); /* only to get a free port */
    tl_kill(d, SIGKILL);
    fs_coord_identity id = {"overflow-job", 0, 1, "ovhost", 77, 1};
    fs_coord_client *c;
    fs_error e = {0};
    CHECK(fs_coord_connect(&c, addr, NULL, &id, 0.05, &e) == 0, "%s", e.msg);
    double t0 = fs_now();
    for (int s = 1; s <= FS_COORD_BUFFER + EXTRA; s++) {
        char json[64];
        snprintf(json, sizeof json, "{\"loss\":%d}", s);
        fs_coord_metrics(c, s, json);
    }
    double took = fs_now() - t0;
    CHECK(fs_coord_dropped(c) == EXTRA, "dropped %ld; expected %d", fs_coord_dropped(c), EXTRA);
    CHECK(fs_coord_pending(c) == FS_COORD_BUFFER, "pending %ld", fs_coord_pending(c));
    d = tl_daemon(g_run, addr2, sizeof addr2, addr, NULL);
    CHECK(tl_wait(drained, c, 20), "buffer not drained: %ld pending", fs_coord_pending(c));
    fs_coord_metrics(c, FS_COORD_BUFFER + EXTRA + 1, "{\"loss\":1}"); /* carries the drop count */
    CHECK(tl_wait(drained, c, 5), "last message not acknowledged");
    CHECK(tl_wait(warned, NULL, 5), "the loss is not reported in status.json");
    fs_coord_goodbye(c, 1, "");
    fs_coord_close(c);
    tl_kill(d, SIGTERM);
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/metrics.jsonl", g_run);
    char *text = tl_slurp(path);
    CHECK(text && tl_count(text, "\n") == FS_COORD_BUFFER + 1, "%ld lines; expected %d", tl_count(text, "\n"),
          FS_COORD_BUFFER + 1);
    long expect = 1;
    for (const char *p = text; (p = strstr(p, "\"step\":")) && expect <= FS_COORD_BUFFER; p++, expect++)
        CHECK(atol(p + 7) == expect, "line %ld has step %ld (out of order)", expect, atol(p + 7));
    CHECK(strstr(text, "\"dropped\":37,"), "no line carries the drop count");
    free(text);
    tl_cleanup();
    printf("overflow: %d buffered in %.3f s without blocking, %d dropped and reported, all buffered lines arrived in "
           "order\n",
           FS_COORD_BUFFER, took, EXTRA);
    return 0;
}
