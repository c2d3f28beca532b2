/* blocksum.h — the block-wide sum used by every reduction kernel (reduce.cu, dssim.cu):
 * warp shuffles, then the block's warps in order, so a block's result is reproducible.
 * Included after emu.h by .cu files only. */
#ifndef FACESWARM_CUDA_BLOCKSUM_H
#define FACESWARM_CUDA_BLOCKSUM_H

/* The block's sum of v, valid in thread 0. Every thread of the block must call it. */
FSK_DEVICE double block_sum(double v, double *warp_sums /* __shared__ [FSK_THREADS / 32] */) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
    __syncthreads();
    double t = 0.0;
    if (threadIdx.x == 0)
        for (int w = 0; w < (int)blockDim.x / 32; w++) t += warp_sums[w];
    return t;
}

#endif
