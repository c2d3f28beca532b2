/* nccl_absent.c — linked instead of nccl_allreduce.c in a build without NCCL
 * (FACESWARM_HAVE_NCCL OFF): the same functions, each a clear error, so that callers need
 * no #ifdef and asking for the NCCL all-reduce never ends in a missing symbol. */
#include "comms/nccl/nccl_allreduce.h"

static int absent(fs_error *e, const char *what) {
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s: the NCCL all-reduce (train.device cuda with more than one rank) was asked for, but "
                     "this faceswarm was built without NCCL\n  hint: install the CUDA toolkit and NCCL "
                     "(/usr/local/cuda) and rebuild with -DFACESWARM_CUDA=ON, or use --set train.device=cpu "
                     "(the MPI all-reduce)",
                     what);
}

int fs_nccl_init(fs_nccl_allreduce **ar, fs_world *w, float *grads_dev, size_t n, size_t bucket_bytes, fs_error *e) {
    *ar = NULL;
    return absent(e, "fs_nccl_init");
}

/* Unreachable with a handle from fs_nccl_init (there is none): nothing to do. */
void fs_nccl_begin(fs_nccl_allreduce *ar) {}
void fs_nccl_ready(void *ar, size_t ready_from) {}

int fs_nccl_finish(fs_nccl_allreduce *ar, double timeout_s, fs_allreduce_stats *st, fs_error *e) {
    return absent(e, "fs_nccl_finish");
}

void fs_nccl_free(fs_nccl_allreduce *ar) {}

int fs_nccl_available(void) { return 0; }

int fs_nccl_bench(fs_world *w, size_t min_bytes, size_t max_bytes, size_t bucket_bytes, int iters, fs_bench *B,
                  fs_error *e) {
    absent(e, "bench allreduce (NCCL path)");
    return -1;
}
