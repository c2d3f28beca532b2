/* gpu_index_cuda.c — nt_gpu_index() in builds with the CUDA backend: the device it chose. */
#include "kernels/cuda/cuda_backend.h"
#include "tests/nccl/nccl_test.h"

int nt_gpu_index(void) { return fs_cuda_device(); }
