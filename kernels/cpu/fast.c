/* fast.c — fs_backend_cpu(): the fast CPU backend (im2col + fp32 GEMM, OpenMP loops)
 * and its thread-count knob (kernels/cpu/cpu.h). */
#include <cblas.h>
#include <omp.h>
#include <strings.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/fast.h"

static int g_threads; /* 0 until set: fs_cpu_threads() then means all cores */

/* OpenBLAS itself runs on one thread: the fast ops split GEMMs over OpenMP threads, each
 * calling a single-threaded sgemm (fast_conv.c says why). */
void fs_cpu_set_threads(int n) {
    g_threads = n > 0 ? n : omp_get_num_procs();
    openblas_set_num_threads(1);
}

int fs_cpu_threads(void) {
    if (g_threads == 0) fs_cpu_set_threads(0);
    return g_threads;
}

/* The fast path has no bf16 activation storage (FS_PREC_BF16_ACT: only the reference, which
 * specifies it, and the CUDA backend have it): its set_precision refuses that mode and
 * otherwise is the shared one. */
static int fast_set_precision(int precision) {
    return precision == FS_PREC_BF16_ACT ? -1 : fs_cpu_set_precision(precision);
}

/* The table's set_precision entry is replaced by the one above (a later designated
 * initializer wins, C11 6.7.9). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const fs_backend g_fast = {.name = "cpu",
                                  .device = FS_DEV_CPU,
                                  FS_BACKEND_TABLE(fs_fast_mem, fs_fast).set_precision = fast_set_precision};
#pragma GCC diagnostic pop

const char *fs_cpu_blas_core(void) { return openblas_get_corename(); }

/* A pthreads OpenBLAS starts its own pool of (cores - 1) threads when openblas_set_num_threads
 * first runs (fs_cpu_set_threads); they stay idle (the GEMMs run on the calling threads) but
 * each holds a stack and a copy of every library's static TLS. */
int fs_cpu_blas_pool_threads(void) {
    return openblas_get_parallel() == 1 ? FS_MAX(0, openblas_get_num_procs() - 1) : 0;
}

/* OpenBLAS picks its kernels from the CPU model when it is loaded. A CPU newer than the
 * library (0.3.21 does not know e.g. Intel family 6 model 207) gets the SSE3 "Prescott"
 * kernels, 3-5x slower, and the choice cannot be changed after load. */
const char *fs_cpu_blas_better_core(void) {
    static const char *fast_cores[] = {"haswell", "skylakex", "cooperlake", "sapphirerapids", "zen"};
    const char *core = openblas_get_corename();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return NULL;
    for (size_t i = 0; i < FS_ARRAY_LEN(fast_cores); i++)
        if (!strcasecmp(core, fast_cores[i])) return NULL;
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    return avx512 ? "SkylakeX" : "Haswell";
}

static void check_blas_core(void) {
    const char *better = fs_cpu_blas_better_core();
    if (!better) return;
    fs_warn("cpu backend: OpenBLAS runs its '%s' kernels on this AVX2+FMA CPU (it did not recognise the "
            "model), several times slower than it could\n  hint: export OPENBLAS_CORETYPE=%s before starting "
            "faceswarm (the faceswarm command does this itself unless OPENBLAS_CORETYPE is set)",
            openblas_get_corename(), better);
}

const fs_backend *fs_backend_cpu(void) {
    static int checked;
    if (!checked) {
        checked = 1;
        check_blas_core();
    }
    fs_cpu_threads();     /* pins OpenBLAS to one thread per calling OpenMP thread */
    fs_cpu_gemm_own();    /* FACESWARM_CPU_GEMM read here, before any parallel region asks */
    fs_cpu_bf16_dot_on(); /* and FACESWARM_CPU_BF16 */
    return &g_fast;
}
