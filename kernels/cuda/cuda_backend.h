/* cuda_backend.h — what the GPU build of the CUDA backend adds to kernels/ops.h (only in a
 * build with FACESWARM_HAVE_CUDA, i.e. where fs_cuda exists). */
#ifndef FACESWARM_CUDA_BACKEND_H
#define FACESWARM_CUDA_BACKEND_H

#ifdef __cplusplus
extern "C" {
#endif

/* "NVIDIA H100 80GB HBM3 (GPU 0 of 4, sm_90, 132 SMs)" once fs_backend_cuda() succeeded,
 * "" before. */
const char *fs_cuda_device_name(void);

/* The backend's compute stream (the cudaStream_t that every op, copy and kernel of the
 * backend runs on, fsk_stream()), as void * so that C callers need no CUDA header; NULL
 * before fs_backend_cuda() succeeded. The NCCL all-reduce orders its collectives after it. */
void *fs_cuda_stream(void);
/* The CUDA device index the backend chose (local_rank % device count), -1 before
 * fs_backend_cuda() succeeded. */
int fs_cuda_device(void);

/* What the GPU is, for fs_kbench's computed peak. */
typedef struct fs_cuda_props {
    char name[256];
    int major, minor;        /* compute capability */
    int sms;                 /* multiprocessors */
    int clock_khz;           /* peak SM clock (cudaDevAttrClockRate) */
    int fp32_lanes;          /* FP32 FMA lanes per SM for this compute capability (the CUDA guide's
                        * throughput table), 0 if this build does not know it */
    double peak_fp32_tflops; /* sms x clock x fp32_lanes x 2 / 1e12: computed, not measured */
} fs_cuda_props;
/* Fills p for the backend's device; 0, or -1 before fs_backend_cuda() succeeded. */
int fs_cuda_device_props(fs_cuda_props *p);

#ifdef __cplusplus
}
#endif

#endif
