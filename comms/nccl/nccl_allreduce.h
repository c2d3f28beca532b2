/* nccl_allreduce.h — the gradient all-reduce on GPUs (NCCL), behind the same interface as
 * the MPI one (comms/allreduce.h). The trainer picks it when train.device is cuda and the
 * world size is above 1.
 *
 * Buckets are the MPI backend's (comms/nccl/nccl_plan.h): slices of the one device gradient
 * buffer taken from its END, launched in the order 0, 1, 2, ... as the backward pass makes
 * them final. Ordering on the GPU, per step (docs/nccl.md draws it):
 *   compute stream  ─ backward of the layers of bucket k ─ [ready event] ─ more backward ─ ...
 *   comms stream    ─ wait(ready event) ─ ncclAllReduce(bucket k, SUM, in place) ─ [done event k]
 *   compute stream  ─ finish(): wait(done event of the last bucket) ─ optimizer
 * so the all-reduce of bucket k overlaps the backward of the layers below it.
 *
 * Use per step:  begin(); backward(..., fs_nccl_ready, ar); finish(); optimizer.
 * With world size 1 begin/ready/finish return at once and nothing is reduced.
 * In a build without NCCL every function exists and fails with a clear error
 * (fs_nccl_available() == 0), so callers need no #ifdef. */
#ifndef FACESWARM_NCCL_ALLREDUCE_H
#define FACESWARM_NCCL_ALLREDUCE_H

#include <stddef.h>

#include "comms/allreduce.h"
#include "comms/world.h"
#include "core/bench.h"
#include "core/common.h"

typedef struct fs_nccl_allreduce fs_nccl_allreduce;

/* grads_dev: device buffer of n floats; bucket_bytes from comms.bucket_mb. Collective over w:
   rank 0 makes the ncclUniqueId and broadcasts it with MPI; ncclCommInitRank on the backend's
   device; a dedicated comms stream. NULL backend/GPU -> clear error. */
int fs_nccl_init(fs_nccl_allreduce **ar, fs_world *w, float *grads_dev, size_t n, size_t bucket_bytes, fs_error *e);
void fs_nccl_begin(fs_nccl_allreduce *ar);
void fs_nccl_ready(void *ar, size_t ready_from); /* fs_grad_ready_fn: record an event on the compute
                                                      stream, comms stream waits on it, ncclAllReduce
                                                      (SUM, in place) of each newly complete bucket, in order */
int fs_nccl_finish(fs_nccl_allreduce *ar, double timeout_s, fs_allreduce_stats *st, fs_error *e);
/* compute stream waits on the comms stream's last event (the optimizer runs after);
         bounded wait: poll cudaEventQuery / ncclCommGetAsyncError, abort the communicator
         (ncclCommAbort) after timeout_s and fail naming the bucket and seq */
void fs_nccl_free(fs_nccl_allreduce *ar);
int fs_nccl_available(void); /* 1 in builds with NCCL */
/* nccl-tests style rows for `faceswarm bench allreduce`: sizes min..max bytes, plain (one
   ncclAllReduce) and bucketed paths, time/algbw/busbw/wrong, as the table "nccl" of the
   bench's harness B (its first FS_ALLREDUCE_BENCH_NCCL_COLS columns of the MPI table);
   returns the wrong count or <0. */
int fs_nccl_bench(fs_world *w, size_t min_bytes, size_t max_bytes, size_t bucket_bytes, int iters, fs_bench *B,
                  fs_error *e);
/* The columns of `bench allreduce` (comms/nccl/bench_allreduce.c): size, count, dtype, then the plain
   and bucketed paths' time, algbw, busbw, wrong, buckets (the NCCL table stops there), then
   the overlapped path's. */
extern const fs_bench_col fs_allreduce_bench_cols[];
#define FS_ALLREDUCE_BENCH_NCCL_COLS 12

#endif
