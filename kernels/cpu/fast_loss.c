/* fast_loss.c — the losses with OpenMP (semantics: kernels/ops.h, ref_loss.c). mse and l1
 * sum fixed blocks then the blocks in order; dssim runs one image per task with separable
 * Gaussian filters (a row pass then a column pass, and their transposes for the gradient),
 * in double, and sums the images in order. Results do not depend on the thread count. */
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

/* ---------------------------------------------------------------- dssim */
enum { ST_MX, ST_MY, ST_EXX, ST_EYY, ST_EXY, N_ST }; /* window statistics */
enum { GR_MX, GR_EXX, GR_EXY, N_GR };                 /* their gradients that reach pred */

typedef struct ssim_plan {
    int h, w, c, ph, pw;     /* image and window-grid sizes */
    double g[FS_SSIM_K];
    size_t hrow, grid;       /* doubles in one [h, pw, c] map and in one [ph, pw, c] map */
} ssim_plan;

/* Row pass: hm[s][y][px][ch] = sum_j g[j] f_s(p, t)[y][px + j][ch]. */
static void ssim_rows(const ssim_plan *pl, const float *p, const float *t, double *hm) {
    memset(hm, 0, N_ST * pl->hrow * sizeof(double));
    for (int y = 0; y < pl->h; y++)
        for (int px = 0; px < pl->pw; px++)
            for (int j = 0; j < FS_SSIM_K; j++) {
                const float *pp = p + ((size_t)y * pl->w + px + j) * pl->c, *tp = t + (pp - p);
                size_t o = ((size_t)y * pl->pw + px) * pl->c;
                for (int ch = 0; ch < pl->c; ch++) {
                    double x = pp[ch], v = tp[ch], gj = pl->g[j];
                    hm[ST_MX * pl->hrow + o + ch] += gj * x;
                    hm[ST_MY * pl->hrow + o + ch] += gj * v;
                    hm[ST_EXX * pl->hrow + o + ch] += gj * x * x;
                    hm[ST_EYY * pl->hrow + o + ch] += gj * v * v;
                    hm[ST_EXY * pl->hrow + o + ch] += gj * x * v;
                }
            }
}

/* Column pass and the SSIM of every window; gm[k] gets scale * dSSIM/d(stat k). */
static double ssim_windows(const ssim_plan *pl, const double *hm, double *gm, double scale) {
    double sum = 0.0;
    size_t line = (size_t)pl->pw * pl->c;
    for (int py = 0; py < pl->ph; py++)
        for (size_t o = 0; o < line; o++) {
            double st[N_ST] = {0};
            for (int i = 0; i < FS_SSIM_K; i++)
                for (int s = 0; s < N_ST; s++) st[s] += pl->g[i] * hm[s * pl->hrow + (size_t)(py + i) * line + o];
            fs_ssim_grad r = fs_cpu_ssim_window(st[ST_MX], st[ST_MY], st[ST_EXX], st[ST_EYY], st[ST_EXY]);
            sum += r.s;
            if (!gm) continue;
            size_t q = (size_t)py * line + o;
            gm[GR_MX * pl->grid + q] = scale * r.d_mx;
            gm[GR_EXX * pl->grid + q] = scale * r.d_exx;
            gm[GR_EXY * pl->grid + q] = scale * r.d_exy;
        }
    return sum;
}

/* Transposed column pass then transposed row pass back to pixels; dpred += weight * dL/dp. */
static void ssim_grad(const ssim_plan *pl, const double *gm, double *vm, const float *p, const float *t,
                      float *dpred, float weight) {
    size_t line = (size_t)pl->pw * pl->c;
    memset(vm, 0, N_GR * pl->hrow * sizeof(double));
    for (int k = 0; k < N_GR; k++)
        for (int py = 0; py < pl->ph; py++)
            for (int i = 0; i < FS_SSIM_K; i++)
                for (size_t o = 0; o < line; o++)
                    vm[k * pl->hrow + (size_t)(py + i) * line + o] +=
                        pl->g[i] * gm[k * pl->grid + (size_t)py * line + o];
    for (int y = 0; y < pl->h; y++)
        for (int x = 0; x < pl->w; x++)
            for (int ch = 0; ch < pl->c; ch++) {
                double tk[N_GR] = {0};
                for (int j = 0; j < FS_SSIM_K; j++) {
                    int px = x - j;
                    if (px < 0 || px >= pl->pw) continue;
                    for (int k = 0; k < N_GR; k++)
                        tk[k] += pl->g[j] * vm[k * pl->hrow + ((size_t)y * pl->pw + px) * pl->c + ch];
                }
                size_t o = ((size_t)y * pl->w + x) * pl->c + ch;
                dpred[o] += (float)(weight * (tk[GR_MX] + 2.0 * p[o] * tk[GR_EXX] + t[o] * tk[GR_EXY]));
            }
}

double fs_fast_dssim(int n, int h, int w, int c, const float *pred, const float *target, float *dpred,
                     float weight) {
    if (h < FS_SSIM_K || w < FS_SSIM_K)
        fs_die(FS_EXIT_FAIL, "dssim: images of %dx%d px have no 11x11 window\n  hint: DSSIM needs images of "
               "at least 11x11 px; use the mse or l1 loss for smaller ones", h, w);
    ssim_plan pl = {.h = h, .w = w, .c = c, .ph = h - 10, .pw = w - 10};
    fs_cpu_ssim_gauss(pl.g);
    pl.hrow = (size_t)h * pl.pw * c;
    pl.grid = (size_t)pl.ph * pl.pw * c;
    double windows = (double)n * pl.grid, *part = fs_malloc((size_t)n * sizeof(double)), sum = 0.0;
    size_t img = (size_t)h * w * c;
#pragma omp parallel for schedule(static) num_threads(fs_cpu_threads()) if (n > 1)
    for (int b = 0; b < n; b++) {
        double *hm = fs_malloc(N_ST * pl.hrow * sizeof(double));
        double *gm = dpred ? fs_malloc(N_GR * pl.grid * sizeof(double)) : NULL;
        ssim_rows(&pl, pred + b * img, target + b * img, hm);
        part[b] = ssim_windows(&pl, hm, gm, -0.5 / windows);
        if (dpred) ssim_grad(&pl, gm, hm, pred + b * img, target + b * img, dpred + b * img, weight);
        free(gm);
        free(hm);
    }
    for (int b = 0; b < n; b++) sum += part[b];
    free(part);
    return (1.0 - sum / windows) / 2.0;
}
