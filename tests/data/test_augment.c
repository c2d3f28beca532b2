/* test_augment.c — augmentation: neutral settings are the identity, flip mirrors, rotation,
 * zoom (both sides of 1) and shift (a fraction of the size) follow cv2.getRotationMatrix2D,
 * the target does not depend on the warp, the warp is a small smooth displacement, and the
 * result is a pure function of the RNG key. */
#include <math.h>

#include "data/augment.h"
#include "tests/data/testutil.h"

enum { S = 64 };
#define FACE ((size_t)S * S * 3)

/* A linear ramp: bilinear sampling reproduces it exactly away from the borders. */
static void ramp(uint8_t *img) {
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++) img[((size_t)y * S + x) * 3 + c] = (uint8_t)(20 + 2 * x + y + 10 * c);
}

static void run(const fs_augment_opts *o, uint64_t key, const uint8_t *src, uint8_t *in, uint8_t *tg) {
    fs_augment_work w;
    fs_augment_work_init(&w, S);
    fs_rng r;
    fs_rng_init(&r, 99, 0, key);
    fs_augment(o, &r, &w, src, in, tg);
    fs_augment_work_free(&w);
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b) {
    double d = 0;
    for (size_t i = 0; i < FACE; i++) d += fabs((double)a[i] - b[i]);
    return d / FACE;
}

int main(void) {
    uint8_t *src = malloc(FACE), *face = malloc(FACE), *in = malloc(FACE), *tg = malloc(FACE);
    uint8_t *in2 = malloc(FACE), *tg2 = malloc(FACE);
    test_face(3, S, face);
    ramp(src);
    fs_augment_opts none = {0, 0, 0, 0, 0};
    run(&none, 1, face, in, tg);
    CHECK(!memcmp(tg, face, FACE) && !memcmp(in, face, FACE), "neutral settings must return the face unchanged");

    fs_augment_opts flip = {0, 0, 0, 1.0f, 0};
    run(&flip, 1, face, in, tg);
    int mirrored = 1;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            mirrored &= !memcmp(tg + ((size_t)y * S + x) * 3, face + ((size_t)y * S + S - 1 - x) * 3, 3);
    CHECK(mirrored, "flip probability 1 must mirror every row");
    /* Flip probability 0.5: a key's face is mirrored exactly when its fifth draw (after
     * rotation, zoom and the two shifts) is below 0.5; over 32 keys both outcomes occur. */
    fs_augment_opts half = {0, 0, 0, 0.5f, 0};
    int flips = 0, wrong = 0;
    for (uint64_t key = 40; key < 72; key++) {
        run(&half, key, face, in, tg);
        fs_rng rf;
        fs_rng_init(&rf, 99, 0, key);
        for (int k = 0; k < 4; k++) fs_rng_uniform(&rf);
        int want = fs_rng_uniform(&rf) < 0.5;
        int m = 1;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                m &= !memcmp(tg + ((size_t)y * S + x) * 3, face + ((size_t)y * S + S - 1 - x) * 3, 3);
        flips += m, wrong += m != want || (!m && memcmp(tg, face, FACE));
    }
    CHECK(!wrong && flips >= 8 && flips <= 24, "flip 0.5: %d of 32 keys mirrored, %d not as drawn", flips, wrong);

    /* Rotation only: the angle is the first draw of the key's stream. */
    fs_augment_opts rot = {10, 0, 0, 0, 0};
    run(&rot, 2, src, in, tg);
    fs_rng r;
    fs_rng_init(&r, 99, 0, 2);
    double th = fs_rng_range(&r, -10, 10) * M_PI / 180, c = S / 2, worst = 0;
    for (int y = 16; y < 48; y++)
        for (int x = 16; x < 48; x++) {
            double xs = c + cos(th) * (x - c) - sin(th) * (y - c), ys = c + sin(th) * (x - c) + cos(th) * (y - c);
            worst = fmax(worst, fabs(tg[((size_t)y * S + x) * 3] - (20 + 2 * xs + ys)));
        }
    CHECK(fabs(th) > 1e-3 && worst <= 1.0, "rotation by %.2f deg: worst error %.2f levels", th * 180 / M_PI, worst);

    /* Zoom only, then shift only: the scale is the second draw, the shifts (fractions of S) the
     * third and fourth; dst(x) = src(c + (x - c - t) / scale). Several keys, so that a range
     * drawn from only one side of 1 (or shifts not scaled by S) cannot pass. */
    for (uint64_t key = 5; key < 9; key++) {
        fs_augment_opts zs[2] = {{0, 0.2f, 0, 0, 0}, {0, 0, 0.1f, 0, 0}};
        for (int k = 0; k < 2; k++) {
            run(&zs[k], key, src, in, tg);
            fs_rng_init(&r, 99, 0, key);
            fs_rng_range(&r, 0, 0);
            double sc = fs_rng_range(&r, 1 - zs[k].zoom, 1 + zs[k].zoom);
            double tx = fs_rng_range(&r, -zs[k].shift, zs[k].shift) * S;
            double ty = fs_rng_range(&r, -zs[k].shift, zs[k].shift) * S;
            worst = 0;
            for (int y = 16; y < 48; y++)
                for (int x = 16; x < 48; x++) {
                    double xs = c + (x - c - tx) / sc, ys = c + (y - c - ty) / sc;
                    worst = fmax(worst, fabs(tg[((size_t)y * S + x) * 3] - (20 + 2 * xs + ys)));
                }
            CHECK(worst <= 1.0, "%s, key %d: scale %.3f shift (%.2f, %.2f) px: worst error %.2f levels",
                  k ? "shift" : "zoom", (int)key, sc, tx, ty, worst);
        }
    }

    /* Warp only, on the ramp: input - target = 2 dx + dy, dx and dy the displacement, which
     * interpolates control points moved by N(0, sigma = 5/256 S = 1.25 px) (bilinear: a
     * variance between 1/4 and 1 of theirs, 4/9 on average), so its RMS over the interior and
     * 16 keys is about sqrt(5 * 4/9) sigma = 1.9 levels (measured 1.78); twice sigma gives 3.5,
     * half 0.9. */
    fs_augment_opts warp = {0, 0, 0, 0, 1};
    double ss = 0;
    for (uint64_t key = 20; key < 36; key++) {
        run(&warp, key, src, in, tg);
        for (int y = 16; y < 48; y++)
            for (int x = 16; x < 48; x++) {
                double dv = (double)in[((size_t)y * S + x) * 3] - tg[((size_t)y * S + x) * 3];
                ss += dv * dv;
            }
    }
    double rms = sqrt(ss / (16.0 * 32 * 32));
    CHECK(rms > 1.3 && rms < 2.6, "warp: RMS input - target %.2f levels on the ramp, expected about 1.9", rms);

    fs_augment_opts full = {10, 0.05f, 0.05f, 0.5f, 1}, nowarp = full;
    nowarp.warp = 0;
    run(&full, 3, src, in, tg);
    run(&nowarp, 3, src, in2, tg2);
    CHECK(!memcmp(tg, tg2, FACE), "the target must not depend on the warp");
    double d = mean_abs_diff(in, tg);
    CHECK(d > 0.3 && d < 20, "warp: mean difference input/target %.2f levels, expected a small displacement", d);
    run(&full, 3, src, in2, tg2);
    CHECK(!memcmp(in, in2, FACE) && !memcmp(tg, tg2, FACE), "same key must give the same augmentation");
    run(&full, 4, src, in2, tg2);
    CHECK(memcmp(in, in2, FACE) != 0, "another key must give another augmentation");
    free(src), free(face), free(in), free(tg), free(in2), free(tg2);
    return test_done("data_augment");
}
