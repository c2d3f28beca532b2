/* align.c — see align.h. */
#include "data/align.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* dlib's mean face shape for the 68-point model, points 17..67, in the unit square: the same
 * numbers faceswap's lib/align (_MEAN_FACE, "legacy" centring) and DeepFaceLab's
 * LandmarksProcessor (landmarks_2D) align onto; numeric facts, quoted to their published
 * precision. */
const double fs_align_mean_face[FS_ALIGN_POINTS - FS_ALIGN_FIRST][2] = {
    {0.000213256, 0.106454}, {0.0752622, 0.038915}, {0.18113, 0.0187482},  {0.29077, 0.0344891}, {0.393397, 0.0773906},
    {0.586856, 0.0773906},   {0.689483, 0.0344891}, {0.799124, 0.0187482}, {0.904991, 0.038915}, {0.98004, 0.106454},
    {0.490127, 0.203352},    {0.490127, 0.307009},  {0.490127, 0.409805},  {0.490127, 0.515625}, {0.36688, 0.587326},
    {0.426036, 0.609345},    {0.490127, 0.628106},  {0.554217, 0.609345},  {0.613373, 0.587326}, {0.121737, 0.216423},
    {0.187122, 0.178758},    {0.265825, 0.179852},  {0.334606, 0.231733},  {0.260918, 0.245099}, {0.182743, 0.244077},
    {0.645647, 0.231733},    {0.714428, 0.179852},  {0.793132, 0.178758},  {0.858516, 0.216423}, {0.79751, 0.244077},
    {0.719335, 0.245099},    {0.254149, 0.780233},  {0.340985, 0.745405},  {0.428858, 0.727388}, {0.490127, 0.742578},
    {0.551395, 0.727388},    {0.639268, 0.745405},  {0.726104, 0.780233},  {0.642159, 0.864805}, {0.556721, 0.902192},
    {0.490127, 0.909281},    {0.423532, 0.902192},  {0.338094, 0.864805},  {0.290379, 0.784792}, {0.428096, 0.778746},
    {0.490127, 0.785343},    {0.552157, 0.778746},  {0.689874, 0.784792},  {0.553364, 0.824182}, {0.490127, 0.831803},
    {0.42689, 0.824182},
};

/* In 2-D, Umeyama's SVD solution with its reflection guard reduces to a closed form: with
 * centred points, a = Σ s·d and b = Σ s×d, the rotation is atan2(b, a) and the scale
 * sqrt(a² + b²) / Σ|s|² (the sum of the cross-covariance's singular values with the sign
 * the guard gives the smaller one). No SVD, and the same numbers. */
int fs_align_umeyama(const double (*src)[2], const double (*dst)[2], int n, double M[2][3]) {
    double ms[2] = {0, 0}, md[2] = {0, 0};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) ms[k] += src[i][k], md[k] += dst[i][k];
    for (int k = 0; k < 2; k++) ms[k] /= n, md[k] /= n;
    double a = 0, b = 0, var = 0;
    for (int i = 0; i < n; i++) {
        double sx = src[i][0] - ms[0], sy = src[i][1] - ms[1], dx = dst[i][0] - md[0], dy = dst[i][1] - md[1];
        a += sx * dx + sy * dy;
        b += sx * dy - sy * dx;
        var += sx * sx + sy * sy;
    }
    if (var <= 0 || (a == 0 && b == 0)) return -1;
    double c = a / var, s = b / var; /* scale·cos θ, scale·sin θ */
    M[0][0] = c, M[0][1] = -s, M[0][2] = md[0] - (c * ms[0] - s * ms[1]);
    M[1][0] = s, M[1][1] = c, M[1][2] = md[1] - (s * ms[0] + c * ms[1]);
    return 0;
}

int fs_align_matrix(const float pts[FS_ALIGN_POINTS][2], int S, double coverage, double M[2][3]) {
    enum { N = FS_ALIGN_POINTS - FS_ALIGN_FIRST };
    double src[N][2];
    for (int i = 0; i < N; i++) src[i][0] = pts[FS_ALIGN_FIRST + i][0], src[i][1] = pts[FS_ALIGN_FIRST + i][1];
    if (fs_align_umeyama((const double(*)[2])src, fs_align_mean_face, N, M)) return -1;
    /* The unit square onto [pad, S - pad]: faceswap's mat * (size - 2·padding) + padding. */
    double pad = S * (1.0 - coverage) / 2, span = S - 2 * pad;
    for (int r = 0; r < 2; r++) {
        for (int k = 0; k < 3; k++) M[r][k] *= span;
        M[r][2] += pad;
    }
    return 0;
}

int fs_align_invert(const double M[2][3], double inv[2][3]) {
    double det = M[0][0] * M[1][1] - M[0][1] * M[1][0];
    if (det == 0 || !isfinite(det)) return -1;
    double a = M[1][1] / det, b = -M[0][1] / det, c = -M[1][0] / det, d = M[0][0] / det;
    inv[0][0] = a, inv[0][1] = b, inv[0][2] = -(a * M[0][2] + b * M[1][2]);
    inv[1][0] = c, inv[1][1] = d, inv[1][2] = -(c * M[0][2] + d * M[1][2]);
    return 0;
}

void fs_align_apply(const double M[2][3], const float (*in)[2], float (*out)[2], int n) {
    for (int i = 0; i < n; i++) {
        double x = in[i][0], y = in[i][1];
        out[i][0] = (float)(M[0][0] * x + M[0][1] * y + M[0][2]);
        out[i][1] = (float)(M[1][0] * x + M[1][1] * y + M[1][2]);
    }
}

/* One bilinear sample of channel-interleaved frame at (x, y); taps outside are 0. */
static void sample(const uint8_t *frame, int w, int h, double x, double y, uint8_t out[3]) {
    double fx = floor(x), fy = floor(y), ax = x - fx, ay = y - fy;
    int x0 = (int)fx, y0 = (int)fy;
    double acc[3] = {0, 0, 0};
    for (int t = 0; t < 4; t++) {
        int xi = x0 + (t & 1), yi = y0 + (t >> 1);
        double wt = ((t & 1) ? ax : 1 - ax) * ((t >> 1) ? ay : 1 - ay);
        if (xi < 0 || yi < 0 || xi >= w || yi >= h || wt == 0) continue;
        const uint8_t *p = frame + ((size_t)yi * w + xi) * 3;
        for (int k = 0; k < 3; k++) acc[k] += wt * p[k];
    }
    for (int k = 0; k < 3; k++) out[k] = (uint8_t)(acc[k] + 0.5 > 255 ? 255 : acc[k] + 0.5);
}

void fs_align_warp(const uint8_t *src, int sw, int sh, const double M[2][3], uint8_t *dst, int dw, int dh) {
    double inv[2][3];
    if (fs_align_invert(M, inv)) {
        memset(dst, 0, (size_t)dw * dh * 3);
        return;
    }
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++)
            sample(src, sw, sh, inv[0][0] * x + inv[0][1] * y + inv[0][2], inv[1][0] * x + inv[1][1] * y + inv[1][2],
                   dst + ((size_t)y * dw + x) * 3);
}

static double cross(const double o[2], const double a[2], const double b[2]) {
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

static int cmp_pt(const void *pa, const void *pb) {
    const double *a = pa, *b = pb;
    return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1];
}

/* Andrew's monotone chain: the hull counter-clockwise (in y-down pixels: clockwise on
 * screen) into h, returns its size. */
static int hull(double (*p)[2], int n, double (*h)[2]) {
    qsort(p, (size_t)n, sizeof p[0], cmp_pt);
    int k = 0;
    for (int i = 0; i < n; i++) {
        while (k >= 2 && cross(h[k - 2], h[k - 1], p[i]) <= 0) k--;
        memcpy(h[k++], p[i], sizeof p[0]);
    }
    for (int i = n - 2, lo = k + 1; i >= 0; i--) {
        while (k >= lo && cross(h[k - 2], h[k - 1], p[i]) <= 0) k--;
        memcpy(h[k++], p[i], sizeof p[0]);
    }
    return k > 1 ? k - 1 : k;
}

static int inside(double (*h)[2], int k, double x, double y) {
    double q[2] = {x, y};
    for (int i = 0; i < k; i++)
        if (cross(h[i], h[(i + 1) % k], q) < 0) return 0;
    return 1;
}

/* Row y of a convex hull is one run of pixels: each edge bounds x on one side (the cross
 * product is linear in x). The ends are then settled with the exact test, so the run is the
 * pixels whose centres pass inside() — the same set a test of every pixel gives. */
static int row_span(double (*h)[2], int k, int y, int xa, int xb, int span[2]) {
    double lo = xa, hi = xb;
    for (int i = 0; i < k; i++) {
        const double *o = h[i], *a = h[(i + 1) % k];
        double dx = a[0] - o[0], dy = a[1] - o[1], c = dx * (y - o[1]); /* inside: c - dy (x - o0) >= 0 */
        if (dy > 0) hi = fmin(hi, o[0] + c / dy);
        else if (dy < 0) lo = fmax(lo, o[0] + c / dy);
        else if (c < 0) return 0;
    }
    int xl = (int)fmax(xa, ceil(lo) - 1), xr = (int)fmin(xb, floor(hi) + 1);
    while (xl <= xr && !inside(h, k, xl, y)) xl++;
    while (xr >= xl && !inside(h, k, xr, y)) xr--;
    span[0] = xl, span[1] = xr;
    return xl <= xr;
}

void fs_align_hull_mask(const float (*pts)[2], int n, int S, uint8_t *mask) {
    double p[FS_ALIGN_POINTS * 2][2], h[FS_ALIGN_POINTS * 2 + 1][2];
    if (n > FS_ALIGN_POINTS * 2) n = FS_ALIGN_POINTS * 2;
    for (int i = 0; i < n; i++) p[i][0] = pts[i][0], p[i][1] = pts[i][1];
    int k = hull(p, n, h);
    memset(mask, 0, (size_t)S * S);
    if (k < 3) return;
    double x0 = h[0][0], x1 = x0, y0 = h[0][1], y1 = y0;
    for (int i = 1; i < k; i++)
        x0 = fmin(x0, h[i][0]), x1 = fmax(x1, h[i][0]), y0 = fmin(y0, h[i][1]), y1 = fmax(y1, h[i][1]);
    int xa = (int)fmax(0, ceil(x0)), xb = (int)fmin(S - 1, floor(x1));
    int ya = (int)fmax(0, ceil(y0)), yb = (int)fmin(S - 1, floor(y1));
    for (int y = ya; y <= yb; y++) {
        int span[2];
        if (row_span(h, k, y, xa, xb, span))
            memset(mask + (size_t)y * S + span[0], 255, (size_t)(span[1] - span[0] + 1));
    }
}
