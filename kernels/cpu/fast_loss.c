/* fast_loss.c — the losses with OpenMP (semantics: kernels/ops.h, ref_loss.c). mse and l1
 * sum fixed blocks then the blocks in order; dssim runs one image per task with separable
 * Gaussian filters streamed row by row (see below), in double, and sums the images in order.
 * Results do not depend on the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/fast.h"

typedef double (*elem_loss)(double d, double *grad); /* loss term of d = p - t, and its derivative */

static double term_sq(double d, double *grad) {
    *grad = 2.0 * d;
    return d * d;
}
static double term_abs(double d, double *grad) {
    *grad = d > 0.0 ? 1.0 : d < 0.0 ? -1.0 : 0.0;
    return fabs(d);
}

static double blocked_loss(size_t count, const float *pred, const float *target, float *dpred, float weight,
                           elem_loss f) {
    size_t blocks = (count + FS_FAST_RED_BLOCK - 1) / FS_FAST_RED_BLOCK;
    double *part = fs_malloc((blocks ? blocks : 1) * sizeof(double)), acc = 0.0, gscale = weight / (double)count;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (count > FS_FAST_PAR_MIN)
    for (size_t bl = 0; bl < blocks; bl++) {
        size_t end = FS_MIN(count, (bl + 1) * FS_FAST_RED_BLOCK);
        double s = 0.0, g;
        for (size_t i = bl * FS_FAST_RED_BLOCK; i < end; i++) {
            s += f((double)pred[i] - target[i], &g);
            if (dpred) dpred[i] += (float)(gscale * g);
        }
        part[bl] = s;
    }
    for (size_t bl = 0; bl < blocks; bl++) acc += part[bl];
    free(part);
    return acc / (double)count;
}

double fs_fast_mse(int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight) {
    return blocked_loss((size_t)n * h * w * c, pred, target, dpred, weight, term_sq);
}
double fs_fast_l1(int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight) {
    return blocked_loss((size_t)n * h * w * c, pred, target, dpred, weight, term_abs);
}

/* ---------------------------------------------------------------- dssim
 * One image at a time streams through its rows, in double. Along a row, NHWC pixels with c
 * channels make the k-tap filter out[o] = sum_j g[j] in[o + j c] over o = x c + ch (k = the
 * window size), one contiguous loop over a whole row (all channels at once) that gcc
 * vectorises. Each image row is filtered along x into a ring of k rows; once k are there,
 * they are filtered along y into one row of window statistics, its SSIMs and their
 * derivatives (a ring of k rows again), and the transposed filters take those back to one
 * row of dpred. Everything stays in L1/L2; the sums run in a fixed order, so results do not
 * depend on the thread count. The filters are inlined with k = 11 as a constant for
 * faceswap's window (unrolled); other windows run them tap by tap over the row. */
enum { ST_MX, ST_MY, ST_EXX, ST_EYY, ST_EXY, N_ST }; /* window statistics */
enum { GR_MX, GR_EXX, GR_EXY, N_GR };                /* their gradients that reach pred */

typedef struct ssim_plan {
    int h, w, c, ph, pw;         /* image and window-grid sizes */
    int k, halo;                 /* window size (also the ring length), k - 1 */
    size_t line, pline;          /* doubles in one image row (w c) and one window row (pw c) */
    double g[FS_DSSIM_MAX_WIN];  /* the Gaussian taps */
    double gr[FS_DSSIM_MAX_WIN]; /* the same, reversed (the transposed filter) */
    double scale;                /* dLoss/d(SSIM of one window): -1 / (2 windows) */
    float weight;
} ssim_plan;

typedef struct ssim_work {
    double *src;   /* [N_ST][line]: x, y, x^2, y^2, xy of the current image row */
    double *hring; /* [k][N_ST][pline]: image rows filtered along x, slot = row % k */
    double *st;    /* [N_ST][pline]: the statistics of one row of windows */
    double *gring; /* [k][N_GR][pline]: scale * dSSIM/d(stat), slot = window row % k */
    double *zero;  /* [pline]: zeros, for window rows outside the image */
    double *vpad;  /* [N_GR][line + halo c]: gring filtered along y, halo c zeros each side */
    double *tk;    /* [N_GR][line]: vpad filtered along x (transposed) */
    double *acc;   /* [pline]: SSIM sums per position in a window row, summed in order at the end */
} ssim_work;

static void ssim_work_init(const ssim_plan *pl, ssim_work *ws) {
    size_t ring = (size_t)pl->k, vline = pl->line + (size_t)pl->halo * pl->c;
    size_t total =
        N_ST * pl->line + (ring + 1) * N_ST * pl->pline + (ring * N_GR + 2) * pl->pline + N_GR * (vline + pl->line);
    double *m = fs_malloc(total * sizeof(double));
    memset(m, 0, total * sizeof(double));
    ws->src = m, m += N_ST * pl->line;
    ws->hring = m, m += ring * N_ST * pl->pline;
    ws->st = m, m += N_ST * pl->pline;
    ws->gring = m, m += ring * N_GR * pl->pline;
    ws->zero = m, m += pl->pline;
    ws->acc = m, m += pl->pline;
    ws->vpad = m, m += N_GR * vline;
    ws->tk = m;
}

/* out[o] = sum_j g[j] in[o + j step], o < n: the k-tap filter along a row (step = c) or,
 * with rows[] instead of in, across rows. */
static inline __attribute__((always_inline)) void filter_x_k(const double *restrict g, int k, int step, size_t n,
                                                             const double *restrict in, double *restrict out) {
    for (size_t o = 0; o < n; o++) {
        double a = g[0] * in[o];
        for (int j = 1; j < k; j++) a = fma(g[j], in[o + (size_t)j * step], a);
        out[o] = a;
    }
}
static inline __attribute__((always_inline)) void filter_y_k(const double *restrict g, int k, const double *const *rows,
                                                             size_t n, double *restrict out) {
    for (size_t o = 0; o < n; o++) {
        double a = g[0] * rows[0][o];
        for (int i = 1; i < k; i++) a = fma(g[i], rows[i][o], a);
        out[o] = a;
    }
}
/* The same sums tap by tap over the whole row (the o loop inner, so that it vectorises for a
 * k known only at run time); each out[o] sees the same operations in the same order. */
static void filter_x_taps(const double *restrict g, int k, int step, size_t n, const double *restrict in,
                          double *restrict out) {
    for (size_t o = 0; o < n; o++) out[o] = g[0] * in[o];
    for (int j = 1; j < k; j++) {
        const double *restrict src = in + (size_t)j * step;
        for (size_t o = 0; o < n; o++) out[o] = fma(g[j], src[o], out[o]);
    }
}
static void filter_y_taps(const double *restrict g, int k, const double *const *rows, size_t n, double *restrict out) {
    for (size_t o = 0; o < n; o++) out[o] = g[0] * rows[0][o];
    for (int i = 1; i < k; i++) {
        const double *restrict src = rows[i];
        for (size_t o = 0; o < n; o++) out[o] = fma(g[i], src[o], out[o]);
    }
}
static void filter_x(const double *g, int k, int step, size_t n, const double *in, double *out) {
    if (k == FS_SSIM_K) filter_x_k(g, FS_SSIM_K, step, n, in, out);
    else filter_x_taps(g, k, step, n, in, out);
}
static void filter_y(const double *g, int k, const double *const *rows, size_t n, double *out) {
    if (k == FS_SSIM_K) filter_y_k(g, FS_SSIM_K, rows, n, out);
    else filter_y_taps(g, k, rows, n, out);
}

/* Image row y: its five products, filtered along x into hring slot y % k. */
static void ssim_row_in(const ssim_plan *pl, ssim_work *ws, const float *p, const float *t, int y) {
    size_t n = pl->line;
    const float *pr = p + (size_t)y * n, *tr = t + (size_t)y * n;
    double *restrict sx = ws->src, *restrict sy = sx + n, *restrict sxx = sy + n, *restrict syy = sxx + n,
                     *restrict sxy = syy + n;
    for (size_t o = 0; o < n; o++) {
        double x = pr[o], v = tr[o];
        sx[o] = x, sy[o] = v, sxx[o] = x * x, syy[o] = v * v, sxy[o] = x * v;
    }
    double *dst = ws->hring + (size_t)(y % pl->k) * N_ST * pl->pline;
    for (int s = 0; s < N_ST; s++) filter_x(pl->g, pl->k, pl->c, pl->pline, ws->src + s * n, dst + s * pl->pline);
}

/* The SSIM of each window of a row from its statistics (fs_cpu_ssim_window's formula with
 * one division), added into acc; gm[k] = scale * dSSIM/d(stat k). */
static void ssim_line(size_t n, const double *restrict st, double *restrict acc, double *restrict gm, double scale) {
    const double *mxp = st + ST_MX * n, *myp = st + ST_MY * n, *exxp = st + ST_EXX * n;
    const double *eyyp = st + ST_EYY * n, *exyp = st + ST_EXY * n;
    for (size_t o = 0; o < n; o++) {
        double mx = mxp[o], my = myp[o];
        double sx = exxp[o] - mx * mx, sy = eyyp[o] - my * my, sxy = exyp[o] - mx * my;
        double a1 = 2.0 * mx * my + FS_SSIM_C1, a2 = 2.0 * sxy + FS_SSIM_C2;
        double b1 = mx * mx + my * my + FS_SSIM_C1, b2 = sx + sy + FS_SSIM_C2;
        double inv = 1.0 / (b1 * b2), s = a1 * a2 * inv;
        acc[o] += s;
        gm[GR_MX * n + o] = scale * ((2.0 * my * (a2 - a1) - 2.0 * mx * s * (b2 - b1)) * inv);
        gm[GR_EXX * n + o] = scale * (-s * b1 * inv);
        gm[GR_EXY * n + o] = scale * (2.0 * a1 * inv);
    }
}

/* Window row py from hring slots py..py + k - 1: statistics, SSIM, gradients into gring. */
static void ssim_window_row(const ssim_plan *pl, ssim_work *ws, int py) {
    const double *rows[FS_DSSIM_MAX_WIN];
    size_t n = pl->pline;
    for (int s = 0; s < N_ST; s++) {
        for (int i = 0; i < pl->k; i++) rows[i] = ws->hring + ((size_t)((py + i) % pl->k) * N_ST + s) * n;
        filter_y(pl->g, pl->k, rows, n, ws->st + s * n);
    }
    ssim_line(n, ws->st, ws->acc, ws->gring + (size_t)(py % pl->k) * N_GR * n, pl->scale);
}

/* Image row y of dpred: the transposed y filter over window rows y - k + 1..y (zero outside
 * the grid), the transposed x filter, then the chain rule through mx, exx and exy. */
static void ssim_grad_row(const ssim_plan *pl, ssim_work *ws, const float *p, const float *t, float *dpred, int y) {
    const double *rows[FS_DSSIM_MAX_WIN];
    size_t n = pl->pline, line = pl->line, vline = line + (size_t)pl->halo * pl->c;
    for (int k = 0; k < N_GR; k++) {
        for (int i = 0; i < pl->k; i++) {
            int py = y - i;
            rows[i] = py < 0 || py >= pl->ph ? ws->zero : ws->gring + ((size_t)(py % pl->k) * N_GR + k) * n;
        }
        double *vp = ws->vpad + k * vline;
        filter_y(pl->g, pl->k, rows, n, vp + (size_t)pl->halo * pl->c);
        filter_x(pl->gr, pl->k, pl->c, line, vp, ws->tk + k * line);
    }
    const float *restrict pr = p + (size_t)y * line, *restrict tr = t + (size_t)y * line;
    const double *restrict t0 = ws->tk, *restrict t1 = t0 + line, *restrict t2 = t1 + line;
    float *restrict dr = dpred + (size_t)y * line;
    double wt = pl->weight;
    for (size_t o = 0; o < line; o++) dr[o] += (float)(wt * (t0[o] + 2.0 * pr[o] * t1[o] + tr[o] * t2[o]));
}

/* One image: returns the sum of its windows' SSIMs; dpred (or NULL) += weight dLoss/dp. */
static double ssim_image(const ssim_plan *pl, ssim_work *ws, const float *p, const float *t, float *dpred) {
    memset(ws->acc, 0, pl->pline * sizeof(double));
    for (int y = 0; y < pl->h; y++) {
        ssim_row_in(pl, ws, p, t, y);
        if (y < pl->halo) continue;
        ssim_window_row(pl, ws, y - pl->halo);
        if (dpred) ssim_grad_row(pl, ws, p, t, dpred, y - pl->halo);
    }
    for (int y = pl->ph; dpred && y < pl->h; y++) ssim_grad_row(pl, ws, p, t, dpred, y);
    double sum = 0.0;
    for (size_t o = 0; o < pl->pline; o++) sum += ws->acc[o];
    return sum;
}

double fs_fast_dssim(int n, int h, int w, int c, int win, const float *pred, const float *target, float *dpred,
                     float weight) {
    fs_dssim_check(h, w, win);
    ssim_plan pl =
        {.h = h, .w = w, .c = c, .ph = h - win + 1, .pw = w - win + 1, .k = win, .halo = win - 1, .weight = weight};
    fs_cpu_ssim_gauss(win, pl.g);
    for (int j = 0; j < win; j++) pl.gr[j] = pl.g[win - 1 - j];
    pl.line = (size_t)w * c;
    pl.pline = (size_t)pl.pw * c;
    double windows = (double)n * pl.ph * pl.pline, *part = fs_malloc((size_t)n * sizeof(double)), sum = 0.0;
    pl.scale = -0.5 / windows;
    size_t img = (size_t)h * pl.line;
#pragma omp parallel num_threads(fs_cpu_threads()) if (n > 1)
    {
        ssim_work ws;
        ssim_work_init(&pl, &ws);
#pragma omp for schedule(static)
        for (int b = 0; b < n; b++)
            part[b] = ssim_image(&pl, &ws, pred + b * img, target + b * img, dpred ? dpred + b * img : NULL);
        free(ws.src);
    }
    for (int b = 0; b < n; b++) sum += part[b];
    free(part);
    return (1.0 - sum / windows) / 2.0;
}
