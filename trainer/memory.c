/* memory.c — see memory.h. */
#include "trainer/memory.h"

#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/fast.h"
#include "kernels/cuda/fsk.h"
#include "kernels/host_mem.h"
#include "trainer/loss.h"
#include "trainer/train.h"

/* The fast CPU path's conv scratch over m's convs: each kept buffer grows to its largest
 * request, so they add; of the per-call buffers only the largest lives at once. Each conv
 * runs once over all its identity slots (a full batch: train's steps). */
static size_t cpu_workspace(const fs_model *m, int threads) {
    fs_cpu_conv_scratch s = {0};
    for (int j = 0; j < m->n_nodes; j++) {
        const fs_node *X = &m->nodes[j], *A = &m->nodes[X->in[0]];
        fs_conv_desc d;
        if (X->kind != FS_NODE_CONV ||
            fs_conv_desc_init(&d, X->nslots * m->batch, A->h, A->w, A->c, X->c, X->k, X->stride))
            continue;
        fs_cpu_conv_scratch_bytes(&d, threads, &s);
    }
    return s.col + s.wflip + s.xpad + s.pad + s.transient;
}

/* The static TLS of every loaded object (PT_TLS): each new thread gets a zeroed copy. */
static int add_tls(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_TLS) *(size_t *)data += info->dlpi_phdr[i].p_memsz;
    return 0;
}
/* The stack pages a thread touches beyond its TLS (measured: 332-340 kB resident per thread
 * stack with 330 kB of TLS, quickstart on 2 threads, AMD EPYC Zen 3; the TLS is 81 kB since
 * faceswarm's own 248 kB moved to the stack). */
#define THREAD_STACK_BYTES ((size_t)16 << 10)
static size_t thread_bytes(void) {
    size_t tls = 0;
    dl_iterate_phdr(add_tls, &tls);
    return tls + THREAD_STACK_BYTES;
}

/* A bound on the CUDA kernels' scratch slots (kernels/cuda/fsk.h), each grown to its largest
 * request: slot 0 split-K partials (gemm_split_k: splits = min(32, K / (4 BK), grid / tiles),
 * with the grid of a 132-SM GPU, 8 x 132 blocks: an H100/H200; fewer SMs split less) and DSSIM's coefficient maps,
 * slot 1 the bias-gradient partials (at most 1024 rows of cols), DSSIM's filtered products
 * and the loader's upload staging. The same rules as the kernels, restated: not shared code. */
#define ASSUMED_GRID (8 * 132)
static size_t splitk_floats(long M, long N, long K) {
    long tiles = ((M + FSK_BM - 1) / FSK_BM) * ((N + FSK_BN - 1) / FSK_BN);
    long most = (K + 4 * FSK_BK - 1) / (4 * FSK_BK), want = (ASSUMED_GRID + tiles - 1) / tiles;
    long s = FS_MIN(32, FS_MIN(most, want));
    return s > 1 ? (size_t)s * (size_t)M * (size_t)N : 0;
}
/* Slots 4 and 5 under train.precision bf16: gemm_tc.cu's bf16 operand copies (bf16 values),
 * A into 4 and B into 5. A convolution tensor is copied whole unless it is a bf16 activation
 * already (act: read in place); a plain matrix is copied as rows of K rounded up to 8 unless it
 * is a bf16 activation whose rows are K-contiguous with K a multiple of 8 (read in place). */
static size_t kp8(long k) { return (size_t)((k + 7) / 8 * 8); }
static size_t rows_copy(int act, long rows, long K, int contiguous) {
    return act && contiguous && K % 8 == 0 ? 0 : (size_t)rows * kp8(K);
}
static void tc_slots(const fs_model *m, int act, size_t *s4, size_t *s5) {
    *s4 = *s5 = 0;
    for (int j = 0; j < m->n_nodes; j++) {
        const fs_node *X = &m->nodes[j], *A = &m->nodes[X->in[0]];
        long n = (long)X->nslots * m->batch;
        if (X->kind == FS_NODE_CONV) {
            long kk = (long)X->k * X->k * A->c, rows = n * X->h * X->w;
            size_t x = act ? 0 : (size_t)n * A->h * A->w * A->c, dz = act ? 0 : (size_t)rows * X->c;
            *s4 = FS_MAX(*s4, FS_MAX(x, dz));
            *s5 = FS_MAX(*s5, FS_MAX((size_t)X->c * kp8(kk), (size_t)X->c * kp8(rows))); /* w rows; bwd_filter dz */
        } else if (X->kind == FS_NODE_DENSE) {
            long in = (long)A->h * A->w * A->c, out = X->c;
            *s4 = FS_MAX(*s4, FS_MAX(FS_MAX(rows_copy(act, n, in, 1), rows_copy(act, n, out, 1)),
                                     rows_copy(act, in, n, 0))); /* x; dz; x^T */
            *s5 = FS_MAX(*s5, FS_MAX(FS_MAX((size_t)out * kp8(in), (size_t)in * kp8(out)), (size_t)out * kp8(n)));
        }
    }
}

static size_t cuda_workspace(const fs_model *m, const fs_config *c) {
    size_t slot0 = 0, slot1 = 0, slot4 = 0, slot5 = 0;
    if (!strcmp(c->train.precision, "bf16")) tc_slots(m, m->act_bf16, &slot4, &slot5);
    for (int j = 0; j < m->n_nodes; j++) {
        const fs_node *X = &m->nodes[j], *A = &m->nodes[X->in[0]];
        long n = (long)X->nslots * m->batch;
        if (X->kind == FS_NODE_CONV) {
            long rows = n * X->h * X->w, kk = (long)X->k * X->k * A->c;
            slot0 = FS_MAX(slot0, FS_MAX(splitk_floats(rows, X->c, kk), splitk_floats(kk, X->c, rows)));
            slot1 = FS_MAX(slot1, (size_t)FS_MIN(1024, (rows + 1023) / 1024) * (size_t)X->c);
        } else if (X->kind == FS_NODE_DENSE) {
            long in = (long)A->h * A->w * A->c;
            slot0 = FS_MAX(slot0, FS_MAX(FS_MAX(splitk_floats(n, X->c, in), splitk_floats(n, in, X->c)),
                                         splitk_floats(in, X->c, n)));
            slot1 = FS_MAX(slot1, (size_t)X->c);
        }
    }
    int win[2], res = m->resolution;
    float share[2];
    int nw = fs_loss_dssim_windows(res, win, share);
    for (int k = 0; k < nw && c->train.loss_dssim > 0; k++) {
        size_t wo = (size_t)(res - win[k] + 1), b = (size_t)m->batch;
        slot0 = FS_MAX(slot0, 3 * b * wo * wo * 3);
        if (win[k] > FS_DSSIM_WIN) slot1 = FS_MAX(slot1, 5 * b * (size_t)res * wo * 3);
    }
    size_t stage = (size_t)res * res * 3 * m->batch * m->n_decoders; /* bytes */
    return slot0 * sizeof(float) + FS_MAX(slot1 * sizeof(float), stage) + (slot4 + slot5) * 2;
}

int fs_mem_act_bf16(const fs_config *c) {
    return !strcmp(c->train.device, "cuda") && !strcmp(c->train.precision, "bf16");
}

void fs_mem_estimate_at(fs_model *m, const fs_config *c, int batch, int world, int threads, fs_mem_estimate *est) {
    memset(est, 0, sizeof *est);
    est->batch = batch, est->world = world, est->threads = threads;
    est->cuda = !strcmp(c->train.device, "cuda");
    m->act_bf16 = fs_mem_act_bf16(c); /* as train allocates it */
    fs_model_plan(m, batch, &est->m);
    est->step = fs_step_buffers_bytes(m, &est->loss);
    est->workspace = est->cuda ? cuda_workspace(m, c) : cpu_workspace(m, threads);
    fs_loss_weights w;
    fs_loss_weights_from_config(c, &w);
    /* masks: an upper bound before the files are open (auto takes them when every file has them) */
    int masks = strcmp(c->train.mask_loss, "off") != 0, regions = fs_loss_wants_regions(&w);
    est->loader_slots = FS_MAX(c->data.prefetch, c->data.threads) + 1;
    est->loader = fs_loader_buffer_bytes(c->model.resolution, batch, m->n_decoders, c->data.prefetch, c->data.threads,
                                         masks, regions);
    if (!est->cuda) {
        est->gemm = fs_cpu_gemm_own() ? (size_t)threads * fs_sgemm_pack_bytes() : 0;
        est->n_threads = threads - 1 + c->data.threads + fs_cpu_blas_pool_threads();
        est->thread_mem = (size_t)est->n_threads * thread_bytes();
        est->hdf5 = fs_faces_hdf5_bytes(m->n_decoders, masks, regions);
    }
    est->bucket_bytes = (size_t)(c->comms.bucket_mb * 1e6);
    size_t per = FS_MAX(sizeof(float), est->bucket_bytes / sizeof(float) * sizeof(float));
    est->buckets = (int)((est->m.grads + per - 1) / per);
    est->allreduce = 0;
    est->total = est->m.params + est->m.grads + est->m.moments + est->m.activations + est->m.gradients + est->step +
                 est->loss + est->workspace + est->gemm + est->thread_mem + est->hdf5 + est->loader + est->allreduce;
}

int fs_mem_largest_batch(fs_model *m, const fs_config *c, int world, int threads, size_t available) {
    int lo = 0, hi = c->train.batch_per_identity / world; /* per rank: lo fits (0: none yet), hi + 1 does not */
    fs_mem_estimate est;
    while (lo < hi) { /* the estimate grows with the batch */
        int mid = lo + (hi - lo + 1) / 2;
        fs_mem_estimate_at(m, c, mid, world, threads, &est);
        if (est.total <= available) lo = mid;
        else hi = mid - 1;
    }
    return lo * world;
}

void fs_mem_human(size_t bytes, char *out, size_t len) {
    double b = (double)bytes;
    if (b >= 1024.0 * 1024 * 1024) snprintf(out, len, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    else if (b >= 1024.0 * 1024) snprintf(out, len, "%.1f MiB", b / (1024.0 * 1024));
    else snprintf(out, len, "%.1f KiB", b / 1024.0);
}

static void row(FILE *f, const char *what, size_t bytes, const char *counts) {
    char h[32];
    fs_mem_human(bytes, h, sizeof h);
    fprintf(f, "  %-22s %15zu B %12s  %s\n", what, bytes, h, counts);
}

void fs_mem_print(const fs_mem_estimate *est, const fs_model *m, const fs_config *c, FILE *f) {
    char what[512];
    int n = est->batch * m->n_decoders;
    fprintf(f, "memory per rank at batch %d per identity on each of %d rank(s) (%d samples a step), %s memory:\n",
            est->batch, est->world, n, est->cuda ? "device (cuda)" : "host (cpu)");
    row(f, "parameters", est->m.params, "[n_params] float32");
    row(f, "gradients", est->m.grads, "[n_params] float32, the parameter gradients");
    snprintf(what, sizeof what, "two [n_params] float32 moments of %s",
             strcmp(c->train.optimizer, "adabelief") ? "Adam (m, v)" : "AdaBelief (m, s)");
    row(f, "optimizer state", est->m.moments, what);
    snprintf(what, sizeof what, "every node's output for the %d samples, kept for the backward pass", n);
    if (m->act_bf16)
        snprintf(what + strlen(what), sizeof what - strlen(what),
                 ", bf16 (train.precision bf16 on cuda), "
                 "+ float32 copies of the input and outputs");
    row(f, "activations", est->m.activations, what);
    row(f, "activation gradients", est->m.gradients,
        m->act_bf16 ? "gradients of node outputs (planned buffers, reused once dead) and the fan-in scratch, bf16"
                    : "gradients of node outputs (planned buffers, reused once dead) and the fan-in scratch");
    row(f, "step buffers", est->step, "targets, masks, eye/mouth regions and each decoder's output gradients");
    row(f, "loss buffers", est->loss, "the loss's weight and weighted-image buffers");
    if (est->cuda)
        row(f, "workspace", est->workspace,
            "cuda: the kernels' scratch: split-K partials (as on a 132-SM GPU), DSSIM maps, bias-gradient "
            "partials, upload staging, bf16 GEMM operand copies");
    else {
        snprintf(what, sizeof what,
                 "largest conv scratch of the fast CPU path at %d thread(s): im2col col, flipped weights, padded "
                 "inputs, per-call partial sums",
                 est->threads);
        row(f, "workspace", est->workspace, what);
        row(f, "gemm buffers", est->gemm,
            fs_cpu_gemm_own() ? "the own GEMM's packing buffers, one set per OpenMP thread"
                              : "0 counted: OpenBLAS's per-thread buffers (128 MiB reserved each, partly touched)");
        snprintf(what, sizeof what,
                 "%d thread(s) started (OpenMP workers, data.threads, OpenBLAS's pool): static TLS + stack pages",
                 est->n_threads);
        row(f, "thread stacks", est->thread_mem, what);
        row(f, "hdf5", est->hdf5, "HDF5's state and code, each identity file's metadata cache and chunk caches");
    }
    snprintf(what, sizeof what,
             "host: %d batches (data.prefetch, + 1 held) of %d faces %dx%d uint8 input + target%s%s, and %d "
             "worker(s)' buffers",
             est->loader_slots, n, c->model.resolution, c->model.resolution,
             strcmp(c->train.mask_loss, "off") ? " + mask" : "",
             c->train.eye_multiplier != 1.0f || c->train.mouth_multiplier != 1.0f ? " + eye/mouth" : "",
             c->data.threads);
    row(f, "loader", est->loader, what);
    snprintf(what, sizeof what, "%d bucket(s) of %g MB are slices of the gradient buffer: nothing extra", est->buckets,
             c->comms.bucket_mb);
    row(f, "all-reduce buckets", est->allreduce, what);
    row(f, "total per rank", est->total, est->cuda ? "device memory, plus the loader's host memory" : "host memory");
}

void fs_mem_print_json(const fs_mem_estimate *est, FILE *f) {
    fprintf(f,
            "{\"batch_per_identity_per_rank\":%d,\"world\":%d,\"device\":\"%s\",\"threads\":%d,\"params\":%zu,"
            "\"grads\":%zu,\"optimizer\":%zu,\"activations\":%zu,\"activation_grads\":%zu,\"step_buffers\":%zu,"
            "\"loss_buffers\":%zu,\"workspace\":%zu,\"gemm\":%zu,\"thread_stacks\":%zu,\"hdf5\":%zu,\"loader\":%zu,"
            "\"allreduce\":%zu,\"buckets\":%d,\"total\":%zu}\n",
            est->batch, est->world, est->cuda ? "cuda" : "cpu", est->threads, est->m.params, est->m.grads,
            est->m.moments, est->m.activations, est->m.gradients, est->step, est->loss, est->workspace, est->gemm,
            est->thread_mem, est->hdf5, est->loader, est->allreduce, est->buckets, est->total);
}

int fs_mem_test_available(size_t *bytes) {
    const char *v = getenv("FACESWARM_TEST_MEM_AVAILABLE");
    char *end;
    if (!v || !*v) return 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end) return 0;
    *bytes = (size_t)n;
    return 1;
}

size_t fs_mem_rss(void) { return fs_proc_kb_bytes("/proc/self/status", "VmRSS"); }
size_t fs_mem_peak_rss(void) { return fs_proc_kb_bytes("/proc/self/status", "VmHWM"); }
