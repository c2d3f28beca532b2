/* emu.c — the CPU emulator's runtime for kernels/cuda (see emu.h for its rules): launch
 * geometry checks, the block loop's barrier, __syncthreads, warp shuffles, atomics.
 * A launch is an OpenMP team of blockDim threads; launches are serialised by a mutex. */
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/emu.h"
#include "core/common.h"

_Thread_local uint3 fsemu_thread_idx, fsemu_block_idx;
_Thread_local dim3 fsemu_block_dim, fsemu_grid_dim;

static pthread_mutex_t launch_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int my_tid;    /* linear thread index in the block */
static pthread_barrier_t *warp_bar; /* [n_warps], one barrier per warp of the block */
static double *xchg;                /* [threads], the warps' shuffle exchange buffer */
static int cur_threads;

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
    if (omp_in_parallel())
        fs_die(FS_EXIT_FAIL,
               "%s:%d: launch of %s from inside an OpenMP parallel region\n"
               "  hint: the emulator needs its own team of threads; launch from serial code",
               l->file, l->line, l->kernel);
}

void fsemu_launch_begin(fsemu_launch *l, dim3 grid, dim3 block, const char *kernel, const char *file, int line) {
    l->grid = grid, l->block = block, l->kernel = kernel, l->file = file, l->line = line;
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
    cur_threads = l->threads;
}

void fsemu_thread_enter(fsemu_launch *l) {
    if (omp_get_num_threads() != l->threads)
        fs_die(FS_EXIT_FAIL,
               "%s:%d: emulating %s needs %d threads but OpenMP started %d\n"
               "  hint: unset OMP_THREAD_LIMIT / OMP_DYNAMIC, or raise the thread limit (ulimit -u)",
               l->file, l->line, l->kernel, l->threads, omp_get_num_threads());
    int t = omp_get_thread_num();
    my_tid = t;
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
    warp_bar = NULL, xchg = NULL, cur_threads = 0;
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
