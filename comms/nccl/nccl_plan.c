/* nccl_plan.c — see nccl_plan.h. Built in every configuration (no CUDA needed). */
#include "comms/nccl/nccl_plan.h"

#include <limits.h>

int fs_nccl_plan_init(fs_nccl_plan *p, size_t n, size_t bucket_bytes, fs_error *e) {
    *p = (fs_nccl_plan){0};
    if (bucket_bytes < sizeof(float))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "comms.bucket_mb gives NCCL all-reduce buckets of %zu bytes; expected at least %zu "
                         "(one float)\n  hint: use a bucket size of about 25 MB",
                         bucket_bytes, sizeof(float));
    size_t b = FS_MIN(bucket_bytes / sizeof(float), FS_NCCL_MAX_BUCKET_FLOATS);
    size_t count = n / b + (n % b != 0);
    if (count > (size_t)INT_MAX)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "comms.bucket_mb gives buckets of %zu bytes, which cut %zu gradients into %zu buckets; "
                         "expected at most %d\n  hint: use a bucket size of about 25 MB",
                         bucket_bytes, n, count, INT_MAX);
    p->n = n;
    p->bucket = b;
    p->nbuckets = (int)count;
    return 0;
}

size_t fs_nccl_plan_hi(const fs_nccl_plan *p, int k) { return p->n - (size_t)k * p->bucket; }

size_t fs_nccl_plan_lo(const fs_nccl_plan *p, int k) {
    size_t hi = fs_nccl_plan_hi(p, k);
    return hi > p->bucket ? hi - p->bucket : 0;
}

int fs_nccl_plan_ready(const fs_nccl_plan *p, int launched, size_t ready_from) {
    while (launched < p->nbuckets && ready_from <= fs_nccl_plan_lo(p, launched)) launched++;
    return launched;
}
