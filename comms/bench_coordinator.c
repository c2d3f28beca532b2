/* bench_coordinator.c — `faceswarm bench coordinator`: starts the daemon (a child process on
 * loopback) and N simulated ranks (DEALER sockets driven by a few threads). Two phases per N:
 *  - flood: each rank keeps a window of metric messages in flight; the sustained rate of
 *    acknowledged (written) messages is the daemon's capacity; heartbeats sent meanwhile
 *    wait behind the queued metrics, so their p99 is reported apart (flood_p99);
 *  - training-like: each rank sends 10 metric messages/s and heartbeats; the heartbeat
 *    round trip p50/p99 measured here is what a real job sees.
 * It checks itself: every acknowledged line must be in metrics.jsonl exactly once. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "comms/coord_client.h"
#include "comms/protocol.h"
#include "trainer/cli.h"

#define MAX_SIZES 16
#define SEQ_OFFSET 20 /* header: magic 4, version 1, type 1, flags 2, rank 4, inc 8 */

typedef struct bopts {
    int sizes[MAX_SIZES], n_sizes, threads, window, max_ranks, json, keep;
    double seconds, hb_s;
} bopts;

#define PACED_METRICS_S 0.1 /* training-like phase: one metrics message per rank per 100 ms */

typedef struct sim {
    void *sock;
    uint32_t rank;
    uint64_t inc, next_seq, acked;
    int registered;
    double last_hb, last_reg, last_metrics;
    uint8_t frame[256]; /* this rank's metrics message, seq and step patched per send */
    size_t frame_len;
} sim;

typedef struct worker {
    const bopts *o;
    int paced; /* 1 = training-like phase */
    sim *sims;
    int n;
    double t_measure, t_stop;
    uint64_t acked_in_window;
    double *rtt;  /* heartbeat round trips in the window, ms */
    long n_rtt, cap_rtt;
} worker;

static void encode_to(sim *s, fs_msg *m, uint8_t *buf, size_t cap, size_t *len) {
    char why[128];
    m->rank = s->rank, m->inc = s->inc;
    long n = fs_proto_encode(m, buf, cap, why, sizeof why);
    *len = n > 0 ? (size_t)n : 0;
}

static void sim_init(sim *s, void *ctx, const char *addr, uint32_t rank, uint64_t inc) {
    int hwm = 100000, linger = 0;
    memset(s, 0, sizeof *s);
    s->sock = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(s->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(s->sock, addr);
    s->rank = rank, s->inc = inc, s->next_seq = 1;
    fs_msg *m = fs_calloc(1, sizeof *m);
    m->type = FS_MSG_METRICS, m->seq = 1, m->u.metrics.step = 1;
    snprintf(m->u.metrics.json, sizeof m->u.metrics.json, "{\"loss\":0.0123,\"step_ms\":%d,\"images_per_s\":512}", 50 + (int)(rank % 7));
    encode_to(s, m, s->frame, sizeof s->frame, &s->frame_len);
    free(m);
}

static void sim_send_register(sim *s, const bopts *o) {
    fs_msg m = {.type = FS_MSG_REGISTER};
    uint8_t buf[512];
    size_t n;
    m.u.reg.world = (uint32_t)o->max_ranks, m.u.reg.pid = 1 + s->rank, m.u.reg.config_hash = 1;
    strcpy(m.u.reg.job_id, "bench"), strcpy(m.u.reg.host, "sim");
    encode_to(s, &m, buf, sizeof buf, &n);
    zmq_send(s->sock, buf, n, ZMQ_DONTWAIT);
    s->last_reg = fs_now();
}

static void sim_send(sim *s, const bopts *o, int paced, double now) {
    if (!s->registered) {
        if (now - s->last_reg > 0.5) sim_send_register(s, o);
        return;
    }
    if (now - s->last_hb >= o->hb_s) {
        fs_msg m = {.type = FS_MSG_HEARTBEAT};
        uint8_t buf[128];
        size_t n;
        m.u.hb.step = (int64_t)s->acked, m.u.hb.bucket = -1, m.u.hb.t_ns = (uint64_t)(fs_now() * 1e9);
        encode_to(s, &m, buf, sizeof buf, &n);
        zmq_send(s->sock, buf, n, ZMQ_DONTWAIT);
        s->last_hb = now;
    }
    if (paced && now - s->last_metrics < PACED_METRICS_S) return;
    s->last_metrics = now;
    for (int sent = 0; s->next_seq <= s->acked + (uint64_t)o->window && (!paced || sent < 1); sent++) {
        for (int i = 0; i < 8; i++) s->frame[SEQ_OFFSET + i] = (uint8_t)(s->next_seq >> (8 * i)), s->frame[FS_PROTO_HEADER + i] = s->frame[SEQ_OFFSET + i];
        if (zmq_send(s->sock, s->frame, s->frame_len, ZMQ_DONTWAIT) < 0) break;
        s->next_seq++;
    }
}

static void sim_recv(worker *w, sim *s, double now) {
    uint8_t buf[512];
    char why[128];
    fs_msg m;
    int n;
    while ((n = zmq_recv(s->sock, buf, sizeof buf, ZMQ_DONTWAIT)) >= 0) {
        if ((size_t)n > sizeof buf || fs_proto_decode(buf, (size_t)n, &m, why, sizeof why) || m.inc != s->inc) continue;
        if (m.type == FS_MSG_WELCOME) s->registered = 1, s->acked = m.u.welcome.acked, s->last_hb = 0;
        if (m.type != FS_MSG_ACK) continue;
        if (m.u.ack.acked > s->acked) {
            if (now >= w->t_measure && now < w->t_stop) w->acked_in_window += m.u.ack.acked - s->acked;
            s->acked = m.u.ack.acked;
        }
        if (m.u.ack.t_echo_ns && now >= w->t_measure && now < w->t_stop) {
            if (w->n_rtt == w->cap_rtt) w->cap_rtt = w->cap_rtt ? 2 * w->cap_rtt : 4096, w->rtt = fs_realloc(w->rtt, (size_t)w->cap_rtt * sizeof *w->rtt);
            w->rtt[w->n_rtt++] = (fs_now() * 1e9 - (double)m.u.ack.t_echo_ns) / 1e6;
        }
    }
}

/* Milliseconds until some rank of this worker has something due (paced phase only). */
static int next_due_ms(const worker *w, double now) {
    double due = now + 0.05;
    for (int i = 0; i < w->n; i++) {
        const sim *s = &w->sims[i];
        double t = !s->registered ? s->last_reg + 0.5 : FS_MIN(s->last_hb + w->o->hb_s, s->last_metrics + PACED_METRICS_S);
        due = FS_MIN(due, t);
    }
    return FS_MAX(1, (int)((due - now) * 1000 + 0.5));
}

static void *worker_main(void *arg) {
    worker *w = arg;
    zmq_pollitem_t *items = fs_calloc((size_t)w->n, sizeof *items);
    for (int i = 0; i < w->n; i++) items[i] = (zmq_pollitem_t){w->sims[i].sock, 0, ZMQ_POLLIN, 0};
    for (double now = fs_now(); now < w->t_stop; now = fs_now()) {
        for (int i = 0; i < w->n; i++) sim_send(&w->sims[i], w->o, w->paced, now);
        /* flood: poll briefly and keep the windows full; paced: sleep until something is due */
        if (zmq_poll(items, w->n, w->paced ? next_due_ms(w, fs_now()) : 1) <= 0) continue;
        now = fs_now();
        for (int i = 0; i < w->n; i++)
            if (items[i].revents & ZMQ_POLLIN) sim_recv(w, &w->sims[i], now);
    }
    /* drain: everything sent is acknowledged before the line count is checked */
    for (double t0 = fs_now(), now = t0; now - t0 < 5; now = fs_now()) {
        int left = 0;
        for (int i = 0; i < w->n; i++) left += w->sims[i].registered && w->sims[i].acked + 1 < w->sims[i].next_seq;
        if (!left) break;
        zmq_poll(items, w->n, 5);
        for (int i = 0; i < w->n; i++) sim_recv(w, &w->sims[i], now);
    }
    free(items);
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
    int unregistered;
} row;

/* One size: N simulated ranks, measured for o->seconds after a 0.5 s warm-up. */
static row run_size(const bopts *o, const char *addr, int n, uint64_t inc_base, int paced) {
    void *ctx = zmq_ctx_new();
    int io = 2;
    zmq_ctx_set(ctx, ZMQ_IO_THREADS, io);
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 4 * n + 64);
    sim *sims = fs_calloc((size_t)n, sizeof *sims);
    for (int i = 0; i < n; i++) sim_init(&sims[i], ctx, addr, (uint32_t)i, inc_base + (uint64_t)i);
    int nt = FS_MIN(o->threads, n);
    worker *ws = fs_calloc((size_t)nt, sizeof *ws);
    pthread_t *th = fs_calloc((size_t)nt, sizeof *th);
    double t0 = fs_now();
    for (int t = 0; t < nt; t++) {
        int lo = n * t / nt, hi = n * (t + 1) / nt;
        ws[t] = (worker){.o = o, .paced = paced, .sims = sims + lo, .n = hi - lo, .t_measure = t0 + 0.5, .t_stop = t0 + 0.5 + o->seconds};
        pthread_create(&th[t], NULL, worker_main, &ws[t]);
    }
    row r = {.ranks = n};
    double *all = NULL;
    for (int t = 0; t < nt; t++) {
        pthread_join(th[t], NULL);
        r.msgs_s += (double)ws[t].acked_in_window / o->seconds;
        all = fs_realloc(all, (size_t)(r.n_rtt + ws[t].n_rtt + 1) * sizeof *all);
        memcpy(all + r.n_rtt, ws[t].rtt, (size_t)ws[t].n_rtt * sizeof *all);
        r.n_rtt += ws[t].n_rtt;
        free(ws[t].rtt);
    }
    qsort(all, (size_t)r.n_rtt, sizeof *all, cmp_d);
    r.p50 = r.n_rtt ? all[r.n_rtt / 2] : -1;
    r.p99 = r.n_rtt ? all[FS_MIN(r.n_rtt - 1, (long)(r.n_rtt * 0.99))] : -1;
    for (int i = 0; i < n; i++) {
        r.acked_total += sims[i].acked;
        r.unregistered += !sims[i].registered;
        zmq_close(sims[i].sock);
    }
    zmq_ctx_term(ctx);
    free(all), free(sims), free(ws), free(th);
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
    o->n_sizes = 0;
    for (const char *p = s; *p && o->n_sizes < MAX_SIZES;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 4096) {
            fprintf(stderr, "error: faceswarm bench coordinator: --ranks '%s': expected a list like 8,64,512 (1..4096)\n", s);
            return -1;
        }
        o->sizes[o->n_sizes++] = (int)v;
        o->max_ranks = FS_MAX(o->max_ranks, (int)v);
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return fprintf(stderr, "error: --ranks '%s': unexpected '%c'\n", s, *end), -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, bopts *o) {
    static const struct option opts[] = {{"ranks", required_argument, 0, 'r'}, {"seconds", required_argument, 0, 's'},
                                         {"threads", required_argument, 0, 't'}, {"window", required_argument, 0, 'w'},
                                         {"heartbeat-ms", required_argument, 0, 'b'}, {"json", no_argument, 0, 'j'},
                                         {"keep", no_argument, 0, 'k'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    *o = (bopts){.threads = 4, .window = 64, .seconds = 3, .hb_s = 0.1};
    if (parse_sizes("8,64,512", o)) return FS_EXIT_BADINPUT;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "r:s:t:w:b:jkh", opts, NULL)) != -1) {
        if (ch == 'r') { o->max_ranks = 0; if (parse_sizes(optarg, o)) return FS_EXIT_BADINPUT; }
        else if (ch == 's') o->seconds = atof(optarg);
        else if (ch == 't') o->threads = atoi(optarg);
        else if (ch == 'w') o->window = atoi(optarg);
        else if (ch == 'b') o->hb_s = atof(optarg) / 1000;
        else if (ch == 'j') o->json = 1;
        else if (ch == 'k') o->keep = 1;
        else if (ch == 'h') {
            printf("usage: faceswarm bench coordinator [--ranks 8,64,512] [--seconds 3] [--threads 4] [--window 64] [--heartbeat-ms 100] [--json] [--keep]\n");
            return -1;
        } else return FS_EXIT_BADINPUT;
    }
    if (!(o->seconds > 0 && o->seconds <= 600) || o->threads < 1 || o->threads > 64 || o->window < 1 || o->window > 10000 || !(o->hb_s > 0)) {
        fprintf(stderr, "error: faceswarm bench coordinator: --seconds (0,600], --threads 1..64, --window 1..10000, --heartbeat-ms > 0\n");
        return FS_EXIT_BADINPUT;
    }
    return 0;
}

static void print_row(const bopts *o, const row *f, const row *p, long wrong) {
    if (o->json)
        printf("{\"ranks\":%d,\"msgs_per_s\":%.0f,\"hb_p50_ms\":%.3f,\"hb_p99_ms\":%.3f,\"hb_samples\":%ld,\"flood_hb_p99_ms\":%.3f,\"wrong\":%ld}\n",
               f->ranks, f->msgs_s, p->p50, p->p99, p->n_rtt, f->p99, wrong);
    else printf("%7d %12.0f %9.3f %9.3f %8ld %10.1f %6ld\n", f->ranks, f->msgs_s, p->p50, p->p99, p->n_rtt, f->p99, wrong);
    fflush(stdout);
}

static int run_bench(const bopts *o, const char *dir, const char *addr, long pid) {
    printf("# faceswarm bench coordinator  version %s  commit %s\n", FS_VERSION, fs_git_commit());
    printf("# daemon pid %ld on %s, state in %s; %d client threads, window %d msgs/rank, heartbeat every %.0f ms/rank, %.1f s per size\n", pid, addr, dir,
           o->threads, o->window, o->hb_s * 1000, o->seconds);
    printf("# metrics msgs/s: flood phase (window in flight per rank); hb_p50/p99: training-like phase (%.0f metrics/s/rank + heartbeats);\n"
           "# flood_p99: heartbeat p99 during the flood (queued behind metrics); wrong: unregistered ranks + acknowledged lines missing/extra\n",
           1 / PACED_METRICS_S);
    if (!o->json) printf("# %5s %12s %9s %9s %8s %10s %6s\n#%6s %12s %9s %9s %8s %10s %6s\n", "ranks", "metrics", "hb_p50", "hb_p99", "hb_n", "flood_p99", "wrong", "",
                         "msgs/s", "ms", "ms", "", "ms", "");
    char path[4200];
    snprintf(path, sizeof path, "%s/coordinator/metrics.jsonl", dir);
    uint64_t total = 0;
    long wrong_all = 0;
    for (int i = 0; i < o->n_sizes; i++) {
        row flood = run_size(o, addr, o->sizes[i], ((uint64_t)(2 * i + 1) << 32) ^ (uint64_t)getpid(), 0);
        row paced = run_size(o, addr, o->sizes[i], ((uint64_t)(2 * i + 2) << 32) ^ (uint64_t)getpid(), 1);
        total += flood.acked_total + paced.acked_total;
        long lines = count_lines(path), wrong = flood.unregistered + paced.unregistered + labs(lines - (long)total);
        wrong_all += wrong;
        print_row(o, &flood, &paced, wrong);
    }
    if (wrong_all) fprintf(stderr, "error: bench coordinator: %ld wrong (unregistered ranks, or acknowledged lines missing from %s)\n", wrong_all, path);
    return wrong_all ? FS_EXIT_FAIL : FS_EXIT_OK;
}

int bench_coordinator(int argc, char **argv) {
    bopts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? FS_EXIT_OK : rc;
    char dir[512], addr[300];
    snprintf(dir, sizeof dir, "%s/faceswarm-bench-coord-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return fprintf(stderr, "error: cannot create a temp run directory %s\n", dir), FS_EXIT_FAIL;
    long pid;
    fs_error e = {0};
    if (fs_coord_spawn_local("/proc/self/exe", dir, NULL, 30.0, addr, sizeof addr, &pid, &e)) {
        fprintf(stderr, "error: bench coordinator: %s\n", e.msg);
        return FS_EXIT_FAIL;
    }
    rc = run_bench(&o, dir, addr, pid);
    kill((pid_t)pid, SIGTERM);
    waitpid((pid_t)pid, NULL, 0);
    if (!o.keep) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
    }
    return rc;
}
