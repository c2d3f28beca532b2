/* coordinator.c — `faceswarm coordinator`: the job's ZeroMQ daemon, in the redis shape: one
 * zmq_poll loop over the ROUTER socket (and, with CURVE, the ZAP handler and a socket
 * monitor), a cron every 100 ms for timeouts and the status snapshot, signal handlers that
 * only set a flag, and a levelled log in <run>/coordinator/coordinator.log.
 * This file is the loop: it owns the sockets, hands each received frame to the state
 * (coord_state.c, through coord_daemon.h) and sends what the state put in its outbox. The
 * state never calls back here and makes no ZeroMQ call (tests/coord/test_state.c drives it
 * with no socket at all). */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "comms/coord_daemon.h"
#include "comms/coord_keys.h"
#include "comms/cli.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define MONITOR_ENDPOINT "inproc://faceswarm.coord.monitor"
#define BATCH_MAX 4096 /* messages handled between two flush+ACK points */

/* The loop's half of the daemon: the sockets. The state (coord_daemon.h, coord_state.c) never
 * sees them: it answers into its outbox, which the loop sends after every message it hands
 * over and after every batch (so replies leave in the order and at the time they were made). */
typedef struct coord_loop {
    coord *c; /* the state */
    void *ctx, *router, *zap, *monitor;
    uint8_t allowed[32]; /* CURVE: the job's client public key */
} coord_loop;

/* ---------------------------------------------------------------- sending */
static void send_outbox(coord_loop *l) {
    coord_outbox *o = &l->c->outbox;
    /* A peer that is gone or whose queue is full loses its reply; it will ask again. */
    for (int i = 0; i < o->n; i++)
        if (zmq_send(l->router, o->q[i].rid, o->q[i].rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
            zmq_send(l->router, o->bytes + o->q[i].off, o->q[i].len, ZMQ_DONTWAIT);
    coord_outbox_clear(o);
}

/* ---------------------------------------------------------------- receiving */
static void drain_more(coord_loop *l) {
    int more;
    size_t sz = sizeof more;
    zmq_msg_t part;
    while (zmq_getsockopt(l->router, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_init(&part);
        zmq_msg_recv(&part, l->router, 0);
        zmq_msg_close(&part);
    }
}

/* Receives one [routing id][payload] message; returns 0 when the socket had nothing. */
static int recv_one(coord_loop *l) {
    coord *c = l->c;
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    if (zmq_msg_recv(&id, l->router, ZMQ_DONTWAIT) < 0) return zmq_msg_close(&id), 0;
    zmq_msg_init(&body);
    int more = zmq_msg_more(&id);
    if (!more || zmq_msg_recv(&body, l->router, 0) < 0) {
        coord_bad(c, "an empty message (no payload frame)");
    } else if (zmq_msg_more(&body)) {
        drain_more(l);
        coord_bad(c, "a multi-part message; the protocol uses one frame");
    } else if (zmq_msg_size(&body) > FS_PROTO_MAX_MSG) {
        c->n_oversize++;
        coord_bad(c, "%zu bytes, over the %d-byte cap", zmq_msg_size(&body), FS_PROTO_MAX_MSG);
        c->n_bad--; /* counted as oversize, not malformed */
    } else if (zmq_msg_size(&id) > 255) {
        coord_bad(c, "routing id of %zu bytes", zmq_msg_size(&id));
    } else {
        coord_handle(c, zmq_msg_data(&id), zmq_msg_size(&id), zmq_msg_data(&body), zmq_msg_size(&body));
        send_outbox(l);
    }
    zmq_msg_close(&body);
    zmq_msg_close(&id);
    return 1;
}

/* ---------------------------------------------------------------- CURVE: ZAP and monitor */
typedef struct zap_req {
    char frame[7][256];
    size_t len[7];
} zap_req;

static void handle_zap(coord_loop *l) {
    coord *c = l->c;
    zap_req q = {0};
    int n = 0, more = 1;
    while (more && n < 7) {
        int got = zmq_recv(l->zap, q.frame[n], sizeof q.frame[n] - 1, 0);
        if (got < 0) return;
        q.len[n++] = (size_t)FS_MIN(got, (int)sizeof q.frame[0] - 1);
        size_t sz = sizeof more;
        zmq_getsockopt(l->zap, ZMQ_RCVMORE, &more, &sz);
    }
    if (more) { /* more frames than a CURVE request has: read them so the REP socket can answer */
        zmq_msg_t part;
        for (size_t sz = sizeof more; more && zmq_getsockopt(l->zap, ZMQ_RCVMORE, &more, &sz) == 0 && more;) {
            zmq_msg_init(&part);
            zmq_msg_recv(&part, l->zap, 0);
            zmq_msg_close(&part);
        }
        n = 0; /* malformed: denied below */
    }
    /* frames: version, request id, domain, address, routing id, mechanism, credentials */
    int ok = n == 7 && !strcmp(q.frame[5], "CURVE") && q.len[6] == 32 && !memcmp(q.frame[6], l->allowed, 32);
    if (!ok) {
        char z85[41] = "-";
        if (n == 7 && q.len[6] == 32) zmq_z85_encode(z85, (const uint8_t *)q.frame[6], 32);
        c->n_refused++;
        coord_log_limited(c, CL_ZAP, FS_LOG_WARN,
                          "refused a client from %s: mechanism %s, public key %s is not the job's client key\n  hint: "
                          "give it this job's key file",
                          n > 3 ? q.frame[3] : "?", n > 5 ? q.frame[5] : "?", z85);
    }
    const char *reply[6] = {"1.0", q.frame[1], ok ? "200" : "400", ok ? "OK" : "not the job's key", "", ""};
    for (int i = 0; i < 6; i++)
        zmq_send(l->zap, reply[i], i == 1 ? q.len[1] : strlen(reply[i]), i < 5 ? ZMQ_SNDMORE : 0);
}

static const char *handshake_reason(uint32_t code) {
    if (code == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) return "the client does not use CURVE (no key file?)";
    if (code == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        return "the client's keys do not match this job's server key (another job's key file?)";
    /* libzmq reports a client without CURVE this way too when the connection drops first. */
    return "the security handshake failed (a client without CURVE, or with another job's key file?)";
}

static void handle_monitor(coord_loop *l) {
    coord *c = l->c;
    uint8_t ev[6];
    char where[256] = "";
    if (zmq_recv(l->monitor, ev, sizeof ev, 0) < 6) return;
    int got = zmq_recv(l->monitor, where, sizeof where - 1, 0);
    where[got > 0 ? FS_MIN(got, (int)sizeof where - 1) : 0] = 0;
    uint16_t event;
    uint32_t value;
    memcpy(&event, ev, 2), memcpy(&value, ev + 2, 4);
    /* A client without CURVE, or with another job's keys, fails before ZAP is asked. */
    coord_log_kind kind = value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH ? CL_NO_CURVE
                          : value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC    ? CL_WRONG_KEYS
                                                                              : CL_HANDSHAKE;
    c->n_refused++;
    /* Refusals repeat at every reconnect of the client: rate-limited per kind. */
    coord_log_limited(c, kind, FS_LOG_WARN,
                      "refused a connection on %s: %s (event 0x%x, code 0x%x)\n  hint: ranks need coordinator.keys set "
                      "to this job's key file",
                      where, handshake_reason(value), (unsigned)event, (unsigned)value);
}

static int setup_curve(coord_loop *l, fs_error *e) {
    coord *c = l->c;
    fs_coord_keys k;
    if (fs_coord_keys_load(c->o.keys, &k, e)) return -1;
    zmq_z85_decode(l->allowed, k.client_public);
    int one = 1;
    l->zap = zmq_socket(l->ctx, ZMQ_REP);
    if (!l->zap || zmq_bind(l->zap, ZAP_ENDPOINT) || zmq_setsockopt(l->router, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(l->router, ZMQ_CURVE_SECRETKEY, k.server_secret, 40) ||
        zmq_socket_monitor(l->router, MONITOR_ENDPOINT,
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
        return fs_errorf(e, FS_EXIT_FAIL, "cannot set up CURVE with %s: %s\n  hint: libzmq must have CURVE (libsodium)",
                         c->o.keys, zmq_strerror(zmq_errno()));
    l->monitor = zmq_socket(l->ctx, ZMQ_PAIR);
    if (!l->monitor || zmq_connect(l->monitor, MONITOR_ENDPOINT))
        return fs_errorf(e, FS_EXIT_FAIL, "cannot connect the socket monitor: %s", zmq_strerror(zmq_errno()));
    return 0;
}

/* ---------------------------------------------------------------- set up, loop, tear down */
/* The job this daemon serves: --job-id and --world-size, else the ones its run directory
 * recorded (coordinator/job.json, written by the start that had them, so that a restarted
 * daemon serves the same job). A daemon never adopts the job of a message. */
static int resolve_job(coord *c, fs_error *e) {
    char path[COORD_PATH + 64], job[FS_PROTO_MAX_JOB + 1] = "";
    int64_t world = 0;
    snprintf(path, sizeof path, "%s/job.json", c->dir);
    char *text = fs_exists(path) ? fs_read_file(path, NULL, NULL) : NULL;
    if (text && (fs_json_get_str(text, "job", job, sizeof job) || fs_json_get_i64(text, "world", &world) || world < 1 ||
                 world > FS_PROTO_MAX_WORLD)) {
        coord_log(c, FS_LOG_WARN, "%s: not a job record ({\"job\":ID,\"world\":N}); ignored", path);
        job[0] = 0, world = 0;
    }
    free(text);
    if (!c->o.job[0] && !job[0])
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "no job to serve: --job-id and --world-size are not given and %s does not record them\n"
                         "  hint: faceswarm coordinator --state-dir RUN --job-id ID --world-size N (the trainer and "
                         "the Slurm job script pass them)",
                         path);
    if (!c->o.job[0]) {
        snprintf(c->job, sizeof c->job, "%s", job), c->world = (uint32_t)world;
        coord_log(c, FS_LOG_INFO, "serving job %s of %u ranks, as recorded in %s", c->job, c->world, path);
        return 0;
    }
    snprintf(c->job, sizeof c->job, "%s", c->o.job), c->world = c->o.world;
    if (job[0] && (strcmp(job, c->job) || (uint32_t)world != c->world))
        coord_log(c, FS_LOG_INFO, "serving job %s of %u ranks (was job %s of %lld ranks in this run directory)", c->job,
                  c->world, job, (long long)world);
    fs_jbuf b = {0};
    fs_jbuf_printf(&b, "{\"job\":");
    fs_jbuf_str(&b, c->job);
    fs_jbuf_printf(&b, ",\"world\":%u}\n", c->world);
    int rc = fs_write_file_atomic(path, b.p, b.len, e);
    fs_jbuf_free(&b);
    return rc;
}

/* `faceswarm status --run RUN` finds the key file here (the absolute path, not the keys). */
static int write_keyfile_path(coord *c, fs_error *e) {
    char path[COORD_PATH + 64], real[COORD_PATH];
    snprintf(path, sizeof path, "%s/keyfile", c->dir);
    if (!c->o.keys[0])
        return (unlink(path) && errno != ENOENT)
                   ? fs_errorf(e, FS_EXIT_FAIL, "%s: cannot remove: %s", path, strerror(errno))
                   : 0;
    if (!realpath(c->o.keys, real)) snprintf(real, sizeof real, "%s", c->o.keys);
    char text[COORD_PATH + 2];
    int n = snprintf(text, sizeof text, "%s\n", real);
    return fs_write_file_atomic(path, text, (size_t)FS_MIN(n, (int)sizeof text - 1), e);
}

static int write_address(coord_loop *l, fs_error *e) {
    coord *c = l->c;
    size_t sz = sizeof c->endpoint;
    if (zmq_getsockopt(l->router, ZMQ_LAST_ENDPOINT, c->endpoint, &sz))
        return fs_errorf(e, FS_EXIT_FAIL, "ZMQ_LAST_ENDPOINT: %s", zmq_strerror(zmq_errno()));
    char path[COORD_PATH + 64], text[300];
    snprintf(path, sizeof path, "%s/address", c->dir);
    /* A wildcard bind (the Slurm job binds every interface) is reached through this host's name:
     * `faceswarm status --run` reads this file, maybe on another machine. */
    const char *port = NULL;
    if (!strncmp(c->endpoint, "tcp://0.0.0.0:", 14)) port = c->endpoint + 14;
    else if (!strncmp(c->endpoint, "tcp://[::]:", 11)) port = c->endpoint + 11;
    int n = port ? snprintf(text, sizeof text, "tcp://%s:%s\n", fs_hostname(), port)
                 : snprintf(text, sizeof text, "%s\n", c->endpoint);
    return fs_write_file_atomic(path, text, (size_t)n, e);
}

/* Only this machine can reach the endpoint: tcp on a loopback address, ipc, inproc. */
static int coord_bind_is_local(const char *bind) {
    if (!strncmp(bind, "ipc://", 6) || !strncmp(bind, "inproc://", 9)) return 1;
    if (strncmp(bind, "tcp://", 6)) return 0;
    const char *h = bind + 6, *colon = strrchr(h, ':');
    size_t n = colon ? (size_t)(colon - h) : strlen(h);
    return (n > 4 && !strncmp(h, "127.", 4)) || (n == 9 && !strncmp(h, "localhost", 9)) ||
           (n == 5 && !strncmp(h, "[::1]", 5));
}

static int open_sockets(coord_loop *l, fs_error *e) {
    coord *c = l->c;
    int hwm = 100000, linger = 0, maxmsg = 4 * FS_PROTO_MAX_MSG; /* far over the cap: disconnect, not allocate */
    int64_t maxmsg64 = maxmsg;
    l->ctx = zmq_ctx_new();
    l->router = l->ctx ? zmq_socket(l->ctx, ZMQ_ROUTER) : NULL;
    if (!l->router) return fs_errorf(e, FS_EXIT_FAIL, "cannot create the ROUTER socket: %s", zmq_strerror(zmq_errno()));
    zmq_setsockopt(l->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(l->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(l->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(l->router, ZMQ_MAXMSGSIZE, &maxmsg64, sizeof maxmsg64);
    if (c->o.keys[0] && setup_curve(l, e)) return -1;
    if (zmq_bind(l->router, c->o.bind))
        return fs_errorf(e, FS_EXIT_FAIL,
                         "cannot bind %s: %s\n  hint: is another coordinator running on that port? use "
                         "tcp://127.0.0.1:* for a free one",
                         c->o.bind, zmq_strerror(zmq_errno()));
    if (!c->o.keys[0] && !coord_bind_is_local(c->o.bind))
        coord_log(c, FS_LOG_WARN,
                  "listening on %s without CURVE (--insecure): anyone who can reach it can send to this job (hint: "
                  "--keys FILE)",
                  c->o.bind);
    return write_address(l, e) || write_keyfile_path(c, e) ? -1 : 0;
}

static volatile sig_atomic_t *g_stop;
static void on_signal(int sig) {
    (void)sig;
    *g_stop = 1;
}

static void poll_once(coord_loop *l) {
    zmq_pollitem_t items[3] = {{l->router, 0, ZMQ_POLLIN, 0},
                               {l->zap, 0, ZMQ_POLLIN, 0},
                               {l->monitor, 0, ZMQ_POLLIN, 0}};
    int n_items = l->zap ? 3 : 1;
    if (zmq_poll(items, n_items, 100) < 0) return; /* EINTR: the loop checks the stop flag */
    if (items[0].revents & ZMQ_POLLIN) {
        for (int i = 0; i < BATCH_MAX && recv_one(l); i++) {}
        coord_end_batch(l->c);
        send_outbox(l);
    }
    if (n_items > 1 && (items[1].revents & ZMQ_POLLIN)) handle_zap(l);
    if (n_items > 2 && (items[2].revents & ZMQ_POLLIN)) handle_monitor(l);
}

static void teardown(coord_loop *l) {
    coord *c = l->c;
    coord_log_window(c, fs_now(), 1); /* what was suppressed since the last window */
    if (l->router && c->dir[0]) {
        fs_error e = {0};
        coord_end_batch(c);
        send_outbox(l);
        coord_snapper_stop(c); /* the last snapshot is written here, after any in progress */
        if (coord_snapshot(c, &e)) coord_log(c, FS_LOG_ERROR, "%s", e.msg);
    }
    coord_state_close(c);
    if (c->log) fclose(c->log);
    if (l->monitor) zmq_close(l->monitor);
    if (l->zap) zmq_close(l->zap);
    if (l->router) zmq_close(l->router);
    if (l->ctx) zmq_ctx_term(l->ctx);
}

static int coord_daemon_run(const coord_opts *o, volatile sig_atomic_t *stop, fs_error *e) {
    coord *c = fs_calloc(1, sizeof *c);
    coord_loop l = {.c = c};
    c->o = *o;
    c->t_start = c->last_cron = c->log_window = c->last_alive = fs_now();
    c->boot = fs_mix64((uint64_t)getpid() ^ (uint64_t)(fs_wall_time() * 1e6)) | 1;
    char logpath[COORD_PATH + 64];
    snprintf(c->dir, sizeof c->dir, "%s/coordinator", o->state_dir);
    snprintf(logpath, sizeof logpath, "%s/coordinator.log", c->dir);
    int rc = fs_mkdir_p(c->dir, e);
    if (!rc && !(c->log = fs_fopen(logpath, "a", e))) rc = -1;
    if (rc) { /* the run directory is the user's input: a bad one is exit 2, with a hint */
        fs_error why = *e;
        char *hint = strstr(why.msg, "\n  hint:"); /* one hint, for the directory as a whole */
        if (hint) *hint = 0;
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "--state-dir %s: cannot use it as the run directory: %.3000s\n  hint: pass a directory that "
                       "exists or can be created, and is writable",
                       o->state_dir, why.msg);
    }
    if (!rc) rc = resolve_job(c, e);
    if (!rc) rc = coord_state_open(c, e);
    if (!rc) rc = open_sockets(&l, e);
    if (!rc) {
        coord_log(c, FS_LOG_INFO,
                  "coordinator pid %ld listening on %s, state in %s, job %s of %u ranks, timeout %.1f s%s",
                  (long)getpid(), c->endpoint, o->state_dir, c->job, c->world, o->timeout_s,
                  o->keys[0] ? ", CURVE required" : "");
        while (!*stop && !c->idle_exit) {
            poll_once(&l);
            if (fs_now() - c->last_cron >= 0.1) coord_cron(c), c->last_cron = fs_now();
        }
        coord_log(c, FS_LOG_INFO, "stopping after %llu messages", (unsigned long long)c->n_msgs);
    }
    teardown(&l);
    free(c);
    return rc;
}

/* ---------------------------------------------------------------- command line */
static void usage(FILE *f) {
    fprintf(f,
            "usage: faceswarm coordinator --state-dir RUN_DIR [--job-id ID --world-size N] [--bind ADDR] [--keys FILE] "
            "[--timeout S]\n"
            "                             [--straggler K] [--idle-exit S] [--insecure] [-v]\n"
            "  --bind ADDR      zmq endpoint (default tcp://127.0.0.1:7555; tcp://127.0.0.1:* picks a free port,\n"
            "                   written to RUN_DIR/coordinator/address)\n"
            "  --state-dir DIR  the run directory: metrics, registry, TensorBoard events, log, status\n"
            "  --job-id ID      the job served ([A-Za-z0-9_./-]{1,128}); registrations of any other job are refused\n"
            "  --world-size N   its number of ranks (1..65536); ranks >= N are refused\n"
            "                   (both recorded in RUN_DIR/coordinator/job.json: a restart without them serves the same "
            "job)\n"
            "  --keys FILE      require CURVE with the job's keys (faceswarm keys --out FILE); needed to bind\n"
            "                   anything but a loopback address (127.x, localhost, [::1]) or ipc://\n"
            "  --insecure       bind a non-loopback address without CURVE (anyone who can reach it can send)\n"
            "  --timeout S      a rank silent (or stuck in one collective) this long is named (default 30)\n"
            "  --straggler K    flag a rank whose step time exceeds K x the median (default 2)\n"
            "  --idle-exit S    exit once no rank has been alive for S seconds (0 = never, the default)\n");
}

static int parse_double(const char *opt, const char *s, double lo, double hi, double *v) {
    fs_error e = {0};
    if (fs_parse_double(opt, s, lo, hi, v, &e)) {
        fprintf(stderr, "error: faceswarm coordinator: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, coord_opts *o) {
    static const struct option opts[] = {{"bind", required_argument, 0, 'b'},
                                         {"state-dir", required_argument, 0, 'd'},
                                         {"keys", required_argument, 0, 'k'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"straggler", required_argument, 0, 's'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"idle-exit", required_argument, 0, 'i'},
                                         {"job-id", required_argument, 0, 'j'},
                                         {"world-size", required_argument, 0, 'w'},
                                         {"insecure", no_argument, 0, 'I'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    snprintf(o->bind, sizeof o->bind, "tcp://127.0.0.1:7555");
    o->timeout_s = 30, o->straggler_k = 2;
    int ch;
    optind = 1;
    double world = 0;
    while ((ch = getopt_long(argc, argv, "b:d:k:t:s:i:j:w:vh", opts, NULL)) != -1) {
        if (ch == 'b') snprintf(o->bind, sizeof o->bind, "%s", optarg);
        else if (ch == 'd') snprintf(o->state_dir, sizeof o->state_dir, "%s", optarg);
        else if (ch == 'k') snprintf(o->keys, sizeof o->keys, "%s", optarg);
        else if (ch == 't') {
            if (parse_double("--timeout", optarg, 0.1, 86400, &o->timeout_s)) return FS_EXIT_BADINPUT;
        } else if (ch == 's') {
            if (parse_double("--straggler", optarg, 1.01, 1000, &o->straggler_k)) return FS_EXIT_BADINPUT;
        } else if (ch == 'i') {
            if (parse_double("--idle-exit", optarg, 0, 1e7, &o->idle_exit_s)) return FS_EXIT_BADINPUT;
        } else if (ch == 'w') {
            if (parse_double("--world-size", optarg, 1, FS_PROTO_MAX_WORLD, &world)) return FS_EXIT_BADINPUT;
            if (world != (double)(uint32_t)world) {
                fprintf(stderr, "error: faceswarm coordinator: --world-size '%s' is not a whole number of ranks\n",
                        optarg);
                return FS_EXIT_BADINPUT;
            }
        } else if (ch == 'j') {
            size_t n = strlen(optarg);
            if (n < 1 || n > FS_PROTO_MAX_JOB ||
                strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-") != n) {
                fprintf(stderr,
                        "error: faceswarm coordinator: --job-id '%s' must match [A-Za-z0-9_./-]{1,128}\n  hint: the "
                        "Slurm job id, or 'local'\n",
                        optarg);
                return FS_EXIT_BADINPUT;
            }
            snprintf(o->job, sizeof o->job, "%s", optarg);
        } else if (ch == 'v') o->verbose = 1;
        else if (ch == 'I') o->insecure = 1;
        else if (ch == 'h') return usage(stdout), -1;
        else return usage(stderr), FS_EXIT_BADINPUT;
    }
    o->world = (uint32_t)world;
    if (!o->job[0] != !o->world) {
        fprintf(stderr,
                "error: faceswarm coordinator: --job-id and --world-size go together (got only %s)\n"
                "  hint: --job-id local --world-size 4, or neither to serve the job recorded in the run directory\n",
                o->job[0] ? "--job-id" : "--world-size");
        return FS_EXIT_BADINPUT;
    }
    if (!o->keys[0] && !o->insecure && !coord_bind_is_local(o->bind)) {
        fprintf(stderr,
                "error: faceswarm coordinator: --bind %s reaches beyond this machine, and no --keys were given: "
                "anyone who can reach it could register ranks and send metrics to this job\n"
                "  hint: pass --keys FILE (faceswarm keys --out FILE; the ranks use it as coordinator.keys), "
                "bind tcp://127.0.0.1:PORT, or add --insecure on a network you trust\n",
                o->bind);
        return FS_EXIT_BADINPUT;
    }
    if (!o->state_dir[0]) {
        fprintf(stderr, "error: faceswarm coordinator: --state-dir is required\n  hint: pass the run directory, e.g. "
                        "--state-dir runs/demo\n");
        return FS_EXIT_BADINPUT;
    }
    return 0;
}

int cmd_coordinator(int argc, char **argv) {
    coord_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? FS_EXIT_OK : rc;
    static volatile sig_atomic_t stop = 0;
    g_stop = &stop;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    /* A TERM ignored by whoever started us stays ignored (as a shell's traps do): Slurm's job
     * script starts its coordinator so, since scancel sends TERM to every process of the job
     * at once, and the coordinator must outlive the ranks' final checkpoint; the script stops
     * it with INT after srun has ended (slurm/faceswarm.sbatch). */
    struct sigaction term;
    if (sigaction(SIGTERM, NULL, &term) != 0 || term.sa_handler != SIG_IGN) sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fs_error e = {0};
    if (coord_daemon_run(&o, &stop, &e)) {
        fprintf(stderr, "error: faceswarm coordinator: %s\n", e.msg);
        return e.code ? e.code : FS_EXIT_FAIL;
    }
    return FS_EXIT_OK;
}
