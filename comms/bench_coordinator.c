/* bench_coordinator.c — `faceswarm bench coordinator`: starts the daemon (a child process on
 * loopback) and N simulated ranks (DEALER sockets driven by a few threads). Three phases per N:
 *  - flood: each rank keeps a window of metric messages in flight; the sustained rate of
 *    acknowledged (written) messages is the daemon's capacity; heartbeats sent meanwhile
 *    wait behind the queued metrics, so their p99 is reported apart (flood_p99);
 *  - spread (what a training job sends): heartbeats on the real client's schedule
 *    (fs_coord_heartbeat_next: rank r of N at phase r/N of the period), and 10 metric
 *    messages/s/rank queued by ALL ranks at the same instant, as in a job, where every rank
 *    queues its metrics right after the step's all-reduce and gather (trainer/train.c, every
 *    train.log_every steps), each sent after the client's hold (fs_coord_send_delay: r/N x
 *    50 ms). Both are the very functions the client calls; the heartbeat round trip p50/p99
 *    measured here is what a real job sees;
 *  - burst (worst case): the same load with heartbeats and metrics sent by all ranks at the
 *    same instant, as a client without the schedule and the hold would (the daemon's worst
 *    case).
 * The harness must measure the daemon, not itself: each thread waits on its sockets' ZMQ_FD
 * with epoll (no scanning), reads replies between its sends, timestamps a round trip when the
 * reply is read, and the rows show the harness's CPU use next to the daemon's.
 * It checks itself: every acknowledged line must be in metrics.jsonl exactly once. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "comms/coord_client.h"
#include "comms/protocol.h"
#include "core/bench.h"
#include "comms/cli.h"

#define MAX_SIZES 16
#define SEQ_OFFSET 20       /* header: magic 4, version 1, type 1, flags 2, rank 4, inc 8 */
#define PACED_METRICS_S 0.1 /* spread and burst phases: one metrics message per rank per 100 ms */
#define REGISTER_RETRY_S 0.5

typedef struct bopts {
    int sizes[MAX_SIZES], n_sizes, threads, window, max_ranks, json, keep;
    double seconds, hb_s;
} bopts;

typedef enum phase_kind { PHASE_FLOOD, PHASE_SPREAD, PHASE_BURST } phase_kind;

typedef struct sim {
    void *sock;
    int fd; /* the socket's ZMQ_FD, edge-triggered in the worker's epoll set */
    uint32_t rank;
    uint64_t inc, next_seq, acked;
    int registered;
    double last_reg;              /* s, fs_now() */
    double next_hb, next_metrics; /* s, fs_now(): this rank's next heartbeat and metrics ticks */
    uint8_t frame[256];           /* this rank's metrics message, seq and step patched per send */
    size_t frame_len;
} sim;

typedef struct worker {
    const bopts *o;
    phase_kind kind;
    sim *sims;
    int n;
    int world; /* simulated ranks in the phase (all workers): the heartbeat schedule's world */
    int epfd;
    int *heap; /* indices of sims, min-heap on the sim's next due time, [n] */
    double t_base, t_measure, t_stop;
    uint64_t acked_in_window;
    double *rtt; /* heartbeat round trips in the window, ms */
    long n_rtt, cap_rtt;
    int failed; /* a socket call failed: the row is reported wrong */
} worker;

static void encode_to(sim *s, fs_msg *m, uint8_t *buf, size_t cap, size_t *len) {
    char why[128];
    m->rank = s->rank, m->inc = s->inc;
    long n = fs_proto_encode(m, buf, cap, why, sizeof why);
    *len = n > 0 ? (size_t)n : 0;
}

static int sim_init(sim *s, void *ctx, const char *addr, uint32_t rank, uint64_t inc) {
    int hwm = 100000, linger = 0;
    size_t fdlen = sizeof s->fd;
    memset(s, 0, sizeof *s);
    s->sock = zmq_socket(ctx, ZMQ_DEALER);
    if (!s->sock || zmq_setsockopt(s->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger) || zmq_connect(s->sock, addr) ||
        zmq_getsockopt(s->sock, ZMQ_FD, &s->fd, &fdlen)) {
        fprintf(stderr,
                "error: bench coordinator: simulated rank %u: socket to %s: %s\n  hint: raise `ulimit -n` for many "
                "ranks\n",
                rank, addr, zmq_strerror(zmq_errno()));
        if (s->sock) zmq_close(s->sock);
        return -1;
    }
    s->rank = rank, s->inc = inc, s->next_seq = 1;
    fs_msg *m = fs_calloc(1, sizeof *m);
    m->type = FS_MSG_METRICS, m->seq = 1, m->u.metrics.step = 1;
    snprintf(m->u.metrics.json, sizeof m->u.metrics.json, "{\"loss\":0.0123,\"step_ms\":%d,\"images_per_s\":512}",
             50 + (int)(rank % 7));
    encode_to(s, m, s->frame, sizeof s->frame, &s->frame_len);
    free(m);
    return 0;
}

/* ------------------------------------------------------------ timer heap */
static double sim_due(const worker *w, const sim *s) {
    return w->kind == PHASE_FLOOD ? s->next_hb : FS_MIN(s->next_hb, s->next_metrics);
}

static void heap_sift_down(worker *w, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->n && sim_due(w, &w->sims[w->heap[l]]) < sim_due(w, &w->sims[w->heap[m]])) m = l;
        if (r < w->n && sim_due(w, &w->sims[w->heap[r]]) < sim_due(w, &w->sims[w->heap[m]])) m = r;
        if (m == i) return;
        int t = w->heap[i];
        w->heap[i] = w->heap[m], w->heap[m] = t, i = m;
    }
}

static void heap_build(worker *w) {
    for (int i = 0; i < w->n; i++) w->heap[i] = i;
    for (int i = w->n / 2 - 1; i >= 0; i--) heap_sift_down(w, i);
}

/* ------------------------------------------------------------ one simulated rank */
static void sim_send_frame(worker *w, sim *s, const void *buf, size_t n) {
    if (zmq_send(s->sock, buf, n, ZMQ_DONTWAIT) < 0 && zmq_errno() != EAGAIN) w->failed = 1;
}

static void sim_send_register(worker *w, sim *s) {
    fs_msg m = {.type = FS_MSG_REGISTER};
    uint8_t buf[512];
    size_t n;
    m.u.reg.world = (uint32_t)w->o->max_ranks, m.u.reg.pid = 1 + s->rank, m.u.reg.config_hash = 1;
    strcpy(m.u.reg.job_id, "bench"), strcpy(m.u.reg.host, "sim");
    encode_to(s, &m, buf, sizeof buf, &n);
    sim_send_frame(w, s, buf, n);
    s->last_reg = fs_now();
}

static void sim_send_heartbeat(worker *w, sim *s) {
    fs_msg m = {.type = FS_MSG_HEARTBEAT};
    uint8_t buf[128];
    size_t n;
    m.u.hb.step = (int64_t)s->acked, m.u.hb.bucket = -1, m.u.hb.t_ns = (uint64_t)(fs_now() * 1e9);
    encode_to(s, &m, buf, sizeof buf, &n);
    sim_send_frame(w, s, buf, n);
}

/* Sends metrics while the window allows, at most max_msgs of them (stops early at the HWM). */
static void sim_send_metrics(sim *s, const bopts *o, int max_msgs) {
    for (int sent = 0; sent < max_msgs && s->next_seq <= s->acked + (uint64_t)o->window; sent++) {
        /* step = the phase's base + seq: a later phase (a new incarnation of the rank) never
         * repeats an earlier phase's steps, which the daemon would take for a resumed rank */
        uint64_t step = ((s->inc >> 32) << 32) + s->next_seq;
        for (int i = 0; i < 8; i++)
            s->frame[SEQ_OFFSET + i] = (uint8_t)(s->next_seq >> (8 * i)),
                                  s->frame[FS_PROTO_HEADER + i] = (uint8_t)(step >> (8 * i));
        if (zmq_send(s->sock, s->frame, s->frame_len, ZMQ_DONTWAIT) < 0) break;
        s->next_seq++;
    }
}

static void record_rtt(worker *w, uint64_t t_echo_ns) {
    double now = fs_now(); /* the moment the reply is read, not the moment the wakeup began */
    if (now < w->t_measure || now >= w->t_stop) return;
    if (w->n_rtt == w->cap_rtt)
        w->cap_rtt = w->cap_rtt ? 2 * w->cap_rtt : 4096,
        w->rtt = fs_realloc(w->rtt, (size_t)w->cap_rtt * sizeof *w->rtt);
    w->rtt[w->n_rtt++] = (now * 1e9 - (double)t_echo_ns) / 1e6;
}

static void sim_handle(worker *w, sim *s, const fs_msg *m) {
    if (m->type == FS_MSG_WELCOME) s->registered = 1, s->acked = m->u.welcome.acked;
    if (m->type != FS_MSG_ACK) return;
    if (m->u.ack.t_echo_ns) record_rtt(w, m->u.ack.t_echo_ns);
    if (m->u.ack.acked > s->acked) {
        double now = fs_now();
        if (now >= w->t_measure && now < w->t_stop) w->acked_in_window += m->u.ack.acked - s->acked;
        s->acked = m->u.ack.acked;
    }
}

/* Reads every reply queued on s. ZMQ_FD is edge-triggered and any zmq call on the socket may
 * consume its edge, so readiness is taken from ZMQ_EVENTS until it says nothing is left. */
static void sim_service(worker *w, sim *s, int refill) {
    uint8_t buf[512];
    char why[128];
    fs_msg m;
    for (;;) {
        int ev = 0;
        size_t evlen = sizeof ev;
        if (zmq_getsockopt(s->sock, ZMQ_EVENTS, &ev, &evlen)) {
            w->failed = 1;
            return;
        }
        if (!(ev & ZMQ_POLLIN)) return;
        int n = zmq_recv(s->sock, buf, sizeof buf, ZMQ_DONTWAIT);
        if (n < 0) return;
        if ((size_t)n > sizeof buf || fs_proto_decode(buf, (size_t)n, &m, why, sizeof why) || m.inc != s->inc) continue;
        sim_handle(w, s, &m);
        /* flood: keep this rank's window full as soon as room is made */
        if (refill && s->registered && fs_now() < w->t_stop) sim_send_metrics(s, w->o, w->o->window);
    }
}

/* Services the sockets epoll reports ready within timeout_ms (0 = only those ready now). */
static int worker_wait(worker *w, int timeout_ms) {
    struct epoll_event ev[64];
    int n = epoll_wait(w->epfd, ev, 64, timeout_ms);
    for (int i = 0; i < n; i++) sim_service(w, &w->sims[ev[i].data.u32], w->kind == PHASE_FLOOD);
    return n;
}

/* Flood and spread: the client's own schedule (wall-clock slots, mapped onto fs_now()).
 * Burst: every rank on the same grid, from t_base. */
static double next_heartbeat(const worker *w, const sim *s, double now) {
    if (w->kind == PHASE_BURST) {
        double t = w->t_base;
        while (t <= now) t += w->o->hb_s;
        return t;
    }
    double to_wall = fs_wall_time() - fs_now(); /* now, an fs_now() time, on the wall clock */
    return fs_coord_heartbeat_next(now + to_wall, (int)s->rank, w->world, w->o->hb_s) - to_wall;
}

/* The rank at the top of the heap is due: what its phase grid says, then its next tick. */
static void sim_tick(worker *w, sim *s, double now) {
    if (!s->registered) {
        if (now - s->last_reg >= REGISTER_RETRY_S) sim_send_register(w, s);
    } else {
        if (now >= s->next_hb) sim_send_heartbeat(w, s);
        if (w->kind != PHASE_FLOOD && now >= s->next_metrics && now < w->t_stop) sim_send_metrics(s, w->o, 1);
    }
    if (now >= s->next_hb) s->next_hb = next_heartbeat(w, s, now);
    while (s->next_metrics <= now) s->next_metrics += PACED_METRICS_S;
    heap_sift_down(w, 0);
    /* read replies between sends, so that an early rank's ACK is not left waiting while this
     * thread sends for its other ranks (a send may also consume the socket's ZMQ_FD edge) */
    sim_service(w, s, w->kind == PHASE_FLOOD);
    worker_wait(w, 0);
}

static int worker_setup(worker *w) {
    w->epfd = epoll_create1(0);
    if (w->epfd < 0) return perror("error: bench coordinator: epoll_create1"), -1;
    w->heap = fs_calloc((size_t)w->n, sizeof *w->heap);
    for (int i = 0; i < w->n; i++) {
        sim *s = &w->sims[i];
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = (uint32_t)i};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->fd, &ev))
            return perror("error: bench coordinator: epoll_ctl(ZMQ_FD)"), -1;
        s->next_hb = next_heartbeat(w, s, w->t_base);
        /* queued by all ranks at once, as after a step's collectives; sent after the client's hold */
        s->next_metrics = w->t_base + (w->kind == PHASE_SPREAD ? fs_coord_send_delay((int)s->rank, w->world) : 0);
        s->last_reg = -1e9;
    }
    heap_build(w);
    return 0;
}

/* Everything sent is acknowledged before the line count is checked. */
static void worker_drain(worker *w) {
    for (double t0 = fs_now(); fs_now() - t0 < 5;) {
        int left = 0;
        for (int i = 0; i < w->n; i++) left += w->sims[i].registered && w->sims[i].acked + 1 < w->sims[i].next_seq;
        if (!left) break;
        worker_wait(w, 5);
        for (int i = 0; i < w->n; i++) sim_service(w, &w->sims[i], 0);
    }
}

static void *worker_main(void *arg) {
    worker *w = arg;
    if (worker_setup(w)) {
        w->failed = 1;
    } else {
        for (int i = 0; i < w->n; i++) sim_send_register(w, &w->sims[i]), sim_service(w, &w->sims[i], 0);
        for (double now = fs_now(); now < w->t_stop; now = fs_now()) {
            while (w->n && sim_due(w, &w->sims[w->heap[0]]) <= now)
                sim_tick(w, &w->sims[w->heap[0]], now), now = fs_now();
            double wait_s = FS_MIN(sim_due(w, &w->sims[w->heap[0]]), w->t_stop) - now;
            worker_wait(w, wait_s > 0 ? (int)(wait_s * 1000) + 1 : 0);
        }
        worker_drain(w);
    }
    if (w->epfd >= 0) close(w->epfd);
    free(w->heap);
    return NULL;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct row {
    int ranks;
    double msgs_s, p50, p99;
    long n_rtt;
    uint64_t acked_total;
    int unregistered, failed;
    double cpu_cli, cpu_dmn; /* CPU seconds over the phase: this process (all its threads), the daemon */
    double wall;             /* s, the phase's duration */
} row;

static double self_cpu_s(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* utime + stime of process pid from /proc/<pid>/stat (fields 14 and 15), s; -1 if unreadable. */
static double proc_cpu_s(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void start_workers(const bopts *o, phase_kind kind, sim *sims, int n, worker *ws, pthread_t *th, int nt) {
    double t0 = fs_now();
    for (int t = 0; t < nt; t++) {
        int lo = n * t / nt, hi = n * (t + 1) / nt;
        ws[t] = (worker){.o = o,
                         .kind = kind,
                         .sims = sims + lo,
                         .n = hi - lo,
                         .world = n,
                         .epfd = -1,
                         .t_base = t0 + 0.05,
                         .t_measure = t0 + 0.5,
                         .t_stop = t0 + 0.5 + o->seconds};
        if (pthread_create(&th[t], NULL, worker_main, &ws[t]))
            ws[t].failed = 1, th[t] = 0, fprintf(stderr, "error: bench coordinator: pthread_create failed\n");
    }
}

static void collect(const bopts *o, worker *ws, pthread_t *th, int nt, row *r) {
    double *all = NULL;
    for (int t = 0; t < nt; t++) {
        if (th[t]) pthread_join(th[t], NULL);
        r->failed += ws[t].failed;
        r->msgs_s += (double)ws[t].acked_in_window / o->seconds;
        all = fs_realloc(all, (size_t)(r->n_rtt + ws[t].n_rtt + 1) * sizeof *all);
        if (ws[t].n_rtt) memcpy(all + r->n_rtt, ws[t].rtt, (size_t)ws[t].n_rtt * sizeof *all);
        r->n_rtt += ws[t].n_rtt;
        free(ws[t].rtt);
    }
    qsort(all, (size_t)r->n_rtt, sizeof *all, cmp_d);
    r->p50 = r->n_rtt ? all[r->n_rtt / 2] : -1;
    r->p99 = r->n_rtt ? all[FS_MIN(r->n_rtt - 1, (long)(r->n_rtt * 0.99))] : -1;
    free(all);
}

/* One phase at one size: N simulated ranks, measured for o->seconds after a 0.5 s warm-up. */
static row run_size(const bopts *o, const char *addr, long daemon_pid, int n, uint64_t inc_base, phase_kind kind) {
    row r = {.ranks = n};
    void *ctx = zmq_ctx_new();
    if (!ctx || zmq_ctx_set(ctx, ZMQ_IO_THREADS, 2) || zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 4 * n + 64)) {
        fprintf(stderr, "error: bench coordinator: zmq context: %s\n", zmq_strerror(zmq_errno()));
        if (ctx) zmq_ctx_term(ctx);
        return r.failed = 1, r;
    }
    sim *sims = fs_calloc((size_t)n, sizeof *sims);
    int made = 0;
    while (made < n && !sim_init(&sims[made], ctx, addr, (uint32_t)made, inc_base + (uint64_t)made)) made++;
    int nt = FS_MIN(o->threads, n);
    worker *ws = fs_calloc((size_t)nt, sizeof *ws);
    pthread_t *th = fs_calloc((size_t)nt, sizeof *th);
    double c0 = self_cpu_s(), d0 = proc_cpu_s(daemon_pid), w0 = fs_now();
    if (made == n) start_workers(o, kind, sims, n, ws, th, nt), collect(o, ws, th, nt, &r);
    r.failed += made < n;
    r.wall = fs_now() - w0, r.cpu_cli = self_cpu_s() - c0, r.cpu_dmn = proc_cpu_s(daemon_pid) - d0;
    for (int i = 0; i < made; i++) {
        r.acked_total += sims[i].acked;
        r.unregistered += !sims[i].registered;
        zmq_close(sims[i].sock);
    }
    zmq_ctx_term(ctx);
    free(sims), free(ws), free(th);
    return r;
}

/* ---------------------------------------------------------------- driver */
static long count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    long n = 0;
    int ch;
    if (!f) return -1;
    while ((ch = getc(f)) != EOF) n += ch == '\n';
    fclose(f);
    return n;
}

static int parse_sizes(const char *s, bopts *o) {
    static const char *hint = "  hint: simulated world sizes, comma-separated, e.g. --ranks 8,64,512\n";
    o->n_sizes = 0;
    for (const char *p = s; *p && o->n_sizes < MAX_SIZES;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 4096 || (*end && *end != ',')) {
            fprintf(stderr,
                    "error: faceswarm bench coordinator: --ranks '%s': expected a list like 8,64,512 (1..4096 "
                    "each)\n%s",
                    s, hint);
            return -1;
        }
        o->sizes[o->n_sizes++] = (int)v;
        o->max_ranks = FS_MAX(o->max_ranks, (int)v);
        p = *end == ',' ? end + 1 : end;
    }
    if (o->n_sizes == 0) {
        fprintf(stderr, "error: faceswarm bench coordinator: --ranks '%s': no world size given\n%s", s, hint);
        return -1;
    }
    return 0;
}

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: faceswarm bench coordinator [--ranks 8,64,512] [--seconds 3] [--threads 4] [--window 64] "
        "[--heartbeat-ms 100]\n"
        "                                   [--json] [--keep]\n"
        "Starts a coordinator daemon on 127.0.0.1 (a child process, state in a temp run directory) and N simulated\n"
        "ranks, and measures it in three phases per N:\n"
        "  flood   every rank keeps --window metrics messages in flight: the daemon's capacity (metrics msgs/s, each\n"
        "          written to metrics.jsonl and acknowledged), and the heartbeat p99 behind the queue (flood_p99)\n"
        "  spread  what a training job sends: heartbeats on the client's schedule and 10 metrics/s/rank queued by all\n"
        "          ranks at once, each held as the client holds it: heartbeat round trip p50/p99 (hb_p50, hb_p99)\n"
        "  burst   the worst case: the same load with every rank sending at the same instant (burst_p50, burst_p99)\n"
        "and the CPU of the harness and of the daemon (%% of one core). It checks itself: every acknowledged line "
        "must\n"
        "be in metrics.jsonl exactly once; the `wrong` column counts what is not, and the exit status is 1 if any.\n"
        "  --ranks LIST        simulated world sizes, comma-separated (1..4096 each; default 8,64,512)\n"
        "  --seconds S         length of each phase (0.01..600, default 3)\n"
        "  --threads N         client threads driving the simulated ranks (1..64, default 4)\n"
        "  --window N          metrics messages in flight per rank in the flood phase (1..10000, default 64)\n"
        "  --heartbeat-ms MS   heartbeat period of each simulated rank (1..60000, default 100)\n"
        "  --json              one JSON line per world size instead of the table\n"
        "  --keep              keep the temp run directory (its path is in the header)\n");
}

static int parse_args(int argc, char **argv, bopts *o) {
    static const struct option opts[] = {{"ranks", required_argument, 0, 'r'},
                                         {"seconds", required_argument, 0, 's'},
                                         {"threads", required_argument, 0, 't'},
                                         {"window", required_argument, 0, 'w'},
                                         {"heartbeat-ms", required_argument, 0, 'b'},
                                         {"json", no_argument, 0, 'j'},
                                         {"keep", no_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *o = (bopts){.threads = 4, .window = 64, .seconds = 3, .hb_s = 0.1};
    if (parse_sizes("8,64,512", o)) return FS_EXIT_BADINPUT;
    int ch, rc = 0;
    fs_error e = {0};
    optind = 1;
    while (!rc && (ch = getopt_long(argc, argv, "r:s:t:w:b:jkh", opts, NULL)) != -1) {
        if (ch == 'r') {
            o->max_ranks = 0;
            if (parse_sizes(optarg, o)) return FS_EXIT_BADINPUT;
        } else if (ch == 's') rc = fs_parse_double("--seconds", optarg, 0.01, 600, &o->seconds, &e);
        else if (ch == 't') rc = fs_parse_int("--threads", optarg, 1, 64, &o->threads, &e);
        else if (ch == 'w') rc = fs_parse_int("--window", optarg, 1, 10000, &o->window, &e);
        else if (ch == 'b') {
            rc = fs_parse_double("--heartbeat-ms", optarg, 1, 60000, &o->hb_s, &e);
            o->hb_s /= 1000;
        } else if (ch == 'j') o->json = 1;
        else if (ch == 'k') o->keep = 1;
        else if (ch == 'h') {
            usage(stdout);
            return -1;
        } else return usage(stderr), FS_EXIT_BADINPUT;
    }
    if (rc) {
        fprintf(stderr, "error: faceswarm bench coordinator: %s\n", e.msg);
        return FS_EXIT_BADINPUT;
    }
    return 0;
}

static double pct(double cpu_s, double wall_s) { return cpu_s >= 0 && wall_s > 0 ? 100 * cpu_s / wall_s : -1; }

static const fs_bench_col COLS[] = {
    FS_COL_I("ranks", NULL, NULL, 5),
    FS_COL_N("msgs_per_s", "metrics", "msgs/s", 12, 0, 0),
    FS_COL_N("hb_p50_ms", "hb_p50", "ms", 9, 3, 3),
    FS_COL_N("hb_p99_ms", "hb_p99", "ms", 9, 3, 3),
    FS_COL_I("hb_samples", "hb_n", NULL, 8),
    FS_COL_N("burst_hb_p50_ms", "burst_p50", "ms", 9, 3, 3),
    FS_COL_N("burst_hb_p99_ms", "burst_p99", "ms", 9, 3, 3),
    FS_COL_N("flood_hb_p99_ms", "flood_p99", "ms", 10, 1, 3),
    FS_COL_N("harness_cpu_pct", "cli_cpu", "%", 8, 1, 1),
    FS_COL_N("daemon_cpu_pct", "dmn_cpu", "%", 8, 1, 1),
    FS_COL_N("burst_harness_cpu_pct", "burst_cli", "%", 9, 1, 1),
    FS_COL_N("burst_daemon_cpu_pct", "burst_dmn", "%", 9, 1, 1),
    FS_COL_N("flood_harness_cpu_pct", "flood_cli", "%", 9, 1, 1),
    FS_COL_N("flood_daemon_cpu_pct", "flood_dmn", "%", 9, 1, 1),
    FS_COL_I("wrong", NULL, NULL, 6),
};

static void print_header(fs_bench *B, const bopts *o, const char *dir, const char *addr, long pid) {
    fs_bench_fact_int(B, "daemon_pid", pid);
    fs_bench_fact_str(B, "address", addr);
    fs_bench_fact_str(B, "run_dir", dir);
    fs_bench_fact_int(B, "threads", o->threads);
    fs_bench_fact_int(B, "window", o->window);
    fs_bench_fact_num(B, "heartbeat_ms", o->hb_s * 1000, 0, "ms per rank");
    fs_bench_fact_num(B, "seconds", o->seconds, 1, "s per phase");
    fs_bench_note(B, "client threads wait with epoll on ZMQ_FD; window: metrics messages in flight per rank (flood)");
    fs_bench_note(B,
                  "metrics msgs/s: flood phase (window in flight per rank); flood_p99: heartbeat p99 during the flood "
                  "(queued behind metrics)\n"
                  "hb_p50/p99: what a job sends: heartbeats on the client's schedule (rank r of N at r/N of the "
                  "period, fs_coord_heartbeat_next),\n"
                  "  %.0f metrics/s/rank queued by all ranks at the same instant (as after a step's all-reduce + "
                  "gather in trainer/train.c),\n"
                  "  each sent after the client's hold (rank r of N: r/N x %.0f ms, fs_coord_send_delay)\n"
                  "burst_p50/p99: WORST CASE, the same load with heartbeats and metrics sent by all ranks at the same "
                  "instant (no hold, no schedule)\n"
                  "cli_cpu/dmn_cpu: CPU of this harness (all its threads) and of the daemon during the spread phase, "
                  "%% of one core "
                  "(burst_, flood_: the other phases)\n"
                  "wrong: unregistered ranks + socket failures + acknowledged lines missing/extra in metrics.jsonl",
                  1 / PACED_METRICS_S, FS_COORD_SPREAD_S * 1000);
    fs_bench_columns(B, "phases", COLS, (int)FS_ARRAY_LEN(COLS));
}

/* A CPU share, or no value when a process's CPU time could not be read. */
static fs_bench_val pct_val(double cpu_s, double wall_s) {
    double v = pct(cpu_s, wall_s);
    return v >= 0 ? FS_NUM(v) : FS_NONE;
}

static void print_row(fs_bench *B, const row *f, const row *p, const row *b, long wrong) {
    fs_bench_row(B, (fs_bench_val[]){FS_INT(f->ranks), FS_NUM(f->msgs_s), FS_NUM(p->p50), FS_NUM(p->p99),
                                     FS_INT(p->n_rtt), FS_NUM(b->p50), FS_NUM(b->p99), FS_NUM(f->p99),
                                     pct_val(p->cpu_cli, p->wall), pct_val(p->cpu_dmn, p->wall),
                                     pct_val(b->cpu_cli, b->wall), pct_val(b->cpu_dmn, b->wall),
                                     pct_val(f->cpu_cli, f->wall), pct_val(f->cpu_dmn, f->wall), FS_INT(wrong)});
}

static long check_size(const row *ph, int n_ph, const char *path, uint64_t *total) {
    long wrong = 0;
    for (int k = 0; k < n_ph; k++) *total += ph[k].acked_total, wrong += ph[k].unregistered + ph[k].failed;
    return wrong + labs(count_lines(path) - (long)*total);
}

static int run_bench(fs_bench *B, const bopts *o, const char *dir, const char *addr, long pid) {
    print_header(B, o, dir, addr, pid);
    char path[4200];
    snprintf(path, sizeof path, "%s/coordinator/metrics.jsonl", dir);
    uint64_t total = 0;
    long wrong_all = 0;
    double cli = 0, dmn = 0;
    for (int i = 0; i < o->n_sizes; i++) {
        row ph[3];
        for (int k = 0; k < 3; k++) {
            ph[k] = run_size(o, addr, pid, o->sizes[i], ((uint64_t)(3 * i + k + 1) << 32) ^ (uint64_t)getpid(),
                             (phase_kind)k);
            cli += ph[k].cpu_cli, dmn += ph[k].cpu_dmn;
        }
        long wrong = check_size(ph, 3, path, &total);
        wrong_all += wrong;
        fs_bench_wrong(B, wrong);
        print_row(B, &ph[PHASE_FLOOD], &ph[PHASE_SPREAD], &ph[PHASE_BURST], wrong);
    }
    fs_bench_fact_num(B, "harness_cpu_s", cli, 2, "CPU s, all phases");
    fs_bench_fact_num(B, "daemon_cpu_s", dmn, 2, "CPU s, all phases");
    if (wrong_all)
        fprintf(stderr,
                "error: bench coordinator: %ld wrong (unregistered ranks, socket failures, or acknowledged lines "
                "missing from %s)\n",
                wrong_all, path);
    return fs_bench_end(B, "unregistered ranks, socket failures, acknowledged lines missing or extra");
}

int bench_coordinator(int argc, char **argv) {
    bopts o;
    fs_bench B;
    fs_bench_init(&B, "coordinator", argc, argv); /* before getopt permutes argv */
    int rc = parse_args(argc, argv, &o);
    if (rc) return fs_bench_free(&B), rc < 0 ? FS_EXIT_OK : rc;
    B.json = o.json;
    char dir[512], addr[300];
    snprintf(dir, sizeof dir, "%s/faceswarm-bench-coord-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return fprintf(stderr, "error: cannot create a temp run directory %s\n", dir), fs_bench_free(&B), FS_EXIT_FAIL;
    fs_error e = {0};
    fs_coord_local *daemon;
    fs_coord_local_opts lo = {.exe = "/proc/self/exe",
                              .run_dir = dir,
                              .job_id = "bench",
                              .world = o.max_ranks,
                              .timeout_s = 30.0};
    if (fs_coord_local_start(&daemon, &lo, addr, sizeof addr, &e)) {
        fprintf(stderr, "error: bench coordinator: %s\n", e.msg);
        return fs_bench_free(&B), FS_EXIT_FAIL;
    }
    rc = run_bench(&B, &o, dir, addr, fs_coord_local_pid(daemon));
    fs_coord_local_stop(daemon);
    if (!o.keep) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
    }
    return rc;
}
