/* allreduce_shm.h — the gradient all-reduce of ranks that share a node, through one shared
 * memory region instead of MPI messages (internal to comms/allreduce.c).
 *
 * Why: on a node, MPI's all-reduce of a big buffer moves every byte through its
 * shared-memory transport several times, in fragments that advance only inside MPI calls;
 * with 328 MB of gradients per step (configs/original-64.yaml) that cost the ranks ~15% of
 * their step on a 2-core node. Here the L ranks of a node compute their gradients straight
 * into their own segment of one region, so every rank can read every other rank's
 * gradients where they lie:
 *
 *   1. ready    a rank publishes "bucket s is final in my segment" (a release store);
 *   2. reduce   once all L published s, local rank j sums its chunk j of the bucket over
 *               the L segments, in rank order 0..L-1 (deterministic: every rank gets the same
 *               bits, whoever computes them), into its own segment;
 *   3. across   with several nodes, chunk j is then all-reduced (MPI_Iallreduce) between
 *               the ranks with local rank j, one per node;
 *   4. gather   each rank copies the other chunks' results into its own segment;
 *   5. release  at the end of the step a rank waits until every rank has gathered, so that
 *               nobody overwrites results still being read.
 *
 * Per rank and step that is ~n x (L + 1) / L floats read and ~n written, against MPI's
 * several copies of each fragment. Every wait is bounded and names the local rank that
 * did not arrive and the stage it was in. */
#ifndef FACESWARM_ALLREDUCE_SHM_H
#define FACESWARM_ALLREDUCE_SHM_H

#include <stddef.h>
#include <stdint.h>

#include "comms/world.h"

typedef struct fs_shm_reduce fs_shm_reduce;

/* Bucket k of n floats in buckets of `bucket`: [lo, hi), taken from the end (allreduce.h). */
static inline size_t fs_bucket_hi(size_t n, size_t bucket, int k) { return n - (size_t)k * bucket; }
static inline size_t fs_bucket_lo(size_t n, size_t bucket, int k) {
    size_t hi = fs_bucket_hi(n, bucket, k);
    return hi > bucket ? hi - bucket : 0;
}

/* Collective over the world. Sets *out to a shared-memory reducer when every node holds the
 * same number (> 1) of ranks and the region could be made on every node; else *out = NULL
 * and why says what stopped it, or is "" when every node simply holds one rank (returns 0:
 * the caller falls back to MPI). Returns non-zero
 * only for an MPI failure. The node is MPI's shared-memory split, or, for tests, blocks of
 * FACESWARM_TEST_RANKS_PER_NODE consecutive ranks. */
int fs_shm_reduce_open(fs_shm_reduce **out, fs_world *w, size_t n, size_t bucket, char *why, size_t whylen,
                       fs_error *e);
/* This rank's segment: the n floats the gradients must be computed in. */
float *fs_shm_reduce_buffer(fs_shm_reduce *s);
/* "shared memory, 2 ranks per node" or "... x 3 nodes (MPI across nodes)". */
const char *fs_shm_reduce_describe(const fs_shm_reduce *s);
void fs_shm_reduce_begin(fs_shm_reduce *s);
void fs_shm_reduce_ready(fs_shm_reduce *s, size_t ready_from);
/* Finishes the step (stages 2-5); *early = buckets this rank had gathered before the call.
 * On a timeout e names the local rank (and world rank) that is behind and where. */
int fs_shm_reduce_finish(fs_shm_reduce *s, double timeout_s, int *early, fs_error *e);
/* Buckets published since open (the collective sequence number of heartbeats). */
uint64_t fs_shm_reduce_seq(const fs_shm_reduce *s);
/* Not collective: unmaps this rank's view (the region's name was unlinked at open). */
void fs_shm_reduce_close(fs_shm_reduce *s);

#endif
