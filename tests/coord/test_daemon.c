/* test_daemon.c — the coordinator daemon with N client threads: every metric line arrives
 * exactly once; checkpoints reach the registry (and fs_coord_registry_read) with their
 * checksums; malformed, oversize and path-escaping messages are dropped and counted without
 * harm; `faceswarm status` answers in text and JSON. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "comms/coord_client.h"
#include "comms/protocol.h"
#include "tests/coord/coord_testlib.h"
#include "core/common.h"

#define N_RANKS 6
#define N_STEPS 300

static char g_addr[256];
static const char *g_run;

static void *rank_main(void *arg) {
    int r = (int)(intptr_t)arg;
    fs_coord_identity id = {"test-job", r, N_RANKS, "testhost", 1000 + r, 0xabcull};
    fs_coord_client *c;
    fs_error e = {0};
    if (fs_coord_connect(&c, g_addr, NULL, &id, 0.05, &e)) return fprintf(stderr, "rank %d: %s\n", r, e.msg), (void *)1;
    for (int s = 1; s <= N_STEPS; s++) {
        char json[128];
        snprintf(json, sizeof json, "{\"loss\":%g,\"step_ms\":%d,\"images_per_s\":%d}", 1.0 / s, 10 + r, 100 * (r + 1));
        fs_coord_set_step(c, s);
        fs_coord_metrics(c, s, json);
        if (s % 50 == 0) usleep(1000);
    }
    if (r == 0) {
        const char *names[] = {"params", "adam_m"}, *sums[] = {"0123456789abcdef", "fedcba9876543210"};
        fs_coord_checkpoint(c, 100, "checkpoints/step_100.h5", names, sums, 2);
        fs_coord_checkpoint(c, 300, "checkpoints/step_300.h5", names, sums, 2);
    }
    fs_coord_goodbye(c, 1, "done");
    long pending = fs_coord_pending(c), dropped = fs_coord_dropped(c);
    fs_coord_close(c);
    return (void *)(intptr_t)(pending != 0 || dropped != 0);
}

/* Each rank's seq 1..N_STEPS appears exactly once, in order. */
static void check_metrics(void) {
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/metrics.jsonl", g_run);
    char *text = tl_slurp(path);
    CHECK(text, "no %s", path);
    CHECK(tl_count(text, "\n") == N_RANKS * N_STEPS, "%ld lines; expected %d", tl_count(text, "\n"), N_RANKS * N_STEPS);
    for (int r = 0; r < N_RANKS; r++) {
        char pat[64];
        snprintf(pat, sizeof pat, "{\"rank\":%d,", r);
        long expect = 1;
        for (const char *p = text; (p = strstr(p, pat)); p++) {
            const char *s = strstr(p, "\"seq\":");
            CHECK(s && atol(s + 6) == expect, "rank %d: seq %ld where %ld was expected", r, s ? atol(s + 6) : -1,
                  expect);
            expect++;
        }
        CHECK(expect == N_STEPS + 1, "rank %d: %ld lines", r, expect - 1);
    }
    CHECK(strstr(text, "\"loss\":0.5,") && strstr(text, "\"images_per_s\":600"), "metric values not in the lines");
    free(text);
}

static void check_registry(void) {
    char **paths;
    long *steps;
    fs_error e = {0};
    int n = fs_coord_registry_read(g_run, &paths, &steps, &e);
    CHECK(n == 2, "registry has %d entries (%s)", n, e.msg);
    CHECK(steps[0] == 300 && !strcmp(paths[0], "checkpoints/step_300.h5") && steps[1] == 100, "registry order: %ld %s",
          steps[0], paths[0]);
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths), free(steps);
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/registry.jsonl", g_run);
    char *text = tl_slurp(path);
    CHECK(text && strstr(text, "\"checksums\":{\"params\":\"0123456789abcdef\",\"adam_m\":\"fedcba9876543210\"}"),
          "checksums: %s", text);
    free(text);
}

/* Raw frames a broken or hostile client might send. */
static void send_bad_messages(void) {
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 2000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    CHECK(zmq_connect(s, g_addr) == 0, "connect %s", g_addr);
    zmq_send(s, "hello", 5, 0); /* bad magic */
    static uint8_t big[FS_PROTO_MAX_MSG + 100];
    memcpy(big, "FSCP", 4);
    zmq_send(s, big, sizeof big, 0); /* over the cap */
    fs_msg m = {.type = FS_MSG_REGISTER, .rank = 1, .inc = 5};
    m.u.reg.world = N_RANKS, m.u.reg.pid = 1, strcpy(m.u.reg.job_id, "other-job"), strcpy(m.u.reg.host, "h");
    uint8_t buf[4096];
    char why[128];
    long n = fs_proto_encode(&m, buf, sizeof buf, why, sizeof why);
    zmq_send(s, buf, (size_t)n, 0); /* a rank of another job */
    memset(&m, 0, sizeof m);
    m.type = FS_MSG_CHECKPOINT, m.rank = 0, m.inc = 9, m.seq = 1, m.u.ckpt.step = 1, m.u.ckpt.n = 1;
    strcpy(m.u.ckpt.path, "ok/path.h5"), strcpy(m.u.ckpt.names[0], "params"), strcpy(m.u.ckpt.hex[0], "00");
    n = fs_proto_encode(&m, buf, sizeof buf, why, sizeof why);
    memcpy(buf + FS_PROTO_HEADER + 8 + 2, "../etc/x.h", 10); /* path escaping the run directory */
    zmq_send(s, buf, (size_t)n, 0);
    zmq_close(s);
    zmq_ctx_term(ctx);
}

static int bad_counted(void *arg) {
    (void)arg;
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/status.json", g_run);
    char *text = tl_slurp(path);
    int ok = text && strstr(text, "\"bad\":3,") && strstr(text, "\"oversize\":1,");
    free(text);
    return ok;
}

static void check_status(void) {
    int rc;
    char *out = tl_run_status(&rc, "--coordinator", g_addr, NULL);
    CHECK(rc == 0 && out && strstr(out, "job test-job  world 6") &&
              strstr(out, "last checkpoint: step 300  checkpoints/step_300.h5") &&
              tl_count(out, "testhost") == N_RANKS && tl_count(out, "exited") == N_RANKS,
          "status text (rc %d):\n%s", rc, out);
    free(out);
    out = tl_run_status(&rc, "--coordinator", g_addr, "--json", NULL);
    CHECK(rc == 0 && out && strstr(out, "\"format\":\"faceswarm.status\"") &&
              tl_count(out, "\"host\":\"testhost\"") == N_RANKS && strstr(out, "\"last_checkpoint\":{\"step\":300,"),
          "status json (rc %d):\n%s", rc, out);
    free(out);
    out = tl_run_status(&rc, "--coordinator", "tcp://127.0.0.1:1", "--timeout", "0.3", NULL);
    CHECK(rc != 0, "status against nothing succeeded");
    free(out);
}

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    g_run = tl_run_dir("coord_daemon");
    pid_t d =
        tl_daemon(g_run, g_addr, sizeof g_addr, "tcp://127.0.0.1:*", "--job-id", "test-job", "--world-size", "6", NULL);
    pthread_t th[N_RANKS];
    for (int r = 0; r < N_RANKS; r++) pthread_create(&th[r], NULL, rank_main, (void *)(intptr_t)r);
    for (int r = 0; r < N_RANKS; r++) {
        void *bad;
        pthread_join(th[r], &bad);
        CHECK(!bad, "rank %d: messages left unacknowledged or dropped", r);
    }
    check_metrics();
    check_registry();
    send_bad_messages();
    CHECK(tl_wait(bad_counted, NULL, 5), "status.json does not count 3 malformed + 1 oversize messages");
    check_status();
    tl_kill(d, SIGTERM);
    char path[700];
    snprintf(path, sizeof path, "%s/coordinator/coordinator.log", g_run);
    char *log = tl_slurp(path);
    CHECK(log && strstr(log, "'..' component") && strstr(log, "over the 65536-byte cap") && strstr(log, "other-job"),
          "log lacks the drops:\n%s", log);
    free(log);
    tl_cleanup();
    printf("daemon: %d ranks x %d metrics arrived once each; registry, drops and status as expected\n", N_RANKS,
           N_STEPS);
    return 0;
}
