/* test_masks.c — masks_data: the optional /masks of schema v1 from the writer to the batch.
 *   writer/reader: round trip (range and gather reads), a file without masks, a /masks of the
 *     wrong shape or type refused at open naming the file, faces and masks appended together;
 *   augment: the mask goes through the target's very transform (a face whose red channel IS
 *     its mask keeps red == mask after rotation, zoom, shift and flip), flip mirrors both, and
 *     adding a mask changes no byte of the input or target;
 *   loader: batch masks follow their targets, masks change no face byte (same RNG stream),
 *     world-size independence, auto/on/off against files with and without masks;
 *   synth: faces come with a face-region mask (face centre 255, image corners 0). */
#include <hdf5.h>
#include <math.h>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/synth.h"
#include "tests/data/h5fixture.h"
#include "tests/data/testutil.h"

enum { S = 24, N = 19, G = 8 };
#define PLANE ((size_t)S * S)
#define FACE (PLANE * 3)

/* Face k: red channel = its mask (a disc whose centre and radius depend on k); green carries
 * k, blue a pattern. A batch's mask must then equal its target's red channel. */
static void make_face(long k, uint8_t *face, uint8_t *mask) {
    float cx = 8.0f + (float)(k % 7), cy = 9.0f + (float)(k % 5), r = 5.0f + (float)(k % 4);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float d = sqrtf(((float)x - cx) * ((float)x - cx) + ((float)y - cy) * ((float)y - cy));
            float m = d < r - 1 ? 1.0f : d > r + 1 ? 0.0f : (r + 1 - d) / 2;
            uint8_t *p = face + ((size_t)y * S + x) * 3;
            mask[(size_t)y * S + x] = p[0] = (uint8_t)(m * 255.0f + 0.5f);
            p[1] = (uint8_t)k, p[2] = test_pixel(k, y, x, 2);
        }
}

static void write_file(const char *path, long n, int with_masks) {
    uint8_t *faces = malloc((size_t)n * FACE), *masks = malloc((size_t)n * PLANE);
    for (long k = 0; k < n; k++) make_face(k, faces + (size_t)k * FACE, masks + (size_t)k * PLANE);
    fs_faces_meta m = {.identity = "M", .consent = "test", .source = "test_masks", .masks = with_masks};
    fs_faces_writer *w;
    fs_error e = {0};
    int rc = fs_faces_create(&w, path, S, &m, &e);
    if (!rc && with_masks) /* two appends: /masks must grow with /faces */
        rc = fs_faces_append_masked(w, faces, masks, 5, &e) ||
             fs_faces_append_masked(w, faces + 5 * FACE, masks + 5 * PLANE, n - 5, &e);
    else if (!rc) rc = fs_faces_append(w, faces, n, &e);
    if (rc || fs_faces_commit(w, &e)) {
        fprintf(stderr, "fixture %s: %s\n", path, e.msg);
        exit(1);
    }
    free(faces), free(masks);
}

/* ---------------------------------------------------------------- writer / reader */
static void check_round_trip(const char *with, const char *without) {
    fs_faces *f;
    fs_error e = {0};
    CHECK(fs_faces_open(&f, with, NULL, &e) == 0, "%s", e.msg);
    CHECK(fs_faces_has_masks(f) == 1, "%s: has_masks must be 1", with);
    uint8_t face[FACE], want[PLANE], got[4 * PLANE];
    CHECK(fs_faces_read_masks(f, 3, 1, got, &e) == 0, "%s", e.msg);
    make_face(3, face, want);
    CHECK(!memcmp(got, want, PLANE), "mask 3 read back differs");
    long idx[4] = {17, 4, 5, 0};
    CHECK(fs_faces_read_masks_index(f, idx, 4, got, &e) == 0, "%s", e.msg);
    for (int k = 0; k < 4; k++) {
        make_face(idx[k], face, want);
        CHECK(!memcmp(got + k * PLANE, want, PLANE), "gathered mask %d (face %ld) differs", k, idx[k]);
    }
    CHECK(fs_faces_read_masks(f, N - 1, 2, got, &e) != 0, "a read past the end must fail");
    CHECK(fs_faces_check_extras(f, &e) == 0, "verify's extras check: %s", e.msg);
    fs_faces_close(f);
    CHECK(fs_faces_open(&f, without, NULL, &e) == 0, "%s", e.msg);
    CHECK(fs_faces_has_masks(f) == 0, "%s: has_masks must be 0", without);
    memset(&e, 0, sizeof e);
    CHECK(fs_faces_read_masks(f, 0, 1, got, &e) != 0 && strstr(e.msg, "/masks"), "reading absent masks: '%s'", e.msg);
    fs_faces_close(f);
}

static void check_append_mismatch(const char *dir) {
    char path[700];
    snprintf(path, sizeof path, "%s/mismatch.h5", dir);
    uint8_t face[FACE], mask[PLANE];
    make_face(0, face, mask);
    fs_faces_meta m = {.identity = "M", .consent = "test", .source = "test_masks", .masks = 1};
    fs_faces_writer *w;
    fs_error e = {0};
    CHECK(fs_faces_create(&w, path, S, &m, &e) == 0, "%s", e.msg);
    CHECK(fs_faces_append(w, face, 1, &e) != 0 && strstr(e.msg, "fs_faces_append_masked"),
          "faces without masks for a file with /masks must be refused: '%s'", e.msg);
    fs_faces_abort(w);
    m.masks = 0;
    CHECK(fs_faces_create(&w, path, S, &m, &e) == 0, "%s", e.msg);
    memset(&e, 0, sizeof e);
    CHECK(fs_faces_append_masked(w, face, mask, 1, &e) != 0, "masks for a writer without /masks must be refused");
    fs_faces_abort(w);
}

/* A schema v1 file whose /masks has the wrong shape (or type): open fails naming both. */
static void write_bad_masks(const char *path, hsize_t h, hid_t type) {
    uint8_t *faces = calloc((size_t)N, FACE);
    fixture fx =
        {.dataset = "/faces", .type = H5T_NATIVE_UINT8, .rank = 4, .dims = {N, S, S, 3}, .data = faces, .schema = 1};
    fx_write(path, &fx);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hsize_t dims[3] = {N, h, S};
    hid_t sp = H5Screate_simple(3, dims, NULL),
          d = H5Dcreate2(file, "/masks", type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0 || d < 0) {
        fprintf(stderr, "fixture %s: cannot add /masks\n", path);
        exit(1);
    }
    H5Dclose(d), H5Sclose(sp), H5Fclose(file);
    free(faces);
}

static void check_bad_masks(const char *dir) {
    char path[700];
    struct {
        hsize_t h;
        hid_t type;
        const char *found;
    } cases[] = {{S + 1, H5T_NATIVE_UINT8, "25"}, {S, H5T_NATIVE_INT16, "int16"}};
    for (size_t c = 0; c < FS_ARRAY_LEN(cases); c++) {
        snprintf(path, sizeof path, "%s/badmasks%zu.h5", dir, c);
        write_bad_masks(path, cases[c].h, cases[c].type);
        fs_faces *f = NULL;
        fs_error e = {0};
        int rc = fs_faces_open(&f, path, NULL, &e);
        CHECK(rc == FS_EXIT_BADINPUT && !f && strstr(e.msg, path) && strstr(e.msg, "/masks") &&
                  strstr(e.msg, cases[c].found) && strstr(e.msg, "uint8 [N,S,S]") && strstr(e.msg, "hint:"),
              "bad /masks case %zu: rc %d, message '%s'", c, rc, e.msg);
        if (f) fs_faces_close(f);
    }
}

/* ---------------------------------------------------------------- augment */
static void augment(const fs_augment_opts *o, uint64_t key, const uint8_t *src, const uint8_t *src_mask, uint8_t *in,
                    uint8_t *tg, uint8_t *tg_mask) {
    fs_augment_work w;
    fs_augment_work_init(&w, S);
    fs_rng r;
    fs_rng_init(&r, 41, 0, key);
    fs_augment_masked(o, &r, &w, src, src_mask, in, tg, tg_mask);
    fs_augment_work_free(&w);
}

static int red_is_mask(const uint8_t *face, const uint8_t *mask) {
    for (size_t p = 0; p < PLANE; p++)
        if (face[p * 3] != mask[p]) return 0;
    return 1;
}

static void check_augment(void) {
    uint8_t src[FACE], src_mask[PLANE], in[FACE], tg[FACE], tm[PLANE], in2[FACE], tg2[FACE];
    make_face(6, src, src_mask);
    fs_augment_opts full = {10, 0.05f, 0.05f, 0.5f, 1}, flip = {0, 0, 0, 1.0f, 1};
    int flipped = 0;
    for (uint64_t key = 0; key < 12; key++) {
        augment(&full, key, src, src_mask, in, tg, tm);
        CHECK(red_is_mask(tg, tm), "key %llu: the target's mask does not follow the target", (unsigned long long)key);
        CHECK(memcmp(tm, src_mask, PLANE) != 0, "key %llu: the mask was not transformed", (unsigned long long)key);
        augment(&full, key, src, NULL, in2, tg2, NULL);
        CHECK(!memcmp(in, in2, FACE) && !memcmp(tg, tg2, FACE), "key %llu: a mask changed the faces' augmentation",
              (unsigned long long)key);
    }
    augment(&flip, 1, src, src_mask, in, tg, tm);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) flipped += tm[y * S + x] == src_mask[y * S + S - 1 - x];
    CHECK(flipped == (int)PLANE && red_is_mask(tg, tm), "flip: %d of %zu mask pixels mirrored", flipped, PLANE);
    CHECK(!red_is_mask(in, tm), "the warped input must differ from the mask (the mask is never warped)");
}

/* ---------------------------------------------------------------- loader */
static fs_loader *open_loader(const char *const *paths, int world, int rank, fs_masks_mode mode, fs_error *e) {
    fs_loader_opts o = {.paths = paths,
                        .n_identities = 2,
                        .resolution = S,
                        .global_batch = G,
                        .rank = rank,
                        .world = world,
                        .seed = 9,
                        .prefetch = 2,
                        .threads = 2,
                        .rotation = 10,
                        .zoom = 0.05f,
                        .shift = 0.05f,
                        .flip = 0.5f,
                        .warp = 1,
                        .masks = mode};
    fs_loader *L = NULL;
    return fs_loader_open(&L, &o, e) == 0 ? L : NULL;
}

enum { STEPS = 4 };
#define BATCH_FACES ((size_t)2 * G * FACE)
#define BATCH_MASKS ((size_t)2 * G * PLANE)

/* World 1, masks auto (both files have them): masks follow targets; masks off gives the same
 * faces with mask NULL; world 2's shares concatenate to world 1's masks. */
static void check_loader_masks(const char *const *paths) {
    fs_error e = {0};
    fs_loader *L = open_loader(paths, 1, 0, FS_MASKS_AUTO, &e), *off = open_loader(paths, 1, 0, FS_MASKS_OFF, &e);
    fs_loader *R[2] = {open_loader(paths, 2, 0, FS_MASKS_ON, &e), open_loader(paths, 2, 1, FS_MASKS_ON, &e)};
    CHECK(L && off && R[0] && R[1], "open: %s", e.msg);
    if (!L || !off || !R[0] || !R[1]) exit(test_done("masks_data"));
    CHECK(fs_loader_has_masks(L) && !fs_loader_has_masks(off), "has_masks: auto %d, off %d", fs_loader_has_masks(L),
          fs_loader_has_masks(off));
    for (int s = 0; s < STEPS; s++) {
        const fs_batch *B = fs_loader_next(L, &e), *B0 = fs_loader_next(off, &e);
        CHECK(B && B0 && B->mask && !B0->mask, "step %d: mask pointers %p (auto) %p (off)", s,
              B ? (void *)B->mask : NULL, B0 ? (void *)B0->mask : NULL);
        if (!B || !B0 || !B->mask) continue;
        for (int j = 0; j < 2 * G; j++)
            CHECK(red_is_mask(B->target + j * FACE, B->mask + j * PLANE),
                  "step %d sample %d: mask does not follow "
                  "the target",
                  s, j);
        CHECK(!memcmp(B->input, B0->input, BATCH_FACES) && !memcmp(B->target, B0->target, BATCH_FACES),
              "step %d: reading masks changed the faces", s);
        for (int r = 0; r < 2; r++) {
            const fs_batch *P = fs_loader_next(R[r], &e);
            CHECK(P && P->mask, "world 2 rank %d step %d: %s", r, s, e.msg);
            for (int i = 0; P && P->mask && i < 2; i++)
                CHECK(!memcmp(P->mask + (size_t)i * (G / 2) * PLANE, B->mask + ((size_t)i * G + r * (G / 2)) * PLANE,
                              (G / 2) * PLANE),
                      "world 2 rank %d step %d identity %d: masks differ from world 1", r, s, i);
        }
    }
    fs_loader_close(L), fs_loader_close(off), fs_loader_close(R[0]), fs_loader_close(R[1]);
}

/* One file without masks: auto -> no masks; on -> an error naming that file. */
static void check_loader_modes(const char *with, const char *without) {
    const char *mixed[2] = {with, without};
    fs_error e = {0};
    fs_loader *L = open_loader(mixed, 1, 0, FS_MASKS_AUTO, &e);
    CHECK(L && !fs_loader_has_masks(L), "auto with a file without masks: %s", e.msg);
    const fs_batch *B = L ? fs_loader_next(L, &e) : NULL;
    CHECK(B && !B->mask, "auto with a file without masks: batch mask must be NULL");
    fs_loader_close(L);
    memset(&e, 0, sizeof e);
    L = open_loader(mixed, 1, 0, FS_MASKS_ON, &e);
    CHECK(!L && e.code == FS_EXIT_BADINPUT && strstr(e.msg, without) && strstr(e.msg, "train.mask_loss") &&
              strstr(e.msg, "hint:"),
          "on with a file without masks: '%s'", e.msg);
    fs_loader_close(L);
    CHECK(fs_loader_masks_mode("on") == FS_MASKS_ON && fs_loader_masks_mode("off") == FS_MASKS_OFF &&
              fs_loader_masks_mode("auto") == FS_MASKS_AUTO,
          "fs_loader_masks_mode");
}

/* ---------------------------------------------------------------- synth */
static void check_synth(const char *dir) {
    enum { SZ = 48 };
    fs_synth_identity id;
    uint8_t rgb[SZ * SZ * 3], rgb2[SZ * SZ * 3], mask[SZ * SZ];
    for (int k = 0; k < 6; k++) {
        fs_synth_identity_draw(&id, 5, k % 3);
        fs_synth_render(&id, 5, k % 3, k, SZ, rgb, mask);
        fs_synth_render(&id, 5, k % 3, k, SZ, rgb2, NULL);
        CHECK(!memcmp(rgb, rgb2, sizeof rgb), "sample %d: drawing the mask changed the face", k);
        CHECK(mask[(SZ / 2) * SZ + SZ / 2] == 255, "sample %d: face centre mask %d, expected 255", k,
              mask[(SZ / 2) * SZ + SZ / 2]);
        CHECK(mask[0] == 0 && mask[SZ - 1] == 0, "sample %d: top corners mask %d %d, expected 0 (background)", k,
              mask[0], mask[SZ - 1]);
        long face = 0;
        for (int p = 0; p < SZ * SZ; p++) face += mask[p] > 127;
        CHECK(face > SZ * SZ / 5 && face < SZ * SZ * 9 / 10, "sample %d: %ld of %d pixels in the face region", k, face,
              SZ * SZ);
    }
    fs_error e = {0};
    CHECK(fs_synth_write(dir, 1, 3, 32, 2, &e) == 0, "%s", e.msg);
    char path[700];
    snprintf(path, sizeof path, "%s/A.h5", dir);
    fs_faces *f;
    CHECK(fs_faces_open(&f, path, NULL, &e) == 0 && fs_faces_has_masks(f), "synth file %s has no masks: %s", path,
          e.msg);
    if (f) fs_faces_close(f);
}

int main(void) {
    const char *dir = test_dir("masks");
    char with[600], other[600], without[600];
    snprintf(with, sizeof with, "%s/A.h5", dir);
    snprintf(other, sizeof other, "%s/B.h5", dir);
    snprintf(without, sizeof without, "%s/nomasks.h5", dir);
    write_file(with, N, 1);
    write_file(other, N - 6, 1);
    write_file(without, N, 0);
    check_round_trip(with, without);
    check_append_mismatch(dir);
    check_bad_masks(dir);
    check_augment();
    const char *both[2] = {with, other};
    check_loader_masks(both);
    check_loader_modes(with, without);
    check_synth(dir);
    return test_done("masks_data");
}
