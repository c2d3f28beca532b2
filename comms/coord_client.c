/* coord_client.c — the rank side of the coordinator protocol (see coord_client.h).
 *
 * The training thread only encodes a message and appends it to a ring under a mutex. The
 * client thread sends the ring in order, at most WINDOW messages ahead of the daemon's ACK,
 * and drops an entry only once it is acknowledged: the daemon stores each sequence number
 * once, so a resend (lost ACK, daemon restart) never duplicates a line. What a job's ranks send
 * is spread by construction (docs/protocol.md, "Heartbeat schedule"): each rank heartbeats at
 * its own slot of the period, and holds a newly queued message r/w x 50 ms before it first
 * leaves, since every rank queues its metrics after the same step. */
#include "comms/coord_client.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "core/json.h"
#include "comms/coord_keys.h"
#include "comms/protocol.h"

#define WINDOW 512   /* messages sent ahead of the last ACK */
#define RESEND_S 1.0 /* no ACK progress for this long: go back to the last ACK */
#define REGISTER_EVERY_S 0.5
#define GOODBYE_WAIT_S 2.0

typedef struct qent {
    uint64_t seq;
    uint32_t len;
    uint8_t *data; /* encoded frame */
    double due;    /* s, fs_now(): first sent no earlier (fs_coord_send_delay); resends are not held */
} qent;

struct fs_coord_client {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t acked_cv;
    void *ctx, *sock;
    char job[FS_PROTO_MAX_JOB + 1], host[FS_PROTO_MAX_HOST + 1];
    uint32_t rank, world;
    uint64_t pid, config_hash, inc;
    double heartbeat_s;
    /* under mu: the ring of unacknowledged messages */
    qent *q; /* [FS_COORD_BUFFER + 1]: one slot kept for the goodbye */
    int qhead, qcount;
    uint64_t next_seq, acked, sent_upto;
    int registered;
    double last_rtt_ms;
    /* shared without the lock */
    atomic_long step, dropped, coll_seq;
    atomic_int bucket, coll_state, stop, warned_json, warned_refused;
    fs_msg check; /* under mu: push() decodes what it encoded, as the daemon will */
    /* client thread only */
    double last_progress, last_reg;
    double next_hb; /* s, wall clock: this rank's next slot (fs_coord_heartbeat_next), 0 = not yet placed */
    uint8_t buf[FS_PROTO_MAX_MSG];
};

/* ---------------------------------------------------------------- ring (under mu) */
static qent *ring_at(fs_coord_client *c, int i) { return &c->q[(c->qhead + i) % (FS_COORD_BUFFER + 1)]; }

/* Encodes m with the next sequence number and appends it; counts a drop when full. The
 * goodbye (reserve_last_slot) releases everything held: the rank is about to exit, and a
 * local coordinator may be stopped soon after rank 0's goodbye (trainer/train.c). */
static void push(fs_coord_client *c, fs_msg *m, int reserve_last_slot) {
    char why[256];
    pthread_mutex_lock(&c->mu);
    int cap = reserve_last_slot ? FS_COORD_BUFFER + 1 : FS_COORD_BUFFER;
    if (c->qcount >= cap) {
        pthread_mutex_unlock(&c->mu);
        atomic_fetch_add(&c->dropped, 1);
        return;
    }
    m->rank = c->rank, m->inc = c->inc, m->seq = c->next_seq;
    uint8_t *data = fs_malloc(FS_PROTO_MAX_MSG);
    long n = fs_proto_encode(m, data, FS_PROTO_MAX_MSG, why, sizeof why);
    if (n >= 0 && fs_proto_decode(data, (size_t)n, &c->check, why, sizeof why)) n = -1; /* the daemon would refuse it */
    if (n < 0) {
        pthread_mutex_unlock(&c->mu);
        free(data);
        if (!atomic_exchange(&c->warned_refused, 1))
            fs_warn("coordinator client: %s message refused (%s); counted as dropped", fs_proto_type_name(m->type),
                    why);
        atomic_fetch_add(&c->dropped, 1);
        return;
    }
    double due = reserve_last_slot ? 0 : fs_now() + fs_coord_send_delay((int)c->rank, (int)c->world);
    for (int i = 0; reserve_last_slot && i < c->qcount; i++) ring_at(c, i)->due = 0;
    *ring_at(c, c->qcount++) = (qent){c->next_seq++, (uint32_t)n, fs_realloc(data, (size_t)n), due};
    pthread_mutex_unlock(&c->mu);
}

static void pop_acked(fs_coord_client *c, uint64_t acked) {
    while (c->qcount > 0 && ring_at(c, 0)->seq <= acked) {
        free(ring_at(c, 0)->data);
        c->qhead = (c->qhead + 1) % (FS_COORD_BUFFER + 1);
        c->qcount--;
    }
    if (acked > c->acked) c->acked = acked, c->last_progress = fs_now();
    if (c->sent_upto < c->acked) c->sent_upto = c->acked;
    pthread_cond_broadcast(&c->acked_cv);
}

/* ---------------------------------------------------------------- client thread */
static void send_msg(fs_coord_client *c, fs_msg *m) {
    char why[256];
    m->rank = c->rank, m->inc = c->inc;
    long n = fs_proto_encode(m, c->buf, sizeof c->buf, why, sizeof why);
    if (n > 0) zmq_send(c->sock, c->buf, (size_t)n, ZMQ_DONTWAIT); /* a full queue loses it; it is resent */
}

static void send_register(fs_coord_client *c) {
    fs_msg m = {.type = FS_MSG_REGISTER};
    /* The register's seq is what this client had acknowledged (and so no longer holds): a
     * daemon that lost some of it records them as lost instead of waiting for them. */
    pthread_mutex_lock(&c->mu);
    m.seq = c->acked;
    pthread_mutex_unlock(&c->mu);
    m.u.reg.world = c->world, m.u.reg.pid = c->pid, m.u.reg.config_hash = c->config_hash;
    memcpy(m.u.reg.job_id, c->job, sizeof c->job);
    memcpy(m.u.reg.host, c->host, sizeof c->host);
    send_msg(c, &m);
    c->last_reg = fs_now();
}

static void send_heartbeat(fs_coord_client *c) {
    fs_msg m = {.type = FS_MSG_HEARTBEAT};
    m.u.hb.step = atomic_load(&c->step), m.u.hb.coll_seq = (uint64_t)atomic_load(&c->coll_seq);
    m.u.hb.bucket = atomic_load(&c->bucket), m.u.hb.coll_state = (uint8_t)atomic_load(&c->coll_state);
    m.u.hb.t_ns = (uint64_t)(fs_now() * 1e9), m.u.hb.dropped = (uint64_t)atomic_load(&c->dropped);
    send_msg(c, &m);
}

/* Heartbeats go out at this rank's slots of the wall-clock grid, not `heartbeat_s after the
 * last one`: ranks that connect together would otherwise heartbeat together for the whole
 * job. The first slot is placed at the first welcome and kept across reconnects (the grid
 * does not depend on when the client connected); a wall clock stepped back by more than a
 * period re-places it, so a clock change never silences a rank. */
static void heartbeat_due(fs_coord_client *c, double wall) {
    if (c->next_hb == 0 || c->next_hb - wall > c->heartbeat_s)
        c->next_hb = fs_coord_heartbeat_next(wall, (int)c->rank, (int)c->world, c->heartbeat_s);
    if (wall < c->next_hb) return;
    send_heartbeat(c);
    c->next_hb = fs_coord_heartbeat_next(wall, (int)c->rank, (int)c->world, c->heartbeat_s);
}

/* zmq_poll's timeout, ms: at most 5 (the send window and register retries), less when this
 * rank's heartbeat slot comes sooner, so that a heartbeat leaves on time. */
static long poll_ms(const fs_coord_client *c, int registered, double wall) {
    if (!registered || c->next_hb == 0) return 5;
    double ms = ceil((c->next_hb - wall) * 1000);
    return ms < 0 ? 0 : ms > 5 ? 5 : (long)ms;
}

/* Sends ring entries after sent_upto, up to WINDOW ahead of the ACK and none before it is due
 * (under mu). */
static void send_window(fs_coord_client *c) {
    double now = fs_now();
    if (c->sent_upto > c->acked && fs_now() - c->last_progress > RESEND_S)
        c->sent_upto = c->acked, c->last_progress = fs_now();
    for (int i = 0; i < c->qcount; i++) {
        qent *q = ring_at(c, i);
        if (q->seq <= c->sent_upto) continue;
        if (q->seq > c->acked + WINDOW || q->due > now) break;
        if (zmq_send(c->sock, q->data, q->len, ZMQ_DONTWAIT) < 0) break;
        if (c->sent_upto == c->acked)
            c->last_progress = fs_now(); /* the resend clock starts with the first unacked send */
        c->sent_upto = q->seq;
    }
}

static void handle_reply(fs_coord_client *c, const uint8_t *buf, size_t len) {
    char why[256];
    fs_msg m;
    if (fs_proto_decode(buf, len, &m, why, sizeof why) || m.inc != c->inc) return;
    pthread_mutex_lock(&c->mu);
    if (m.type == FS_MSG_WELCOME) {
        c->registered = 1;
        /* resend everything after what it stored (never less than the register said it had) */
        c->acked = FS_MAX(c->acked, m.u.welcome.acked), c->sent_upto = c->acked;
        pop_acked(c, c->acked);
    } else if (m.type == FS_MSG_ACK) {
        pop_acked(c, m.u.ack.acked);
        if (m.u.ack.t_echo_ns) c->last_rtt_ms = (fs_now() * 1e9 - (double)m.u.ack.t_echo_ns) / 1e6;
    } else if (m.type == FS_MSG_REREGISTER) {
        c->registered = 0, c->last_reg = 0;
    }
    pthread_mutex_unlock(&c->mu);
}

static void *client_thread(void *arg) {
    fs_coord_client *c = arg;
    while (!atomic_load(&c->stop)) {
        double now = fs_now();
        pthread_mutex_lock(&c->mu);
        int registered = c->registered;
        if (registered) send_window(c);
        pthread_mutex_unlock(&c->mu);
        if (!registered && now - c->last_reg >= REGISTER_EVERY_S) send_register(c);
        double wall = fs_wall_time();
        if (registered) heartbeat_due(c, wall);
        zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, poll_ms(c, registered, wall)) <= 0) continue;
        int n;
        while ((n = zmq_recv(c->sock, c->buf, sizeof c->buf, ZMQ_DONTWAIT)) >= 0)
            if ((size_t)n <= sizeof c->buf) handle_reply(c, c->buf, (size_t)n);
    }
    return NULL;
}

/* ---------------------------------------------------------------- heartbeat schedule */
double fs_coord_heartbeat_phase(int rank, int world, double period_s) {
    if (world < 1 || rank < 0) return 0;
    return period_s * (double)(rank % world) / (double)world;
}

double fs_coord_send_delay(int rank, int world) {
    if (world < 1 || rank < 0) return 0;
    return FS_COORD_SPREAD_S * (double)(rank % world) / (double)world;
}

double fs_coord_heartbeat_next(double now, int rank, int world, double period_s) {
    double phase = fs_coord_heartbeat_phase(rank, world, period_s);
    double t = (floor((now - phase) / period_s) + 1) * period_s + phase;
    return t > now ? t : t + period_s; /* rounding at a slot boundary: always strictly after now */
}

/* ---------------------------------------------------------------- set up */
static int open_socket(fs_coord_client *c, const char *address, const char *keyfile, fs_error *e) {
    int hwm = FS_COORD_BUFFER, linger = 0, ivl = 100, ivl_max = 1000;
    c->ctx = zmq_ctx_new();
    c->sock = c->ctx ? zmq_socket(c->ctx, ZMQ_DEALER) : NULL;
    if (!c->sock)
        return fs_errorf(e, FS_EXIT_FAIL, "coordinator client: cannot create a socket: %s", zmq_strerror(zmq_errno()));
    zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(c->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(c->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    if (keyfile && keyfile[0]) {
        fs_coord_keys k;
        if (fs_coord_keys_load(keyfile, &k, e)) return -1;
        if (zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, k.server_public, 40) ||
            zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, k.client_public, 40) ||
            zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, k.client_secret, 40))
            return fs_errorf(e, FS_EXIT_FAIL, "coordinator client: cannot use the CURVE keys of %s: %s", keyfile,
                             zmq_strerror(zmq_errno()));
    }
    if (zmq_connect(c->sock, address))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "coordinator.address '%s': %s\n  hint: expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:7555",
                         address, zmq_strerror(zmq_errno()));
    return 0;
}

static int check_identity(const fs_coord_identity *id, double heartbeat_s, fs_error *e) {
    if (!id->job_id || !id->job_id[0] || strlen(id->job_id) > FS_PROTO_MAX_JOB ||
        strspn(id->job_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-") != strlen(id->job_id))
        return fs_errorf(e, FS_EXIT_BADINPUT, "coordinator client: job id '%s' must match [A-Za-z0-9_./-]{1,128}",
                         id->job_id ? id->job_id : "(null)");
    if (id->world < 1 || id->world > FS_PROTO_MAX_WORLD || id->rank < 0 || id->rank >= id->world)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "coordinator client: rank %d of world %d; expected 0 <= rank < world <= %d", id->rank,
                         id->world, FS_PROTO_MAX_WORLD);
    if (!(heartbeat_s >= 0.001 && heartbeat_s <= 3600))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "coordinator.heartbeat_s = %g; expected 0.001..3600\n  hint: 1 to 5 s suits a training job",
                         heartbeat_s);
    return 0;
}

static void copy_printable(char *dst, size_t cap, const char *src) {
    size_t n = 0;
    for (; src && *src && n + 1 < cap; src++) dst[n++] = (*src >= 0x20 && *src <= 0x7e) ? *src : '?';
    dst[n] = 0;
}

int fs_coord_connect(fs_coord_client **out, const char *address, const char *keyfile, const fs_coord_identity *id,
                     double heartbeat_s, fs_error *e) {
    *out = NULL;
    if (check_identity(id, heartbeat_s, e)) return -1;
    fs_coord_client *c = fs_calloc(1, sizeof *c);
    snprintf(c->job, sizeof c->job, "%s", id->job_id);
    copy_printable(c->host, sizeof c->host, id->host && id->host[0] ? id->host : fs_hostname());
    c->rank = (uint32_t)id->rank, c->world = (uint32_t)id->world;
    c->pid = id->pid > 0 ? (uint64_t)id->pid : 1, c->config_hash = id->config_hash;
    c->inc = fs_hash3((uint64_t)(fs_wall_time() * 1e9), c->pid, (uint64_t)(uintptr_t)c) | 1;
    c->heartbeat_s = heartbeat_s, c->next_seq = 1;
    c->q = fs_calloc(FS_COORD_BUFFER + 1, sizeof *c->q);
    atomic_init(&c->step, -1), atomic_init(&c->bucket, -1);
    c->last_rtt_ms = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->acked_cv, NULL);
    if (open_socket(c, address, keyfile, e) || pthread_create(&c->thread, NULL, client_thread, c)) {
        if (!e || !e->code) fs_errorf(e, FS_EXIT_FAIL, "coordinator client: cannot start its thread");
        if (c->sock) zmq_close(c->sock);
        if (c->ctx) zmq_ctx_term(c->ctx);
        free(c->q), free(c);
        return -1;
    }
    *out = c;
    return 0;
}

/* ---------------------------------------------------------------- calls from training */
void fs_coord_set_step(fs_coord_client *c, long step) {
    if (c) atomic_store(&c->step, step);
}

void fs_coord_set_collective(fs_coord_client *c, uint64_t seq, int bucket, int state) {
    if (!c) return;
    atomic_store(&c->coll_seq, (long)seq);
    atomic_store(&c->bucket, bucket);
    atomic_store(&c->coll_state, state ? 1 : 0);
}

void fs_coord_metrics(fs_coord_client *c, long step, const char *json_object) {
    if (!c) return;
    char why[256];
    fs_msg *m = fs_calloc(1, sizeof *m); /* large: kept off the caller's stack */
    m->type = FS_MSG_METRICS;
    m->u.metrics.step = step, m->u.metrics.dropped = (uint64_t)atomic_load(&c->dropped);
    size_t len = strlen(json_object);
    if (len > FS_PROTO_MAX_JSON || fs_json_flat_parse(json_object, len, m->u.metrics.keys, m->u.metrics.vals,
                                                      FS_PROTO_MAX_METRICS, &m->u.metrics.n, why, sizeof why)) {
        if (!atomic_exchange(&c->warned_json, 1))
            fs_warn("coordinator client: metrics refused (%s); counted as dropped",
                    len > FS_PROTO_MAX_JSON ? "over 8192 bytes" : why);
        atomic_fetch_add(&c->dropped, 1);
    } else {
        memcpy(m->u.metrics.json, json_object, len + 1);
        push(c, m, 0);
    }
    free(m);
}

void fs_coord_checkpoint(fs_coord_client *c, long step, const char *relpath, const char *const *names,
                         const char *const *checksums_hex, int n) {
    if (!c) return;
    fs_msg *m = fs_calloc(1, sizeof *m);
    m->type = FS_MSG_CHECKPOINT;
    m->u.ckpt.step = step, m->u.ckpt.n = FS_MIN(n, FS_PROTO_MAX_FILES);
    snprintf(m->u.ckpt.path, sizeof m->u.ckpt.path, "%s", relpath);
    for (int i = 0; i < m->u.ckpt.n; i++) {
        snprintf(m->u.ckpt.names[i], sizeof m->u.ckpt.names[i], "%s", names[i]);
        snprintf(m->u.ckpt.hex[i], sizeof m->u.ckpt.hex[i], "%s", checksums_hex[i]);
    }
    push(c, m, 0);
    free(m);
}

void fs_coord_preview(fs_coord_client *c, long step, const char *relpath, const char *tag) {
    if (!c) return;
    fs_msg *m = fs_calloc(1, sizeof *m);
    m->type = FS_MSG_PREVIEW;
    m->u.preview.step = step;
    snprintf(m->u.preview.path, sizeof m->u.preview.path, "%s", relpath);
    snprintf(m->u.preview.tag, sizeof m->u.preview.tag, "%s", tag);
    push(c, m, 0);
    free(m);
}

void fs_coord_goodbye(fs_coord_client *c, int ok, const char *text) {
    if (!c) return;
    fs_msg *m = fs_calloc(1, sizeof *m);
    m->type = FS_MSG_GOODBYE;
    m->u.bye.ok = ok ? 1 : 0, m->u.bye.dropped = (uint64_t)atomic_load(&c->dropped);
    fs_text_escape(text ? text : "", m->u.bye.text, sizeof m->u.bye.text); /* lines kept: the daemon unescapes */
    push(c, m, 1);
    free(m);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)GOODBYE_WAIT_S;
    pthread_mutex_lock(&c->mu);
    while (c->qcount > 0 && pthread_cond_timedwait(&c->acked_cv, &c->mu, &until) == 0) {}
    int left = c->qcount;
    pthread_mutex_unlock(&c->mu);
    if (left)
        fs_warn("coordinator client: %d messages not acknowledged after %.0f s; the coordinator will miss them", left,
                GOODBYE_WAIT_S);
}

void fs_coord_close(fs_coord_client *c) {
    if (!c) return;
    atomic_store(&c->stop, 1);
    pthread_join(c->thread, NULL);
    zmq_close(c->sock);
    zmq_ctx_term(c->ctx);
    for (int i = 0; i < c->qcount; i++) free(ring_at(c, i)->data);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->acked_cv);
    free(c->q);
    free(c);
}

long fs_coord_dropped(const fs_coord_client *c) { return c ? atomic_load(&((fs_coord_client *)c)->dropped) : 0; }

long fs_coord_pending(fs_coord_client *c) {
    pthread_mutex_lock(&c->mu);
    long n = c->qcount;
    pthread_mutex_unlock(&c->mu);
    return n;
}

int fs_coord_registered(fs_coord_client *c) {
    pthread_mutex_lock(&c->mu);
    int r = c->registered;
    pthread_mutex_unlock(&c->mu);
    return r;
}

double fs_coord_last_rtt_ms(fs_coord_client *c) {
    pthread_mutex_lock(&c->mu);
    double r = c->last_rtt_ms;
    pthread_mutex_unlock(&c->mu);
    return r;
}
