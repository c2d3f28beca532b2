/* test_blend.c — data/blend: colour matching (avg gives the original's Lab mean and spread,
 * hist its per-channel quantiles, none nothing), and the blend back into the frame (the
 * generated face where the mask is whole, every pixel outside the changed region exactly as
 * it was, erosion shrinking and feathering widening that region by their widths, a soft edge,
 * a singular matrix refused). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/blend.h"
#include "tests/check.h"

enum { S = 32, W = 160, H = 120 };

/* sRGB -> L*a*b* (D65), independently of blend.c's code. */
static void lab(const uint8_t *p, double out[3]) {
    double c[3];
    for (int i = 0; i < 3; i++) {
        double v = p[i] / 255.0;
        c[i] = v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
    }
    double xyz[3] = {(0.4124564 * c[0] + 0.3575761 * c[1] + 0.1804375 * c[2]) / 0.95047,
                     0.2126729 * c[0] + 0.7151522 * c[1] + 0.0721750 * c[2],
                     (0.0193339 * c[0] + 0.1191920 * c[1] + 0.9503041 * c[2]) / 1.08883};
    for (int i = 0; i < 3; i++) xyz[i] = xyz[i] > 216.0 / 24389 ? cbrt(xyz[i]) : (24389.0 / 27 * xyz[i] + 16) / 116;
    out[0] = 116 * xyz[1] - 16, out[1] = 500 * (xyz[0] - xyz[1]), out[2] = 200 * (xyz[1] - xyz[2]);
}

static void lab_stats(const uint8_t *img, double mean[3], double sd[3]) {
    double s[3] = {0}, s2[3] = {0}, v[3];
    for (int i = 0; i < S * S; i++) {
        lab(img + 3 * i, v);
        for (int c = 0; c < 3; c++) s[c] += v[c], s2[c] += v[c] * v[c];
    }
    for (int c = 0; c < 3; c++) mean[c] = s[c] / (S * S), sd[c] = sqrt(s2[c] / (S * S) - mean[c] * mean[c]);
}

/* Two faces of different colour and contrast (smooth, well inside 0..255). */
static void faces(uint8_t *gen, uint8_t *orig) {
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            uint8_t *g = gen + (y * S + x) * 3, *o = orig + (y * S + x) * 3;
            double u = sin(0.3 * x) * cos(0.2 * y), v = cos(0.25 * x + 0.1 * y);
            g[0] = (uint8_t)(120 + 40 * u), g[1] = (uint8_t)(100 + 30 * v), g[2] = (uint8_t)(90 + 20 * u);
            o[0] = (uint8_t)(170 + 25 * v), o[1] = (uint8_t)(120 + 20 * u), o[2] = (uint8_t)(100 + 15 * v);
        }
}

static void test_color(void) {
    uint8_t gen[S * S * 3], orig[S * S * 3], keep[S * S * 3], mask[S * S];
    memset(mask, 255, sizeof mask);
    faces(gen, orig);
    memcpy(keep, gen, sizeof gen);
    fs_color_match(gen, orig, mask, S, FS_COLOR_NONE);
    CHECK(!memcmp(gen, keep, sizeof gen), "none changed the face");
    fs_color_match(gen, orig, mask, S, FS_COLOR_AVG);
    double mg[3], sg[3], mo[3], so[3];
    lab_stats(gen, mg, sg);
    lab_stats(orig, mo, so);
    for (int c = 0; c < 3; c++) {
        CHECK(fabs(mg[c] - mo[c]) < 0.6, "avg: Lab channel %d mean %.2f, the original's %.2f", c, mg[c], mo[c]);
        CHECK(fabs(sg[c] - so[c]) < 0.6, "avg: Lab channel %d spread %.2f, the original's %.2f", c, sg[c], so[c]);
    }
    memcpy(gen, keep, sizeof gen);
    fs_color_match(gen, orig, mask, S, FS_COLOR_HIST);
    for (int c = 0; c < 3; c++) { /* the quartiles of each channel become the original's */
        int hg[256] = {0}, ho[256] = {0};
        for (int i = 0; i < S * S; i++) hg[gen[3 * i + c]]++, ho[orig[3 * i + c]]++;
        for (int q = 1; q < 4; q++) {
            int want = q * S * S / 4, a = 0, b = 0, sa = 0, sb = 0;
            while (sa + hg[a] < want) sa += hg[a++];
            while (sb + ho[b] < want) sb += ho[b++];
            CHECK(abs(a - b) <= 1, "hist: channel %d quartile %d is %d, the original's %d", c, q, a, b);
        }
    }
    /* statistics come from the mask's inside only: a face outside it does not move them */
    uint8_t half[S * S];
    for (int i = 0; i < S * S; i++) half[i] = (i % S) < S / 2 ? 255 : 0;
    memcpy(gen, keep, sizeof gen);
    uint8_t orig2[S * S * 3];
    memcpy(orig2, orig, sizeof orig);
    for (int y = 0; y < S; y++) memset(orig2 + (y * S + S / 2) * 3, 0, S / 2 * 3); /* black outside the mask */
    uint8_t gen2[S * S * 3];
    memcpy(gen2, keep, sizeof gen2);
    fs_color_match(gen, orig, half, S, FS_COLOR_AVG);
    fs_color_match(gen2, orig2, half, S, FS_COLOR_AVG);
    CHECK(!memcmp(gen, gen2, sizeof gen), "avg: pixels outside the mask changed the statistics");
}

/* A face of S px at (ox, oy) in the frame, k frame px per face px: frame-to-face matrix. */
static void place(double k, double ox, double oy, double M[2][3]) {
    M[0][0] = 1 / k, M[0][1] = 0, M[0][2] = -ox / k;
    M[1][0] = 0, M[1][1] = 1 / k, M[1][2] = -oy / k;
}

/* Blends a constant 200 face through a centred disc mask into a constant 50 frame. */
static void blend(int erode, int blur, uint8_t *frame, fs_region *r) {
    uint8_t gen[S * S * 3], mask[S * S];
    memset(gen, 200, sizeof gen);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            mask[y * S + x] = (x - 15.5) * (x - 15.5) + (y - 15.5) * (y - 15.5) <= 100 ? 255 : 0;
    memset(frame, 50, (size_t)W * H * 3);
    double M[2][3];
    place(2, 40, 20, M); /* the face square: frame x 40..104, y 20..84 */
    fs_blend_opts o = {.color = FS_COLOR_NONE, .erode = erode, .blur = blur};
    CHECK(fs_blend_face(frame, W, H, gen, mask, S, (const double(*)[3])M, &o, r) == 0, "blend failed");
}

static int outside_untouched(const uint8_t *frame, const fs_region *r) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int in = x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h;
            if (!in && memcmp(frame + (y * W + x) * 3, "\x32\x32\x32", 3)) return 0;
        }
    return 1;
}

static void test_blend(void) {
    static uint8_t frame[W * H * 3];
    fs_region r0, re, rb;
    blend(0, 0, frame, &r0);
    const uint8_t *c = frame + (52 * W + 72) * 3; /* the disc's centre */
    CHECK(c[0] == 200 && c[1] == 200 && c[2] == 200, "inside the mask: %d %d %d, expected the face's 200", c[0], c[1],
          c[2]);
    CHECK(outside_untouched(frame, &r0), "a pixel outside the changed region %d,%d %dx%d changed", r0.x, r0.y, r0.w,
          r0.h);
    /* the disc of radius 10 face px is 20 frame px: about 40 px wide around (72, 52) */
    CHECK(abs(r0.w - 42) <= 3 && abs(r0.h - 42) <= 3 && abs(r0.x - 51) <= 2 && abs(r0.y - 31) <= 2,
          "region %d,%d %dx%d; expected about 51,31 42x42", r0.x, r0.y, r0.w, r0.h);
    blend(4, 0, frame, &re);
    CHECK(outside_untouched(frame, &re), "eroded: a pixel outside the changed region changed");
    CHECK(abs((r0.w - re.w) - 8) <= 1 && abs((re.x - r0.x) - 4) <= 1, "erode 4: %dx%d at x %d from %dx%d at x %d", re.w,
          re.h, re.x, r0.w, r0.h, r0.x);
    blend(0, 8, frame, &rb);
    CHECK(outside_untouched(frame, &rb), "feathered: a pixel outside the changed region changed");
    CHECK(rb.w > r0.w && rb.w <= r0.w + 16 && rb.x >= r0.x - 8, "blur 8: %dx%d at x %d from %dx%d at x %d", rb.w, rb.h,
          rb.x, r0.w, r0.h, r0.x);
    const uint8_t *edge = frame + (52 * W + 52) * 3; /* on the disc's edge: between frame and face */
    CHECK(edge[0] > 60 && edge[0] < 190, "blur 8: the edge is %d, not between 50 and 200", edge[0]);
    int ew, eb;
    fs_blend_opts autos = {.erode = -1, .blur = -1};
    double M[2][3];
    place(2, 40, 20, M);
    fs_blend_widths(&autos, S, (const double(*)[3])M, &ew, &eb);
    CHECK(ew == (int)lround(FS_BLEND_ERODE_AUTO * 64) && eb == (int)lround(FS_BLEND_BLUR_AUTO * 64),
          "automatic widths %d, %d for a 64 px face square", ew, eb);
    /* a singular matrix is refused and changes nothing */
    uint8_t gen[S * S * 3], mask[S * S];
    memset(gen, 200, sizeof gen), memset(mask, 255, sizeof mask), memset(frame, 50, sizeof frame);
    double Z[2][3] = {{0, 0, 1}, {0, 0, 1}};
    fs_blend_opts o = {.erode = 0, .blur = 0};
    fs_region rz;
    CHECK(fs_blend_face(frame, W, H, gen, mask, S, (const double(*)[3])Z, &o, &rz) == -1,
          "a singular matrix was taken");
    CHECK(rz.w == 0 && outside_untouched(frame, &rz), "a singular matrix changed the frame");
}

int main(void) {
    test_color();
    test_blend();
    CHECK(fs_color_mode_parse("hist") == FS_COLOR_HIST && fs_color_mode_parse("sepia") == -1, "--color parsing");
    if (!failures) printf("blend: ok\n");
    return failures ? 1 : 0;
}
