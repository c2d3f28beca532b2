/* emu.c — the CPU emulator's runtime for kernels/cuda (see emu.h for its rules): launch
 * geometry checks, the block loop's barrier, __syncthreads, warp shuffles, atomics, and the
 * tensor-core primitives of mma.h (mma.sync, ldmatrix, cp.async).
 * A launch is an OpenMP team of blockDim threads; launches are serialised by a mutex. */
#include <omp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/emu.h"
#include "kernels/cuda/mma.h"
#include "core/common.h"

_Thread_local uint3 fsemu_thread_idx, fsemu_block_idx;
_Thread_local dim3 fsemu_block_dim, fsemu_grid_dim;

static pthread_mutex_t launch_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int my_tid;    /* linear thread index in the block */
static pthread_barrier_t *warp_bar; /* [n_warps], one barrier per warp of the block */
static double *xchg;                /* [threads], the warps' shuffle exchange buffer */
static int cur_threads;
static const fsemu_launch *cur_launch;
static unsigned char *dyn_smem; /* [dyn_bytes], the launch's dynamic shared memory */
static size_t dyn_bytes;

/* Most dynamic shared memory a block may have: sm_90's opt-in limit (227 KiB; sm_80: 163 KiB). */
#define FSEMU_MAX_DYNAMIC_SHARED (227 * 1024)

/* The warp-collective ops of mma.h exchange through slots[parity][thread]: a lane deposits,
 * passes its warp's barrier, reads the other lanes' slots. Consecutive ops alternate between
 * the two sets, so one barrier per op suffices: a lane writes set p again only after the
 * barrier of the next op, which every lane reaches after its reads of set p. */
typedef struct lane_slot {
    uint32_t a[4], b[2];      /* mma: this lane's A and B fragments */
    const unsigned char *row; /* ldmatrix: the row address, NULL when it failed the checks */
    int op;                   /* which op deposited (op_tag): every lane must call the same */
} lane_slot;
static lane_slot *slots; /* [2 * threads] */
static _Thread_local int my_parity;

/* cp.async: each thread's copies in issue order, each tagged with its commit group. */
typedef struct cp_copy {
    unsigned char *dst;
    const unsigned char *src;
    int bytes, src_bytes;
    long group; /* the index of the group it belongs to (= groups committed when issued) */
} cp_copy;
typedef struct cp_queue {
    cp_copy *q;
    int n, cap;
    long committed; /* groups committed so far by this thread */
} cp_queue;
static cp_queue *cpq; /* [threads] */

/* Errors of the mma.h primitives: the first message is kept, all are counted, and the launch
 * ends with fs_die (a thread cannot stop the team mid-block). */
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static char err_msg[1024];
static long err_count;

static void emu_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emu_error(const char *fmt, ...) {
    pthread_mutex_lock(&err_lock);
    if (err_count++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err_msg, sizeof err_msg, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&err_lock);
}

static void check_geometry(const fsemu_launch *l) {
    if (l->threads < 1 || l->threads > 1024 || l->block.z > 64)
        fs_die(FS_EXIT_FAIL,
               "%s:%d: launch of %s with block (%u, %u, %u): %d threads; expected 1..1024 (z <= 64)\n"
               "  hint: this launch would fail on a GPU too (invalid configuration)",
               l->file, l->line, l->kernel, l->block.x, l->block.y, l->block.z, l->threads);
    if (l->n_blocks < 1 || l->grid.y > 65535 || l->grid.z > 65535)
        fs_die(FS_EXIT_FAIL,
               "%s:%d: launch of %s with grid (%u, %u, %u); expected at least one block, y and z <= 65535\n"
               "  hint: a launcher must not launch an empty grid (check the sizes before launching)",
               l->file, l->line, l->kernel, l->grid.x, l->grid.y, l->grid.z);
    if (l->smem_bytes > FSEMU_MAX_DYNAMIC_SHARED)
        fs_die(FS_EXIT_FAIL,
               "%s:%d: launch of %s with %zu bytes of dynamic shared memory; expected at most %d (227 KiB)\n"
               "  hint: this launch would fail on a GPU too (sm_90 allows 227 KiB per block, sm_80 163 KiB)",
               l->file, l->line, l->kernel, l->smem_bytes, FSEMU_MAX_DYNAMIC_SHARED);
    if (omp_in_parallel())
        fs_die(FS_EXIT_FAIL,
               "%s:%d: launch of %s from inside an OpenMP parallel region\n"
               "  hint: the emulator needs its own team of threads; launch from serial code",
               l->file, l->line, l->kernel);
}

void fsemu_launch_begin(fsemu_launch *l, dim3 grid, dim3 block, size_t smem_bytes, const char *kernel, const char *file,
                        int line) {
    l->grid = grid, l->block = block, l->kernel = kernel, l->file = file, l->line = line;
    l->smem_bytes = smem_bytes;
    l->threads = (int)(block.x * block.y * block.z);
    l->n_blocks = (long)grid.x * grid.y * grid.z;
    check_geometry(l);
    pthread_mutex_lock(&launch_lock);
    omp_set_dynamic(0);
    int n_warps = (l->threads + 31) / 32;
    warp_bar = fs_malloc(sizeof(pthread_barrier_t) * (size_t)n_warps);
    for (int w = 0; w < n_warps; w++) {
        unsigned lanes = (unsigned)FS_MIN(32, l->threads - 32 * w);
        if (pthread_barrier_init(&warp_bar[w], NULL, lanes) != 0)
            fs_die(FS_EXIT_FAIL, "emulator: pthread_barrier_init(%u) failed for %s", lanes, kernel);
    }
    xchg = fs_malloc(sizeof(double) * (size_t)l->threads);
    slots = fs_calloc(2 * (size_t)l->threads, sizeof *slots);
    cpq = fs_calloc((size_t)l->threads, sizeof *cpq);
    cur_threads = l->threads;
    cur_launch = l;
    err_count = 0;
    dyn_smem = NULL, dyn_bytes = l->smem_bytes;
    if (dyn_bytes) {
        void *p = NULL;
        if (posix_memalign(&p, 128, dyn_bytes) != 0)
            fs_die(FS_EXIT_FAIL, "emulator: no memory for %zu bytes of dynamic shared memory for %s", dyn_bytes,
                   kernel);
        dyn_smem = p;
        memset(dyn_smem, 0xFF, dyn_bytes); /* undefined on a GPU: NaNs here */
    }
}

unsigned char *fsemu_dynamic_shared(void) { return dyn_smem; }

void fsemu_thread_enter(fsemu_launch *l) {
    if (omp_get_num_threads() != l->threads)
        fs_die(FS_EXIT_FAIL,
               "%s:%d: emulating %s needs %d threads but OpenMP started %d\n"
               "  hint: unset OMP_THREAD_LIMIT / OMP_DYNAMIC, or raise the thread limit (ulimit -u)",
               l->file, l->line, l->kernel, l->threads, omp_get_num_threads());
    int t = omp_get_thread_num();
    my_tid = t;
    my_parity = 0;
    fsemu_block_dim = l->block;
    fsemu_grid_dim = l->grid;
    fsemu_thread_idx.x = (unsigned)t % l->block.x;
    fsemu_thread_idx.y = ((unsigned)t / l->block.x) % l->block.y;
    fsemu_thread_idx.z = (unsigned)t / (l->block.x * l->block.y);
}

void fsemu_enter_block(fsemu_launch *l, long b) {
    if (b > 0) {
#pragma omp barrier
    }
    fsemu_block_idx.x = (unsigned)(b % l->grid.x);
    fsemu_block_idx.y = (unsigned)((b / l->grid.x) % l->grid.y);
    fsemu_block_idx.z = (unsigned)(b / ((long)l->grid.x * l->grid.y));
}

void (*fsemu_after_launch)(const fsemu_launch *l);

void fsemu_launch_end(fsemu_launch *l) {
    int n_warps = (l->threads + 31) / 32;
    for (int w = 0; w < n_warps; w++) pthread_barrier_destroy(&warp_bar[w]);
    free(warp_bar);
    free(xchg);
    for (int t = 0; t < l->threads; t++) free(cpq[t].q);
    free(cpq);
    free(slots);
    free(dyn_smem);
    dyn_smem = NULL, dyn_bytes = 0;
    warp_bar = NULL, xchg = NULL, slots = NULL, cpq = NULL, cur_threads = 0, cur_launch = NULL;
    if (err_count)
        fs_die(FS_EXIT_FAIL, "%s:%d: launch of %s: %s%s", l->file, l->line, l->kernel, err_msg,
               err_count > 1 ? "\n  (and more errors of the same launch)" : "");
    if (fsemu_after_launch) fsemu_after_launch(l);
    pthread_mutex_unlock(&launch_lock);
}

void fsemu_syncthreads(void) {
#pragma omp barrier
}

/* Lane `src` of the caller's warp (CUDA: a source lane outside the warp yields the
 * caller's own value). */
static double shfl(double v, int arg, int mode) {
    int warp = my_tid / 32, lane = my_tid % 32;
    int lanes = FS_MIN(32, cur_threads - 32 * warp);
    int src = mode == FSEMU_SHFL_DOWN ? lane + arg : lane ^ arg;
    xchg[my_tid] = v;
    pthread_barrier_wait(&warp_bar[warp]);
    double r = (src >= 0 && src < lanes) ? xchg[32 * warp + src] : v;
    pthread_barrier_wait(&warp_bar[warp]);
    return r;
}

float fsemu_shfl_f(float v, int arg, int mode) { return (float)shfl((double)v, arg, mode); }
double fsemu_shfl_d(double v, int arg, int mode) { return shfl(v, arg, mode); }

float fsemu_atomic_add_f(float *p, float v) {
    uint32_t *u = (uint32_t *)p;
    uint32_t old = __atomic_load_n(u, __ATOMIC_RELAXED), want;
    float f;
    do {
        memcpy(&f, &old, sizeof f);
        f += v;
        memcpy(&want, &f, sizeof want);
    } while (!__atomic_compare_exchange_n(u, &old, want, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    memcpy(&f, &old, sizeof f);
    return f;
}

/* ---------------------------------------------------------------- mma.h: tensor-core primitives */

/* "block (x, y, z) thread (x, y, z)" of the calling thread. */
static const char *who(char *buf, size_t len) {
    snprintf(buf, len, "block (%u, %u, %u) thread (%u, %u, %u)", fsemu_block_idx.x, fsemu_block_idx.y,
             fsemu_block_idx.z, fsemu_thread_idx.x, fsemu_thread_idx.y, fsemu_thread_idx.z);
    return buf;
}

/* Shared memory under the emulator: static storage of the executable (.data, .bss, between the
 * linker's etext and end), where every __shared__ array lives (emu.h makes __shared__
 * `static`), or the launch's dynamic shared memory. NULL when [p, p + n) lies in one of them,
 * else what is wrong. */
extern char etext, end;
static const char *not_shared(const void *p, size_t n) {
    uintptr_t u = (uintptr_t)p, d = (uintptr_t)dyn_smem;
    if (u >= (uintptr_t)&etext && u + n <= (uintptr_t)&end) return NULL;
    if (dyn_smem && u >= d && u + n <= d + dyn_bytes) return NULL;
    if (dyn_smem && u >= d && u < d + dyn_bytes + 4096) return "past the end of the launch's dynamic shared memory";
    return "not in a __shared__ array nor in the launch's dynamic shared memory";
}

/* The caller's warp, when it is a full one (warp-collective ops need all 32 lanes); else
 * records the error and returns -1. */
static int full_warp(const char *op) {
    int warp = my_tid / 32;
    if (cur_threads - 32 * warp >= 32) return warp;
    char w[96];
    emu_error("%s: %s called %s in a warp of %d threads; expected a full warp of 32\n"
              "  hint: warp-collective ops need blockDim.x*y*z a multiple of 32, every lane calling",
              who(w, sizeof w), op, op, cur_threads - 32 * warp);
    return -1;
}

/* The op a lane deposited for: mma 1, ldmatrix 2 + 2 count + trans. */
static int op_tag(int ldmatrix_count, int trans) { return ldmatrix_count ? 2 + 2 * ldmatrix_count + trans : 1; }
static void op_name(int tag, char *buf, size_t len) {
    if (tag == 1) snprintf(buf, len, "mma.sync.m16n8k16");
    else snprintf(buf, len, "ldmatrix.x%d%s", (tag - 2) / 2, tag % 2 ? ".trans" : "");
}

/* After the barrier: every lane of the warp deposited for the same op (a warp whose lanes call
 * different collectives at once has diverged, undefined on a GPU). */
static void check_same_op(const lane_slot *s, int lane, int tag) {
    for (int l = 0; l < 32; l++)
        if (s[l].op != tag) {
            char w[96], mine[32], theirs[32];
            op_name(tag, mine, sizeof mine), op_name(s[l].op, theirs, sizeof theirs);
            emu_error("%s: lane %d called %s while lane %d of its warp called %s\n"
                      "  hint: warp-collective ops are called by all 32 lanes together (no divergent branch "
                      "around them)",
                      who(w, sizeof w), lane, mine, l, theirs);
            return;
        }
}

static float bf16_at(uint32_t reg, int half) { return fs_bf16_to_f32((fs_bf16)(reg >> (16 * half))); }

/* PTX ISA section "Matrix Fragments for mma.m16n8k16 with floating point type" (.bf16;
 * docs.nvidia.com/cuda/parallel-thread-execution/#warp-level-matrix-fragment-mma-16816-float):
 * groupID g = lane >> 2, threadID_in_group t = lane % 4;
 *   A: a_i (i = 0..7, two per register, a[i / 2]) holds row g + 8 * ((i / 2) % 2),
 *      column 2t + (i % 2) + 8 * (i / 4);
 *   B: b_i (i = 0..3, b[i / 2]) holds row (k) 2t + (i % 2) + 8 * (i / 2), column (n) g;
 *   C, D: c_i (i = 0..3) holds row g + 8 * (i / 2), column 2t + (i % 2).
 * So A(r, k) is in lane 4 (r % 8) + (k % 8) / 2, register r / 8 + 2 (k / 8), half k % 2, and
 * B(k, n) in lane 4 n + (k % 8) / 2, register k / 8, half k % 2. Each lane computes its own
 * d_i = c_i + sum over k = 0..15 of A(row, k) B(k, col): every product is exact (8-bit
 * significands), the sum is a double taken in k order from c_i, rounded once to fp32. */
void fsemu_mma_16816(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
    int warp = full_warp("mma.sync.m16n8k16");
    if (warp < 0) {
        for (int i = 0; i < 4; i++) d[i] = c[i];
        return;
    }
    int lane = my_tid % 32;
    lane_slot *s = slots + (size_t)my_parity * cur_threads + 32 * warp;
    my_parity ^= 1;
    memcpy(s[lane].a, a, sizeof s[lane].a);
    memcpy(s[lane].b, b, sizeof s[lane].b);
    s[lane].op = op_tag(0, 0);
    pthread_barrier_wait(&warp_bar[warp]);
    check_same_op(s, lane, op_tag(0, 0));
    int g = lane >> 2, t = lane & 3;
    float arow[2][16], bcol[2][16];
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < 16; k++) {
            int r = g + 8 * h, n = 2 * t + h;
            arow[h][k] = bf16_at(s[4 * (r % 8) + (k % 8) / 2].a[r / 8 + 2 * (k / 8)], k % 2);
            bcol[h][k] = bf16_at(s[4 * n + (k % 8) / 2].b[k / 8], k % 2);
        }
    float out[4];
    for (int i = 0; i < 4; i++) {
        double acc = c[i];
        for (int k = 0; k < 16; k++) acc += (double)arow[i / 2][k] * (double)bcol[i % 2][k];
        out[i] = (float)acc;
    }
    memcpy(d, out, sizeof out); /* d may be c */
}

/* PTX ISA section "Warp-level matrix load instruction: ldmatrix" (same page,
 * #warp-level-matrix-instructions-ldmatrix): matrix j's 8 rows come from the
 * addresses of lanes 8j .. 8j+7 (16 bytes each); lane i gets row i/4, elements 2(i%4) and
 * 2(i%4)+1 (low, high half of r[j]); .trans gives the transposed matrix's. */
void fsemu_ldmatrix(uint32_t *r, int count, int trans, const void *smem_row) {
    int warp = full_warp(trans ? "ldmatrix.trans" : "ldmatrix");
    if (warp < 0) {
        for (int j = 0; j < count; j++) r[j] = 0;
        return;
    }
    int lane = my_tid % 32;
    lane_slot *s = slots + (size_t)my_parity * cur_threads + 32 * warp;
    my_parity ^= 1;
    const unsigned char *row = smem_row;
    if (lane < 8 * count) {
        char w[96];
        if ((uintptr_t)row % 16)
            emu_error("%s: ldmatrix.x%d%s row address %p (matrix %d row %d) is not 16-byte aligned\n"
                      "  hint: every row of an ldmatrix tile starts at a multiple of 16 bytes (pad the "
                      "__shared__ tile's row length to a multiple of 8 bf16)",
                      who(w, sizeof w), count, trans ? ".trans" : "", smem_row, lane / 8, lane % 8),
                row = NULL;
        else if (not_shared(row, 16))
            emu_error("%s: ldmatrix.x%d%s row address %p (matrix %d row %d): %s\n"
                      "  hint: ldmatrix reads 16 bytes of shared memory per row address",
                      who(w, sizeof w), count, trans ? ".trans" : "", smem_row, lane / 8, lane % 8,
                      not_shared(row, 16)),
                row = NULL;
    } else {
        row = NULL; /* ignored, as in PTX */
    }
    s[lane].row = row;
    s[lane].op = op_tag(count, trans);
    pthread_barrier_wait(&warp_bar[warp]);
    check_same_op(s, lane, op_tag(count, trans));
    for (int j = 0; j < count; j++) {
        uint16_t lo = 0, hi = 0;
        if (!trans) {
            const unsigned char *p = s[8 * j + lane / 4].row;
            if (p) memcpy(&lo, p + 4 * (lane % 4), 2), memcpy(&hi, p + 4 * (lane % 4) + 2, 2);
        } else {
            const unsigned char *p0 = s[8 * j + 2 * (lane % 4)].row, *p1 = s[8 * j + 2 * (lane % 4) + 1].row;
            if (p0) memcpy(&lo, p0 + 2 * (lane / 4), 2);
            if (p1) memcpy(&hi, p1 + 2 * (lane / 4), 2);
        }
        r[j] = (uint32_t)lo | ((uint32_t)hi << 16);
    }
}

void fsemu_cp_async(void *smem, const void *gmem, int cp_bytes, int src_bytes) {
    char w[96];
    const char *op = cp_bytes == 16 ? "cp.async.cg" : "cp.async.ca";
    if (src_bytes < 0 || src_bytes > cp_bytes) {
        emu_error("%s: %s of %d bytes with src_bytes %d; expected 0..%d\n"
                  "  hint: src_bytes is how many bytes to read, the rest of the %d is zero-filled",
                  who(w, sizeof w), op, cp_bytes, src_bytes, cp_bytes, cp_bytes);
        return;
    }
    if ((uintptr_t)smem % (uintptr_t)cp_bytes || not_shared(smem, (size_t)cp_bytes)) {
        emu_error("%s: %s of %d bytes to %p: %s\n"
                  "  hint: the destination is a shared-memory address aligned to the copy's size",
                  who(w, sizeof w), op, cp_bytes, smem,
                  (uintptr_t)smem % (uintptr_t)cp_bytes ? "not aligned to the copy's size"
                                                        : not_shared(smem, (size_t)cp_bytes));
        return;
    }
    if (src_bytes > 0 && (!gmem || (uintptr_t)gmem % (uintptr_t)cp_bytes)) {
        emu_error("%s: %s of %d bytes from global address %p: not aligned to the copy's size\n"
                  "  hint: the source of a %d-byte cp.async is %d-byte aligned (fall back to smaller "
                  "copies for unaligned rows)",
                  who(w, sizeof w), op, cp_bytes, gmem, cp_bytes, cp_bytes);
        return;
    }
    cp_queue *q = &cpq[my_tid];
    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 16;
        q->q = fs_realloc(q->q, sizeof *q->q * (size_t)q->cap);
    }
    q->q[q->n++] = (cp_copy){smem, gmem, cp_bytes, src_bytes, q->committed};
}

void fsemu_cp_async_commit(void) { cpq[my_tid].committed++; }

/* Completes, in issue order, every copy of a group older than the n most recently committed
 * (n < 0: every copy, committed or not: cp.async.wait_all). */
void fsemu_cp_async_wait(int n) {
    cp_queue *q = &cpq[my_tid];
    long before = n < 0 ? q->committed + 1 : q->committed - n;
    int done = 0;
    while (done < q->n && q->q[done].group < before) {
        const cp_copy *c = &q->q[done++];
        if (c->src_bytes) memcpy(c->dst, c->src, (size_t)c->src_bytes);
        memset(c->dst + c->src_bytes, 0, (size_t)(c->bytes - c->src_bytes));
    }
    if (done) memmove(q->q, q->q + done, sizeof *q->q * (size_t)(q->n - done)), q->n -= done;
}

void fsemu_block_exit(fsemu_launch *l) {
    (void)l;
    cp_queue *q = &cpq[my_tid];
    if (q->n == 0) return;
    char w[96];
    emu_error("%s: the block ended with %d cp.async copies not completed (the first to %p, group %ld "
              "of %ld committed)\n"
              "  hint: FSK_CP_ASYNC_WAIT(0) or fsk_cp_async_wait_all() before the last reads of the "
              "staged tiles; a GPU would leave them undefined",
              who(w, sizeof w), q->n, (void *)q->q[0].dst, q->q[0].group, q->committed);
    q->n = 0;
}
