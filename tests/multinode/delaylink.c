/* delaylink.c — a link delay in userspace, for kernels without the netem qdisc (the multinode
 * harness, tests/multinode/hosts.sh `shape`). It joins a network interface (through a packet
 * socket bound to it) and a TAP device it creates, and forwards every frame in each direction
 * a fixed time after it arrived: frames are stamped on arrival (CLOCK_MONOTONIC), queued in
 * arrival order, and written when now >= arrival + delay. A queue holds at most
 * --limit-frames frames and --limit-bytes bytes per direction; a frame that does not fit is
 * dropped and counted (tail drop, like a switch's queue).
 *
 * Both ends carry frames with a virtio_net_hdr in front (PACKET_VNET_HDR, IFF_VNET_HDR), so
 * TCP segmentation and checksum offload pass through as they do between two veth ends: one
 * read or write moves up to 64 KB of a TCP stream, and no checksum is computed here.
 *
 *   delaylink --packet IFACE --tap NAME --delay D [--limit-frames N] [--limit-bytes B]
 *             [--ready FILE]      D: 0, or a number with us or ms (0.05ms, 250us)
 *   delaylink --selftest          the queue and timing, through two socketpairs (no root)
 *
 * It runs until SIGTERM or SIGINT, then prints per direction the frames and bytes forwarded,
 * the frames dropped, the queue's high-water mark and how late frames left (mean, max); SIGUSR1
 * prints the same and continues. Bad options exit 2. Test tool: built, not installed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* ppoll, pipe2 (the build defines it too) */
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { FRAME_MAX = 1 << 17, READ_BURST = 64 }; /* a GSO frame is at most 64 KB + headers */

typedef struct frame {
    uint64_t due_ns; /* CLOCK_MONOTONIC time at which it may leave */
    size_t len, cap; /* bytes used / allocated in buf */
    unsigned char *buf;
} frame;

typedef struct dir_stats {
    uint64_t frames, bytes, dropped, errors; /* forwarded, forwarded, not queued, write failed */
    uint64_t queue_max;                      /* frames queued at once, at most */
    uint64_t late_sum_ns, late_max_ns;       /* how long after its due time a frame was written */
} dir_stats;

typedef struct queue {
    frame *slots; /* ring, [limit_frames] */
    size_t head, count, bytes;
    int blocked; /* the output would block: wait for POLLOUT */
    dir_stats st;
} queue;

typedef struct dlink {
    int fd[2];           /* the two ends; q[d] holds frames read from fd[d], for fd[1 - d] */
    uint64_t delay_ns;   /* added to each frame's arrival time */
    size_t limit_frames; /* per direction */
    size_t limit_bytes;  /* per direction */
    queue q[2];
    unsigned char *scratch; /* [FRAME_MAX] */
} dlink;

static volatile sig_atomic_t g_stop, g_report;
static int g_wake[2] = {-1, -1}; /* self-pipe: a signal wakes the poll loop */

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int dlink_init(dlink *l, int fd0, int fd1, uint64_t delay_ns, size_t limit_frames, size_t limit_bytes) {
    memset(l, 0, sizeof *l);
    l->fd[0] = fd0, l->fd[1] = fd1;
    l->delay_ns = delay_ns, l->limit_frames = limit_frames, l->limit_bytes = limit_bytes;
    l->scratch = malloc(FRAME_MAX);
    for (int d = 0; d < 2; d++) l->q[d].slots = calloc(limit_frames, sizeof(frame));
    return l->scratch && l->q[0].slots && l->q[1].slots ? 0 : -1;
}

static void dlink_free(dlink *l) {
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; l->q[d].slots && i < l->limit_frames; i++) free(l->q[d].slots[i].buf);
        free(l->q[d].slots);
    }
    free(l->scratch);
}

/* Queues one frame of n bytes (in l->scratch) read from fd[d] at time t, or drops it. */
static void enqueue(dlink *l, int d, size_t n, uint64_t t) {
    queue *q = &l->q[d];
    if (q->count == l->limit_frames || q->bytes + n > l->limit_bytes) {
        q->st.dropped++;
        return;
    }
    frame *f = &q->slots[(q->head + q->count) % l->limit_frames];
    if (f->cap < n) {
        unsigned char *b = realloc(f->buf, n);
        if (!b) {
            q->st.dropped++;
            return;
        }
        f->buf = b, f->cap = n;
    }
    memcpy(f->buf, l->scratch, n);
    f->len = n, f->due_ns = t + l->delay_ns;
    q->count++, q->bytes += n;
    if (q->count > q->st.queue_max) q->st.queue_max = q->count;
}

/* Reads what fd[d] has (up to a burst). Returns -1 on an error other than "nothing now". */
static int receive(dlink *l, int d) {
    for (int i = 0; i < READ_BURST; i++) {
        ssize_t n = read(l->fd[d], l->scratch, FRAME_MAX);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return 0;
            if (errno == ENETDOWN || errno == ENXIO) return 0; /* a cut link (hosts.sh cut) */
            fprintf(stderr, "delaylink: read from end %d: %s\n", d, strerror(errno));
            return -1;
        }
        if (n == 0) return i == 0 ? -1 : 0; /* a socketpair's peer closed */
        enqueue(l, d, (size_t)n, now_ns());
    }
    return 0;
}

/* Writes the frames of q[d] that are due. */
static void transmit(dlink *l, int d) {
    queue *q = &l->q[d];
    while (q->count && !q->blocked) {
        frame *f = &q->slots[q->head];
        uint64_t t = now_ns();
        if (t < f->due_ns) return;
        ssize_t n = write(l->fd[1 - d], f->buf, f->len);
        if (n < 0 && errno == EAGAIN) {
            q->blocked = 1;
            return;
        }
        if (n < 0) {
            q->st.errors++; /* ENETDOWN: the link is cut; ENOBUFS: tbf's queue is full. Lost. */
        } else {
            q->st.frames++, q->st.bytes += f->len;
            q->st.late_sum_ns += t - f->due_ns;
            if (t - f->due_ns > q->st.late_max_ns) q->st.late_max_ns = t - f->due_ns;
        }
        q->head = (q->head + 1) % l->limit_frames;
        q->count--, q->bytes -= f->len;
    }
}

static void report(const dlink *l, FILE *out) {
    for (int d = 0; d < 2; d++) {
        const dir_stats *s = &l->q[d].st;
        fprintf(out,
                "delaylink: end %d -> %d: %llu frames, %llu bytes, %llu dropped, %llu write errors, queue max %llu, "
                "late mean %.1f us max %.1f us\n",
                d, 1 - d, (unsigned long long)s->frames, (unsigned long long)s->bytes, (unsigned long long)s->dropped,
                (unsigned long long)s->errors, (unsigned long long)s->queue_max,
                s->frames ? (double)s->late_sum_ns / (double)s->frames / 1e3 : 0.0, (double)s->late_max_ns / 1e3);
    }
    fflush(out);
}

/* The poll loop: until stop_fd is readable (or has hung up). Returns 0, or -1 on an error. */
static int dlink_run(dlink *l, int stop_fd) {
    for (;;) {
        for (int d = 0; d < 2; d++) transmit(l, d);
        uint64_t t = now_ns(), wait = UINT64_MAX;
        for (int d = 0; d < 2; d++) {
            const queue *q = &l->q[d];
            if (!q->count || q->blocked) continue;
            uint64_t due = q->slots[q->head].due_ns, w = due > t ? due - t : 0;
            if (w < wait) wait = w;
        }
        struct pollfd p[3] = {{.fd = l->fd[0], .events = POLLIN | (l->q[1].blocked ? POLLOUT : 0)},
                              {.fd = l->fd[1], .events = POLLIN | (l->q[0].blocked ? POLLOUT : 0)},
                              {.fd = stop_fd, .events = POLLIN}};
        struct timespec ts = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
        int r = ppoll(p, 3, wait == UINT64_MAX ? NULL : &ts, NULL);
        if (r < 0 && errno != EINTR) return perror("delaylink: ppoll"), -1;
        if (g_report) g_report = 0, report(l, stderr);
        if (g_stop || (r > 0 && p[2].revents)) return 0;
        if (r <= 0) continue;
        for (int d = 0; d < 2; d++) {
            if (p[d].revents & (POLLOUT | POLLERR)) l->q[1 - d].blocked = 0;
            if ((p[d].revents & (POLLIN | POLLERR | POLLHUP)) && receive(l, d) < 0) return -1;
        }
    }
}

/* ---------------------------------------------------------------- the two ends */
static int open_packet(const char *iface) {
    unsigned idx = if_nametoindex(iface);
    if (!idx) return fprintf(stderr, "delaylink: --packet %s: no such interface (%s)\n", iface, strerror(errno)), -1;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) return perror("delaylink: packet socket (needs CAP_NET_RAW)"), -1;
    int one = 1, buf = 16 << 20;
    struct sockaddr_ll a = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)idx};
    struct packet_mreq m = {.mr_ifindex = (int)idx, .mr_type = PACKET_MR_PROMISC};
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) ||
        setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) ||
        bind(fd, (struct sockaddr *)&a, sizeof a) || setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &m, sizeof m)) {
        fprintf(stderr, "delaylink: packet socket on %s: %s (hint: Linux >= 4.20 for PACKET_IGNORE_OUTGOING)\n", iface,
                strerror(errno));
        close(fd);
        return -1;
    }
    /* Large buffers: frames wait here while the loop is descheduled on a busy machine. */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
    return fd;
}

static int open_tap(const char *name) {
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return perror("delaylink: /dev/net/tun (CONFIG_TUN, and root?)"), -1;
    struct ifreq r = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
    if (strlen(name) >= sizeof r.ifr_name) {
        fprintf(stderr, "delaylink: --tap '%s': longer than %zu characters\n", name, sizeof r.ifr_name - 1);
        close(fd);
        return -1;
    }
    strcpy(r.ifr_name, name);
    int hdr = (int)sizeof(struct virtio_net_hdr);
    if (ioctl(fd, TUNSETIFF, &r) || ioctl(fd, TUNSETVNETHDRSZ, &hdr) ||
        ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN))) {
        fprintf(stderr, "delaylink: tap %s: %s\n", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* ---------------------------------------------------------------- self-test */
typedef struct probe {
    uint32_t seq;
    uint64_t sent_ns;
    unsigned char fill[50];
} probe;

typedef struct run_arg {
    dlink *l;
    int stop_fd, rc;
} run_arg;

static void *run_thread(void *p) {
    run_arg *a = p;
    a->rc = dlink_run(a->l, a->stop_fd);
    return NULL;
}

static int g_fail;
#define CHECK(c, ...)                                                                                                  \
    do {                                                                                                               \
        if (!(c)) fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__), fprintf(stderr, __VA_ARGS__), g_fail = 1;       \
    } while (0)

static void send_probe(int fd, uint32_t seq) {
    probe p = {.seq = seq, .sent_ns = now_ns()};
    memset(p.fill, (int)(seq & 0xff), sizeof p.fill);
    CHECK(write(fd, &p, sizeof p) == (ssize_t)sizeof p, "write probe %u: %s\n", seq, strerror(errno));
}

/* Receives n probes on fd, in order from seq0, each at least delay late and at most delay +
 * slack (a loaded machine's scheduling), bytes intact; then nothing more within 50 ms. */
static void expect_probes(int fd, uint32_t seq0, int n, uint64_t delay_ns, uint64_t slack_ns, const char *what) {
    for (int i = 0; i < n; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        CHECK(poll(&p, 1, 5000) == 1, "%s: probe %d of %d never came\n", what, i, n);
        if (g_fail) return;
        probe got;
        ssize_t k = read(fd, &got, sizeof got);
        uint64_t t = now_ns(), took = t - got.sent_ns;
        CHECK(k == (ssize_t)sizeof got, "%s: a frame of %zd bytes, expected %zu\n", what, k, sizeof got);
        CHECK(got.seq == seq0 + (uint32_t)i, "%s: probe %u, expected %u (order)\n", what, got.seq, seq0 + i);
        unsigned char fill[sizeof got.fill];
        memset(fill, (int)(got.seq & 0xff), sizeof fill);
        CHECK(!memcmp(fill, got.fill, sizeof fill), "%s: probe %u's bytes changed\n", what, got.seq);
        CHECK(took >= delay_ns && took <= delay_ns + slack_ns, "%s: probe %u took %.3f ms, expected [%.3f, %.3f]\n",
              what, got.seq, took / 1e6, delay_ns / 1e6, (delay_ns + slack_ns) / 1e6);
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    CHECK(poll(&p, 1, 50) == 0, "%s: more frames than the %d expected\n", what, n);
}

/* One link between two socketpairs: a[0] -> (a[1] | delaylink | b[1]) -> b[0] and back. */
static void selftest_case(uint64_t delay_ns, size_t limit_frames, int burst, int expect, const char *what) {
    int a[2], b[2], stop[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, a) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, b) || pipe(stop)) {
        CHECK(0, "socketpair: %s\n", strerror(errno));
        return;
    }
    fcntl(a[1], F_SETFL, O_NONBLOCK), fcntl(b[1], F_SETFL, O_NONBLOCK);
    dlink l;
    CHECK(!dlink_init(&l, a[1], b[1], delay_ns, limit_frames, 1 << 20), "out of memory\n");
    run_arg arg = {&l, stop[0], 0};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &arg);
    uint64_t slack = 250000000; /* 250 ms: where this runs, many processes may share 2 cores */
    for (int i = 0; i < burst; i++) send_probe(a[0], (uint32_t)i);
    expect_probes(b[0], 0, expect, delay_ns, slack, what);
    for (int i = 0; i < 3; i++) send_probe(b[0], 100u + (uint32_t)i); /* the other direction */
    expect_probes(a[0], 100, 3, delay_ns, slack, what);
    close(stop[1]);
    pthread_join(th, NULL);
    CHECK(arg.rc == 0, "%s: the loop failed\n", what);
    CHECK(l.q[0].st.frames == (uint64_t)expect && l.q[0].st.dropped == (uint64_t)(burst - expect),
          "%s: %llu forwarded, %llu dropped; expected %d, %d\n", what, (unsigned long long)l.q[0].st.frames,
          (unsigned long long)l.q[0].st.dropped, expect, burst - expect);
    CHECK(l.q[1].st.frames == 3 && l.q[1].st.dropped == 0, "%s: back: %llu forwarded, %llu dropped\n", what,
          (unsigned long long)l.q[1].st.frames, (unsigned long long)l.q[1].st.dropped);
    CHECK(l.q[0].st.queue_max <= limit_frames, "%s: queue held %llu > %zu\n", what,
          (unsigned long long)l.q[0].st.queue_max, limit_frames);
    report(&l, stdout);
    dlink_free(&l);
    close(a[0]), close(a[1]), close(b[0]), close(b[1]), close(stop[0]);
}

static int selftest(void) {
    selftest_case(0, 64, 10, 10, "no delay");
    selftest_case(2000000, 64, 20, 20, "2 ms");
    selftest_case(100000, 64, 20, 20, "0.1 ms");
    selftest_case(50000000, 8, 24, 8, "queue of 8, 24 sent at once"); /* 16 tail-dropped */
    puts(g_fail ? "FAIL" : "PASS");
    return g_fail;
}

/* ---------------------------------------------------------------- main */
static void on_signal(int s) {
    if (s == SIGUSR1) g_report = 1;
    else g_stop = 1;
    ssize_t r = write(g_wake[1], "x", 1);
    (void)r;
}

/* "0", "<x>us" or "<x>ms" -> ns; -1 if malformed or above 1 s. */
static int64_t parse_delay(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return -1;
    double scale = !strcmp(end, "us") ? 1e3 : !strcmp(end, "ms") ? 1e6 : (!*end && v == 0) ? 0 : -1;
    if (scale < 0 || v * scale > 1e9) return -1;
    return (int64_t)(v * scale + 0.5);
}

static int usage_error(const char *opt, const char *val, const char *expected) {
    fprintf(stderr, "delaylink: %s '%s': expected %s\n  hint: delaylink --packet IFACE --tap NAME --delay D\n", opt,
            val ? val : "", expected);
    return 2;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"packet", 1, 0, 'p'},      {"tap", 1, 0, 't'},
                                         {"delay", 1, 0, 'd'},       {"limit-frames", 1, 0, 'n'},
                                         {"limit-bytes", 1, 0, 'b'}, {"ready", 1, 0, 'r'},
                                         {"selftest", 0, 0, 's'},    {0, 0, 0, 0}};
    const char *iface = NULL, *tap = NULL, *ready = NULL;
    int64_t delay = -1;
    long nframes = 4096, nbytes = 32 << 20;
    char *end;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'p': iface = optarg; break;
        case 't': tap = optarg; break;
        case 'r': ready = optarg; break;
        case 's': return selftest();
        case 'd':
            if ((delay = parse_delay(optarg)) < 0)
                return usage_error("--delay", optarg, "0, or 0..1000ms as Nus or Nms");
            break;
        case 'n':
            nframes = strtol(optarg, &end, 10);
            if (*end || nframes < 1 || nframes > 1 << 20) return usage_error("--limit-frames", optarg, "1..1048576");
            break;
        case 'b':
            nbytes = strtol(optarg, &end, 10);
            if (*end || nbytes < FRAME_MAX || nbytes > 1L << 30)
                return usage_error("--limit-bytes", optarg, "131072..2^30");
            break;
        default: return usage_error("option", argv[optind - 1], "--packet, --tap, --delay, --limit-*, --ready");
        }
    }
    if (!iface || !tap || delay < 0) return usage_error("options", "", "all of --packet, --tap and --delay");
    prctl(PR_SET_TIMERSLACK, 1UL); /* wake on time: the default slack is 50 us */
    int fp = open_packet(iface), ft = fp < 0 ? -1 : open_tap(tap);
    if (ft < 0 || pipe2(g_wake, O_CLOEXEC | O_NONBLOCK)) return 1;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL), sigaction(SIGINT, &sa, NULL), sigaction(SIGUSR1, &sa, NULL);
    dlink l;
    if (dlink_init(&l, fp, ft, (uint64_t)delay, (size_t)nframes, (size_t)nbytes)) return perror("delaylink"), 1;
    if (ready) {
        FILE *f = fopen(ready, "w");
        if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) return perror(ready), 1;
    }
    fprintf(stderr, "delaylink: %s <-> tap %s, %.3f ms each way\n", iface, tap, (double)delay / 1e6);
    int rc;
    while (!(rc = dlink_run(&l, g_wake[0])) && !g_stop) {
        char drain[64];
        while (read(g_wake[0], drain, sizeof drain) > 0) {}
    }
    report(&l, stderr);
    dlink_free(&l);
    return rc ? 1 : 0;
}
