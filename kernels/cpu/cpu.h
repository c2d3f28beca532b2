/* cpu.h — knobs of the CPU backend (kernels/cpu/) that are not part of the op table. */
#ifndef FACESWARM_CPU_H
#define FACESWARM_CPU_H

#include <stddef.h>

#include "kernels/ops.h"

/* Threads used by the fast CPU backend, n = 0 meaning all cores. Its OpenMP loops run on n
 * threads, and its GEMMs too: each of n OpenMP threads calls a single-threaded OpenBLAS
 * sgemm on its slice (so this also sets OpenBLAS to 1 thread). Results are bit-identical run to run for a fixed thread count. Call it from the
 * thread that runs the ops, before or between ops (not concurrently with one). */
void fs_cpu_set_threads(int n);
/* The thread count now in effect (>= 1). */
int fs_cpu_threads(void);
/* The name of the kernel set OpenBLAS chose for this CPU ("Haswell", "SkylakeX", "Zen", ...).
 * fs_backend_cpu() warns once, with the fix, when it is a slow fallback on an AVX2 CPU. */
const char *fs_cpu_blas_core(void);
/* The OPENBLAS_CORETYPE this CPU should run with when OpenBLAS did not recognise it and fell
 * back to slow generic kernels ("Haswell" with AVX2+FMA, "SkylakeX" with AVX-512), or NULL
 * when its own choice is fine. Only takes effect in a process started with it set. */
const char *fs_cpu_blas_better_core(void);
/* GFLOP/s of FP32 FMAs on `threads` threads at once, best of reps (about 20-40 ms each):
 * 12 independent FMA chains per thread on 8-wide vectors and, with AVX-512F, on 16-wide
 * ones; the faster counts, and *bits (may be NULL) says which (256 or 512). Timed on the
 * wall clock, or with cpu_clock by the process's CPU time / threads (what the threads did
 * while they ran, on a shared host). The roof `faceswarm bench kernels` divides by
 * (kernels/cpu/fma_peak.c). */
double fs_cpu_fma_peak(int threads, int reps, int cpu_clock, int *bits);
/* The bf16 GEMM of FS_PREC_BF16 (kernels/cpu/fast_bf16_gemm.c): 1 when this CPU and OS run
 * AVX512_BF16 (vdpbf16ps, cpuid), else 0. The fast path's bf16 convs and dense layers use it
 * when on, and round both operands into fp32 copies for OpenBLAS sgemm otherwise. */
int fs_cpu_has_bf16_dot(void);
/* 1 when this CPU and OS run AMX-BF16 (tdpbf16ps on tile registers: cpuid, XCR0 and, on
 * Linux, the process's permission for the tile data, requested on the first call), else 0. */
int fs_cpu_has_bf16_amx(void);
/* mode -1: automatic, 0: off (the rounded copies), 1: vdpbf16ps, 2: AMX; returns -1 (and
 * changes nothing) for 1 or 2 on a CPU without it or an unknown mode. Call it as
 * fs_cpu_set_threads. Unset, the first use reads FACESWARM_CPU_BF16 (auto, amx, dot or round;
 * unset or empty: auto; a bad value, or amx / dot on a CPU without it, exits 2). Automatic
 * takes AMX wherever it runs (an Intel Xeon with AMX-BF16: several times the fp32 roof,
 * docs/cpu.md), else vdpbf16ps on AMD CPUs with AVX512_BF16 (Zen 4: faster than fp32) and
 * the rounded copies elsewhere (an Intel Emerald Rapids core issues vdpbf16ps zmm at half the
 * FMA's rate: 0.49 of the fp32 roof). It reads cpuid only, never a timing, so a run resumed
 * on the same machine takes the same path (the paths round differently: fs_cpu_bf16_path
 * names them). */
int fs_cpu_set_bf16_dot(int mode);
/* The mode the fast path's FS_PREC_BF16 GEMMs run in now: 0 the rounded copies, 1 vdpbf16ps,
 * 2 AMX (nonzero: on fs_bf16_gemm). */
int fs_cpu_bf16_dot_on(void);
/* "amx", "dot" (vdpbf16ps) or "round" (the rounded copies): the path fs_cpu_bf16_dot_on chose,
 * as checkpoints of bf16 runs record it; fs_cpu_bf16_desc says why, for headers and logs. */
const char *fs_cpu_bf16_path(void);
const char *fs_cpu_bf16_desc(void);
/* The CPU vendor string of cpuid leaf 0 ("GenuineIntel", "AuthenticAMD"), "" elsewhere. */
const char *fs_cpu_vendor(void);
/* The fp32 GEMM of the fast path's convs and dense layers: OpenBLAS sgemm or the own one
 * (fast_sgemm.c), on its AVX-512F micro-kernel or its AVX2 + FMA one. fs_cpu_set_gemm("auto"
 * or NULL | "openblas" | "own" (the best own kernel this CPU runs) | "own-avx512" |
 * "own-avx2") returns -1 (and changes nothing) for an unknown name or an own kernel this CPU
 * lacks; call it as fs_cpu_set_threads. Unset, the first use reads FACESWARM_CPU_GEMM (unset
 * or empty: auto; a bad value exits 2). auto takes own-avx512 on Intel and AMD CPUs with
 * AVX-512F, own-avx2 on AMD CPUs with AVX2 + FMA and no AVX-512F (each measured faster than
 * OpenBLAS, docs/cpu.md) and OpenBLAS elsewhere: it reads cpuid only, never a timing, so the
 * same machine always sums the same way (bit-exact resume). */
int fs_cpu_set_gemm(const char *name);
int fs_cpu_gemm_own(void);          /* 1: the own GEMM is in use */
const char *fs_cpu_gemm_name(void); /* "openblas", "own-avx512" or "own-avx2" */
const char *fs_cpu_gemm_desc(void); /* e.g. "own-avx512 (auto, GenuineIntel + AVX-512F)", for headers and logs */
int fs_cpu_has_avx512f(void);       /* cpuid: AVX-512F and the OS saves zmm state */
int fs_cpu_has_avx2_fma(void);      /* cpuid: AVX2, FMA and the OS saves ymm state */
/* The kernel set the fast path's fp32 sums depend on: the own GEMM's ("own-avx512-12x32",
 * "own-avx2-6x16") or OpenBLAS's core (fs_cpu_blas_core). Recorded bit-exact values hold for
 * one kernel set, and for every own one: fs_cpu_kernel_sets_agree(a, b) says whether two
 * sets sum alike (equal, or both own: one FMA chain per element in k order). */
const char *fs_cpu_kernel_set(void);
int fs_cpu_kernel_sets_agree(const char *a, const char *b);
/* The idle threads of OpenBLAS's own pool (a pthreads build: cores - 1; else 0). */
int fs_cpu_blas_pool_threads(void);
/* CPU seconds used by this process so far, all threads together. */
double fs_cpu_seconds(void);

/* The scratch the fast CPU path's conv ops (fwd, bwd_data, bwd_filter) take for d with
 * `threads` threads, bytes: the buffers kernels/cpu keeps and grows to the largest request
 * (im2col col, flipped weights, the direct and small loops' padded inputs; each the largest
 * of the three passes) and the largest buffer one call allocates and frees again. The
 * memory estimate of `faceswarm model` takes the largest of each over a model's convs. */
typedef struct fs_cpu_conv_scratch {
    size_t col, wflip, xpad, pad; /* kept, grown lazily */
    size_t transient;             /* allocated and freed within one call */
} fs_cpu_conv_scratch;
void fs_cpu_conv_scratch_bytes(const fs_conv_desc *d, int threads, fs_cpu_conv_scratch *s);

#endif
