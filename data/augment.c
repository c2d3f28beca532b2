/* augment.c — see augment.h. */
#include "data/augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fs_augment_work_init(fs_augment_work *w, int S) {
    w->S = S;
    w->P = (int)(1.25 * S);
    w->mapx = fs_malloc(sizeof(float) * (size_t)S * S);
    w->mapy = fs_malloc(sizeof(float) * (size_t)S * S);
}

void fs_augment_work_free(fs_augment_work *w) {
    free(w->mapx), free(w->mapy);
    memset(w, 0, sizeof *w);
}

/* Inline on purpose: libm's fminf/fmaxf are out-of-line legacy-SSE calls, and in a thread
 * that inherited dirty upper AVX state each one costs a state transition (measured: a 20x
 * slower loader on this Xeon). */
static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Bilinear sample of src (C channels per pixel: 3 for faces, 1 for masks) at (x, y), edges
 * replicated (cv2.BORDER_REPLICATE). */
static inline void sample(const uint8_t *src, int S, int C, float x, float y, uint8_t *out) {
    x = clampf(x, 0.0f, (float)(S - 1));
    y = clampf(y, 0.0f, (float)(S - 1));
    int x0 = (int)x, y0 = (int)y, x1 = x0 + (x0 < S - 1), y1 = y0 + (y0 < S - 1);
    float fx = x - (float)x0, fy = y - (float)y0;
    const uint8_t *a = src + ((size_t)y0 * S + x0) * C, *b = src + ((size_t)y0 * S + x1) * C;
    const uint8_t *c = src + ((size_t)y1 * S + x0) * C, *d = src + ((size_t)y1 * S + x1) * C;
    for (int k = 0; k < C; k++) {
        float top = (float)a[k] + fx * (float)(b[k] - a[k]), bot = (float)c[k] + fx * (float)(d[k] - c[k]);
        out[k] = (uint8_t)(top + fy * (bot - top) + 0.5f);
    }
}

/* One draw of the random transform: M as cv2.getRotationMatrix2D about (S/2, S/2) with the
 * shift added, [[a, b, m02], [-b, a, m12]], and the flip. */
typedef struct xform {
    double a, b, m02, m12;
    int flip;
} xform;

static xform draw_transform(const fs_augment_opts *o, fs_rng *r, int S) {
    double rot = fs_rng_range(r, -o->rotation, o->rotation) * M_PI / 180.0;
    double scale = fs_rng_range(r, 1.0 - o->zoom, 1.0 + o->zoom);
    double tx = fs_rng_range(r, -o->shift, o->shift) * S, ty = fs_rng_range(r, -o->shift, o->shift) * S;
    xform t = {.flip = fs_rng_uniform(r) < o->flip};
    double c = (double)(S / 2);
    t.a = scale * cos(rot), t.b = scale * sin(rot);
    t.m02 = (1 - t.a) * c - t.b * c + tx, t.m12 = t.b * c + (1 - t.a) * c + ty;
    return t;
}

/* dst(x, y) = src(M^-1 (x', y)) with x' = S-1-x when flipped; C channels per pixel. */
static void apply_transform(const xform *t, int S, int C, const uint8_t *src, uint8_t *dst) {
    double a = t->a, b = t->b, det = a * a + b * b; /* inverse of [[a, b], [-b, a]] is [[a, -b], [b, a]] / det */
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double xd = (t->flip ? S - 1 - x : x) - t->m02, yd = y - t->m12;
            float sx = (float)((a * xd - b * yd) / det), sy = (float)((b * xd + a * yd) / det);
            sample(src, S, C, sx, sy, dst + ((size_t)y * S + x) * C);
        }
}

/* cv2.resize (INTER_LINEAR) of a 5x5 grid to P x P at output pixel (x, y): half-pixel
 * centres, source coordinates clamped to the grid. */
static float grid_at(const float g[5][5], int P, int x, int y) {
    float sx = clampf(((float)x + 0.5f) * 5.0f / (float)P - 0.5f, 0.0f, 4.0f);
    float sy = clampf(((float)y + 0.5f) * 5.0f / (float)P - 0.5f, 0.0f, 4.0f);
    int x0 = FS_MIN((int)sx, 3), y0 = FS_MIN((int)sy, 3);
    float fx = sx - (float)x0, fy = sy - (float)y0;
    float top = g[y0][x0] + fx * (g[y0][x0 + 1] - g[y0][x0]);
    float bot = g[y0 + 1][x0] + fx * (g[y0 + 1][x0 + 1] - g[y0 + 1][x0]);
    return top + fy * (bot - top);
}

static void random_warp(fs_rng *r, fs_augment_work *w, const uint8_t *src, uint8_t *dst) {
    const int S = w->S, P = w->P, crop = (P - S) / 2;
    const float sigma = 5.0f / 256.0f * (float)S;
    float gx[5][5], gy[5][5];
    for (int i = 0; i < 5; i++) /* x noise first, then y, as faceswap's (2, 5, 5) draw */
        for (int j = 0; j < 5; j++) gx[i][j] = (float)(S - 1) * (float)j / 4.0f + sigma * (float)fs_rng_normal(r);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) gy[i][j] = (float)(S - 1) * (float)i / 4.0f + sigma * (float)fs_rng_normal(r);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            w->mapx[y * S + x] = grid_at(gx, P, x + crop, y + crop);
            w->mapy[y * S + x] = grid_at(gy, P, x + crop, y + crop);
        }
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            sample(src, S, 3, w->mapx[y * S + x], w->mapy[y * S + x], dst + ((size_t)y * S + x) * 3);
}

void fs_augment(const fs_augment_opts *o, fs_rng *r, fs_augment_work *w, const uint8_t *src, uint8_t *input,
                uint8_t *target) {
    fs_augment_masked(o, r, w, src, NULL, input, target, NULL);
}

void fs_augment_masked(const fs_augment_opts *o, fs_rng *r, fs_augment_work *w, const uint8_t *src,
                       const uint8_t *src_mask, uint8_t *input, uint8_t *target, uint8_t *target_mask) {
    const uint8_t *sp[1] = {src_mask};
    uint8_t *dp[1] = {target_mask};
    fs_augment_planes(o, r, w, src, sp, dp, 1, input, target);
}

void fs_augment_planes(const fs_augment_opts *o, fs_rng *r, fs_augment_work *w, const uint8_t *src,
                       const uint8_t *const *src_planes, uint8_t *const *dst_planes, int n_planes, uint8_t *input,
                       uint8_t *target) {
    const xform t = draw_transform(o, r, w->S);
    apply_transform(&t, w->S, 3, src, target);
    for (int k = 0; k < n_planes; k++)
        if (src_planes[k] && dst_planes[k]) apply_transform(&t, w->S, 1, src_planes[k], dst_planes[k]);
    if (!input) return;
    if (o->warp) random_warp(r, w, target, input);
    else memcpy(input, target, (size_t)w->S * w->S * 3);
}
