/* test_watermark.c — the watermark's layers and promises: the check code rejects every single
 * bit error, the convolutional code corrects errors, marks are found at scale 1, 0.5 and 2
 * and after a contrast change, and in a region of a larger image (whose other pixels stay untouched), PSNR >= 40 dB,
 * unmarked images are not found, too-small regions are refused; mirrored and quarter-turned
 * copies are found by the orientation search, and unmarked images are not; marks of scheme
 * versions 1 and 2 (files written before version 3) still read; version 3's tail-biting code
 * corrects errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "data/synth.h"
#include "data/watermark.h"
#include "tests/check.h"

static void face(int s, int i, uint8_t *out) {
    fs_synth_identity id;
    fs_synth_identity_draw(&id, 5, i);
    fs_synth_render(&id, 5, i, i, s, out, NULL);
}

static void test_payload(void) {
    uint64_t p = fs_wm_payload(0x123456789abcULL);
    CHECK(p >> 16 == 0x123456789abcULL, "run tag kept: %016llx", (unsigned long long)p);
    CHECK(fs_wm_payload_valid(p), "payload %016llx valid", (unsigned long long)p);
    for (int b = 0; b < 64; b++) CHECK(!fs_wm_payload_valid(p ^ (1ULL << b)), "bit %d flipped still valid", b);
    CHECK(fs_wm_run_tag("runs/a") != fs_wm_run_tag("runs/b"), "run tags of two runs differ");
    CHECK(fs_wm_run_tag("runs/a") < (1ULL << 48), "run tag has 48 bits");
}

static void test_code(void) {
    uint64_t p = fs_wm_payload(0xfeedfacecafeULL);
    uint8_t c[FS_WM_CODED_BITS];
    float soft[FS_WM_CODED_BITS];
    fs_wm_conv_encode(p, c);
    for (int j = 0; j < FS_WM_CODED_BITS; j++) soft[j] = c[j] ? -1.0f : 1.0f;
    CHECK(fs_wm_viterbi(soft) == p, "clean codeword decodes");
    for (int j = 0; j < FS_WM_CODED_BITS; j += 23) soft[j] = -soft[j]; /* 7 spread hard errors */
    CHECK(fs_wm_viterbi(soft) == p, "7 spread bit errors corrected");
    for (int j = 1; j < FS_WM_CODED_BITS; j += 4) soft[j] = 0.0f; /* and a quarter erased */
    CHECK(fs_wm_viterbi(soft) == p, "errors plus erasures corrected");
}

/* Version 3's tail-biting code: a clean codeword decodes; spread errors, errors across the
 * block's wrap (the first and last code bits: tail-biting has no tail there) and erasures
 * are corrected; the encoder starts in the state it ends in (no tail bits: a payload and the
 * same payload rotated by one step give codewords rotated by one step). */
static void test_code3(void) {
    enum { N = FS_WM3_CODED_BITS, R = FS_WM3_RATE };
    uint64_t p = fs_wm_payload(0xfeedfacecafeULL);
    uint8_t c[N], cr[N];
    float soft[N];
    fs_wm3_encode(p, c);
    fs_wm3_encode(p << 1 | p >> 63, cr);
    int rotated = 1;
    for (int j = 0; j < N; j++) rotated &= cr[j] == c[(j + R) % N];
    CHECK(rotated, "tail-biting: the codeword of the payload rotated by one bit is the codeword rotated by %d", R);
    for (int j = 0; j < N; j++) soft[j] = c[j] ? -1.0f : 1.0f;
    CHECK(fs_wm3_decode(soft) == p, "version 3: clean codeword decodes");
    int flips = 0;
    for (int j = 5; j < N; j += 19) soft[j] = -soft[j], flips++; /* spread hard errors */
    CHECK(fs_wm3_decode(soft) == p, "version 3: %d spread bit errors corrected", flips);
    soft[0] = -soft[0], soft[N - 1] = -soft[N - 1]; /* and two across the wrap */
    CHECK(fs_wm3_decode(soft) == p, "version 3: errors across the wrap corrected");
    for (int j = 2; j < N; j += 4) soft[j] = 0.0f; /* and a quarter erased */
    CHECK(fs_wm3_decode(soft) == p, "version 3: errors plus erasures corrected");
    for (int k = 0; k < 64; k++) { /* every single payload bit changes the codeword and decodes */
        uint64_t q = p ^ (1ULL << k);
        fs_wm3_encode(q, c);
        for (int j = 0; j < N; j++) soft[j] = c[j] ? -0.5f : 0.5f;
        CHECK(fs_wm3_decode(soft) == q, "version 3: payload with bit %d flipped decodes", k);
    }
}

static void expect_found(const uint8_t *rgb, int stride, int w, int h, uint64_t want, const char *what) {
    fs_wm_result r;
    fs_wm_detect(rgb, stride, w, h, &r);
    CHECK(r.found && r.payload == want, "%s: found %d payload %016llx want %016llx corr %.3f", what, r.found,
          (unsigned long long)r.payload, (unsigned long long)want, r.correlation);
    CHECK(!r.found || r.p_false == FS_WM_P_FALSE, "%s: p_false %g", what, r.p_false);
    CHECK(!r.found || r.version == FS_WM_VERSION, "%s: read as version %d", what, r.version);
}

/* Files marked by earlier faceswarm (scheme versions 1 and 2) still read, as the version they
 * were marked with, also resized; version 3 marks read as version 3; every version keeps every
 * marked face >= 40 dB (versions 2 and 3 scale their first pass down to the floor) at the sizes
 * faces are written at. */
static void test_versions(void) {
    int n = 0, found[FS_WM_VERSIONS] = {0};
    double psnr_min[FS_WM_VERSIONS] = {99, 99, 99};
    for (int s = 64; s <= 128; s *= 2)
        for (int k = 0; k < 24; k++, n++) {
            uint8_t *a = malloc((size_t)s * s * 3), *m = malloc((size_t)s * s * 3),
                    *half = malloc((size_t)s * s * 3 / 4);
            face(s, 40 + k, a);
            uint64_t p = fs_wm_payload(0x5eed00 + (uint64_t)k);
            for (int v = 1; v <= FS_WM_VERSIONS; v++) {
                memcpy(m, a, (size_t)s * s * 3);
                CHECK(fs_wm_embed_version(m, s, s, s, p, v, NULL) == 0, "embed version %d", v);
                psnr_min[v - 1] = FS_MIN(psnr_min[v - 1], fs_wm_psnr(a, m, (size_t)s * s));
                fs_image_resize(m, s, s, half, s / 2, s / 2);
                fs_wm_result r, rh;
                fs_wm_detect(m, s, s, s, &r);
                fs_wm_detect(half, s / 2, s / 2, s / 2, &rh);
                int ok = r.found && r.payload == p && r.version == v && rh.found && rh.payload == p && rh.version == v;
                CHECK(ok, "%d px face %d, version %d: found %d/%d version %d/%d", s, k, v, r.found, rh.found, r.version,
                      rh.version);
                found[v - 1] += ok;
            }
            free(a), free(m), free(half);
        }
    CHECK(psnr_min[0] >= 40.0 && psnr_min[1] >= 40.0 && psnr_min[2] >= 40.0,
          "PSNR min: version 1 %.2f, version 2 %.2f, version 3 %.2f dB", psnr_min[0], psnr_min[1], psnr_min[2]);
    fs_error e = {0};
    uint8_t px[32 * 32 * 3] = {0};
    CHECK(fs_wm_embed_version(px, 32, 32, 32, 1, 4, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "version 4"),
          "version 4 refused: %s", e.msg);
    printf("versions: of %d faces, %d found as version 1, %d as version 2, %d as version 3 (also at half size); PSNR "
           "min %.2f / %.2f / %.2f\n",
           n, found[0], found[1], found[2], psnr_min[0], psnr_min[1], psnr_min[2]);
}

static void test_scales(void) {
    int s = 128;
    uint8_t *a = malloc((size_t)s * s * 3), *m = malloc((size_t)s * s * 3), *big = malloc((size_t)4 * s * s * 3);
    uint8_t *half = malloc((size_t)s * s * 3 / 4), *odd = malloc((size_t)96 * 80 * 3);
    face(s, 3, a);
    memcpy(m, a, (size_t)s * s * 3);
    uint64_t p = fs_wm_payload(42);
    CHECK(fs_wm_embed(m, s, s, s, p, NULL) == 0, "embed");
    double psnr = fs_wm_psnr(a, m, (size_t)s * s);
    CHECK(psnr >= 40.0, "PSNR %.2f dB", psnr);
    expect_found(m, s, s, s, p, "scale 1");
    fs_image_resize(m, s, s, half, s / 2, s / 2);
    expect_found(half, s / 2, s / 2, s / 2, p, "scale 0.5");
    fs_image_resize(m, s, s, big, 2 * s, 2 * s);
    expect_found(big, 2 * s, 2 * s, 2 * s, p, "scale 2");
    fs_image_resize(m, s, s, odd, 96, 80);
    expect_found(odd, 96, 96, 80, p, "96x80 (aspect changed)");
    for (size_t i = 0; i < (size_t)s * s * 3; i++) /* contrast x0.8 about mid-grey, as a levels change */
        m[i] = (uint8_t)(128.0 + (m[i] - 128.0) * 0.8 + 0.5);
    fs_wm_result r;
    fs_wm_detect(m, s, s, s, &r);
    CHECK(r.found && r.payload == p && r.gain > 0.78 && r.gain < 0.82, "contrast 0.8: found %d gain %.3f", r.found,
          r.gain);
    fs_wm_detect(a, s, s, s, &r);
    CHECK(!r.found, "unmarked original not found (corr %.3f)", r.correlation);
    free(a), free(m), free(big), free(half), free(odd);
}

/* A mark in one cell of a grid: found there, not in the whole image, and nothing outside the
 * cell changes. */
static void test_region(void) {
    int W = 200, H = 150, s = 64, x0 = 100, y0 = 40;
    uint8_t *img = malloc((size_t)W * H * 3), *orig = malloc((size_t)W * H * 3), *f = malloc((size_t)s * s * 3);
    for (size_t i = 0; i < (size_t)W * H * 3; i++) img[i] = (uint8_t)(40 + (i * 7) % 150);
    face(s, 9, f);
    for (int y = 0; y < s; y++) memcpy(img + ((size_t)(y0 + y) * W + x0) * 3, f + (size_t)y * s * 3, (size_t)s * 3);
    memcpy(orig, img, (size_t)W * H * 3);
    uint64_t p = fs_wm_payload(0xabcdef);
    uint8_t *cell = img + ((size_t)y0 * W + x0) * 3;
    CHECK(fs_wm_embed(cell, W, s, s, p, NULL) == 0, "embed region");
    expect_found(cell, W, s, s, p, "region");
    size_t changed_outside = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int inside = x >= x0 && x < x0 + s && y >= y0 && y < y0 + s;
            if (!inside)
                changed_outside += memcmp(img + ((size_t)y * W + x) * 3, orig + ((size_t)y * W + x) * 3, 3) != 0;
        }
    CHECK(changed_outside == 0, "%zu pixels outside the region changed", changed_outside);
    free(img), free(orig), free(f);
}

static void test_small(void) {
    uint8_t px[31 * 40 * 3] = {0};
    fs_error e = {0};
    CHECK(fs_wm_embed(px, 31, 31, 40, 1, &e) == FS_EXIT_BADINPUT, "31 px wide refused");
    CHECK(strstr(e.msg, "31x40") && strstr(e.msg, "at least 32"), "message names the size: %s", e.msg);
    fs_wm_result r;
    fs_wm_detect(px, 31, 31, 40, &r);
    CHECK(!r.found, "too small: not found");
}

/* Flat, saturated and noise images unmarked: never found (the check code and correlation). */
static void test_unmarked(void) {
    int s = 64, found = 0;
    uint8_t *px = malloc((size_t)s * s * 3);
    for (int k = 0; k < 300; k++) {
        fs_rng r;
        fs_rng_init(&r, 3, (uint64_t)k, 0);
        for (size_t i = 0; i < (size_t)s * s * 3; i++)
            px[i] = k < 3 ? (uint8_t)(k * 127) : (uint8_t)(k % 2 ? fs_rng_below(&r, 256) : 100 + fs_rng_below(&r, 20));
        fs_wm_result res;
        fs_wm_detect(px, s, s, s, &res);
        found += res.found;
    }
    CHECK(found == 0, "%d of 300 unmarked flat/noise images found", found);
    free(px);
}

/* rgb (w x h) turned: rotated 90 degrees clockwise (turn 1), mirrored left-right (turn 2); *nw, *nh
 * the copy's size. */
static uint8_t *turned(const uint8_t *rgb, int w, int h, int turn, int *nw, int *nh) {
    *nw = turn == 1 ? h : w, *nh = turn == 1 ? w : h;
    uint8_t *o = malloc((size_t)w * h * 3);
    for (int y = 0; y < *nh; y++)
        for (int x = 0; x < *nw; x++) {
            int sx = turn == 1 ? y : w - 1 - x, sy = turn == 1 ? h - 1 - x : y;
            memcpy(o + ((size_t)y * *nw + x) * 3, rgb + ((size_t)sy * w + sx) * 3, 3);
        }
    return o;
}

/* A mirrored or quarter-turned copy (non-square too) is missed by fs_wm_detect and found, with
 * its orientation named, by fs_wm_detect_oriented; compositions of the two reach all 8; 1000
 * unmarked faces (half of them with noise) give no false positive over the 8 orientations. */
static void test_orientations(void) {
    int w = 160, h = 96, found_plain = 0;
    uint8_t *a = malloc((size_t)w * h * 3);
    int seen[FS_WM_ORIENTATIONS] = {0};
    for (int k = 0; k < 8; k++) {
        uint8_t *sq = malloc((size_t)h * h * 3);
        face(h, k, sq);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                memcpy(a + ((size_t)y * w + x) * 3, sq + ((size_t)y * h + FS_MIN(x * h / w + (x & 1), h - 1)) * 3, 3);
        free(sq);
        uint64_t p = fs_wm_payload(0x0123456789aULL + (uint64_t)k);
        fs_wm_embed(a, w, w, h, p, NULL);
        /* k: k % 4 quarter turns clockwise, then mirrored when k >= 4: the 8 orientations */
        int cw = w, ch = h, nw, nh;
        uint8_t *c = malloc((size_t)w * h * 3);
        memcpy(c, a, (size_t)w * h * 3);
        for (int step = 0; step < k % 4 + (k >= 4); step++) {
            uint8_t *t = turned(c, cw, ch, step < k % 4 ? 1 : 2, &nw, &nh);
            free(c), c = t, cw = nw, ch = nh;
        }
        fs_wm_result r;
        int o;
        fs_wm_detect(c, cw, cw, ch, &r);
        found_plain += r.found;
        fs_wm_detect_oriented(c, cw, cw, ch, &r, &o);
        CHECK(r.found && r.payload == p, "turn %d: oriented detect found %d payload %016llx", k, r.found,
              (unsigned long long)r.payload);
        if (r.found) seen[o]++;
        if (k == 1)
            CHECK(!strcmp(fs_wm_orientation_name(o), "rotated 90 degrees clockwise"), "k 1: '%s'",
                  fs_wm_orientation_name(o));
        if (k == 2)
            CHECK(!strcmp(fs_wm_orientation_name(o), "rotated 180 degrees"), "k 2: '%s'", fs_wm_orientation_name(o));
        if (k == 3)
            CHECK(!strcmp(fs_wm_orientation_name(o), "rotated 90 degrees anticlockwise"), "k 3: '%s'",
                  fs_wm_orientation_name(o));
        if (k == 4)
            CHECK(!strcmp(fs_wm_orientation_name(o), "mirrored left-right"), "k 4: '%s'", fs_wm_orientation_name(o));
        if (k == 0) CHECK(o == 0 && r.p_false > FS_WM_P_FALSE, "as made: orientation %d, p_false %g", o, r.p_false);
        free(c);
    }
    CHECK(found_plain == 1, "fs_wm_detect found %d of 8 turned copies (only the unturned one expected)", found_plain);
    int distinct = 0;
    for (int o = 0; o < FS_WM_ORIENTATIONS; o++) distinct += seen[o] > 0;
    CHECK(distinct == 8, "the 8 turns gave %d distinct orientations", distinct);
    int fp = 0, s = 64;
    uint8_t *u = malloc((size_t)s * s * 3);
    for (int k = 0; k < 1000; k++) {
        face(s, 1000 + k, u);
        if (k % 2) {
            fs_rng r;
            fs_rng_init(&r, 9, (uint64_t)k, 0);
            for (size_t i = 0; i < (size_t)s * s * 3; i++)
                u[i] = (uint8_t)FS_MIN(255, u[i] / 2 + fs_rng_below(&r, 128));
        }
        fs_wm_result r;
        int o;
        fs_wm_detect_oriented(u, s, s, s, &r, &o);
        fp += r.found;
    }
    CHECK(fp == 0, "%d of 1000 unmarked images found over 8 orientations", fp);
    free(u), free(a);
}

int main(void) {
    test_payload();
    test_code();
    test_code3();
    test_scales();
    test_region();
    test_small();
    test_unmarked();
    test_orientations();
    test_versions();
    if (!failures) printf("provenance_watermark: all checks passed\n");
    return failures ? 1 : 0;
}
