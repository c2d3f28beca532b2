/* allreduce_shm.c — see allreduce_shm.h. */
#include "comms/allreduce_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "the shared flags need lock-free 64-bit atomics");

#define PAGE 4096u
#define BLOCK 2048 /* floats summed per block in reduce_chunk (8 KB on the stack, in L1) */

/* One cache line per local rank: watermarks of bucket sequence numbers (1-based, counted
 * since open, the same on every rank because every rank has the same buckets). */
typedef struct shm_flags {
    _Atomic uint64_t ready;    /* its segment holds the final gradients of buckets <= ready */
    _Atomic uint64_t reduced;  /* its chunk of buckets <= reduced holds the final sums */
    _Atomic uint64_t gathered; /* it has copied every chunk of buckets <= gathered */
    char pad[64 - 3 * sizeof(uint64_t)];
} shm_flags;

struct fs_shm_reduce {
    fs_world *w;
    MPI_Comm node, cross; /* ranks of this node; ranks with this local rank, one per node */
    int L, me, nodes;     /* ranks per node, local rank, node count */
    int *world_rank;      /* [L] world rank of each local rank (for messages) */
    size_t n, bucket;
    int nbuckets;
    void *region; /* the mapping */
    size_t region_bytes;
    shm_flags *flags;                          /* [L] at the start of the region */
    float **seg;                               /* [L] each local rank's n floats */
    MPI_Request *req;                          /* [nbuckets] cross-node all-reduce of my chunk (nodes > 1) */
    uint64_t base;                             /* sequence number before this step's bucket 0 */
    int published, reduced, crossed, gathered; /* this step's buckets through each stage */
    fs_error err;                              /* first MPI failure of the step */
    char describe[112];
};

/* ---------------------------------------------------------------- geometry */
/* Chunk j of bucket k: [lo, hi), split as evenly as 16-float (cache line) multiples allow. */
static void chunk(const fs_shm_reduce *s, int k, int j, size_t *lo, size_t *hi) {
    size_t blo = fs_bucket_lo(s->n, s->bucket, k), bhi = fs_bucket_hi(s->n, s->bucket, k), len = bhi - blo;
    size_t a = (len * (size_t)j / (size_t)s->L) & ~(size_t)15, b = (len * (size_t)(j + 1) / (size_t)s->L) & ~(size_t)15;
    *lo = blo + a;
    *hi = j + 1 == s->L ? bhi : blo + b;
}

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

/* ---------------------------------------------------------------- open */
static int split_node(fs_world *w, MPI_Comm *node, fs_error *e) {
    const char *t = getenv("FACESWARM_TEST_RANKS_PER_NODE");
    int k = 0; /* a test hook: anything but a whole positive number means "not set" */
    if (t && *t && fs_parse_int("FACESWARM_TEST_RANKS_PER_NODE", t, 1, 1 << 20, &k, NULL)) k = 0;
    if (k > 0) FS_MPI_TRY(e, MPI_Comm_split(w->comm, w->rank / k, w->rank, node));
    else FS_MPI_TRY(e, MPI_Comm_split_type(w->comm, MPI_COMM_TYPE_SHARED, w->rank, MPI_INFO_NULL, node));
    return 0;
}

static int node_shape(fs_shm_reduce *s, fs_error *e) {
    int rc = split_node(s->w, &s->node, e);
    if (rc) return rc;
    FS_MPI_TRY(e, MPI_Comm_size(s->node, &s->L));
    FS_MPI_TRY(e, MPI_Comm_rank(s->node, &s->me));
    return 0;
}

/* Local rank 0 creates the region (every page reserved now: a full /dev/shm is an error
 * here, not a SIGBUS in the middle of a step); the others open it by name. 0 = mapped. */
static int map_region(fs_shm_reduce *s, char *why, size_t whylen) {
    char name[96];
    int fd = -1, err = 0;
    if (s->me == 0) {
        static unsigned counter;
        snprintf(name, sizeof name, "/faceswarm-grads-%d-%ld-%u", s->w->rank, (long)getpid(), counter++);
        fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
        if (fd < 0) err = errno;
        else if (ftruncate(fd, (off_t)s->region_bytes) != 0) err = errno;
        else err = posix_fallocate(fd, 0, (off_t)s->region_bytes);
    }
    MPI_Bcast(name, sizeof name, MPI_CHAR, 0, s->node);
    MPI_Bcast(&err, 1, MPI_INT, 0, s->node);
    if (s->me != 0 && !err && (fd = shm_open(name, O_RDWR, 0600)) < 0) err = errno;
    if (!err) {
        s->region = mmap(NULL, s->region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (s->region == MAP_FAILED) err = errno, s->region = NULL;
    }
    if (fd >= 0) close(fd);
    MPI_Barrier(s->node); /* everyone has opened it: the name can go (nothing is left behind) */
    if (s->me == 0 && fd >= 0) shm_unlink(name);
    if (err)
        snprintf(why, whylen, "%zu MB of shared memory (%s) on %s: %s", s->region_bytes >> 20, name, s->w->host,
                 strerror(err));
    return err;
}

static void layout(fs_shm_reduce *s) {
    size_t head = round_up(sizeof(shm_flags) * (size_t)s->L, PAGE), stride = round_up(s->n * sizeof(float), PAGE);
    s->flags = s->region;
    s->seg = fs_malloc(sizeof(float *) * (size_t)s->L);
    for (int j = 0; j < s->L; j++) s->seg[j] = (float *)((char *)s->region + head + (size_t)j * stride);
}

static size_t region_size(const fs_shm_reduce *s) {
    return round_up(sizeof(shm_flags) * (size_t)s->L, PAGE) + (size_t)s->L * round_up(s->n * sizeof(float), PAGE);
}

/* Every node must have the same L (> 1) for the chunks of the cross-node step to match. */
static int uniform_nodes(fs_shm_reduce *s, char *why, size_t whylen, fs_error *e) {
    int mm[2] = {s->L, -s->L};
    FS_MPI_TRY(e, MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_INT, MPI_MAX, s->w->comm));
    if (mm[0] != -mm[1]) snprintf(why, whylen, "nodes hold different numbers of ranks (%d to %d)", -mm[1], mm[0]);
    else if (s->L >= 2) return 1; /* one rank per node: nothing to share, nothing to explain */
    return 0;
}

static void free_parts(fs_shm_reduce *s) {
    if (s->region) munmap(s->region, s->region_bytes);
    if (s->node != MPI_COMM_NULL) MPI_Comm_free(&s->node);
    if (s->cross != MPI_COMM_NULL) MPI_Comm_free(&s->cross);
    free(s->world_rank);
    free(s->seg);
    free(s->req);
    free(s);
}

static int open_comms(fs_shm_reduce *s, fs_error *e) {
    FS_MPI_TRY(e, MPI_Comm_split(s->w->comm, s->me, s->w->rank, &s->cross));
    FS_MPI_TRY(e, MPI_Comm_size(s->cross, &s->nodes));
    s->world_rank = fs_malloc(sizeof(int) * (size_t)s->L);
    FS_MPI_TRY(e, MPI_Allgather(&s->w->rank, 1, MPI_INT, s->world_rank, 1, MPI_INT, s->node));
    return 0;
}

int fs_shm_reduce_open(fs_shm_reduce **out, fs_world *w, size_t n, size_t bucket, char *why, size_t whylen,
                       fs_error *e) {
    *out = NULL;
    why[0] = 0;
    fs_shm_reduce *s = fs_calloc(1, sizeof *s);
    s->w = w, s->n = n, s->bucket = bucket, s->node = s->cross = MPI_COMM_NULL;
    s->nbuckets = n ? (int)((n + bucket - 1) / bucket) : 0;
    int rc = node_shape(s, e);
    int usable = rc ? 0 : uniform_nodes(s, why, whylen, e);
    if (usable) {
        s->region_bytes = region_size(s);
        int ok = map_region(s, why, whylen) == 0;
        /* One path for the whole job: any node that could not map falls everyone back. */
        MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, w->comm);
        if (!ok && !why[0]) snprintf(why, whylen, "another node could not map its shared memory");
        usable = ok;
    }
    if (usable) rc = open_comms(s, e);
    if (rc || !usable) {
        free_parts(s);
        return rc;
    }
    layout(s);
    memset(s->flags + s->me, 0, sizeof(shm_flags));
    s->req = fs_malloc(sizeof(MPI_Request) * (size_t)FS_MAX(s->nbuckets, 1));
    for (int k = 0; k < s->nbuckets; k++) s->req[k] = MPI_REQUEST_NULL;
    snprintf(s->describe, sizeof s->describe, "shared memory, %d ranks per node%s", s->L,
             s->nodes > 1 ? "" : " (one node)");
    if (s->nodes > 1)
        snprintf(s->describe, sizeof s->describe,
                 "shared memory, %d ranks per node x %d nodes (inside a node; MPI_Iallreduce between nodes)", s->L,
                 s->nodes);
    MPI_Barrier(s->node); /* flags zeroed before anyone reads them */
    *out = s;
    return 0;
}

float *fs_shm_reduce_buffer(fs_shm_reduce *s) { return s->seg[s->me]; }
const char *fs_shm_reduce_describe(const fs_shm_reduce *s) { return s->describe; }
uint64_t fs_shm_reduce_seq(const fs_shm_reduce *s) { return s->base + (uint64_t)s->published; }

void fs_shm_reduce_close(fs_shm_reduce *s) {
    if (!s) return;
    int stuck = 0;
    for (int k = 0; k < s->nbuckets; k++) stuck += s->req[k] != MPI_REQUEST_NULL;
    if (stuck) fs_warn("%d cross-node gradient all-reduce(s) still in flight at shutdown; leaving them to MPI", stuck);
    free_parts(s);
}

/* ---------------------------------------------------------------- the stages */
static uint64_t load(_Atomic uint64_t *a) { return atomic_load_explicit(a, memory_order_acquire); }
static void store(_Atomic uint64_t *a, uint64_t v) { atomic_store_explicit(a, v, memory_order_release); }

/* The slowest local rank's watermark of one stage (0 ready, 1 reduced, 2 gathered). */
static uint64_t slowest(fs_shm_reduce *s, int stage, int *who) {
    uint64_t m = UINT64_MAX;
    for (int j = 0; j < s->L; j++) {
        shm_flags *f = &s->flags[j];
        uint64_t v = load(stage == 0 ? &f->ready : stage == 1 ? &f->reduced : &f->gathered);
        if (v < m) m = v, *who = j;
    }
    return m;
}

/* seg[me][lo, hi) = seg[0] + seg[1] + ... + seg[L-1], in that order, element by element
 * (seg[me] is one of the inputs: blocks are summed aside, then stored). */
static void reduce_chunk(fs_shm_reduce *s, size_t lo, size_t hi) {
    float *const *g = s->seg;
    float *dst = g[s->me];
    int L = s->L;
    long nblocks = (long)((hi - lo + BLOCK - 1) / BLOCK);
#pragma omp parallel for schedule(static) if (nblocks > 64)
    for (long b = 0; b < nblocks; b++) {
        float acc[BLOCK];
        size_t i0 = lo + (size_t)b * BLOCK, m = FS_MIN((size_t)BLOCK, hi - i0);
        for (size_t i = 0; i < m; i++) acc[i] = g[0][i0 + i] + g[1][i0 + i];
        for (int j = 2; j < L; j++)
            for (size_t i = 0; i < m; i++) acc[i] += g[j][i0 + i];
        memcpy(dst + i0, acc, m * sizeof(float));
    }
}

static void copy_chunk(float *dst, const float *src, size_t lo, size_t hi) {
    long nblocks = (long)((hi - lo + 65535) / 65536);
#pragma omp parallel for schedule(static) if (nblocks > 4)
    for (long b = 0; b < nblocks; b++) {
        size_t i0 = lo + (size_t)b * 65536;
        memcpy(dst + i0, src + i0, FS_MIN((size_t)65536, hi - i0) * sizeof(float));
    }
}

static void mpi_fail(fs_shm_reduce *s, int rc, const char *call, int k) {
    if (s->err.code) return;
    fs_mpi_error(&s->err, rc, call, __FILE__, __LINE__);
    fs_error_prefix(&s->err, "gradient bucket %d, cross-node all-reduce: ", k);
}

/* Stage 2 (and the launch of 3) for every bucket all local ranks have published. */
static void pump_reduce(fs_shm_reduce *s) {
    int who = 0;
    uint64_t all_ready = slowest(s, 0, &who);
    while (s->reduced < s->published && s->base + (uint64_t)s->reduced + 1 <= all_ready) {
        int k = s->reduced++;
        size_t lo, hi;
        chunk(s, k, s->me, &lo, &hi);
        reduce_chunk(s, lo, hi);
        if (s->nodes == 1) continue;
        int rc =
            MPI_Iallreduce(MPI_IN_PLACE, s->seg[s->me] + lo, (int)(hi - lo), MPI_FLOAT, MPI_SUM, s->cross, &s->req[k]);
        if (rc != MPI_SUCCESS) s->req[k] = MPI_REQUEST_NULL, mpi_fail(s, rc, "MPI_Iallreduce", k);
    }
    /* Stage 3 completes in order; MPI_Test is also what drives it. */
    while (s->crossed < s->reduced) {
        int k = s->crossed, flag = 1;
        if (s->req[k] != MPI_REQUEST_NULL) {
            int rc = MPI_Test(&s->req[k], &flag, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS) s->req[k] = MPI_REQUEST_NULL, mpi_fail(s, rc, "MPI_Test", k), flag = 1;
        }
        if (!flag) break;
        s->crossed++;
    }
    store(&s->flags[s->me].reduced, s->base + (uint64_t)s->crossed);
}

/* Stage 4 for every bucket whose chunks all local ranks have finished. */
static void pump_gather(fs_shm_reduce *s) {
    int who = 0;
    uint64_t all_reduced = slowest(s, 1, &who);
    int before = s->gathered;
    while (s->gathered < s->crossed && s->base + (uint64_t)s->gathered + 1 <= all_reduced) {
        int k = s->gathered++;
        for (int j = 0; j < s->L; j++) {
            if (j == s->me) continue;
            size_t lo, hi;
            chunk(s, k, j, &lo, &hi);
            copy_chunk(s->seg[s->me], s->seg[j], lo, hi);
        }
    }
    if (s->gathered != before) store(&s->flags[s->me].gathered, s->base + (uint64_t)s->gathered);
}

static void pump(fs_shm_reduce *s) {
    pump_reduce(s);
    pump_gather(s);
}

void fs_shm_reduce_begin(fs_shm_reduce *s) {
    s->published = s->reduced = s->crossed = s->gathered = 0;
    s->err.code = 0, s->err.msg[0] = 0;
}

void fs_shm_reduce_ready(fs_shm_reduce *s, size_t ready_from) {
    int before = s->published;
    while (s->published < s->nbuckets && ready_from <= fs_bucket_lo(s->n, s->bucket, s->published)) s->published++;
    if (s->published != before) store(&s->flags[s->me].ready, s->base + (uint64_t)s->published);
    pump(s);
}

/* ---------------------------------------------------------------- finish */
static const char *stage_name(int stage) {
    return stage == 0   ? "has not finished its backward pass of this bucket"
           : stage == 1 ? "has not summed its share of this bucket"
                        : "has not taken the results of this bucket";
}

static int timeout_error(fs_shm_reduce *s, double timeout_s, int stage, fs_error *e) {
    int who = 0;
    uint64_t v = slowest(s, stage, &who);
    long k = (long)(v - s->base); /* the bucket it is stuck before */
    return fs_errorf(e, FS_EXIT_FAIL,
                     "gradient all-reduce (%s) timed out after %.1f s on %s: local rank %d (rank %d) %s "
                     "(bucket %ld of %d, seq %llu)\n  hint: rank %d is hung (a deadlock, a stuck filesystem or "
                     "device) or dead: look at its last messages; raise comms.timeout_s only if it is just slow",
                     s->describe, timeout_s, s->w->host, who, s->world_rank[who], stage_name(stage), k, s->nbuckets,
                     (unsigned long long)v + 1, s->world_rank[who]);
}

/* Which stage holds us up: the first one whose slowest rank is behind the target. */
static int blocking_stage(fs_shm_reduce *s, uint64_t target) {
    int who = 0;
    if (slowest(s, 0, &who) < target) return 0;
    if (slowest(s, 1, &who) < target) return 1;
    return 2;
}

static void relax(long spins) {
    if (spins > 64) sched_yield(); /* oversubscribed ranks must let the others run */
}

int fs_shm_reduce_finish(fs_shm_reduce *s, double timeout_s, int *early, fs_error *e) {
    pump(s);
    *early = s->gathered;
    fs_shm_reduce_ready(s, 0);
    uint64_t target = s->base + (uint64_t)s->nbuckets;
    double t_end = fs_now() + timeout_s;
    long spins = 0;
    int who = 0;
    while (!s->err.code && (s->gathered < s->nbuckets || slowest(s, 2, &who) < target)) {
        if ((++spins & 255) == 0 && fs_now() > t_end) return timeout_error(s, timeout_s, blocking_stage(s, target), e);
        relax(spins);
        pump(s);
    }
    if (s->err.code) {
        if (e) *e = s->err;
        return s->err.code;
    }
    s->base = target;
    s->published = s->reduced = s->crossed = s->gathered = 0;
    return 0;
}
