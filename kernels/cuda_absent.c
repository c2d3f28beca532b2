/* cuda_absent.c — linked instead of kernels/cuda/ in a build without CUDA, so that asking
 * for the cuda device is a clear error rather than a missing symbol. */
#include "kernels/ops.h"

const fs_backend *fs_backend_cuda(int local_rank, fs_error *e) {
    (void)local_rank;
    fs_errorf(e, FS_EXIT_BADINPUT,
              "train.device: 'cuda' asked for, but this faceswarm was built without CUDA\n"
              "  hint: install the CUDA toolkit and NCCL (/usr/local/cuda) and rebuild with "
              "-DFACESWARM_CUDA=ON, or use --set train.device=cpu");
    return NULL;
}
