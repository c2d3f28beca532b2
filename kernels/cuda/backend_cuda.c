/* backend_cuda.c — fs_backend_cuda(): the op table on a real GPU. Memory is cudaMalloc'd,
 * every copy and kernel goes on one stream per process, losses and norms copy back one
 * scalar. Without a usable device (no driver, driver too old, no GPU) it returns NULL with
 * an error that says which, never crashes. Built only when FACESWARM_HAVE_CUDA. */
#include <cuda_runtime.h>
#include <string.h>

#include "kernels/cuda/fsk.h"
#include "kernels/cuda/cuda_backend.h"

#define CUDA_CHECK(call) cuda_check((call), #call, __FILE__, __LINE__)

static cudaStream_t stream;
static int sm_count = 1;
static int dev_index = -1; /* fs_cuda_device(): set once the device is open */
static char dev_name[400]; /* prop.name is at most 256 */
static void *scratch_buf[FSK_SCRATCH_SLOTS];
static size_t scratch_len[FSK_SCRATCH_SLOTS];

static void cuda_check(cudaError_t err, const char *call, const char *file, int line) {
    if (err != cudaSuccess)
        fs_die_at(file, line, FS_EXIT_FAIL, "%s failed: %s (%s)\n  hint: %s", call, cudaGetErrorString(err),
                  cudaGetErrorName(err),
                  err == cudaErrorMemoryAllocation ? "the GPU is out of memory: lower train.batch_per_identity"
                                                   : "run under compute-sanitizer to locate the fault");
}

cudaStream_t fsk_stream(void) { return stream; }

void fsk_check_launch(const char *kernel, const char *file, int line) {
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess)
        fs_die_at(file, line, FS_EXIT_FAIL,
                  "launch of %s failed: %s\n  hint: check the launch geometry and "
                  "that the build's archs (FACESWARM_CUDA_ARCHS) include this GPU",
                  kernel, cudaGetErrorString(err));
}

void *FSK(scratch)(int slot, size_t bytes) {
    if (bytes > scratch_len[slot]) {
        if (scratch_buf[slot]) CUDA_CHECK(cudaFree(scratch_buf[slot])); /* synchronises the device */
        CUDA_CHECK(cudaMalloc(&scratch_buf[slot], bytes));
        scratch_len[slot] = bytes;
    }
    return scratch_buf[slot];
}

void FSK(to_host)(void *dst_host, const void *src_dev, size_t bytes) {
    CUDA_CHECK(cudaMemcpyAsync(dst_host, src_dev, bytes, cudaMemcpyDeviceToHost, stream));
    CUDA_CHECK(cudaStreamSynchronize(stream));
}

int FSK(max_grid)(void) { return 8 * sm_count; }

static void *cu_alloc(size_t bytes) {
    void *p = NULL;
    CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
    CUDA_CHECK(cudaMemsetAsync(p, 0, bytes ? bytes : 1, stream));
    return p;
}
static void cu_free(void *p) {
    if (p) CUDA_CHECK(cudaFree(p));
}
static void cu_upload(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
}
static void cu_download(void *dst, const void *src, size_t bytes) {
    if (bytes) FSK(to_host)(dst, src, bytes);
}
static void cu_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
}
static void cu_zero(void *p, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream));
}
static void cu_sync(void) { CUDA_CHECK(cudaStreamSynchronize(stream)); }
static size_t cu_mem_available(void) {
    size_t free_bytes = 0, total = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total));
    return free_bytes;
}
/* fp32: the SIMT GEMM (gemm.cu); bf16: the tensor-core GEMM (gemm_tc.cu) for every conv and
 * dense op queued after this call. */
int FSK(precision) = FS_PREC_FP32;
int FSK(act_bf16) = 0; /* FS_PREC_BF16_ACT: bf16's GEMMs, activations stored in bf16 */
static int cu_set_precision(int precision) {
    if (precision != FS_PREC_FP32 && precision != FS_PREC_BF16 && precision != FS_PREC_BF16_ACT) return -1;
    FSK(precision) = precision == FS_PREC_FP32 ? FS_PREC_FP32 : FS_PREC_BF16;
    FSK(act_bf16) = precision == FS_PREC_BF16_ACT;
    return 0;
}

/* The loader's bytes go to a device staging buffer first (slot 1: no op in flight uses it
 * between two of our calls, the stream orders the rest). */
void FSK(u8_to_float)(size_t n, const uint8_t *src_host, float *dst) {
    if (!n) return;
    uint8_t *stage = (uint8_t *)FSK(scratch)(1, n);
    CUDA_CHECK(cudaMemcpyAsync(stage, src_host, n, cudaMemcpyHostToDevice, stream));
    FSK(u8_to_float_dev)(n, stage, dst);
}

static const fs_backend cuda_backend = {
    .name = "cuda", .device = FS_DEV_CUDA, FS_BACKEND_TABLE(cu, FSK_PREFIX) /* cu_<memory op> above, fs_cuda_<kernel> */
};

/* Picks GPU local_rank % count and creates the stream; fills e when there is no device. */
static int open_device(int local_rank, fs_error *e) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "train.device: 'cuda' asked for, but no CUDA device is usable: the driver reports "
                         "\"%s\" (%s, %d devices)\n  hint: run on a node with an NVIDIA GPU and a driver for "
                         "CUDA %d.%d or newer (nvidia-smi should list it), or use --set train.device=cpu",
                         err == cudaSuccess ? "no devices" : cudaGetErrorString(err),
                         err == cudaSuccess ? "cudaSuccess" : cudaGetErrorName(err), count, CUDART_VERSION / 1000,
                         CUDART_VERSION % 1000 / 10);
    int dev = local_rank % count;
    struct cudaDeviceProp prop;
    if ((err = cudaSetDevice(dev)) != cudaSuccess || (err = cudaGetDeviceProperties(&prop, dev)) != cudaSuccess ||
        (err = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking)) != cudaSuccess)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "cuda: cannot open GPU %d of %d (local rank %d): %s\n  hint: check "
                         "nvidia-smi for a GPU in use or in a bad state",
                         dev, count, local_rank, cudaGetErrorString(err));
    sm_count = prop.multiProcessorCount;
    dev_index = dev;
    snprintf(dev_name, sizeof dev_name, "%s (GPU %d of %d, sm_%d%d, %d SMs)", prop.name, dev, count, prop.major,
             prop.minor, prop.multiProcessorCount);
    return 0;
}

const fs_backend *fs_backend_cuda(int local_rank, fs_error *e) {
    static int opened = 0;
    if (!opened) {
        if (open_device(local_rank, e) != 0) return NULL;
        opened = 1;
    }
    return &cuda_backend;
}

const char *fs_cuda_device_name(void) { return dev_name; }

void *fs_cuda_stream(void) { return dev_index >= 0 ? (void *)stream : NULL; }

int fs_cuda_device(void) { return dev_index; }

/* FP32 lanes per SM (the CUDA C programming guide's arithmetic throughput table: FMAs per
 * clock per SM); 0 for an architecture this table does not know. */
static int fp32_lanes(int major, int minor) {
    if (major == 6) return minor == 0 ? 64 : 128;
    if (major == 7) return 64;                                /* Volta, Turing */
    if (major == 8) return minor == 0 ? 64 : 128;             /* A100: 64; GA10x, AD10x: 128 */
    if (major == 9 || major == 10 || major == 12) return 128; /* Hopper, Blackwell */
    return 0;
}

int fs_cuda_device_props(fs_cuda_props *p) {
    memset(p, 0, sizeof *p);
    if (dev_index < 0) return -1;
    struct cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, dev_index));
    snprintf(p->name, sizeof p->name, "%s", prop.name);
    p->major = prop.major, p->minor = prop.minor, p->sms = prop.multiProcessorCount;
    CUDA_CHECK(cudaDeviceGetAttribute(&p->clock_khz, cudaDevAttrClockRate, dev_index));
    p->fp32_lanes = fp32_lanes(prop.major, prop.minor);
    p->peak_fp32_tflops = (double)p->sms * p->clock_khz * 1e3 * p->fp32_lanes * 2 / 1e12;
    return 0;
}
