/* test_align.c — data/align: the similarity fit recovers known transforms (and never a
 * reflection), the face matrix places the mean face where faceswap's does, inversion, the
 * bilinear warp and the hull mask. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/align.h"
#include "tests/check.h"

enum { NT = FS_ALIGN_POINTS - FS_ALIGN_FIRST };

static void similarity(double scale, double deg, double tx, double ty, double M[2][3]) {
    double th = deg * acos(-1.0) / 180;
    M[0][0] = scale * cos(th), M[0][1] = -scale * sin(th), M[0][2] = tx;
    M[1][0] = scale * sin(th), M[1][1] = scale * cos(th), M[1][2] = ty;
}

static double max_diff(const double A[2][3], const double B[2][3]) {
    double m = 0;
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 3; k++) m = fmax(m, fabs(A[r][k] - B[r][k]));
    return m;
}

static void map(const double M[2][3], const double in[2], double out[2]) {
    out[0] = M[0][0] * in[0] + M[0][1] * in[1] + M[0][2];
    out[1] = M[1][0] * in[0] + M[1][1] * in[1] + M[1][2];
}

static void test_umeyama(void) {
    double M[2][3], got[2][3], dst[NT][2];
    similarity(173.5, 23.0, 41.25, -7.5, M);
    for (int i = 0; i < NT; i++) map(M, fs_align_mean_face[i], dst[i]);
    CHECK(fs_align_umeyama(fs_align_mean_face, (const double(*)[2])dst, NT, got) == 0, "fit failed");
    CHECK(max_diff(M, got) < 1e-9, "recovered matrix differs by %g", max_diff(M, got));
    /* A mirrored target: the best proper similarity, never a reflection (det > 0). */
    for (int i = 0; i < NT; i++) dst[i][0] = -dst[i][0];
    CHECK(fs_align_umeyama(fs_align_mean_face, (const double(*)[2])dst, NT, got) == 0, "fit failed");
    CHECK(got[0][0] * got[1][1] - got[0][1] * got[1][0] > 0, "a reflection was returned");
    double same[NT][2];
    for (int i = 0; i < NT; i++) same[i][0] = same[i][1] = 5;
    CHECK(fs_align_umeyama((const double(*)[2])same, (const double(*)[2])same, NT, got) == -1,
          "degenerate points were fitted");
}

/* Landmarks made from the mean face by a known frame transform: the face matrix must map
 * them onto pad + span·mean (faceswap: mat·(size − 2·padding) + padding), i.e. be the
 * inverse of that transform composed with the unit-square placement. */
static void test_face_matrix(void) {
    const int S = 256;
    const double cov = FS_ALIGN_COVERAGE_DEFAULT, pad = S * (1 - cov) / 2, span = S - 2 * pad;
    CHECK(fabs(pad - 0.1875 * S) < 1e-12, "default coverage is not faceswap's legacy padding: pad %g", pad);
    double T[2][3];
    similarity(310.0, -11.0, 400.0, 260.0, T); /* unit square -> frame */
    float pts[FS_ALIGN_POINTS][2];
    for (int i = 0; i < FS_ALIGN_POINTS; i++) {
        const double *u = fs_align_mean_face[i < FS_ALIGN_FIRST ? 0 : i - FS_ALIGN_FIRST];
        double p[2];
        map(T, u, p);
        pts[i][0] = (float)p[0], pts[i][1] = (float)p[1];
    }
    double M[2][3], inv[2][3];
    CHECK(fs_align_matrix((const float(*)[2])pts, S, cov, M) == 0, "face matrix failed");
    float out[FS_ALIGN_POINTS][2];
    fs_align_apply(M, (const float(*)[2])pts, out, FS_ALIGN_POINTS);
    double worst = 0;
    for (int i = FS_ALIGN_FIRST; i < FS_ALIGN_POINTS; i++)
        for (int k = 0; k < 2; k++)
            worst = fmax(worst, fabs(out[i][k] - (pad + span * fs_align_mean_face[i - FS_ALIGN_FIRST][k])));
    CHECK(worst < 1e-3, "aligned landmarks are off the template by %g px", worst);
    CHECK(fs_align_invert(M, inv) == 0, "invert failed");
    double back[2], p0[2] = {pts[30][0], pts[30][1]}, q[2];
    map(M, p0, q);
    map(inv, q, back);
    CHECK(fabs(back[0] - p0[0]) < 1e-9 && fabs(back[1] - p0[1]) < 1e-9, "inverse round trip off");
    double sing[2][3] = {{1, 2, 0}, {2, 4, 0}};
    CHECK(fs_align_invert(sing, inv) == -1, "a singular matrix was inverted");
}

static void test_warp(void) {
    enum { W = 17, H = 13 };
    uint8_t src[H][W][3], dst[H][W][3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            src[y][x][0] = (uint8_t)(x * 10), src[y][x][1] = (uint8_t)(y * 10), src[y][x][2] = 7;
    double M[2][3] = {{1, 0, 2}, {0, 1, 3}}; /* src (x, y) lands at dst (x+2, y+3) */
    fs_align_warp(&src[0][0][0], W, H, M, &dst[0][0][0], W, H);
    int bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int in = x >= 2 && y >= 3;
            for (int k = 0; k < 3; k++) bad += dst[y][x][k] != (in ? src[y - 3][x - 2][k] : 0);
        }
    CHECK(bad == 0, "integer shift: %d wrong samples", bad);
    /* Half a pixel: the mean of two neighbours. */
    double half[2][3] = {{1, 0, 0.5}, {0, 1, 0}};
    fs_align_warp(&src[0][0][0], W, H, half, &dst[0][0][0], W, H);
    CHECK(dst[4][5][0] == 45 && dst[4][5][1] == 40, "bilinear half-pixel sample %d,%d; expected 45,40", dst[4][5][0],
          dst[4][5][1]);
}

static void test_hull(void) {
    enum { S = 32 };
    float pts[6][2] = {{10, 10}, {20, 10}, {20, 20}, {10, 20}, {15, 15}, {12, 17}};
    uint8_t mask[S * S];
    fs_align_hull_mask((const float(*)[2])pts, 6, S, mask);
    int n = 0, outside = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            n += mask[y * S + x] == 255;
            outside += mask[y * S + x] && (x < 10 || x > 20 || y < 10 || y > 20);
        }
    CHECK(n == 121 && outside == 0, "square hull: %d pixels (%d outside); expected 121 (11x11, edges included)", n,
          outside);
    float tri[3][2] = {{0, 0}, {31, 0}, {0, 31}};
    fs_align_hull_mask((const float(*)[2])tri, 3, S, mask);
    CHECK(mask[5 * S + 5] == 255 && mask[30 * S + 30] == 0, "triangle hull wrong");
}

/* The row-run fill against the definition: a pixel is in the mask when its centre is inside
 * or on the hull, i.e. on the inner side of every edge of the hull of the points. The hull is
 * taken here by brute force (an edge of the hull has every point on one side). */
static int in_hull(const float (*pts)[2], int n, double x, double y) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i == j || (pts[i][0] == pts[j][0] && pts[i][1] == pts[j][1])) continue;
            double ex = pts[j][0] - pts[i][0], ey = pts[j][1] - pts[i][1];
            int left = 0, right = 0;
            for (int m = 0; m < n; m++) {
                double c = ex * (pts[m][1] - pts[i][1]) - ey * (pts[m][0] - pts[i][0]);
                left += c > 1e-9, right += c < -1e-9;
            }
            if (left && right) continue; /* not a hull edge */
            double c = ex * (y - pts[i][1]) - ey * (x - pts[i][0]);
            if ((left && c < -1e-9) || (right && c > 1e-9)) return 0;
        }
    return 1;
}

static void test_hull_random(void) {
    enum { S = 64, N = 12 };
    float pts[N][2];
    uint8_t mask[S * S];
    int bad = 0;
    uint32_t r = 12345;
    for (int t = 0; t < 40; t++) {
        for (int i = 0; i < N; i++)
            for (int k = 0; k < 2; k++) {
                r = r * 1664525u + 1013904223u;
                /* Half the sets on the pixel grid (points exactly on pixel centres and edges
                 * through them), half anywhere, some beyond the face. */
                double v = (r >> 8) / 16777216.0 * (S + 8) - 4;
                pts[i][k] = (float)(t % 2 ? floor(v) : v);
            }
        fs_align_hull_mask((const float(*)[2])pts, N, S, mask);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) bad += (mask[y * S + x] == 255) != in_hull((const float(*)[2])pts, N, x, y);
    }
    CHECK(bad == 0, "hull mask: %d pixels differ from the definition over 40 random hulls", bad);
}

int main(void) {
    test_umeyama();
    test_face_matrix();
    test_warp();
    test_hull();
    test_hull_random();
    if (!failures) printf("extract_align: ok\n");
    return failures ? 1 : 0;
}
