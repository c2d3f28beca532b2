/* ref_loss.c — the specification of the losses over images [n,h,w,c] (kernels/ops.h).
 * Each returns the mean loss as a double and, when dpred != NULL, ADDS weight * dLoss/dpred
 * into dpred (+=).
 *   mse   = mean((p - t)^2)
 *   l1    = mean(|p - t|), subgradient 0 at p == t
 *   dssim = (1 - mean SSIM) / 2 over every valid win x win window (Gaussian, sigma 1.5) of
 *           every channel of every image: n * (h - win + 1) * (w - win + 1) * c windows. Images
 *           smaller than win px in h or w have no window: callers must not pass them (it is a
 *           fatal error, as is a win outside 1..FS_DSSIM_MAX_WIN). */
#include <math.h>
#include <stdlib.h>

#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/ref.h"

void fs_cpu_ssim_gauss(int win, double *g) {
    double sum = 0.0;
    for (int i = 0; i < win; i++) {
        double t = i - (win - 1) / 2.0; /* win 11: i - 5, exactly */
        g[i] = exp(-t * t / (2.0 * FS_SSIM_SIGMA * FS_SSIM_SIGMA));
        sum += g[i];
    }
    for (int i = 0; i < win; i++) g[i] /= sum;
}

fs_ssim_grad fs_cpu_ssim_window(double mx, double my, double exx, double eyy, double exy) {
    double sx = exx - mx * mx, sy = eyy - my * my, sxy = exy - mx * my;
    double a1 = 2.0 * mx * my + FS_SSIM_C1, a2 = 2.0 * sxy + FS_SSIM_C2;
    double b1 = mx * mx + my * my + FS_SSIM_C1, b2 = sx + sy + FS_SSIM_C2;
    double den = b1 * b2;
    fs_ssim_grad r;
    r.s = a1 * a2 / den;
    r.d_mx = (2.0 * my * (a2 - a1) - 2.0 * mx * r.s * (b2 - b1)) / den;
    r.d_exx = -r.s / b2;
    r.d_exy = 2.0 * a1 / den;
    return r;
}

double fs_ref_mse(int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight) {
    size_t count = (size_t)n * h * w * c;
    double acc = 0.0;
    for (size_t i = 0; i < count; i++) {
        double dlt = (double)pred[i] - target[i];
        acc += dlt * dlt;
        if (dpred) dpred[i] += (float)(weight * 2.0 * dlt / (double)count);
    }
    return acc / (double)count;
}

double fs_ref_l1(int n, int h, int w, int c, const float *pred, const float *target, float *dpred, float weight) {
    size_t count = (size_t)n * h * w * c;
    double acc = 0.0;
    for (size_t i = 0; i < count; i++) {
        double dlt = (double)pred[i] - target[i];
        acc += fabs(dlt);
        double sgn = dlt > 0.0 ? 1.0 : dlt < 0.0 ? -1.0 : 0.0;
        if (dpred) dpred[i] += (float)(weight * sgn / (double)count);
    }
    return acc / (double)count;
}

typedef struct ssim_img {
    int h, w, c, k;     /* k: the window size */
    const float *p, *t; /* one image, [h,w,c] */
    double *grad;       /* dSSIM_sum/dp of that image, [h,w,c], or NULL */
} ssim_img;

/* One window at (py, px) of channel ch: its SSIM; scatters dSSIM/dp * gscale into grad. */
static double ssim_window(const ssim_img *im, const double *g, int py, int px, int ch, double gscale) {
    double st[5] = {0, 0, 0, 0, 0};
    for (int i = 0; i < im->k; i++)
        for (int j = 0; j < im->k; j++) {
            size_t o = ((size_t)(py + i) * im->w + px + j) * im->c + ch;
            double gw = g[i] * g[j], x = im->p[o], y = im->t[o];
            st[0] += gw * x, st[1] += gw * y, st[2] += gw * x * x, st[3] += gw * y * y, st[4] += gw * x * y;
        }
    fs_ssim_grad r = fs_cpu_ssim_window(st[0], st[1], st[2], st[3], st[4]);
    if (!im->grad) return r.s;
    for (int i = 0; i < im->k; i++)
        for (int j = 0; j < im->k; j++) {
            size_t o = ((size_t)(py + i) * im->w + px + j) * im->c + ch;
            im->grad[o] += gscale * g[i] * g[j] * (r.d_mx + 2.0 * im->p[o] * r.d_exx + im->t[o] * r.d_exy);
        }
    return r.s;
}

double fs_ref_dssim(int n, int h, int w, int c, int win, const float *pred, const float *target, float *dpred,
                    float weight) {
    fs_dssim_check(h, w, win);
    double g[FS_DSSIM_MAX_WIN], sum = 0.0;
    fs_cpu_ssim_gauss(win, g);
    size_t img_len = (size_t)h * w * c;
    double windows = (double)n * (h - win + 1) * (w - win + 1) * c;
    double *grad = dpred ? fs_calloc(img_len * (size_t)n, sizeof(double)) : NULL;
    for (int b = 0; b < n; b++) {
        ssim_img im = {h, w, c, win, pred + b * img_len, target + b * img_len, grad ? grad + b * img_len : NULL};
        for (int ch = 0; ch < c; ch++)
            for (int py = 0; py + win <= h; py++)
                for (int px = 0; px + win <= w; px++) sum += ssim_window(&im, g, py, px, ch, 1.0);
    }
    if (grad) { /* d((1 - mean S)/2)/dp = -1/(2 windows) * dS_sum/dp */
        for (size_t i = 0; i < img_len * (size_t)n; i++) dpred[i] += (float)(weight * -0.5 / windows * grad[i]);
        free(grad);
    }
    return (1.0 - sum / windows) / 2.0;
}
