/* memory.h — the memory a training rank allocates, planned before anything is allocated:
 * `faceswarm model CONFIG` prints it and `faceswarm train` checks it against what the device
 * has. Every figure comes from the code that sizes the allocation itself (fs_model_plan,
 * fs_step_buffers_bytes, fs_loss_bytes, fs_loader_buffer_bytes, fs_cpu_conv_scratch_bytes),
 * so the estimate and the allocation cannot drift apart; only the CUDA kernels' scratch is a
 * restatement of their sizing rules. On the CPU it also counts what libraries hold for the
 * step (the own GEMM's packing buffers, each started thread's static TLS, HDF5's code and
 * caches: read from the loaded objects and HDF5 where they can be, else measured, each
 * named where it is defined). Not counted: OpenBLAS's per-thread buffers, other libraries'
 * code pages, malloc's slack. */
#ifndef FACESWARM_MEMORY_H
#define FACESWARM_MEMORY_H

#include <stdio.h>

#include "trainer/config.h"
#include "trainer/model.h"

/* Bytes per rank, by what they hold. */
typedef struct fs_mem_estimate {
    int batch;         /* samples per identity on this rank */
    int world;         /* ranks the global batch is split over */
    int cuda;          /* 1: device memory (train.device cuda), 0: host memory */
    int threads;       /* CPU threads the workspace is sized for */
    fs_model_mem m;    /* parameters, gradients, optimizer state, activations, their gradients */
    size_t step;       /* targets, masks, eye/mouth regions and output gradients of the step */
    size_t loss;       /* the loss's buffers */
    size_t workspace;  /* cpu: the conv scratch the fast path keeps plus its largest per-call buffer; cuda: the
                       * kernels' scratch slots (memory.c restates their rules; with bf16 the tensor-core
                       * GEMM's operand copies) */
    size_t gemm;       /* cpu, own GEMM: its packing buffers, fs_sgemm_pack_bytes() per OpenMP thread (OpenBLAS's
                       * per-thread buffers are not counted: 128 MiB reserved, partly touched) */
    size_t thread_mem; /* cpu: each thread the run starts (OpenMP workers, loader workers, OpenBLAS's pool): its
                       * copy of every library's static TLS, zeroed at start, and its first stack pages */
    int n_threads;     /* the threads counted in thread_mem */
    size_t hdf5;       /* cpu: HDF5's state, code and caches while the loader reads (fs_faces_hdf5_bytes) */
    size_t loader;     /* host: the loader's prefetch slots and workers' buffers */
    int loader_slots;  /* batches the loader holds */
    size_t allreduce;  /* extra bytes of the gradient all-reduce: 0, its buckets are slices of the gradients */
    int buckets;       /* the all-reduce's buckets of bucket_bytes */
    size_t bucket_bytes;
    size_t total; /* the sum of the above */
} fs_mem_estimate;

/* The estimate for m (built from c, not yet allocated: this plans it at `batch`) at `batch`
 * samples per identity per rank over `world` ranks, on c's train.device, with `threads` CPU
 * threads (the fast CPU path's workspace grows with them). */
void fs_mem_estimate_at(fs_model *m, const fs_config *c, int batch, int world, int threads, fs_mem_estimate *est);
/* 1 when c's run stores activations in bf16 (train.precision bf16 on train.device cuda: the
 * backend's FS_PREC_BF16_ACT, fs_model.act_bf16); the estimate and train both follow it. */
int fs_mem_act_bf16(const fs_config *c);
/* The largest global train.batch_per_identity (a multiple of world, at most c's) whose
 * estimate fits `available` bytes per rank; 0 when not even world x 1 fits. Replans m. */
int fs_mem_largest_batch(fs_model *m, const fs_config *c, int world, int threads, size_t available);
/* The estimate as text (one line per kind: bytes, MiB/GiB, what it counts) or as one JSON object. */
void fs_mem_print(const fs_mem_estimate *est, const fs_model *m, const fs_config *c, FILE *f);
void fs_mem_print_json(const fs_mem_estimate *est, FILE *f);
/* "1.23 GiB" / "45.6 MiB" / "789 KiB" of bytes. */
void fs_mem_human(size_t bytes, char *out, size_t len);

/* Test aid: FACESWARM_TEST_MEM_AVAILABLE=BYTES makes train take BYTES per rank as what is
 * available (instead of the device's), so that a test can show the refusal and the batch it
 * suggests. Returns 1 and sets *bytes when set to a whole number. */
int fs_mem_test_available(size_t *bytes);
/* This process's resident set now (VmRSS) and its peak (VmHWM), bytes; 0 if unknown. */
size_t fs_mem_rss(void);
size_t fs_mem_peak_rss(void);

#endif
