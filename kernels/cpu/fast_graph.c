/* fast_graph.c — the model graph's plumbing with OpenMP (semantics: kernels/ops.h,
 * ref_graph.c): add and acc are vectorised elementwise loops, concat copies row segments,
 * pixnorm sums each row in double in fixed blocks of FS_FAST_RED_BLOCK elements (each in 8
 * interleaved lanes, the blocks in order), so its result does not depend on the thread
 * count; rows run in parallel, or, when there are fewer rows than threads, the blocks of a
 * row do. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/fast.h"

#define PAR_FOR _Pragma("omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (count > FS_FAST_PAR_MIN)")

void fs_fast_add(size_t count, const float *a, const float *b, float *y) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}

void fs_fast_acc(size_t count, const float *x, float *y) {
    PAR_FOR
    for (size_t i = 0; i < count; i++) y[i] += x[i];
}

void fs_fast_concat_fwd(size_t rows, int ca, int cb, const float *a, const float *b, float *y) {
    size_t ct = (size_t)ca + cb, count = rows * ct;
    PAR_FOR
    for (size_t r = 0; r < rows; r++) {
        memcpy(y + r * ct, a + r * ca, (size_t)ca * sizeof(float));
        memcpy(y + r * ct + ca, b + r * cb, (size_t)cb * sizeof(float));
    }
}

void fs_fast_concat_bwd(size_t rows, int ca, int cb, const float *dy, float *da, float *db) {
    size_t ct = (size_t)ca + cb, count = rows * ct;
    PAR_FOR
    for (size_t r = 0; r < rows; r++) {
        if (da) memcpy(da + r * ca, dy + r * ct, (size_t)ca * sizeof(float));
        if (db) memcpy(db + r * cb, dy + r * ct + ca, (size_t)cb * sizeof(float));
    }
}

/* ---------------------------------------------------------------- pixnorm */
#define LANES 8
/* a . b over one block of n elements in double, LANES interleaved partial sums added in
 * lane order at the end (so that the loop vectorises; the order depends only on n). */
static double dot_block(const float *a, const float *b, size_t n) {
    double lane[LANES] = {0};
    size_t full = n - n % LANES, i;
    for (i = 0; i < full; i += LANES)
        for (int l = 0; l < LANES; l++) lane[l] += (double)a[i + l] * b[i + l];
    for (; i < n; i++) lane[0] += (double)a[i] * b[i];
    double s = 0.0;
    for (int l = 0; l < LANES; l++) s += lane[l];
    return s;
}

static size_t n_blocks(size_t n) { return (n + FS_FAST_RED_BLOCK - 1) / FS_FAST_RED_BLOCK; }
static double block_of(const float *a, const float *b, size_t n, size_t bl) {
    size_t i0 = bl * FS_FAST_RED_BLOCK;
    return dot_block(a + i0, b + i0, FS_MIN(n, i0 + FS_FAST_RED_BLOCK) - i0);
}

/* a . b of one row: its blocks in order, on the calling thread or (par) on all threads. */
static double row_dot(const float *a, const float *b, size_t n, int par) {
    size_t blocks = n_blocks(n);
    double s = 0.0;
    if (!par || blocks < 2) {
        for (size_t bl = 0; bl < blocks; bl++) s += block_of(a, b, n, bl);
        return s;
    }
    double *part = fs_malloc(blocks * sizeof(double));
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads())
    for (size_t bl = 0; bl < blocks; bl++) part[bl] = block_of(a, b, n, bl);
    for (size_t bl = 0; bl < blocks; bl++) s += part[bl];
    free(part);
    return s;
}

/* One row, forward (dy == NULL: y = x r) or backward (dx = r dy - k x). */
static void pixnorm_row(int c, const float *x, const float *dy, float *out, int par) {
    size_t count = par ? (size_t)c : 0; /* PAR_FOR's condition: parallel only when par */
    double r = 1.0 / sqrt(row_dot(x, x, (size_t)c, par) / c + FS_PIXNORM_EPS);
    if (!dy) {
        PAR_FOR
        for (size_t i = 0; i < (size_t)c; i++) out[i] = (float)(x[i] * r);
        return;
    }
    double k = r * r * r * row_dot(dy, x, (size_t)c, par) / c;
    PAR_FOR
    for (size_t i = 0; i < (size_t)c; i++) out[i] = (float)(r * dy[i] - k * x[i]);
}

static void pixnorm(size_t rows, int c, const float *x, const float *dy, float *out) {
    size_t count = rows * (size_t)c;
    if (rows < (size_t)fs_cpu_threads() && count > FS_FAST_PAR_MIN) { /* few long rows: split each */
        for (size_t r = 0; r < rows; r++) pixnorm_row(c, x + r * c, dy ? dy + r * c : NULL, out + r * c, 1);
        return;
    }
    PAR_FOR
    for (size_t r = 0; r < rows; r++) pixnorm_row(c, x + r * c, dy ? dy + r * c : NULL, out + r * c, 0);
}

void fs_fast_pixnorm_fwd(size_t rows, int c, const float *x, float *y) { pixnorm(rows, c, x, NULL, y); }
void fs_fast_pixnorm_bwd(size_t rows, int c, const float *x, const float *dy, float *dx) {
    pixnorm(rows, c, x, dy, dx);
}
