/* nccl_plan.h — which gradient buckets the NCCL all-reduce launches, and when: a pure
 * function of (n, bucket size, ready_from), so that it can be tested on any host.
 *
 * The rule is the MPI backend's (comms/allreduce.h), so that both backends cut the same
 * buckets and every rank issues the same sequence of collectives:
 *   B = min(bucket_bytes / sizeof(float), 2^28) floats per bucket;
 *   bucket k = [max(0, n - (k+1) B), n - k B), k = 0 .. ceil(n / B) - 1 (the last may be short);
 *   bucket k is launched as soon as ready_from <= its start, always in the order 0, 1, 2, ... */
#ifndef FACESWARM_NCCL_PLAN_H
#define FACESWARM_NCCL_PLAN_H

#include <stddef.h>

#include "core/common.h"

/* The MPI backend caps buckets at 2^28 floats (1 GiB, MPI counts are int); NCCL keeps the
 * same cap so that switching backends never changes the bucket boundaries. */
#define FS_NCCL_MAX_BUCKET_FLOATS ((size_t)1 << 28)

typedef struct fs_nccl_plan {
    size_t n;      /* floats in the gradient buffer */
    size_t bucket; /* floats per bucket (B) */
    int nbuckets;  /* ceil(n / B); 0 when n == 0 */
} fs_nccl_plan;

/* Fills p; FS_EXIT_BADINPUT when bucket_bytes is below one float (comms.bucket_mb too small)
 * or the plan would need more than INT_MAX buckets. */
int fs_nccl_plan_init(fs_nccl_plan *p, size_t n, size_t bucket_bytes, fs_error *e);
/* Bucket k's slice [lo, hi) of the gradient buffer, 0 <= k < nbuckets. */
size_t fs_nccl_plan_lo(const fs_nccl_plan *p, int k);
size_t fs_nccl_plan_hi(const fs_nccl_plan *p, int k);
/* With buckets 0 .. launched-1 already launched and every gradient at offset >= ready_from
 * final: returns the new launched count (buckets launched .. result-1 are to launch now,
 * in that order). ready_from == 0 always returns nbuckets. */
int fs_nccl_plan_ready(const fs_nccl_plan *p, int launched, size_t ready_from);

#endif
