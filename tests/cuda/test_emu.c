/* test_emu.c — cuda_emu: the CPU emulator itself (kernels/cuda/emu.h), with kernels written
 * the way the backend's are: thread/block indices over a 3-D grid, __shared__ storage that
 * each block sees alone, __syncthreads ordering, warp shuffles (down and xor, a partial last
 * warp, float and double), atomicAdd from every thread. Expected values are computed here by
 * plain loops. */
#include <stdio.h>
#include <stdlib.h>

#include "kernels/cuda/emu.h"
#include "core/common.h"

/* out[block] = sum over the block's threads of (tid + 1000 * block), through shared memory:
 * thread 0 reads what every thread wrote before the barrier. */
static __global__ void shared_sum_kernel(long *out) {
    __shared__ long vals[96];
    int tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    long block = blockIdx.x + gridDim.x * (blockIdx.y + (long)gridDim.y * blockIdx.z);
    vals[tid] = tid + 1000 * block;
    __syncthreads();
    if (tid == 0) {
        long s = 0;
        for (int i = 0; i < (int)(blockDim.x * blockDim.y * blockDim.z); i++) s += vals[i];
        out[block] = s;
    }
}

/* Per warp, lane 0 writes the shuffle-down sum; every lane writes its xor-16 partner's value. */
static __global__ void shuffle_kernel(float *warp_sum, double *xor_out) {
    int tid = threadIdx.x;
    float v = (float)(tid + 1);
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (tid % 32 == 0) warp_sum[tid / 32] = v;
    xor_out[tid] = __shfl_xor_sync(0xffffffffu, (double)tid * 0.5, 16);
}

static __global__ void atomic_kernel(float *counter) { atomicAdd(counter, 1.0f); }

static int check_shared(void) {
    long out[24];
    FS_LAUNCH(shared_sum_kernel, FS_DIM3(2, 3, 4), FS_DIM3(8, 4, 3), out);
    int f = 0;
    for (long b = 0; b < 24; b++) {
        long want = 95 * 96 / 2 + 96 * 1000 * b;
        if (out[b] != want) printf("FAIL shared/syncthreads: block %ld got %ld, want %ld\n", b, out[b], want), f++;
    }
    return f;
}

static int check_shuffle(void) {
    enum { T = 80 }; /* two full warps and one of 16 lanes */
    float sums[3];
    double xo[T];
    FS_LAUNCH(shuffle_kernel, FS_DIM3(1, 1, 1), FS_DIM3(T, 1, 1), sums, xo);
    int f = 0;
    for (int w = 0; w < 3; w++) { /* the same shuffle-down tree, lane by lane */
        int lanes = w < 2 ? 32 : 16;
        float v[32];
        for (int l = 0; l < lanes; l++) v[l] = (float)(32 * w + l + 1);
        /* a source lane past the warp's end gives the caller's own value */
        for (int o = 16; o > 0; o >>= 1)
            for (int l = 0; l < lanes; l++) v[l] += l + o < lanes ? v[l + o] : v[l];
        if (sums[w] != v[0]) printf("FAIL shfl_down: warp %d sum %g, want %g\n", w, sums[w], v[0]), f++;
    }
    for (int t = 0; t < T; t++) {
        int src = t ^ 16;
        double want = (t >= 64 && src >= T) ? t * 0.5 : src * 0.5;
        if (xo[t] != want) printf("FAIL shfl_xor: thread %d got %g, want %g\n", t, xo[t], want), f++;
    }
    return f;
}

static int check_atomic(void) {
    float counter = 0.0f;
    FS_LAUNCH(atomic_kernel, FS_DIM3(7, 1, 1), FS_DIM3(129, 1, 1), &counter);
    if (counter != 7 * 129) {
        printf("FAIL atomicAdd: counter %g, want %d\n", counter, 7 * 129);
        return 1;
    }
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("cuda_emu: ran emulated (this test checks the emulator itself)\n");
    int f = check_shared() + check_shuffle() + check_atomic();
    if (f) {
        printf("cuda_emu: %d checks FAILED\n", f);
        return 1;
    }
    printf("cuda_emu: shared memory, __syncthreads, 3-D indices, shuffles and atomics behave as on a GPU\n");
    return 0;
}
