/* blend.c — see blend.h. */
#include "data/blend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/align.h"
#include "core/common.h"

/* A blended weight below this changes no pixel by a quarter level: it counts as 0, so that
 * the rounding of the running sums never touches a pixel outside the feathered mask. */
#define ALPHA_MIN (1.0f / 1024)

int fs_color_mode_parse(const char *s) {
    return !strcmp(s, "none")   ? FS_COLOR_NONE
           : !strcmp(s, "avg")  ? FS_COLOR_AVG
           : !strcmp(s, "hist") ? FS_COLOR_HIST
                                : -1;
}

const char *fs_color_mode_name(fs_color_mode m) {
    return m == FS_COLOR_AVG ? "avg" : m == FS_COLOR_HIST ? "hist" : "none";
}

/* ---------------------------------------------------------------- colour */
static float srgb_lin[256]; /* sRGB code value -> linear light */
static int srgb_ready;

static void srgb_init(void) {
    if (srgb_ready) return;
    for (int i = 0; i < 256; i++) {
        double c = i / 255.0;
        srgb_lin[i] = (float)(c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4));
    }
    srgb_ready = 1;
}

static double lab_f(double t) {
    const double d = 6.0 / 29;
    return t > d * d * d ? cbrt(t) : t / (3 * d * d) + 4.0 / 29;
}

static double lab_finv(double t) {
    const double d = 6.0 / 29;
    return t > d ? t * t * t : 3 * d * d * (t - 4.0 / 29);
}

/* CIE L*a*b* of an sRGB pixel, D65 white. */
static void rgb_to_lab(const uint8_t *p, double lab[3]) {
    double r = srgb_lin[p[0]], g = srgb_lin[p[1]], b = srgb_lin[p[2]];
    double x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
    double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    double z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
    double fx = lab_f(x), fy = lab_f(y), fz = lab_f(z);
    lab[0] = 116 * fy - 16, lab[1] = 500 * (fx - fy), lab[2] = 200 * (fy - fz);
}

static uint8_t lin_to_srgb(double c) {
    c = c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c > 0 ? c : 0, 1 / 2.4) - 0.055;
    double v = c * 255 + 0.5;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void lab_to_rgb(const double lab[3], uint8_t *p) {
    double fy = (lab[0] + 16) / 116, fx = fy + lab[1] / 500, fz = fy - lab[2] / 200;
    double x = lab_finv(fx) * 0.95047, y = lab_finv(fy), z = lab_finv(fz) * 1.08883;
    p[0] = lin_to_srgb(3.2404542 * x - 1.5371385 * y - 0.4985314 * z);
    p[1] = lin_to_srgb(-0.9692660 * x + 1.8760108 * y + 0.0415560 * z);
    p[2] = lin_to_srgb(0.0556434 * x - 0.2040259 * y + 1.0572252 * z);
}

/* Mean and standard deviation of each Lab channel of img over the mask. */
static void lab_stats(const uint8_t *img, const uint8_t *mask, size_t n, double mean[3], double sd[3]) {
    double s[3] = {0}, s2[3] = {0}, lab[3];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask[i] < 128) continue;
        rgb_to_lab(img + 3 * i, lab);
        for (int c = 0; c < 3; c++) s[c] += lab[c], s2[c] += lab[c] * lab[c];
        k++;
    }
    for (int c = 0; c < 3; c++) {
        mean[c] = s[c] / (double)k;
        double v = s2[c] / (double)k - mean[c] * mean[c];
        sd[c] = v > 0 ? sqrt(v) : 0;
    }
}

static void match_avg(uint8_t *gen, const uint8_t *orig, const uint8_t *mask, size_t n) {
    double mg[3], sg[3], mo[3], so[3], lab[3];
    lab_stats(gen, mask, n, mg, sg);
    lab_stats(orig, mask, n, mo, so);
    for (size_t i = 0; i < n; i++) {
        rgb_to_lab(gen + 3 * i, lab);
        for (int c = 0; c < 3; c++) lab[c] = (lab[c] - mg[c]) * (sg[c] > 1e-6 ? so[c] / sg[c] : 1) + mo[c];
        lab_to_rgb(lab, gen + 3 * i);
    }
}

static void match_hist(uint8_t *gen, const uint8_t *orig, const uint8_t *mask, size_t n) {
    for (int c = 0; c < 3; c++) {
        double hg[256] = {0}, ho[256] = {0};
        for (size_t i = 0; i < n; i++)
            if (mask[i] >= 128) hg[gen[3 * i + c]]++, ho[orig[3 * i + c]]++;
        double below = 0; /* gen's pixels under value v */
        for (int v = 1; v < 256; v++) ho[v] += ho[v - 1];
        uint8_t map[256];
        int u = 0;
        for (int v = 0; v < 256; v++) { /* the smallest original value whose CDF reaches the middle
                                           of v's share of gen's (half a bin off at most) */
            double mid = below + hg[v] / 2;
            while (u < 255 && ho[u] < mid) u++;
            map[v] = (uint8_t)u;
            below += hg[v];
        }
        for (size_t i = 0; i < n; i++) gen[3 * i + c] = map[gen[3 * i + c]];
    }
}

void fs_color_match(uint8_t *gen, const uint8_t *orig, const uint8_t *mask, int S, fs_color_mode mode) {
    size_t n = (size_t)S * S, inside = 0;
    for (size_t i = 0; i < n; i++) inside += mask[i] >= 128;
    if (mode == FS_COLOR_NONE || inside < 16) return;
    srgb_init();
    if (mode == FS_COLOR_AVG) match_avg(gen, orig, mask, n);
    else match_hist(gen, orig, mask, n);
}

/* ---------------------------------------------------------------- mask in the frame */
void fs_blend_widths(const fs_blend_opts *o, int S, const double M[2][3], int *erode, int *blur) {
    double scale = sqrt(fabs(M[0][0] * M[1][1] - M[0][1] * M[1][0])); /* face px per frame px */
    double side = scale > 0 ? S / scale : S;                          /* the face square in frame px */
    *erode = o->erode >= 0 ? o->erode : (int)lround(FS_BLEND_ERODE_AUTO * side);
    *blur = o->blur >= 0 ? o->blur : (int)lround(FS_BLEND_BLUR_AUTO * side);
}

/* Min (erode) or mean (box blur) of a[] along one axis over radius r: n values `step` apart,
 * taps beyond the ends left out (a face at the frame's edge is not eroded from outside). */
static void filter_line(float *a, int n, size_t step, int r, int is_min, float *tmp) {
    for (int i = 0; i < n; i++) tmp[i] = a[(size_t)i * step];
    if (is_min) {
        for (int i = 0; i < n; i++) {
            float m = tmp[i];
            for (int k = i - r < 0 ? 0 : i - r; k <= i + r && k < n; k++) m = tmp[k] < m ? tmp[k] : m;
            a[(size_t)i * step] = m;
        }
        return;
    }
    double s = 0;
    int lo = 0, hi = -1; /* the window [lo, hi] summed in s */
    for (int i = 0; i < n; i++) {
        while (hi < i + r && hi + 1 < n) s += tmp[++hi];
        while (lo < i - r) s -= tmp[lo++];
        a[(size_t)i * step] = (float)(s / (hi - lo + 1));
    }
}

static void filter_2d(float *a, int bw, int bh, int r, int is_min) {
    if (r <= 0) return;
    float *tmp = fs_malloc(sizeof(float) * (size_t)(bw > bh ? bw : bh));
    for (int y = 0; y < bh; y++) filter_line(a + (size_t)y * bw, bw, 1, r, is_min, tmp);
    for (int x = 0; x < bw; x++) filter_line(a + x, bh, (size_t)bw, r, is_min, tmp);
    free(tmp);
}

/* alpha [bh][bw] for the box at (x0, y0): mask sampled at M of each frame pixel, bilinear,
 * taps outside the face 0. */
static void warp_mask(const uint8_t *mask, int S, const double M[2][3], int x0, int y0, int bw, int bh, float *alpha) {
    for (int y = 0; y < bh; y++)
        for (int x = 0; x < bw; x++) {
            double fx = x0 + x, fy = y0 + y;
            double u = M[0][0] * fx + M[0][1] * fy + M[0][2], v = M[1][0] * fx + M[1][1] * fy + M[1][2];
            int iu = (int)floor(u), iv = (int)floor(v);
            double du = u - iu, dv = v - iv, s = 0;
            for (int k = 0; k < 4; k++) {
                int qu = iu + (k & 1), qv = iv + (k >> 1);
                if (qu < 0 || qv < 0 || qu >= S || qv >= S) continue;
                s += mask[(size_t)qv * S + qu] * ((k & 1) ? du : 1 - du) * ((k >> 1) ? dv : 1 - dv);
            }
            alpha[(size_t)y * bw + x] = (float)(s / 255);
        }
}

/* The box of the frame that the face square (grown by `grow` px) covers, clipped. 0 if empty. */
static int face_box(const double inv[2][3], int S, int grow, int w, int h, int box[4]) {
    double xs[4] = {-1, S, -1, S}, ys[4] = {-1, -1, S, S}, lo[2] = {1e300, 1e300}, hi[2] = {-1e300, -1e300};
    for (int k = 0; k < 4; k++) {
        double x = inv[0][0] * xs[k] + inv[0][1] * ys[k] + inv[0][2],
               y = inv[1][0] * xs[k] + inv[1][1] * ys[k] + inv[1][2];
        lo[0] = fmin(lo[0], x), lo[1] = fmin(lo[1], y), hi[0] = fmax(hi[0], x), hi[1] = fmax(hi[1], y);
    }
    box[0] = (int)fmax(0, floor(lo[0]) - grow), box[1] = (int)fmax(0, floor(lo[1]) - grow);
    box[2] = (int)fmin(w, ceil(hi[0]) + grow + 1), box[3] = (int)fmin(h, ceil(hi[1]) + grow + 1);
    return box[2] > box[0] && box[3] > box[1];
}

/* frame += alpha * (gen - frame) inside the box; the changed pixels' bounding box. */
static void composite(uint8_t *frame, int w, const uint8_t *gbox, const float *alpha, const int box[4], fs_region *r) {
    int bw = box[2] - box[0], bh = box[3] - box[1], x1 = -1, y1 = -1, xa = 1 << 30, ya = 1 << 30;
    for (int y = 0; y < bh; y++)
        for (int x = 0; x < bw; x++) {
            float a = alpha[(size_t)y * bw + x];
            if (a < ALPHA_MIN) continue;
            if (a > 1) a = 1;
            uint8_t *f = frame + ((size_t)(box[1] + y) * w + box[0] + x) * 3;
            const uint8_t *g = gbox + ((size_t)y * bw + x) * 3;
            for (int c = 0; c < 3; c++) f[c] = (uint8_t)(f[c] + a * (g[c] - f[c]) + 0.5f);
            xa = x < xa ? x : xa, ya = y < ya ? y : ya, x1 = x > x1 ? x : x1, y1 = y > y1 ? y : y1;
        }
    if (x1 < 0) *r = (fs_region){0, 0, 0, 0};
    else *r = (fs_region){box[0] + xa, box[1] + ya, x1 - xa + 1, y1 - ya + 1};
}

int fs_blend_face(uint8_t *frame, int w, int h, const uint8_t *gen, const uint8_t *mask, int S, const double M[2][3],
                  const fs_blend_opts *o, fs_region *changed) {
    double inv[2][3];
    int erode, blur, box[4];
    *changed = (fs_region){0, 0, 0, 0};
    if (fs_align_invert(M, inv)) return -1;
    fs_blend_widths(o, S, M, &erode, &blur);
    if (!face_box(inv, S, blur + 2, w, h, box)) return 0;
    int bw = box[2] - box[0], bh = box[3] - box[1];
    float *alpha = fs_malloc(sizeof(float) * (size_t)bw * bh);
    uint8_t *gbox = fs_malloc((size_t)bw * bh * 3);
    warp_mask(mask, S, M, box[0], box[1], bw, bh, alpha);
    filter_2d(alpha, bw, bh, erode, 1);
    for (int pass = 0; pass < 2; pass++) filter_2d(alpha, bw, bh, blur / 2, 0);
    /* face -> box coordinates: the inverse matrix, then the box's origin moved to 0 */
    double fb[2][3] = {{inv[0][0], inv[0][1], inv[0][2] - box[0]}, {inv[1][0], inv[1][1], inv[1][2] - box[1]}};
    fs_align_warp(gen, S, S, fb, gbox, bw, bh);
    composite(frame, w, gbox, alpha, box, changed);
    free(alpha);
    free(gbox);
    return 0;
}
