/* emu.h — what lets one kernel source build with nvcc for the GPU and with gcc for the CPU
 * emulator. Kernel files (kernels/cuda/<op>.cu) include this header and use plain CUDA C
 * (no templates, no classes) plus a few macros of ours:
 *   FS_DIM3(x, y, z)                       a dim3 value in both languages;
 *   FS_LAUNCH(kernel, grid, block, args...) kernel<<<grid, block, 0, stream>>>(args) on the
 *                                          GPU, the emulator's launch on the CPU;
 *   FS_LAUNCH_SMEM(kernel, grid, block, bytes, args...)  the same with `bytes` of dynamic
 *                                          shared memory (above 48 KiB the GPU build first
 *                                          raises the kernel's limit: cudaFuncSetAttribute);
 *   FS_DYNAMIC_SHARED(name)                in a kernel: `unsigned char name[]`, the launch's
 *                                          dynamic shared memory (16-byte aligned).
 *
 * The emulator's rules (docs/cuda.md):
 *  - one host thread per CUDA thread of a block (an OpenMP team of blockDim threads, which
 *    also gives the launch the closure over its arguments); blocks run one after another,
 *    the team passing a barrier between two blocks;
 *  - __shared__ is `static`: one copy per kernel, shared by the block's threads; blocks do
 *    not overlap in time, so no two blocks race on it. Launches are serialised;
 *  - __syncthreads() is a team barrier: every thread of the block must reach it (a kernel
 *    that calls it must not return early);
 *  - dynamic shared memory is one 128-byte aligned heap block per launch of exactly the bytes
 *    asked for (at most 227 KiB, sm_90's limit), shared by the block's threads, filled with
 *    0xFF bytes (NaN as float or bf16) at the start of the launch;
 *  - warp shuffles exchange through a per-warp buffer between two per-warp barriers: all 32
 *    threads of a warp (fewer in a last partial warp) must call them, with a full mask;
 *  - atomicAdd uses __atomic builtins;
 *  - the tensor-core primitives of mma.h (mma.sync m16n8k16 bf16, ldmatrix, cp.async) follow
 *    the PTX ISA's per-lane layouts: mma and ldmatrix are warp-collective (a full warp of 32
 *    lanes, all calling), exchanging fragments / row addresses through per-warp slots (two
 *    sets, alternating, so one per-warp barrier per op); mma sums in double in k order from
 *    c and rounds once to fp32; ldmatrix rows must be 16-byte aligned in shared memory
 *    (static __shared__ arrays or the dynamic shared memory); cp.async copies are queued per thread and done only when a
 *    wait_group / wait_all completes their group (never by __syncthreads), and a thread
 *    that ends its block with copies pending is an error. These errors are collected and
 *    stop the program at the end of the launch, naming the kernel.
 * Nothing else of CUDA is emulated.
 * The racecheck label builds the emulated kernels with clang's ThreadSanitizer (+ Archer, so
 * the team barriers are happens-before edges: a missing __syncthreads is a reported race)
 * and AddressSanitizer (__shared__ arrays are static objects with redzones, device buffers
 * exact-size heap blocks: an access past either end is reported); docs/cuda.md. */
#ifndef FACESWARM_CUDA_EMU_H
#define FACESWARM_CUDA_EMU_H

#ifdef __CUDACC__
/* ---------------------------------------------------------------- nvcc: the real thing */
#include <cuda_runtime.h>

#define FS_DIM3(x, y, z) dim3((x), (y), (z))
#define FS_LAUNCH(kernel, grid, block, ...)                                                                            \
    do {                                                                                                               \
        kernel<<<(grid), (block), 0, fsk_stream()>>>(__VA_ARGS__);                                                     \
        fsk_check_launch(#kernel, __FILE__, __LINE__);                                                                 \
    } while (0)
#define FS_LAUNCH_SMEM(kernel, grid, block, bytes, ...)                                                                \
    do {                                                                                                               \
        size_t fs_smem_ = (bytes);                                                                                     \
        if (fs_smem_ > 48 * 1024)                                                                                      \
            (void)cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)fs_smem_);            \
        kernel<<<(grid), (block), fs_smem_, fsk_stream()>>>(__VA_ARGS__);                                              \
        fsk_check_launch(#kernel, __FILE__, __LINE__);                                                                 \
    } while (0)
#define FS_DYNAMIC_SHARED(name) extern __shared__ __align__(16) unsigned char name[]
#define FSK_DEVICE static __device__ __forceinline__

#else
/* ---------------------------------------------------------------- gcc: the emulator */
#include <math.h>
#include <stddef.h>

typedef struct dim3 {
    unsigned int x, y, z;
} dim3;
typedef dim3 uint3;

extern _Thread_local uint3 fsemu_thread_idx, fsemu_block_idx;
extern _Thread_local dim3 fsemu_block_dim, fsemu_grid_dim;
#define threadIdx fsemu_thread_idx
#define blockIdx fsemu_block_idx
#define blockDim fsemu_block_dim
#define gridDim fsemu_grid_dim
#define warpSize 32

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(n)
#define __align__(n) __attribute__((aligned(n)))
#define FSK_DEVICE static inline

#define FS_DIM3(x, y, z) ((dim3){(unsigned int)(x), (unsigned int)(y), (unsigned int)(z)})

void fsemu_syncthreads(void);
float fsemu_shfl_f(float v, int lane_src, int mode);
double fsemu_shfl_d(double v, int lane_src, int mode);
enum { FSEMU_SHFL_DOWN = 0, FSEMU_SHFL_XOR = 1 };
#define __syncthreads() fsemu_syncthreads()
#define __shfl_down_sync(mask, v, delta)                                                                               \
    _Generic((v), float : fsemu_shfl_f, double : fsemu_shfl_d)((v), (delta), FSEMU_SHFL_DOWN)
#define __shfl_xor_sync(mask, v, lanemask)                                                                             \
    _Generic((v), float : fsemu_shfl_f, double : fsemu_shfl_d)((v), (lanemask), FSEMU_SHFL_XOR)

float fsemu_atomic_add_f(float *p, float v);
#define atomicAdd(p, v) fsemu_atomic_add_f((p), (v))
#define __ldg(p) (*(p))
#define rsqrtf(x) (1.0f / sqrtf(x))
#define __expf(x) expf(x)

/* One launch: its geometry and the blocks still to run. */
typedef struct fsemu_launch {
    dim3 grid, block;
    int threads;        /* block.x * block.y * block.z */
    long n_blocks;      /* grid.x * grid.y * grid.z */
    size_t smem_bytes;  /* dynamic shared memory */
    const char *kernel; /* for error messages */
    const char *file;
    int line;
} fsemu_launch;

void fsemu_launch_begin(fsemu_launch *l, dim3 grid, dim3 block, size_t smem_bytes, const char *kernel, const char *file,
                        int line);
/* The launch's dynamic shared memory (NULL when it asked for none). */
unsigned char *fsemu_dynamic_shared(void);
#define FS_DYNAMIC_SHARED(name) unsigned char *name = fsemu_dynamic_shared()
void fsemu_thread_enter(fsemu_launch *l);
/* Sets blockIdx to block b of the launch (after a barrier that ends block b - 1). */
void fsemu_enter_block(fsemu_launch *l, long b);
/* After each block, in every thread: a thread whose block ends with cp.async copies not waited
 * for is an error (reported at the end of the launch). */
void fsemu_block_exit(fsemu_launch *l);
void fsemu_launch_end(fsemu_launch *l);
/* Called after every launch when set (the emulated backend checks the guard zones of its
 * device buffers there: backend_emu.c). */
extern void (*fsemu_after_launch)(const fsemu_launch *l);

#define FS_LAUNCH(kernel, grid, block, ...) FS_LAUNCH_SMEM(kernel, grid, block, 0, __VA_ARGS__)
#define FS_LAUNCH_SMEM(kernel, grid, block, bytes, ...)                                                                \
    do {                                                                                                               \
        fsemu_launch fsemu_l_;                                                                                         \
        fsemu_launch_begin(&fsemu_l_, (grid), (block), (bytes), #kernel, __FILE__, __LINE__);                          \
        _Pragma("omp parallel num_threads(fsemu_l_.threads)") {                                                        \
            fsemu_thread_enter(&fsemu_l_);                                                                             \
            for (long fsemu_b_ = 0; fsemu_b_ < fsemu_l_.n_blocks; fsemu_b_++) {                                        \
                fsemu_enter_block(&fsemu_l_, fsemu_b_);                                                                \
                kernel(__VA_ARGS__);                                                                                   \
                fsemu_block_exit(&fsemu_l_);                                                                           \
            }                                                                                                          \
        }                                                                                                              \
        fsemu_launch_end(&fsemu_l_);                                                                                   \
    } while (0)
#endif

#endif
