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
 * With world size 1 every call returns at once and nothing is copied.
 *
 * Two paths behind this one interface (comms.allreduce):
 *   shm  ranks of a node sum through one shared-memory region holding every rank's
 *        gradients (allreduce_shm.h), then MPI between nodes on 1/L of the data: several
 *        times cheaper than MPI on a node; needs the same number of ranks on every node.
 *   mpi  MPI_Iallreduce of each bucket over all ranks.
 *   auto shm where it applies (more than one rank per node), else mpi. */
#ifndef FACESWARM_ALLREDUCE_H
#define FACESWARM_ALLREDUCE_H

#include <stddef.h>
#include <stdint.h>

#include "comms/world.h"
#include "core/common.h"

typedef struct fs_allreduce fs_allreduce;

typedef struct fs_allreduce_stats {
    double wait_s; /* time finish() blocked (communication exposed to the step), s */
    double busy_s; /* wall time from the first bucket launched to the last completed, s */
    int buckets;   /* buckets reduced this step (0 with world size 1) */
    int early;     /* of those, completed before finish() was called: overlapped with compute */
    uint64_t seq;  /* collective sequence number: buckets launched since init */
} fs_allreduce_stats;

typedef enum { FS_ALLREDUCE_AUTO = 0, FS_ALLREDUCE_SHM = 1, FS_ALLREDUCE_MPI = 2 } fs_allreduce_mode;
/* "auto" | "shm" | "mpi" (comms.allreduce); anything else is FS_EXIT_BADINPUT naming the key. */
int fs_allreduce_parse_mode(const char *s, fs_allreduce_mode *mode, fs_error *e);

/* *grads: host buffer of n floats (cpu backend). With the mpi path it is reduced in place
 * and kept by reference. With the shm path the gradients must be computed in the node's
 * shared region: init copies the n floats there and points *grads at this rank's segment
 * (owned by ar, valid until fs_allreduce_free; the caller's old buffer stays the caller's).
 * bucket_bytes: from comms.bucket_mb (at least 4). Collective: ranks check that they agree
 * on n and the bucket size, so that their bucket sequences match. FS_ALLREDUCE_SHM where
 * it cannot apply is an error saying why; AUTO then falls back to mpi, saying why on rank 0. */
int fs_allreduce_init(fs_allreduce **ar, fs_world *w, float **grads, size_t n, size_t bucket_bytes,
                      fs_allreduce_mode mode, fs_error *e);
/* The path in words, for run headers: "MPI_Iallreduce", "shared memory, 2 ranks per node", ... */
const char *fs_allreduce_path(const fs_allreduce *ar);
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
