/* allreduce.h — gradients summed across ranks in buckets, overlapped with the backward pass.
 *
 * The gradient buffer is ONE contiguous float buffer whose gradients become final from its
 * END towards its start (trainer/model.h, fs_grad_ready_fn). A bucket is a slice taken from
 * the end: bucket 0 = [n - B, n), bucket 1 = [n - 2B, n - B), ..., the last one starting at
 * 0 (it may be shorter). Bucket k is launched (MPI_Iallreduce, in place, SUM) as soon as
 * ready_from <= its start, always in the order 0, 1, 2, ... so that every rank issues the
 * same sequence of collectives. The trainer folds the 1/P of the average into Adam's
 * grad_scale.
 *
 * Use per step:  begin(); backward(..., fs_allreduce_ready_cb, ar); finish(); optimizer.
 * With world size 1 every call returns at once and nothing is copied. */
#ifndef FACESWARM_ALLREDUCE_H
#define FACESWARM_ALLREDUCE_H

#include <stddef.h>
#include <stdint.h>

#include "comms/world.h"
#include "trainer/common.h"

typedef struct fs_allreduce fs_allreduce;

typedef struct fs_allreduce_stats {
    double wait_s; /* time finish() blocked (communication exposed to the step), s */
    double busy_s; /* wall time from the first bucket launched to the last completed, s */
    int buckets;   /* buckets reduced this step (0 with world size 1) */
    int early;     /* of those, completed before finish() was called: overlapped with compute */
    uint64_t seq;  /* collective sequence number: buckets launched since init */
} fs_allreduce_stats;

/* grads: host buffer of n floats (cpu backend), kept by reference. bucket_bytes: from
 * comms.bucket_mb (at least 4). Collective: ranks check that they agree on n and the bucket
 * size, so that their bucket sequences match. */
int fs_allreduce_init(fs_allreduce **ar, fs_world *w, float *grads, size_t n, size_t bucket_bytes, fs_error *e);
/* Start of a step's backward pass. */
void fs_allreduce_begin(fs_allreduce *ar);
/* Every gradient at offset >= ready_from is final: launches each bucket now complete, in
 * order, and drives MPI progress of those in flight (Open MPI advances nonblocking
 * collectives only inside MPI calls). An MPI failure is kept and reported by finish(). */
void fs_allreduce_ready(fs_allreduce *ar, size_t ready_from);
/* Launches what remains, waits for all buckets (polling, so it can give up), and after
 * timeout_s fails naming the bucket, its seq and, when the ranks can tell, the missing rank.
 * st may be NULL. */
int fs_allreduce_finish(fs_allreduce *ar, double timeout_s, fs_allreduce_stats *st, fs_error *e);
void fs_allreduce_free(fs_allreduce *ar);
/* fs_grad_ready_fn-compatible trampoline: ctx is the fs_allreduce. */
void fs_allreduce_ready_cb(void *ctx, size_t ready_from);

/* Number of buckets for n floats in buckets of bucket_bytes (for logs and the bench). */
int fs_allreduce_buckets(const fs_allreduce *ar);

#endif
