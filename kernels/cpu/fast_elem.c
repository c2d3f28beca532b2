/* fast_elem.c — the elementwise ops, pixel shuffle and the optimizer with OpenMP (static
 * schedules; reductions in fixed blocks summed in order). Semantics: kernels/ops.h and
 * ref_elem.c. Loops are written so that gcc vectorises them (AVX2); Adam and AdaBelief use AVX2
 * intrinsics (sqrtf sets errno, which keeps gcc's loop scalar). */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/bf16.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/fast.h"
#include "kernels/cpu/fast_vec.h"

#define PAR_FOR _Pragma("omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (count > FS_FAST_PAR_MIN)")

/* ---------------------------------------------------------------- memory
 * The reference's host memory ops, but zero: a buffer of at least STREAM_ZERO_MIN bytes (the
 * gradient buffer, zeroed every step) is split over the threads and written with streaming
 * stores, which skip reading each line before it is overwritten (memset's read for
 * ownership): half the memory traffic, and both cores' bandwidth. Smaller buffers (activation
 * gradients, soon read again) keep memset, which leaves them in cache. */
#define STREAM_ZERO_MIN ((size_t)16 << 20)

void *fs_fast_mem_alloc(size_t bytes) { return fs_cpu_alloc(bytes); }
void fs_fast_mem_free(void *p) { fs_cpu_free(p); }
void fs_fast_mem_upload(void *dst, const void *src, size_t bytes) { fs_cpu_upload(dst, src, bytes); }
void fs_fast_mem_download(void *dst, const void *src, size_t bytes) { fs_cpu_download(dst, src, bytes); }
void fs_fast_mem_copy(void *dst, const void *src, size_t bytes) { fs_cpu_copy(dst, src, bytes); }
void fs_fast_mem_sync(void) { fs_cpu_sync(); }
size_t fs_fast_mem_mem_available(void) { return fs_cpu_mem_available(); }
int fs_fast_mem_set_precision(int precision) { return fs_cpu_set_precision(precision); }

void fs_fast_mem_zero(void *p, size_t bytes) {
    if (bytes < STREAM_ZERO_MIN) return fs_cpu_zero(p, bytes);
    char *c = p;
    size_t head = (64 - (uintptr_t)c % 64) % 64, lines = (bytes - head) / 64, tail = bytes - head - lines * 64;
    memset(c, 0, head);
    memset(c + head + lines * 64, 0, tail);
    float *body = (float *)(c + head);
#pragma omp parallel num_threads(fs_cpu_threads())
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (size_t l = lines * t / nt; l < lines * (t + 1) / nt; l++) {
            _mm256_stream_ps(body + l * 16, _mm256_setzero_ps());
            _mm256_stream_ps(body + l * 16 + 8, _mm256_setzero_ps());
        }
        _mm_sfence(); /* each thread's streaming stores complete before the barrier that ends the region */
    }
}

void fs_fast_u8_to_float(size_t count, const uint8_t *src, float *dst) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) dst[i] = (float)src[i] / 255.0f;
}

/* The conversions of bf16 storage (ops.h) have the same results everywhere; the fast
 * backend itself stores activations in float (it refuses FS_PREC_BF16_ACT, fast.c). */
void fs_fast_bf16_pack(size_t count, const float *x, float *y16) {
    fs_bf16 *y = (fs_bf16 *)y16;
    PAR_FOR
    for (size_t i = 0; i < count; i++) y[i] = fs_bf16_from_f32(x[i]);
}
void fs_fast_bf16_unpack(size_t count, const float *x16, float *y) {
    const fs_bf16 *x = (const fs_bf16 *)x16;
    for (size_t i = 0; i < count; i++) y[i] = fs_bf16_to_f32(x[i]);
}

/* LeakyReLU both ways over fixed chunks of FS_FAST_RED_BLOCK elements (any split gives the
 * same bits: the op is elementwise). */
static void leaky_chunks(size_t count, float alpha, const float *sel, const float *v, float *out) {
    size_t chunks = (count + FS_FAST_RED_BLOCK - 1) / FS_FAST_RED_BLOCK;
    PAR_FOR
    for (size_t ch = 0; ch < chunks; ch++) {
        size_t i0 = ch * FS_FAST_RED_BLOCK;
        fs_vec_leaky_mul(FS_MIN(count, i0 + FS_FAST_RED_BLOCK) - i0, alpha, sel + i0, v + i0, out + i0);
    }
}
void fs_fast_leaky_fwd(size_t count, float alpha, const float *x, float *y) { leaky_chunks(count, alpha, x, x, y); }
void fs_fast_leaky_bwd(size_t count, float alpha, const float *y, const float *dy, float *dx) {
    leaky_chunks(count, alpha, y, dy, dx);
}
void fs_fast_sigmoid_fwd(size_t count, const float *x, float *y) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}
void fs_fast_sigmoid_bwd(size_t count, const float *y, const float *dy, float *dx) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) dx[i] = y[i] * (1.0f - y[i]) * dy[i];
}

/* One input pixel (4c values) <-> its 2x2 output block; fwd copies x -> y, bwd y -> x. */
static void shuf_pixel(int h, int w, int c4, size_t pix, float *x, float *y, int fwd) {
    size_t c = (size_t)c4 / 4, img = pix / ((size_t)h * w);
    int i = (int)(pix / w % h), j = (int)(pix % w);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            float *yp = y + ((img * 2 * h + 2 * i + a) * 2 * w + 2 * j + b) * c;
            float *xp = x + pix * c4 + (size_t)(2 * a + b) * c;
            if (fwd) memcpy(yp, xp, c * sizeof(float));
            else memcpy(xp, yp, c * sizeof(float));
        }
}

void fs_fast_pixshuf_fwd(int n, int h, int w, int c4, const float *x, float *y) {
    size_t pixels = (size_t)n * h * w, count = pixels * c4;
    PAR_FOR
    for (size_t p = 0; p < pixels; p++) shuf_pixel(h, w, c4, p, (float *)x, y, 1);
}
void fs_fast_pixshuf_bwd(int n, int h, int w, int c4, const float *dy, float *dx) {
    size_t pixels = (size_t)n * h * w, count = pixels * c4;
    PAR_FOR
    for (size_t p = 0; p < pixels; p++) shuf_pixel(h, w, c4, p, dx, (float *)dy, 0);
}

/* Over pixels (one mask value each), channels innermost; count = elements, for PAR_FOR. */
void fs_fast_mask_mul(int n, int h, int w, int c, const float *mask, const float *x, float *y) {
    size_t pixels = (size_t)n * h * w, count = pixels * c;
    PAR_FOR
    for (size_t p = 0; p < pixels; p++) {
        const float m = mask[p];
        for (int ch = 0; ch < c; ch++) y[p * c + ch] = x[p * c + ch] * m;
    }
}

/* Sum of squares of one block in double (fs_vec_dot_lanes: the order depends only on the block). */
static double sumsq_block(const float *x, size_t count) { return fs_vec_dot_lanes(x, x, count); }

double fs_fast_sumsq(size_t count, const float *x) {
    size_t blocks = (count + FS_FAST_RED_BLOCK - 1) / FS_FAST_RED_BLOCK;
    double *part = fs_malloc((blocks ? blocks : 1) * sizeof(double)), acc = 0.0;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (count > FS_FAST_PAR_MIN)
    for (size_t bl = 0; bl < blocks; bl++) {
        size_t start = bl * FS_FAST_RED_BLOCK;
        part[bl] = sumsq_block(x + start, FS_MIN(count, start + FS_FAST_RED_BLOCK) - start);
    }
    for (size_t bl = 0; bl < blocks; bl++) acc += part[bl];
    free(part);
    return acc;
}

/* The update in float with the bias corrections folded into two constants (fs_adam_consts). */
typedef struct adam_consts {
    fs_adam_consts c;
    float gsc;
} adam_consts;

/* Elements [i0, i1) with the scalar formula, in the same operation order as adam_simd. */
static void adam_scalar(size_t i0, size_t i1, float *p, const float *g, float *m, float *v, const adam_consts *k) {
    const fs_adam_consts *c = &k->c;
    for (size_t i = i0; i < i1; i++) {
        float gi = k->gsc * g[i];
        float mi = c->b1 * m[i] + c->omb1 * gi;
        float vi = c->b2 * v[i] + c->omb2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= c->step_size * mi / (sqrtf(vi) * c->rsqrt_bc2 + c->eps) + c->lrwd * p[i];
    }
}

/* Elements [i0, i0 + 8 n): the same float operations (no FMA contraction), 8 at a time, so
 * the bits equal adam_scalar's (vsqrtps and vdivps round as sqrtf and / do). */
static void adam_simd(size_t i0, size_t n, float *p, const float *g, float *m, float *v, const adam_consts *k) {
    const fs_adam_consts *c = &k->c;
    const __m256 b1 = _mm256_set1_ps(c->b1), c1 = _mm256_set1_ps(c->omb1), b2 = _mm256_set1_ps(c->b2);
    const __m256 c2 = _mm256_set1_ps(c->omb2), gsc = _mm256_set1_ps(k->gsc), step = _mm256_set1_ps(c->step_size);
    const __m256 rbc2 = _mm256_set1_ps(c->rsqrt_bc2), eps = _mm256_set1_ps(c->eps), lrwd = _mm256_set1_ps(c->lrwd);
    for (size_t i = i0; i < i0 + 8 * n; i += 8) {
        if (i % 16 == 0)
            fs_vec_prefetch4(p + i + FS_VEC_PREFETCH, g + i + FS_VEC_PREFETCH, m + i + FS_VEC_PREFETCH,
                             v + i + FS_VEC_PREFETCH);
        __m256 gi = _mm256_mul_ps(gsc, _mm256_loadu_ps(g + i)), pi = _mm256_loadu_ps(p + i);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(c1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(c2, gi), gi));
        __m256 den = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), rbc2), eps);
        __m256 upd = _mm256_add_ps(_mm256_div_ps(_mm256_mul_ps(step, mi), den), _mm256_mul_ps(lrwd, pi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(pi, upd));
    }
}

/* An optimizer's update of elements [i0, i0 + len): its 8-wide body, then its scalar tail. */
typedef void (*opt_chunk)(size_t i0, size_t len, float *p, const float *g, float *m, float *v, const void *k);

/* The update of count elements in fixed chunks of FS_FAST_RED_BLOCK over the threads (the
 * bits do not depend on the split: the update is elementwise). */
static void opt_chunks(size_t count, opt_chunk f, float *p, const float *g, float *m, float *v, const void *k) {
    size_t chunks = (count + FS_FAST_RED_BLOCK - 1) / FS_FAST_RED_BLOCK;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (count > FS_FAST_PAR_MIN)
    for (size_t ch = 0; ch < chunks; ch++) {
        size_t i0 = ch * FS_FAST_RED_BLOCK;
        f(i0, FS_MIN(count, i0 + FS_FAST_RED_BLOCK) - i0, p, g, m, v, k);
    }
}

static void adam_chunk(size_t i0, size_t len, float *p, const float *g, float *m, float *v, const void *k) {
    adam_simd(i0, len / 8, p, g, m, v, k);
    adam_scalar(i0 + len / 8 * 8, i0 + len, p, g, m, v, k);
}

void fs_fast_adam(size_t count, float *p, const float *g, float *m, float *v, const fs_adam_args *a) {
    adam_consts k = {.gsc = a->grad_scale};
    fs_adam_consts_init(&k.c, a);
    opt_chunks(count, adam_chunk, p, g, m, v, &k);
}

/* AdaBelief elements [i0, i1) with the scalar formula, in the same operation order as
 * adabelief_simd (fs_adabelief_consts: the float constants and the dropout draw). */
static void adabelief_scalar(size_t i0, size_t i1, float *p, const float *g, float *m, float *s,
                             const fs_adabelief_consts *k) {
    for (size_t i = i0; i < i1; i++) {
        float gi = k->gsc * g[i];
        float mi = k->b1 * m[i] + k->omb1 * gi, d = gi - mi;
        float si = k->b2 * s[i] + k->omb2 * d * d;
        m[i] = mi;
        s[i] = si;
        if (k->dropout && fs_adabelief_draw(k->drop_base, i) >= k->keep_below) continue;
        p[i] -= k->lr * mi / (sqrtf(si) + k->eps) + k->lrwd * p[i];
    }
}

/* Elements [i0, i0 + 8 n): the same float operations 8 at a time (bits equal
 * adabelief_scalar's); a dropped element's update is masked to +0, and p - 0 == p. */
static void adabelief_simd(size_t i0, size_t n, float *p, const float *g, float *m, float *s,
                           const fs_adabelief_consts *k) {
    const __m256 b1 = _mm256_set1_ps(k->b1), c1 = _mm256_set1_ps(k->omb1), b2 = _mm256_set1_ps(k->b2);
    const __m256 c2 = _mm256_set1_ps(k->omb2), gsc = _mm256_set1_ps(k->gsc), lr = _mm256_set1_ps(k->lr);
    const __m256 eps = _mm256_set1_ps(k->eps), lrwd = _mm256_set1_ps(k->lrwd);
    __m256 keep = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (size_t i = i0; i < i0 + 8 * n; i += 8) {
        __m256 gi = _mm256_mul_ps(gsc, _mm256_loadu_ps(g + i)), pi = _mm256_loadu_ps(p + i);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(c1, gi));
        __m256 d = _mm256_sub_ps(gi, mi);
        __m256 si = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(s + i)), _mm256_mul_ps(_mm256_mul_ps(c2, d), d));
        __m256 den = _mm256_add_ps(_mm256_sqrt_ps(si), eps);
        __m256 upd = _mm256_add_ps(_mm256_div_ps(_mm256_mul_ps(lr, mi), den), _mm256_mul_ps(lrwd, pi));
        if (k->dropout) {
            int lane[8];
            for (int l = 0; l < 8; l++) lane[l] = fs_adabelief_draw(k->drop_base, i + l) < k->keep_below ? -1 : 0;
            keep = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)lane));
        }
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(s + i, si);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(pi, _mm256_and_ps(upd, keep)));
    }
}

static void adabelief_chunk(size_t i0, size_t len, float *p, const float *g, float *m, float *s, const void *k) {
    adabelief_simd(i0, len / 8, p, g, m, s, k);
    adabelief_scalar(i0 + len / 8 * 8, i0 + len, p, g, m, s, k);
}

void fs_fast_adabelief(size_t count, float *p, const float *g, float *m, float *s, const fs_adam_args *a) {
    fs_adabelief_consts k;
    fs_adabelief_consts_init(&k, a);
    opt_chunks(count, adabelief_chunk, p, g, m, s, &k);
}

void fs_fast_scale(size_t count, float *x, float s) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) x[i] *= s;
}
