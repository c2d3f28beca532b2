/* test_schedule.c — the heartbeat schedule spreads a job's ranks over the period.
 *  1. fs_coord_heartbeat_next, for 512 ranks: inside any window of one period every rank has
 *     exactly one slot, no two slots closer than period/512 (wrap-around included), a slot is
 *     always strictly after `now` and on the rank's grid, at wall-clock magnitudes too;
 *  2. real clients (fs_coord_connect) against a stand-in daemon (a ROUTER socket in this
 *     test): each rank's heartbeats leave at its own slots (never early, late by little), a
 *     rank keeps its slot after a daemon restart (reregister) and after a new connection
 *     (a new incarnation), and no gap between two heartbeats of a rank exceeds the period by
 *     much, which is what the daemon's timeout (timeout_s > heartbeat_s) relies on; metrics
 *     queued by every rank in the same instant (as after a step) leave each after its rank's
 *     hold (fs_coord_send_delay), never before it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "comms/coord_client.h"
#include "comms/protocol.h"
#include "tests/check.h"
#include "core/common.h"

#define WORLD 8
#define PERIOD_S 0.2
#define LATE_S 0.030 /* a heartbeat may leave this late (a loaded 2-core host); slots are 25 ms apart */

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Part 1: slots of 512 ranks in the window (now, now + period]. */
static void check_grid(double now, int world, double period) {
    double *t = fs_malloc(sizeof(double) * (size_t)world);
    for (int r = 0; r < world; r++) {
        t[r] = fs_coord_heartbeat_next(now, r, world, period);
        double phase = fs_coord_heartbeat_phase(r, world, period);
        double off = fmod(t[r] - phase, period),
               tol = 1e-9 + 1e-14 * fabs(now); /* double rounding at wall-clock magnitudes */
        CHECK(phase >= 0 && phase < period, "rank %d: phase %.9f outside [0, %g)", r, phase, period);
        CHECK(t[r] > now && t[r] <= now + period + tol, "rank %d: next slot %.9f not in (%.9f, +%g]", r, t[r], now,
              period);
        CHECK(off < tol || period - off < tol, "rank %d: slot %.9f is %.3g s off its grid (phase %.9f)", r, t[r], off,
              phase);
    }
    qsort(t, (size_t)world, sizeof *t, cmp_d);
    double min_gap = t[0] + period - t[world - 1]; /* the wrap-around gap */
    for (int r = 1; r < world; r++) min_gap = FS_MIN(min_gap, t[r] - t[r - 1]);
    CHECK(min_gap >= 0.98 * period / world,
          "world %d, period %g, now %.6f: two ranks' slots %.3g s apart; expected >= %.3g", world, period, now, min_gap,
          period / world);
    free(t);
}

/* Part 1: the hold of queued messages spreads 512 ranks over FS_COORD_SPREAD_S. */
static void check_hold(int world) {
    double *d = fs_malloc(sizeof(double) * (size_t)world);
    for (int r = 0; r < world; r++) {
        d[r] = fs_coord_send_delay(r, world);
        CHECK(d[r] >= 0 && d[r] < FS_COORD_SPREAD_S, "rank %d of %d: hold %.6f s outside [0, %g)", r, world, d[r],
              FS_COORD_SPREAD_S);
    }
    qsort(d, (size_t)world, sizeof *d, cmp_d);
    for (int r = 1; r < world; r++)
        CHECK(d[r] - d[r - 1] >= 0.98 * FS_COORD_SPREAD_S / world, "ranks held %.6f and %.6f s: too close for %d ranks",
              d[r - 1], d[r], world);
    CHECK(fs_coord_send_delay(0, world) == 0, "rank 0 is held %g s; expected none", fs_coord_send_delay(0, world));
    free(d);
}

static void check_pure(void) {
    check_hold(512);
    check_hold(3);
    double periods[] = {0.1, 2.0, 0.05};
    double nows[] = {0.0, 12.3456, 1.7900000001e9, 1.79e9 + 0.05, fs_wall_time()};
    for (size_t p = 0; p < FS_ARRAY_LEN(periods); p++)
        for (size_t n = 0; n < FS_ARRAY_LEN(nows); n++) check_grid(nows[n], 512, periods[p]);
    /* stable: the slot depends on the clock only, not on when it is asked (connect time) */
    double a = fs_coord_heartbeat_next(1000.001, 5, 512, 2.0), b = fs_coord_heartbeat_next(a - 1.999, 5, 512, 2.0);
    CHECK(fabs(a - b) < 1e-9, "rank 5: slot %.9f asked early, %.9f asked later in the same period", b, a);
    CHECK(fabs(fs_coord_heartbeat_next(a, 5, 512, 2.0) - (a + 2.0)) < 1e-9,
          "the slot after %.9f is not one period later", a);
}

/* ------------------------------------------------------------ part 2: a stand-in daemon */
typedef struct hb_log {
    double last_send[WORLD];        /* s, the client's monotonic stamp of each rank's previous heartbeat, 0 = none */
    double max_gap[WORLD];          /* s, the longest wait between two heartbeats of a rank */
    double worst_late, worst_early; /* s, vs the rank's slot */
    long n[WORLD];
    int reregister;           /* answer each rank's next heartbeat with reregister (a daemon restart) */
    int asked[WORLD];         /* reregister sent to that rank */
    double metrics_at[WORLD]; /* wall clock when each rank's last metrics message arrived, 0 = none */
} hb_log;

static void reply(void *router, zmq_msg_t *rid, const fs_msg *m) {
    uint8_t buf[256];
    char why[128];
    long n = fs_proto_encode(m, buf, sizeof buf, why, sizeof why);
    CHECK(n > 0, "cannot encode a reply: %s", why);
    if (n <= 0) return;
    zmq_send(router, zmq_msg_data(rid), zmq_msg_size(rid), ZMQ_SNDMORE);
    zmq_send(router, buf, (size_t)n, 0);
}

/* A heartbeat against its rank's slot: the distance from the nearest slot to the moment it
 * arrived here (wall clock, the clock the client schedules by; it cannot arrive before it
 * left, so arriving early means leaving early). The client's own stamp, t_ns, is monotonic:
 * it times the gaps between a rank's heartbeats, but it is not mapped onto the wall clock,
 * because the two clocks need not keep a fixed offset (a CI host's realtime clock drifted
 * from its monotonic one by ~5 ms a second while this test ran there). */
static void record(hb_log *h, const fs_msg *m, double arrived) {
    int r = (int)m->rank;
    double t = (double)m->u.hb.t_ns / 1e9;
    double slot = fs_coord_heartbeat_next(arrived - PERIOD_S / 2, r, WORLD, PERIOD_S), d = arrived - slot;
    h->worst_late = FS_MAX(h->worst_late, d), h->worst_early = FS_MIN(h->worst_early, d);
    if (h->last_send[r] > 0) h->max_gap[r] = FS_MAX(h->max_gap[r], t - h->last_send[r]);
    h->last_send[r] = t;
    h->n[r]++;
}

static void serve_one(void *router, hb_log *h) {
    zmq_msg_t rid, body;
    fs_msg m;
    char why[256];
    zmq_msg_init(&rid), zmq_msg_init(&body);
    double arrived = 0;
    if (zmq_msg_recv(&rid, router, ZMQ_DONTWAIT) >= 0 && zmq_msg_recv(&body, router, 0) >= 0 &&
        (arrived = fs_wall_time()) > 0 &&
        !fs_proto_decode(zmq_msg_data(&body), zmq_msg_size(&body), &m, why, sizeof why) && m.rank < WORLD) {
        if (m.type == FS_MSG_REGISTER) {
            fs_msg w = {.type = FS_MSG_WELCOME, .rank = m.rank, .inc = m.inc};
            w.u.welcome.boot = 1, w.u.welcome.acked = 0;
            reply(router, &rid, &w);
        } else if (m.type == FS_MSG_HEARTBEAT && h->reregister && !h->asked[m.rank]) {
            fs_msg q = {.type = FS_MSG_REREGISTER, .rank = m.rank, .inc = m.inc};
            h->asked[m.rank] = 1;
            reply(router, &rid, &q);
        } else if (m.type == FS_MSG_HEARTBEAT) {
            record(h, &m, arrived);
        } else if (m.type == FS_MSG_METRICS) {
            fs_msg a = {.type = FS_MSG_ACK, .rank = m.rank, .inc = m.inc};
            a.u.ack.acked = m.seq;
            h->metrics_at[m.rank] = fs_wall_time();
            reply(router, &rid, &a);
        }
    }
    zmq_msg_close(&body), zmq_msg_close(&rid);
}

static void serve(void *router, hb_log *h, double seconds) {
    for (double t0 = fs_now(); fs_now() - t0 < seconds;) {
        zmq_pollitem_t it = {router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 10) > 0) serve_one(router, h);
    }
}

static fs_coord_client *connect_rank(const char *addr, int r) {
    fs_coord_identity id = {"schedule-job", r, WORLD, "sched", 100 + r, 1};
    fs_coord_client *c = NULL;
    fs_error e = {0};
    CHECK(fs_coord_connect(&c, addr, NULL, &id, PERIOD_S, &e) == 0, "rank %d: %s", r, e.msg);
    return c;
}

static void check_phase(const hb_log *h, const char *when, long min_n) {
    for (int r = 0; r < WORLD; r++) {
        CHECK(h->n[r] >= min_n, "%s: rank %d sent %ld heartbeats; expected >= %ld", when, r, h->n[r], min_n);
        CHECK(h->max_gap[r] < PERIOD_S + LATE_S, "%s: rank %d: %.3f s between two heartbeats; period %.3f", when, r,
              h->max_gap[r], PERIOD_S);
    }
    CHECK(h->worst_early > -0.001, "%s: a heartbeat left %.1f ms before its slot", when, -h->worst_early * 1e3);
    CHECK(h->worst_late < LATE_S, "%s: a heartbeat left %.1f ms after its slot; expected < %.0f", when,
          h->worst_late * 1e3, LATE_S * 1e3);
}

/* Every rank queues a metrics message in the same instant; each must leave after its hold. */
static void check_metrics_hold(void *router, hb_log *h, fs_coord_client **c) {
    double t0 = fs_wall_time();
    for (int r = 0; r < WORLD; r++) fs_coord_metrics(c[r], 7, "{\"loss\":0.5}");
    serve(router, h, FS_COORD_SPREAD_S + 0.3);
    for (int r = 0; r < WORLD; r++) {
        double sent = h->metrics_at[r] - t0, hold = fs_coord_send_delay(r, WORLD);
        CHECK(h->metrics_at[r] > 0, "rank %d: its metrics never arrived", r);
        CHECK(h->metrics_at[r] == 0 || (sent >= hold - 0.001 && sent < hold + LATE_S),
              "rank %d: metrics arrived %.1f ms after it was queued; its hold is %.1f ms", r, sent * 1e3, hold * 1e3);
    }
}

static void reset(hb_log *h) { memset(h, 0, sizeof *h); }

static void check_clients(void) {
    void *ctx = zmq_ctx_new(), *router = zmq_socket(ctx, ZMQ_ROUTER);
    char addr[256];
    size_t len = sizeof addr;
    int linger = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    CHECK(zmq_bind(router, "tcp://127.0.0.1:*") == 0 && zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, addr, &len) == 0,
          "bind: %s", zmq_strerror(zmq_errno()));
    hb_log h = {0};
    fs_coord_client *c[WORLD];
    for (int r = 0; r < WORLD; r++) c[r] = connect_rank(addr, r); /* together, as a job's ranks start */
    serve(router, &h, 0.5);                                       /* registration */
    reset(&h);
    serve(router, &h, 1.2);
    check_phase(&h, "after connecting together", 4);
    check_metrics_hold(router, &h, c);
    h.reregister = 1; /* a daemon restart: every rank registers again, then keeps its slot */
    serve(router, &h, 0.5);
    reset(&h);
    serve(router, &h, 1.2);
    check_phase(&h, "after a reregister", 4);
    fs_coord_close(c[3]); /* a new connection (new incarnation) of rank 3 */
    c[3] = connect_rank(addr, 3);
    serve(router, &h, 0.5);
    reset(&h);
    serve(router, &h, 1.2);
    check_phase(&h, "after rank 3 reconnected", 4);
    for (int r = 0; r < WORLD; r++) fs_coord_close(c[r]);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

int main(void) {
    check_pure();
    check_clients();
    if (!failures)
        printf("schedule: 512 ranks spread over the period; %d real clients heartbeat at their own slots, kept across "
               "reregister and reconnect; metrics held r/N x %.0f ms\n",
               WORLD, FS_COORD_SPREAD_S * 1e3);
    return failures ? 1 : 0;
}
