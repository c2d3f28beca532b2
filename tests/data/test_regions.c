/* test_regions.c — data_regions: synth's landmarks and the eye and mouth regions.
 *   - the landmarks lie on the drawn features: in most samples the pixels inside each eye's
 *     hull are far from the skin between the eyes and the mouth (eye whites, irises, lids),
 *     the mouth hull holds the lip colour rather than skin, and the jaw points in the frame lie
 *     on the face mask's edge (face and background within 2 px);
 *   - the regions (data/regions.h) cover the hulls and are not empty;
 *   - the region maps follow the face under augmentation: a face whose three channels ARE
 *     the eye map, the mouth map and the mask comes out of fs_augment_planes with its target
 *     channels equal, byte for byte, to the planes put through the same call (rotation, zoom,
 *     shift, flip and warp on), and the faces come out as without planes;
 *   - through the loader (synth files, regions on, no augmentation but a flip of
 *     probability 1): every batch's eye and mouth maps are the mirrored regions of the
 *     file's landmarks;
 *   - a file without /landmarks with regions asked for: open fails with FS_EXIT_BADINPUT,
 *     naming the file and the setting. */
#include <math.h>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/regions.h"
#include "data/synth.h"
#include "tests/data/testutil.h"

enum { S = 64, COUNT = 40 };
#define PLANE ((size_t)S * S)

static double dist3(const uint8_t *a, const double *b) {
    double d = 0;
    for (int c = 0; c < 3; c++) d += ((double)a[c] - b[c]) * ((double)a[c] - b[c]);
    return sqrt(d);
}

/* Mean colour of rgb under plane (value > 127). Returns the pixel count. */
static int mean_under(const uint8_t *rgb, const uint8_t *plane, double out[3]) {
    int n = 0;
    out[0] = out[1] = out[2] = 0;
    for (size_t k = 0; k < PLANE; k++)
        if (plane[k] > 127) {
            for (int c = 0; c < 3; c++) out[c] += rgb[k * 3 + c];
            n++;
        }
    for (int c = 0; n && c < 3; c++) out[c] /= n;
    return n;
}

static const uint8_t *at(const uint8_t *img, int C, float x, float y) {
    int xi = (int)lroundf(x), yi = (int)lroundf(y);
    xi = xi < 0 ? 0 : xi >= S ? S - 1 : xi, yi = yi < 0 ? 0 : yi >= S ? S - 1 : yi;
    return img + ((size_t)yi * S + xi) * C;
}

static void check_synth_landmarks(void) {
    fs_synth_identity id;
    uint8_t *rgb = malloc(PLANE * 3), *mask = malloc(PLANE), *eye = malloc(PLANE), *mouth = malloc(PLANE);
    int eyes_ok = 0, mouth_ok = 0, jaw_on = 0, jaw_all = 0, n = 0;
    for (int who = 0; who < 2; who++) {
        fs_synth_identity_draw(&id, 3, who);
        for (long k = 0; k < COUNT; k++, n++) {
            float lm[68][2];
            fs_synth_render(&id, 3, who, k, S, rgb, mask);
            fs_synth_landmarks(&id, 3, who, k, S, lm);
            fs_face_regions((const float(*)[2])lm, S, eye, mouth);
            double skin[3], e[3], m[3];
            /* skin: the cheek point halfway between the image-left eye's outer corner and the mouth's left corner */
            const uint8_t *cheek = at(rgb, 3, (lm[36][0] + lm[48][0]) / 2, (lm[41][1] + lm[48][1]) / 2);
            for (int c = 0; c < 3; c++) skin[c] = cheek[c];
            int ne = mean_under(rgb, eye, e), nm = mean_under(rgb, mouth, m);
            eyes_ok += ne > 0 && dist3((const uint8_t[3]){(uint8_t)e[0], (uint8_t)e[1], (uint8_t)e[2]}, skin) > 25;
            mouth_ok += nm > 0 && dist3((const uint8_t[3]){(uint8_t)m[0], (uint8_t)m[1], (uint8_t)m[2]}, skin) > 15;
            for (int j = 3; j <= 13 && id.hair_style != 1; j++) { /* long hair covers the jaw's outside */
                int lo = 255, hi = 0, xi = (int)lroundf(lm[j][0]), yi = (int)lroundf(lm[j][1]);
                if (xi < 2 || yi < 2 || xi >= S - 2 || yi >= S - 2) continue; /* the chin may leave the frame */
                for (int dy = -2; dy <= 2; dy++)
                    for (int dx = -2; dx <= 2; dx++) {
                        int v = mask[(size_t)(yi + dy) * S + xi + dx];
                        lo = v < lo ? v : lo, hi = v > hi ? v : hi;
                    }
                jaw_on += lo < 55 && hi > 200, jaw_all++;
            }
            CHECK(ne > 4 && nm > 4, "sample %d/%ld: eye region %d px, mouth region %d px", who, k, ne, nm);
        }
    }
    printf("data_regions: of %d samples, eyes unlike skin in %d, mouth in %d; %d of %d jaw points on the mask edge\n",
           n, eyes_ok, mouth_ok, jaw_on, jaw_all);
    CHECK(eyes_ok >= n * 8 / 10, "the eye hulls hold eye colours in only %d of %d samples", eyes_ok, n);
    CHECK(mouth_ok >= n * 7 / 10, "the mouth hull holds lip colours in only %d of %d samples", mouth_ok, n);
    CHECK(jaw_all > n && jaw_on >= jaw_all * 9 / 10, "only %d of %d jaw points lie on the face mask's edge", jaw_on,
          jaw_all);
    free(rgb), free(mask), free(eye), free(mouth);
}

/* The planes go through the face's own transform: encode them as the face's channels. */
static void check_follow_augmentation(void) {
    fs_synth_identity id;
    fs_synth_identity_draw(&id, 3, 0);
    uint8_t *rgb = malloc(PLANE * 3), *mask = malloc(PLANE), *eye = malloc(PLANE), *mouth = malloc(PLANE);
    uint8_t *enc = malloc(PLANE * 3), *in1 = malloc(PLANE * 3), *tg1 = malloc(PLANE * 3);
    uint8_t *in2 = malloc(PLANE * 3), *tg2 = malloc(PLANE * 3), *out[3] = {malloc(PLANE), malloc(PLANE), malloc(PLANE)};
    fs_augment_opts o = {.rotation = 25, .zoom = 0.1f, .shift = 0.08f, .flip = 0.5f, .warp = 1};
    fs_augment_work w;
    fs_augment_work_init(&w, S);
    int moved = 0;
    for (long k = 0; k < 16; k++) {
        float lm[68][2];
        fs_synth_render(&id, 3, 0, k, S, rgb, mask);
        fs_synth_landmarks(&id, 3, 0, k, S, lm);
        fs_face_regions((const float(*)[2])lm, S, eye, mouth);
        for (size_t p = 0; p < PLANE; p++) enc[p * 3] = eye[p], enc[p * 3 + 1] = mouth[p], enc[p * 3 + 2] = mask[p];
        const uint8_t *sp[3] = {eye, mouth, mask};
        fs_rng r;
        fs_rng_init(&r, 5, 1, (uint64_t)k);
        fs_augment_planes(&o, &r, &w, enc, sp, out, 3, in1, tg1);
        int same = 1;
        for (size_t p = 0; p < PLANE; p++)
            for (int c = 0; c < 3; c++) same &= tg1[p * 3 + c] == out[c][p];
        CHECK(same, "sample %ld: the planes did not follow the face's transform", k);
        moved += memcmp(out[0], eye, PLANE) != 0;
        fs_rng_init(&r, 5, 1, (uint64_t)k);
        fs_augment(&o, &r, &w, enc, in2, tg2);
        CHECK(!memcmp(in1, in2, PLANE * 3) && !memcmp(tg1, tg2, PLANE * 3),
              "sample %ld: the planes changed the augmented face", k);
    }
    CHECK(moved >= 14, "the augmentation left the eye map in place in %d of 16 samples", 16 - moved);
    fs_augment_work_free(&w);
    free(rgb), free(mask), free(eye), free(mouth), free(enc), free(in1), free(tg1), free(in2), free(tg2);
    for (int c = 0; c < 3; c++) free(out[c]);
}

static int open_loader(const char *dir, int regions, fs_loader **L, fs_error *e) {
    static char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s/A.h5", dir), snprintf(pb, sizeof pb, "%s/B.h5", dir);
    const char *paths[2] = {pa, pb};
    fs_loader_opts o = {.paths = paths,
                        .n_identities = 2,
                        .resolution = S,
                        .global_batch = 4,
                        .rank = 0,
                        .world = 1,
                        .seed = 11,
                        .prefetch = 1,
                        .threads = 1,
                        .flip = 1.0f,
                        .regions = regions,
                        .regions_why = "train.eye_multiplier = 3"};
    return fs_loader_open(L, &o, e);
}

static void check_loader(void) {
    const char *dir = test_dir("regions");
    fs_error e = {0};
    CHECK(fs_synth_write(dir, 2, 12, S, 3, &e) == 0, "synth: %s", e.msg);
    fs_loader *L;
    if (open_loader(dir, 1, &L, &e)) {
        CHECK(0, "loader with regions: %s", e.msg);
        return;
    }
    uint8_t *eye = malloc(PLANE), *mouth = malloc(PLANE);
    int bad = 0, nonempty = 0;
    for (int step = 0; step < 3; step++) {
        const fs_batch *B = fs_loader_next(L, &e);
        CHECK(B && B->eye && B->mouth, "batch %d: no regions (%s)", step, e.msg);
        if (!B || !B->eye) break;
        for (int i = 0; i < 2; i++) {
            char path[600];
            snprintf(path, sizeof path, "%s/%s.h5", dir, i ? "B" : "A");
            fs_faces *f;
            CHECK(fs_faces_open(&f, path, NULL, &e) == 0, "%s", e.msg);
            for (int j = 0; j < 4; j++) {
                long idx = fs_loader_index(L, i, (long)step * 4 + j);
                float lm[68][2];
                CHECK(fs_faces_read_landmarks_index(f, &idx, 1, &lm[0][0], &e) == 0, "%s", e.msg);
                fs_face_regions((const float(*)[2])lm, S, eye, mouth);
                const uint8_t *be = B->eye + ((size_t)i * 4 + j) * PLANE, *bm = B->mouth + ((size_t)i * 4 + j) * PLANE;
                for (int y = 0; y < S; y++)
                    for (int x = 0; x < S; x++) {
                        bad += be[y * S + x] != eye[y * S + S - 1 - x] || bm[y * S + x] != mouth[y * S + S - 1 - x];
                        nonempty += be[y * S + x] > 0;
                    }
            }
            fs_faces_close(f);
        }
    }
    CHECK(bad == 0 && nonempty > 0, "loader: %d region pixels differ from the mirrored landmark regions (%d set)", bad,
          nonempty);
    fs_loader_close(L);
    free(eye), free(mouth);
}

/* tests/fixtures/v1 files have no /landmarks. */
static void check_missing_landmarks(void) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    static char pa[1200], pb[1200];
    snprintf(pa, sizeof pa, "%s/tests/fixtures/v1/A.h5", src ? src : ".");
    snprintf(pb, sizeof pb, "%s/tests/fixtures/v1/B.h5", src ? src : ".");
    const char *paths[2] = {pa, pb};
    fs_loader_opts o = {.paths = paths,
                        .n_identities = 2,
                        .resolution = 16,
                        .global_batch = 2,
                        .rank = 0,
                        .world = 1,
                        .seed = 1,
                        .prefetch = 1,
                        .threads = 1,
                        .regions = 1,
                        .regions_why = "train.mouth_multiplier = 2"};
    fs_loader *L = NULL;
    fs_error e = {0};
    int rc = fs_loader_open(&L, &o, &e);
    CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, "A.h5") && strstr(e.msg, "/landmarks") &&
              strstr(e.msg, "train.mouth_multiplier = 2"),
          "a file without /landmarks: rc %d, message: %s", rc, e.msg);
    if (!rc) fs_loader_close(L);
    o.regions = 0;
    rc = fs_loader_open(&L, &o, &e);
    CHECK(rc == 0, "the same files without regions must open: %s", e.msg);
    if (!rc) fs_loader_close(L);
}

int main(void) {
    check_synth_landmarks();
    check_follow_augmentation();
    check_loader();
    check_missing_landmarks();
    if (g_failures) {
        fprintf(stderr, "data_regions: %d checks failed\n", g_failures);
        return 1;
    }
    printf("data_regions: landmarks on the features, regions follow the face, missing landmarks refused\n");
    return 0;
}
