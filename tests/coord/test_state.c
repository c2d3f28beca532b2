/* test_state.c — the coordinator's state (comms/coord_state.c) driven without ZeroMQ: encoded
 * frames go in through coord_handle, the replies come out of its outbox, decoded and checked.
 * What the state promises (docs/protocol.md): a register of this job is welcomed with what
 * is stored; another job's is refused and never adopted; a session message from an unknown
 * incarnation is answered with reregister; a sequenced message is stored once and in order
 * (a duplicate is acknowledged again, a gap is not stored); one ACK per rank per batch, with
 * the heartbeat's time echoed; a refused body consumes its seq; a reply sent by a client is
 * refused; and a new state on the same run directory rebuilds what was stored, recording
 * what an earlier daemon acknowledged and lost; and the cron names a rank silent exactly when
 * its last message is older than the timeout, and a straggler exactly above straggler_k times
 * the median step time. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comms/coord_daemon.h"
#include "core/common.h"

#include "tests/check.h"

#define MAX_REPLIES 16
typedef struct got {
    int n;
    fs_msg m[MAX_REPLIES];
    char rid[MAX_REPLIES][16];
    char *status; /* the text of the last status reply (owned) */
} got;

static coord *state_open_world(const char *dir, uint32_t world) {
    coord *c = fs_calloc(1, sizeof *c);
    snprintf(c->o.state_dir, sizeof c->o.state_dir, "%s", dir);
    c->o.timeout_s = 30, c->o.straggler_k = 2;
    snprintf(c->job, sizeof c->job, "job-7"), c->world = world;
    c->boot = 0xb007;
    c->t_start = c->last_cron = c->log_window = c->last_alive = fs_now();
    fs_error e = {0};
    if (coord_state_open(c, &e)) fprintf(stderr, "FAIL: coord_state_open: %s\n", e.msg), exit(1);
    return c;
}

static coord *state_open(const char *dir) { return state_open_world(dir, 2); }

static void state_close(coord *c) {
    coord_state_close(c);
    free(c);
}

/* One frame from the peer with routing id `rid`, as the loop hands it over. */
static void feed(coord *c, const char *rid, const fs_msg *m) {
    uint8_t buf[FS_PROTO_MAX_MSG];
    char why[256];
    long n = fs_proto_encode(m, buf, sizeof buf, why, sizeof why);
    if (n < 0) fprintf(stderr, "FAIL: encode %s: %s\n", fs_proto_type_name(m->type), why), exit(1);
    coord_handle(c, (const uint8_t *)rid, strlen(rid), buf, (size_t)n);
}

/* What the loop would send now: every frame of the outbox, decoded; the outbox is emptied. */
static void drain(coord *c, got *g) {
    char why[256];
    free(g->status);
    memset(g, 0, sizeof *g);
    coord_outbox *o = &c->outbox;
    for (int i = 0; i < o->n && g->n < MAX_REPLIES; i++, g->n++) {
        CHECK(o->q[i].off + o->q[i].len <= o->used, "reply %d lies outside the outbox", i);
        CHECK(fs_proto_decode(o->bytes + o->q[i].off, o->q[i].len, &g->m[g->n], why, sizeof why) == 0,
              "reply %d does not decode: %s", i, why);
        snprintf(g->rid[g->n], sizeof g->rid[0], "%.*s", (int)o->q[i].rid_len, (const char *)o->q[i].rid);
        if (g->m[g->n].type == FS_MSG_STATUS) {
            g->status = fs_malloc(g->m[g->n].u.status.len + 1);
            memcpy(g->status, g->m[g->n].u.status.text, g->m[g->n].u.status.len);
            g->status[g->m[g->n].u.status.len] = 0;
        }
    }
    CHECK(o->n <= MAX_REPLIES, "%d replies", o->n);
    coord_outbox_clear(o);
}

static fs_msg reg(uint32_t rank, uint64_t inc, uint64_t acked, const char *job, uint32_t world) {
    fs_msg m = {.type = FS_MSG_REGISTER, .rank = rank, .inc = inc, .seq = acked};
    m.u.reg.world = world, m.u.reg.pid = 100 + rank, m.u.reg.config_hash = 0xc0;
    snprintf(m.u.reg.job_id, sizeof m.u.reg.job_id, "%s", job);
    snprintf(m.u.reg.host, sizeof m.u.reg.host, "node%u", rank);
    return m;
}

static fs_msg metrics(uint32_t rank, uint64_t inc, uint64_t seq, int64_t step) {
    fs_msg m = {.type = FS_MSG_METRICS, .rank = rank, .inc = inc, .seq = seq};
    m.u.metrics.step = step;
    snprintf(m.u.metrics.json, sizeof m.u.metrics.json, "{\"loss\":0.5,\"step_ms\":12}");
    return m;
}

static fs_msg heartbeat(uint32_t rank, uint64_t inc, uint64_t t_ns) {
    fs_msg m = {.type = FS_MSG_HEARTBEAT, .rank = rank, .inc = inc};
    m.u.hb.step = 3, m.u.hb.bucket = -1, m.u.hb.t_ns = t_ns;
    return m;
}

/* One reply expected: its type, addressee and routing id. */
static const fs_msg *one(const got *g, int type, uint32_t rank, const char *rid, const char *what) {
    CHECK(g->n == 1, "%s: %d replies; expected one %s", what, g->n, fs_proto_type_name(type));
    if (g->n != 1) return NULL;
    CHECK(g->m[0].type == type && g->m[0].rank == rank && !strcmp(g->rid[0], rid),
          "%s: got %s to rank %u at '%s'; expected %s to rank %u at '%s'", what, fs_proto_type_name(g->m[0].type),
          g->m[0].rank, g->rid[0], fs_proto_type_name(type), rank, rid);
    return g->m[0].type == type ? &g->m[0] : NULL;
}

static void expect_ack(coord *c, got *g, uint64_t acked, uint64_t echo, const char *what) {
    coord_end_batch(c);
    drain(c, g);
    const fs_msg *a = one(g, FS_MSG_ACK, 0, "r0", what);
    if (a)
        CHECK(a->u.ack.acked == acked && a->u.ack.t_echo_ns == echo, "%s: ack %llu echo %llu; expected %llu, %llu",
              what, (unsigned long long)a->u.ack.acked, (unsigned long long)a->u.ack.t_echo_ns,
              (unsigned long long)acked, (unsigned long long)echo);
}

static long lines(const char *dir, const char *file, const char *needle) {
    char path[1200];
    snprintf(path, sizeof path, "%s/coordinator/%s", dir, file);
    char *text = fs_read_file(path, NULL, NULL);
    long n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p++) n++;
    free(text);
    return n;
}

static void test_registration(coord *c, got *g) {
    fs_msg m = heartbeat(0, 5, 1);
    feed(c, "r0", &m);
    drain(c, g);
    one(g, FS_MSG_REREGISTER, 0, "r0", "heartbeat before register");
    m = reg(0, 5, 0, "other-job", 2);
    uint64_t bad = c->n_bad;
    feed(c, "x", &m);
    drain(c, g);
    CHECK(g->n == 0 && c->n_bad == bad + 1 && !c->ranks[0],
          "another job's register: %d replies, bad %llu, rank entry %p", g->n, (unsigned long long)c->n_bad,
          (void *)c->ranks[0]);
    CHECK(!strcmp(c->job, "job-7"), "the job served became '%s'", c->job);
    m = reg(0, 5, 0, "job-7", 3);
    feed(c, "x", &m);
    drain(c, g);
    CHECK(g->n == 0 && c->n_bad == bad + 2, "a register with another world size: %d replies", g->n);
    m = reg(0, 5, 0, "job-7", 2);
    feed(c, "r0", &m);
    drain(c, g);
    const fs_msg *w = one(g, FS_MSG_WELCOME, 0, "r0", "register");
    if (w)
        CHECK(w->inc == 5 && w->u.welcome.boot == 0xb007 && w->u.welcome.acked == 0,
              "welcome inc %llu boot %llx acked %llu", (unsigned long long)w->inc,
              (unsigned long long)w->u.welcome.boot, (unsigned long long)w->u.welcome.acked);
}

static void test_sequence(coord *c, got *g, const char *dir) {
    fs_msg m = metrics(0, 5, 1, 10);
    feed(c, "r0", &m);
    m = metrics(0, 5, 2, 11);
    feed(c, "r0", &m);
    drain(c, g);
    CHECK(g->n == 0, "%d replies before the batch ends; the ACK waits for it", g->n);
    expect_ack(c, g, 2, 0, "two in order, one ACK");
    feed(c, "r0", &m); /* seq 2 again: a resend */
    expect_ack(c, g, 2, 0, "duplicate");
    m = metrics(0, 5, 4, 13); /* seq 3 missing */
    feed(c, "r0", &m);
    expect_ack(c, g, 2, 0, "gap");
    CHECK(lines(dir, "metrics.jsonl", "\"rank\":0") == 2 && c->n_stored == 2,
          "%ld lines, %llu stored after a duplicate and a gap; expected 2", lines(dir, "metrics.jsonl", "\"rank\":0"),
          (unsigned long long)c->n_stored);
    m = metrics(0, 5, 3, 12);
    feed(c, "r0", &m);
    m = metrics(0, 5, 4, 13);
    feed(c, "r0", &m);
    fs_msg h = heartbeat(0, 5, 999);
    feed(c, "r0b", &h); /* a reconnect: the ACK goes to the newest routing id */
    coord_end_batch(c);
    drain(c, g);
    const fs_msg *a = one(g, FS_MSG_ACK, 0, "r0b", "gap filled + heartbeat");
    if (a)
        CHECK(a->u.ack.acked == 4 && a->u.ack.t_echo_ns == 999, "ack %llu echo %llu; expected 4, 999",
              (unsigned long long)a->u.ack.acked, (unsigned long long)a->u.ack.t_echo_ns);
    CHECK(lines(dir, "metrics.jsonl", "\"rank\":0") == 4, "%ld metrics lines; expected 4",
          lines(dir, "metrics.jsonl", "\"rank\":0"));
}

static void test_refusals(coord *c, got *g, const char *dir) {
    fs_msg m = {.type = FS_MSG_CHECKPOINT, .rank = 0, .inc = 5, .seq = 5};
    m.u.ckpt.step = 1, m.u.ckpt.n = 1;
    snprintf(m.u.ckpt.path, sizeof m.u.ckpt.path, "../outside.h5"); /* the decoder refuses the body */
    snprintf(m.u.ckpt.names[0], sizeof m.u.ckpt.names[0], "params"),
        snprintf(m.u.ckpt.hex[0], sizeof m.u.ckpt.hex[0], "ab");
    uint64_t bad = c->n_bad;
    feed(c, "r0b", &m);
    coord_end_batch(c);
    drain(c, g);
    const fs_msg *a = one(g, FS_MSG_ACK, 0, "r0b", "refused body");
    if (a)
        CHECK(a->u.ack.acked == 5, "a refused body's seq is consumed: ack %llu; expected 5",
              (unsigned long long)a->u.ack.acked);
    CHECK(c->n_bad == bad + 1 && lines(dir, "events.jsonl", "\"type\":\"skipped\"") == 1 &&
              lines(dir, "registry.jsonl", "outside") == 0,
          "refused body: bad %llu, skipped lines %ld", (unsigned long long)c->n_bad,
          lines(dir, "events.jsonl", "\"type\":\"skipped\""));
    fs_msg r = {.type = FS_MSG_ACK, .rank = 0, .inc = 5};
    feed(c, "r0b", &r);
    fs_msg h = heartbeat(1, 9, 1); /* rank 1 never registered */
    h.rank = 1;
    fs_msg far = heartbeat(7, 9, 1); /* outside the world of 2 */
    feed(c, "z", &far);
    coord_end_batch(c);
    drain(c, g);
    CHECK(g->n == 0 && c->n_bad == bad + 3, "a reply from a client and a rank outside the world: %d replies, bad %llu",
          g->n, (unsigned long long)c->n_bad);
    feed(c, "r1", &h);
    drain(c, g);
    one(g, FS_MSG_REREGISTER, 1, "r1", "rank 1 unknown");
    fs_msg s = {.type = FS_MSG_STATUS_REQ, .rank = FS_PROTO_NO_RANK};
    feed(c, "tool", &s);
    drain(c, g);
    one(g, FS_MSG_STATUS, FS_PROTO_NO_RANK, "tool", "status request");
    CHECK(g->status && strstr(g->status, "job job-7") && strstr(g->status, "node0"), "status text: %s",
          g->status ? g->status : "(none)");
}

/* A new state on the same run directory: the rank must register again, is welcomed with what
 * the files hold (seq 5, the skipped one included), and a register that says more was
 * acknowledged records the rest as lost instead of waiting for it. */
static void test_restart(const char *dir, got *g) {
    coord *c = state_open(dir);
    fs_msg m = metrics(0, 5, 6, 14);
    feed(c, "r0", &m);
    drain(c, g);
    one(g, FS_MSG_REREGISTER, 0, "r0", "metrics to a restarted daemon");
    m = reg(0, 5, 5, "job-7", 2);
    feed(c, "r0", &m);
    drain(c, g);
    const fs_msg *w = one(g, FS_MSG_WELCOME, 0, "r0", "register after restart");
    if (w) CHECK(w->u.welcome.acked == 5, "rebuilt acked %llu; expected 5", (unsigned long long)w->u.welcome.acked);
    m = metrics(0, 5, 6, 14);
    feed(c, "r0", &m);
    expect_ack(c, g, 6, 0, "after restart");
    m = reg(0, 5, 9, "job-7", 2); /* an earlier daemon acknowledged 7..9 and lost them */
    feed(c, "r0", &m);
    drain(c, g);
    w = one(g, FS_MSG_WELCOME, 0, "r0", "register past the files");
    if (w)
        CHECK(w->u.welcome.acked == 9 && c->n_lost == 3, "acked %llu lost %llu; expected 9, 3",
              (unsigned long long)w->u.welcome.acked, (unsigned long long)c->n_lost);
    state_close(c);
    c = state_open(dir); /* the lost range is in the files too */
    m = reg(0, 5, 0, "job-7", 2);
    feed(c, "r0", &m);
    drain(c, g);
    w = one(g, FS_MSG_WELCOME, 0, "r0", "register after a second restart");
    if (w) CHECK(w->u.welcome.acked == 9, "rebuilt acked %llu; expected 9", (unsigned long long)w->u.welcome.acked);
    CHECK(lines(dir, "metrics.jsonl", "\"rank\":0") == 5, "%ld metrics lines; expected 5 (each seq once)",
          lines(dir, "metrics.jsonl", "\"rank\":0"));
    state_close(c);
}

/* The cron names a rank silent once its last message is older than the timeout (30 s here),
 * and only then: last heard 15 s and 29 s ago, not named; then 45 s and 31 s ago, named with
 * the silence. The clock is the state's own (last_hb set back), so the bounds are exact. */
static void test_silence(const char *dir, got *g) {
    char sub[600];
    snprintf(sub, sizeof sub, "%s/silence", dir);
    CHECK(mkdir(sub, 0700) == 0, "mkdir %s", sub);
    coord *c = state_open(sub);
    for (uint32_t r = 0; r < 2; r++) {
        fs_msg m = reg(r, 5, 0, "job-7", 2);
        char rid[8];
        snprintf(rid, sizeof rid, "r%u", r);
        feed(c, rid, &m);
    }
    drain(c, g);
    const double ago[2][2] = {{15, 29}, {45, 31}};
    for (int pass = 0; pass < 2; pass++) {
        double now = fs_now();
        for (int r = 0; r < 2; r++)
            if (c->ranks[r]) c->ranks[r]->last_hb = now - ago[pass][r];
        coord_cron(c);
        for (int r = 0; r < 2; r++) {
            if (!c->ranks[r]) {
                CHECK(0, "rank %d was not registered", r);
                continue;
            }
            char want[64];
            snprintf(want, sizeof want, "rank %d on node%d: no heartbeat for %.0f s", r, r, ago[pass][r]);
            const char *w = c->ranks[r]->warn;
            CHECK(pass ? strstr(w, want) != NULL : strstr(w, "no heartbeat") == NULL,
                  "rank %d last heard %.0f s ago (timeout 30 s): warning '%s'", r, ago[pass][r], w);
        }
    }
    state_close(c);
}

/* A rank whose step time exceeds straggler_k (2) times the median of the ranks' is flagged,
 * one just below is not: of 100, 110, 120 and 230 ms (median 120: 1.92x) none; with 250 ms
 * (2.08x) the fourth. */
static void test_straggler(const char *dir, got *g) {
    char sub[600];
    snprintf(sub, sizeof sub, "%s/straggler", dir);
    CHECK(mkdir(sub, 0700) == 0, "mkdir %s", sub);
    coord *c = state_open_world(sub, 4);
    for (uint32_t r = 0; r < 4; r++) {
        fs_msg m = reg(r, 5, 0, "job-7", 4);
        char rid[8];
        snprintf(rid, sizeof rid, "r%u", r);
        feed(c, rid, &m);
    }
    drain(c, g);
    const double ms[4] = {100, 110, 120, 230};
    for (int r = 0; r < 4; r++) CHECK(c->ranks[r] != NULL, "rank %d was not registered", r);
    for (int pass = 0; pass < 2 && c->ranks[0] && c->ranks[1] && c->ranks[2] && c->ranks[3]; pass++) {
        for (int r = 0; r < 4; r++)
            c->ranks[r]->step_ms = pass && r == 3 ? 250 : ms[r], c->ranks[r]->last_hb = fs_now();
        coord_cron(c);
        for (int r = 0; r < 4; r++) {
            const char *w = c->ranks[r]->warn;
            CHECK(pass && r == 3
                      ? strstr(w, "rank 3 on node3: straggler: step time 250 ms is 2.1x the median 120 ms") != NULL
                      : strstr(w, "straggler") == NULL,
                  "pass %d rank %d (%.0f ms): warning '%s'", pass, r, c->ranks[r]->step_ms, w);
        }
    }
    state_close(c);
}

int main(void) {
    char dir[] = "/tmp/fs_test_state_XXXXXX";
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    got g = {0};
    coord *c = state_open(dir);
    test_registration(c, &g);
    test_sequence(c, &g, dir);
    test_refusals(c, &g, dir);
    state_close(c);
    test_restart(dir, &g);
    test_silence(dir, &g);
    test_straggler(dir, &g);
    free(g.status);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (!getenv("KEEP_RUN") && system(cmd)) fprintf(stderr, "warning: could not remove %s\n", dir);
    if (failures)
        return fprintf(stderr, "%d state checks failed (run kept in %s if KEEP_RUN is set)\n", failures, dir), 1;
    printf("coordinator state: registration, sequencing, refusals and restart as promised, without a socket\n");
    return 0;
}
