/* ct.h — helpers of the cuda_* tests: pick the backend under test (the GPU when one is
 * usable, else the emulator, and say which), move test tensors to it, and compare with the
 * CPU reference within a stated tolerance. */
#ifndef FACESWARM_TEST_CT_H
#define FACESWARM_TEST_CT_H

#include <stddef.h>

#include "kernels/op_cases.h"
#include "kernels/ops.h"

/* The CUDA backend on GPU 0 if usable, else fs_backend_cuda_emulated(); prints
 * "<test>: ran on GPU <name>" or "<test>: ran emulated (no GPU): <why>". */
const fs_backend *ct_backend(const char *test);

/* Device copy of host[0..n) (free with be->free). */
float *ct_up(const fs_backend *be, const float *host, size_t n);
/* Host copy of dev[0..n) (caller frees). */
float *ct_down(const fs_backend *be, const float *dev, size_t n);
/* n floats uniform in [lo, hi) from (seed, stream). Caller frees. */
float *ct_rand(size_t n, uint64_t seed, uint64_t stream, float lo, float hi);

/* |got - want| <= rtol |want| + atol max(1, max |want|) for every element; on failure prints
 * what, the first bad index, the values and the worst error, and returns 1. */
int ct_close(const char *what, const float *got, const float *want, size_t n, double rtol, double atol);
/* Same for one scalar. */
int ct_close1(const char *what, double got, double want, double rtol, double atol);

/* Whether case i of the op case table runs: always, unless the test was started with
 * --racecheck (tests/racecheck/run.sh, under ThreadSanitizer, where every emulated thread is
 * several times slower): then only every `stride`-th FS_OPC_CUDA case of each op (its 1st,
 * its (stride+1)-th, ...). */
int ct_pick(int argc, char **argv, const fs_op_case *cases, size_t i, int stride);

#endif
