/* nccl_internal.h — what nccl_allreduce.c shares with nccl_bench.c (builds with NCCL only):
 * the handle's fields, the checked-call macros, and re-binding a handle to another buffer
 * (the bench sweeps sizes on one communicator: creating one costs far more than a step). */
#ifndef FACESWARM_NCCL_INTERNAL_H
#define FACESWARM_NCCL_INTERNAL_H

#include <cuda_runtime.h>
#include <nccl.h>
#include <stdint.h>

#include "comms/nccl/nccl_allreduce.h"
#include "comms/nccl/nccl_plan.h"

struct fs_nccl_allreduce {
    fs_world *w;
    float *grads;          /* [plan.n], device, reduced in place, not owned */
    fs_nccl_plan plan;     /* the buckets (nccl_plan.h) */
    ncclComm_t comm;       /* NULL once aborted (timeout or failure) */
    cudaStream_t compute;  /* the backend's stream (fs_cuda_stream()), not owned */
    cudaStream_t comms;    /* ours, highest priority: every ncclAllReduce runs on it */
    cudaEvent_t *ready_ev; /* [nbuckets]: on compute, when bucket k's launch was decided */
    cudaEvent_t *done_ev;  /* [nbuckets]: on comms, after bucket k's ncclAllReduce (timed) */
    cudaEvent_t start_ev;  /* on comms, before bucket 0's ncclAllReduce of a step (timed) */
    int nevents;           /* events created in ready_ev and done_ev */
    int launched;          /* buckets launched this step: 0 .. launched-1 */
    int failed;            /* an error or abort happened: free() aborts instead of destroying */
    uint64_t seq;          /* buckets launched since init */
    fs_error err;          /* first failure of this step (ready() cannot return one) */
};

/* Fill e with the call, file:line, the library's error text and a hint; return FS_EXIT_FAIL. */
int fs_nccl_cuda_error(fs_error *e, cudaError_t err, const char *call, const char *file, int line);
int fs_nccl_nccl_error(fs_error *e, ncclResult_t r, const char *call, const char *file, int line);

/* *_TRY return the error to the caller (library code: the caller cleans up and reports);
 * kernels/cuda's CUDA_CHECK exits (leaf code of the training path). One name, one meaning. */
#define CUDA_TRY(e, call)                                                                                              \
    do {                                                                                                               \
        cudaError_t fs_cu_err_ = (call);                                                                               \
        if (fs_cu_err_ != cudaSuccess) return fs_nccl_cuda_error((e), fs_cu_err_, #call, __FILE__, __LINE__);          \
    } while (0)
#define NCCL_TRY(e, call)                                                                                              \
    do {                                                                                                               \
        ncclResult_t fs_nc_rc_ = (call);                                                                               \
        if (fs_nc_rc_ != ncclSuccess) return fs_nccl_nccl_error((e), fs_nc_rc_, #call, __FILE__, __LINE__);            \
    } while (0)

/* Collective: every rank learns which ranks failed (rc != 0). A rank that failed keeps its
 * own error and code; the others fail too, naming those ranks and `what` they could not
 * do, so that no rank waits for a peer that will never come. */
int fs_nccl_agree(fs_world *w, int rc, const char *what, fs_error *e);

/* Collective: points ar at another device buffer of n floats with buckets of bucket_bytes
 * (re-plans, re-creates the events; ranks check that they agree). No step may be in flight. */
int fs_nccl_rebind(fs_nccl_allreduce *ar, float *grads_dev, size_t n, size_t bucket_bytes, fs_error *e);

#endif
