/* gpu_index_none.c — nt_gpu_index() in builds without the CUDA backend: no device. */
#include "tests/nccl/nccl_test.h"

int nt_gpu_index(void) { return -1; }
