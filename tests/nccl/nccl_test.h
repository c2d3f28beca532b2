/* nccl_test.h — what the nccl_* tests share. */
#ifndef FACESWARM_NCCL_TEST_H
#define FACESWARM_NCCL_TEST_H

/* ctest's SKIP_RETURN_CODE for these tests (tests/nccl.cmake). */
#define NT_SKIP 77

/* The CUDA device the backend opened (fs_cuda_device()), -1 in a build without CUDA or
 * before the backend is open. Two files, one per build, so the test has no #ifdef. */
int nt_gpu_index(void);

#endif
