/* test_planted.c — cuda_planted MODE: kernels with a planted defect, for the racecheck label
 * (tests/racecheck/run.sh runs them under ThreadSanitizer + Archer and AddressSanitizer and
 * expects the sanitizer to report exactly the planted defect). Test code only: none of
 * these kernels is part of the CUDA backend.
 *   clean       every kernel below without its defect; checks the results (also a plain
 *               cuda test: the emulator computes them right)
 *   race        a block reduction through __shared__ that is missing the __syncthreads
 *               between the writes and the reads (a read-after-write race between threads)
 *   oob_shared  a __shared__ tile written one element past its end
 *   oob_global  a device buffer (the emulated backend's alloc) read one element past its end
 *   oob_write   a device buffer written one element past its end (caught without ASan too:
 *               the emulated backend's guard zones, checked after every launch)
 * Exit 0 when the results are right (a defect the sanitizer did not stop may still give
 * right results: run.sh judges by the report, not by this status). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/emu.h"
#include "kernels/ops.h"

#define T 64 /* threads per block */

/* out[block] = sum of in[block * T + t]: thread 0 sums what every thread staged. */
static __global__ void block_sum(const float *in, float *out, int synced) {
    __shared__ float stage[T];
    int t = threadIdx.x;
    stage[t] = in[blockIdx.x * T + t];
    if (synced) __syncthreads(); /* race: the planted missing barrier when synced == 0 */
    if (t == 0) {
        float s = 0;
        for (int i = 0; i < T; i++) s += stage[i];
        out[blockIdx.x] = s;
    }
    __syncthreads(); /* the next block's writes wait for thread 0's reads */
}

/* out[t] = 2 in[t] through a shared tile, thread t writing tile[t + shift]: shift 1 (the
 * planted defect) makes thread T - 1 write tile[T], one past the end. */
static __global__ void shared_tile(const float *in, float *out, int shift) {
    __shared__ float tile[T];
    int t = threadIdx.x;
    tile[t + shift] = 2.0f * in[t];
    __syncthreads();
    if (t + shift < T) out[t] = tile[t + shift];
}

/* out[t + shift] = 3 in[t]: shift 1 (the planted defect) writes out[T], one past the end. */
static __global__ void shifted_store(const float *in, float *out, int shift) {
    int t = threadIdx.x;
    out[t + shift] = 3.0f * in[t];
}

/* out[t] = in[t] + in[t + 1]: reads in[0..T], so in must hold T + 1 floats (the planted
 * defect allocates T). */
static __global__ void neighbour_sum(const float *in, float *out) {
    int t = threadIdx.x;
    out[t] = in[t] + in[t + 1];
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "clean";
    int clean = !strcmp(mode, "clean");
    if (!clean && strcmp(mode, "race") && strcmp(mode, "oob_shared") && strcmp(mode, "oob_global") &&
        strcmp(mode, "oob_write")) {
        fprintf(stderr, "usage: cuda_planted clean|race|oob_shared|oob_global|oob_write\n");
        return 2;
    }
    const fs_backend *be = fs_backend_cuda_emulated();
    enum { BLOCKS = 3 };
    float host[BLOCKS * T + 1], got[BLOCKS * T];
    for (int i = 0; i < BLOCKS * T + 1; i++) host[i] = (float)(i % 7) - 3.0f;
    int fails = 0;

    if (clean || !strcmp(mode, "race")) {
        float *in = be->alloc(sizeof(float) * BLOCKS * T), *out = be->alloc(sizeof(float) * BLOCKS);
        be->upload(in, host, sizeof(float) * BLOCKS * T);
        FS_LAUNCH(block_sum, FS_DIM3(BLOCKS, 1, 1), FS_DIM3(T, 1, 1), in, out, clean);
        be->download(got, out, sizeof(float) * BLOCKS);
        for (int b = 0; b < BLOCKS; b++) {
            float want = 0;
            for (int i = 0; i < T; i++) want += host[b * T + i];
            if (got[b] != want) printf("block_sum: block %d got %g, want %g\n", b, got[b], want), fails++;
        }
        be->free(in), be->free(out);
    }
    if (clean || !strcmp(mode, "oob_shared")) {
        float *in = be->alloc(sizeof(float) * T), *out = be->alloc(sizeof(float) * T);
        be->upload(in, host, sizeof(float) * T);
        FS_LAUNCH(shared_tile, FS_DIM3(1, 1, 1), FS_DIM3(T, 1, 1), in, out, clean ? 0 : 1);
        be->download(got, out, sizeof(float) * T);
        for (int t = 0; t < T - 1; t++)
            if (got[t] != 2.0f * host[t]) printf("shared_tile: [%d] got %g\n", t, got[t]), fails++;
        be->free(in), be->free(out);
    }
    if (clean || !strcmp(mode, "oob_global")) {
        int n_in = clean ? T + 1 : T; /* the kernel reads T + 1 floats */
        float *in = be->alloc(sizeof(float) * (size_t)n_in), *out = be->alloc(sizeof(float) * T);
        be->upload(in, host, sizeof(float) * (size_t)n_in);
        FS_LAUNCH(neighbour_sum, FS_DIM3(1, 1, 1), FS_DIM3(T, 1, 1), in, out);
        be->download(got, out, sizeof(float) * T);
        for (int t = 0; t < T - 1; t++)
            if (got[t] != host[t] + host[t + 1]) printf("neighbour_sum: [%d] got %g\n", t, got[t]), fails++;
        be->free(in), be->free(out);
    }
    if (clean || !strcmp(mode, "oob_write")) {
        float *in = be->alloc(sizeof(float) * T), *out = be->alloc(sizeof(float) * T);
        be->upload(in, host, sizeof(float) * T);
        FS_LAUNCH(shifted_store, FS_DIM3(1, 1, 1), FS_DIM3(T, 1, 1), in, out, clean ? 0 : 1);
        be->download(got, out, sizeof(float) * T);
        for (int t = 1; t < T; t++)
            if (got[t] != 3.0f * host[t - !clean]) printf("shifted_store: [%d] got %g\n", t, got[t]), fails++;
        be->free(in), be->free(out);
    }
    printf("cuda_planted %s: %s\n", mode, fails ? "results WRONG" : "results right");
    return fails != 0;
}
