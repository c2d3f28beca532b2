/* test_video_labels.c — video labels (data/video_labels.h): an H.264 MP4 written through
 * libavcodec with the container keys and the XMP uuid box reads both back; the video decodes
 * frame for frame as it did before the box went in (mdat before moov, faststart, a last box
 * of size 0, fragmented with mfra); labelling again replaces the box; a file that is not an
 * MP4 or is truncated is refused and left as it was. With a DIR argument it writes there the
 * files tests/provenance/video.sh gives to exiftool and `faceswarm detect`. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/video_labels.h"
#include "data/watermark.h"
#include "data/wm_attack.h"
#include "tests/check.h"
#include "tests/provenance/video_fixture.h"

#define W 96
#define H 64
#define N 12

static fs_provenance prov(void) {
    fs_provenance p = {.source_type = FS_IPTC_COMPOSITE,
                       .run = "runs/video & <demo>",
                       .checkpoint = "runs/v/ckpt-9.h5",
                       .checkpoint_checksum = "00ff00ff00ff00ff",
                       .n_identities = 2,
                       .watermark = 1};
    p.identity[0] = "A", p.consent[0] = "consent/a.pdf#2026-11";
    p.identity[1] = "B", p.consent[1] = "consent/b.pdf";
    return p;
}

static uint8_t *frames(int n, int w, int h) {
    uint8_t *f = malloc((size_t)n * w * h * 3);
    for (int i = 0; i < n; i++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t *p = f + (((size_t)i * h + y) * w + x) * 3;
                p[0] = (uint8_t)(2 * x + 5 * i), p[1] = (uint8_t)(3 * y), p[2] = (uint8_t)((x * y) / 16 + 40);
            }
    return f;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

/* The two decodes are identical, frame for frame. */
static void same_video(const char *a, const char *b, const char *what) {
    fs_error e = {0};
    uint8_t *fa = NULL, *fb = NULL;
    int wa, ha, wb, hb, na = fx_decode_all(a, &fa, &wa, &ha, &e), nb = fx_decode_all(b, &fb, &wb, &hb, &e);
    CHECK(na == N && nb == N, "%s: decoded %d and %d frames, expected %d (%s)", what, na, nb, N, e.msg);
    if (na == N && nb == N) CHECK(!memcmp(fa, fb, (size_t)N * W * H * 3), "%s: decoded frames differ", what);
    free(fa), free(fb);
}

static void check_labels(const char *path, const char *what) {
    fs_labels L;
    fs_error e = {0};
    CHECK(fs_video_labels_read(path, &L, &e) == 0, "%s: %s", what, e.msg);
    CHECK(L.has_xmp && L.has_container, "%s: xmp %d, container keys %d", what, L.has_xmp, L.has_container);
    CHECK(!strcmp(L.source_type, FS_IPTC_COMPOSITE), "%s: source type '%s'", what, L.source_type);
    CHECK(!strcmp(L.run, "runs/video & <demo>"), "%s: run '%s'", what, L.run);
    CHECK(!strcmp(L.checkpoint_checksum, "00ff00ff00ff00ff"), "%s: checksum '%s'", what, L.checkpoint_checksum);
    CHECK(strstr(L.identities, "A (consent: consent/a.pdf#2026-11)") &&
              strstr(L.identities, "B (consent: consent/b.pdf)"),
          "%s: identities '%s'", what, L.identities);
    char hex[32];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)fs_wm_payload(fs_wm_run_tag("runs/video & <demo>")));
    CHECK(!strcmp(L.watermark, hex), "%s: watermark '%s', expected %s", what, L.watermark, hex);
    CHECK(strstr(L.text_disclaimer, "SYNTHETIC MEDIA"), "%s: comment '%s'", what, L.text_disclaimer);
}

/* The container keys alone (XMP box not yet inserted) and then the box. */
static void test_plain(const char *dir, const uint8_t *f) {
    char a[512], raw[512];
    snprintf(a, sizeof a, "%s/labelled.mp4", dir);
    snprintf(raw, sizeof raw, "%s/raw.mp4", dir);
    fs_error e = {0};
    fs_provenance p = prov();
    CHECK(fx_write_mp4(raw, f, N, W, H, 23, 6, NULL, NULL, 0, &e) == 0, "unlabelled: %s", e.msg);
    CHECK(fx_write_mp4(a, f, N, W, H, 23, 6, NULL, &p, 1, &e) == 0, "labelled: %s", e.msg);
    check_labels(a, "mdat before moov");
    same_video(raw, a, "mdat before moov");
    fs_labels L;
    CHECK(fs_video_labels_read(raw, &L, &e) == 0 && !L.has_xmp && !L.has_container && !L.source_type[0],
          "an unlabelled video has no labels (xmp %d, keys %d)", L.has_xmp, L.has_container);
    long size = file_size(a);
    CHECK(fs_video_xmp_insert(a, &p, &e) == 0, "labelled again: %s", e.msg);
    CHECK(file_size(a) == size, "labelled again: %ld bytes, was %ld (the box is replaced, not added)", file_size(a),
          size);
    p.run = "runs/other";
    CHECK(fs_video_xmp_insert(a, &p, &e) == 0 && fs_video_labels_read(a, &L, &e) == 0 && !strcmp(L.run, "runs/other"),
          "relabelled: run '%s' (%s)", L.run, e.msg);
    same_video(raw, a, "relabelled");
    p = prov();
    CHECK(fs_video_xmp_insert(a, &p, &e) == 0, "restored: %s", e.msg);
}

static void test_layouts(const char *dir, const uint8_t *f) {
    char raw[512], path[512];
    snprintf(raw, sizeof raw, "%s/raw.mp4", dir);
    fs_error e = {0};
    fs_provenance p = prov();
    snprintf(path, sizeof path, "%s/faststart.mp4", dir);
    CHECK(fx_write_mp4(path, f, N, W, H, 23, 6, "+faststart", &p, 1, &e) == 0, "faststart: %s", e.msg);
    check_labels(path, "faststart");
    same_video(raw, path, "faststart");
    snprintf(path, sizeof path, "%s/labelled.mov", dir);
    CHECK(fx_write_mp4(path, f, N, W, H, 23, 6, NULL, &p, 1, &e) == 0, "mov: %s", e.msg);
    check_labels(path, "mov");
    same_video(raw, path, "mov");
    /* Matroska keeps the keys as tags; it has no XMP box, and the insert says so */
    snprintf(path, sizeof path, "%s/labelled.mkv", dir);
    CHECK(fx_write_mp4(path, f, N, W, H, 23, 6, NULL, &p, 0, &e) == 0, "mkv: %s", e.msg);
    fs_labels L;
    CHECK(fs_video_labels_read(path, &L, &e) == 0 && L.has_container && !L.has_xmp &&
              !strcmp(L.source_type, FS_IPTC_COMPOSITE) && strstr(L.identities, "consent/b.pdf"),
          "mkv: keys %d xmp %d source '%s'", L.has_container, L.has_xmp, L.source_type);
    e.code = 0;
    CHECK(fs_video_xmp_insert(path, &p, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "not an MP4/MOV"), "mkv insert: %s",
          e.msg);
    same_video(raw, path, "mkv");
    snprintf(path, sizeof path, "%s/fragmented.mp4", dir);
    CHECK(fx_write_mp4(path, f, N, W, H, 23, 6, "+frag_keyframe+empty_moov", &p, 1, &e) == 0, "fragmented: %s", e.msg);
    check_labels(path, "fragmented");
    same_video(raw, path, "fragmented");
    size_t len = 0;
    char *b = fs_read_file(path, &len, &e);
    CHECK(b && len > 16 && !memcmp(b + len - 12, "mfro", 4), "fragmented: mfra (ending in mfro) is still last");
    free(b);
    /* moov's size set to 0 ("to the end of the file"): the box gets its real size */
    snprintf(path, sizeof path, "%s/open-end.mp4", dir);
    CHECK(fx_write_mp4(path, f, N, W, H, 23, 6, NULL, &p, 0, &e) == 0, "keys only: %s", e.msg);
    b = fs_read_file(path, &len, &e);
    size_t moov = 0;
    for (size_t at = 0; b && at + 8 <= len; at += ((size_t)(uint8_t)b[at] << 24 | (size_t)(uint8_t)b[at + 1] << 16 |
                                                   (size_t)(uint8_t)b[at + 2] << 8 | (uint8_t)b[at + 3]))
        if (!memcmp(b + at + 4, "moov", 4)) {
            moov = at;
            break;
        }
    CHECK(moov > 0, "open-end.mp4 has a moov after mdat");
    if (moov) memset(b + moov, 0, 4);
    fs_write_file_atomic(path, b, len, &e);
    free(b);
    same_video(raw, path, "moov of size 0");
    CHECK(fs_video_xmp_insert(path, &p, &e) == 0, "moov of size 0: %s", e.msg);
    check_labels(path, "moov of size 0");
    same_video(raw, path, "moov of size 0, labelled");
}

static void test_refused(const char *dir) {
    char path[512], raw[512];
    fs_error e = {0};
    fs_provenance p = prov();
    snprintf(path, sizeof path, "%s/not-video.mp4", dir);
    fs_write_file_atomic(path, "just some text, not boxes", 25, &e);
    e.code = 0;
    CHECK(fs_video_xmp_insert(path, &p, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "not-video.mp4"), "not an MP4: %d %s",
          e.code, e.msg);
    CHECK(file_size(path) == 25, "not an MP4: left alone (%ld bytes)", file_size(path));
    snprintf(raw, sizeof raw, "%s/raw.mp4", dir);
    size_t len = 0;
    char *b = fs_read_file(raw, &len, &e);
    snprintf(path, sizeof path, "%s/cut.mp4", dir);
    fs_write_file_atomic(path, b, len - 100, &e);
    e.code = 0;
    CHECK(fs_video_xmp_insert(path, &p, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "truncated"), "truncated: %d %s",
          e.code, e.msg);
    size_t got = 0;
    char *c = fs_read_file(path, &got, &e);
    CHECK(c && got == len - 100 && !memcmp(b, c, got), "truncated: left as it was");
    free(b), free(c);
    snprintf(path, sizeof path, "%s/missing.mp4", dir);
    CHECK(fs_video_xmp_insert(path, &p, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "missing.mp4"), "missing: %s", e.msg);
    fs_labels L;
    CHECK(fs_video_labels_read(path, &L, &e) == FS_EXIT_BADINPUT, "missing: read %d", e.code);
}

/* 300 seeded mutants of the labelled MP4 (bytes overwritten in its first and last kilobytes,
 * where the box headers, moov and the XMP box are, or the file cut short): reading the labels
 * never crashes and answers 0 or FS_EXIT_BADINPUT; inserting either succeeds (the labels then
 * read back) or refuses with FS_EXIT_BADINPUT and leaves the mutant as it was. */
static void test_mutants(const char *dir) {
    char src[512], path[512];
    snprintf(src, sizeof src, "%s/labelled.mp4", dir);
    snprintf(path, sizeof path, "%s/mutant.mp4", dir);
    fs_error e = {0};
    size_t len = 0;
    char *orig = fs_read_file(src, &len, &e);
    CHECK(orig && len > 2048, "labelled.mp4: %zu bytes", len);
    if (!orig || len <= 2048) return free(orig);
    fs_provenance p = prov();
    int refused = 0, labelled = 0;
    for (int k = 0; k < 300; k++) {
        fs_rng r;
        fs_rng_init(&r, 41, (uint64_t)k, 0);
        char *m = malloc(len);
        memcpy(m, orig, len);
        size_t n = len;
        if (k % 10 == 9) n = 8 + fs_rng_below(&r, (uint32_t)(len - 8));
        for (int f = 0; f < 1 + k % 4; f++) {
            size_t at = fs_rng_below(&r, 1024);
            if (fs_rng_below(&r, 2)) at = len - 1 - at;
            if (at < n) m[at] = (char)(fs_rng_below(&r, 3) ? fs_rng_below(&r, 256) : (uint32_t)m[at] ^ 0x80);
        }
        fs_write_file_atomic(path, m, n, &e);
        fs_labels L;
        e.code = 0;
        int rc = fs_video_labels_read(path, &L, &e);
        CHECK(rc == 0 || rc == FS_EXIT_BADINPUT, "mutant %d: read returned %d", k, rc);
        e.code = 0;
        rc = fs_video_xmp_insert(path, &p, &e);
        CHECK(rc == 0 || rc == FS_EXIT_BADINPUT, "mutant %d: insert returned %d (%s)", k, rc, e.msg);
        size_t got = 0;
        char *after = fs_read_file(path, &got, &e);
        if (rc) {
            refused++;
            CHECK(after && got == n && !memcmp(after, m, n), "mutant %d: refused but changed", k);
        } else if (fs_video_labels_read(path, &L, &e) == 0 && L.has_xmp) labelled++;
        free(after), free(m);
    }
    CHECK(refused > 0 && labelled > 0, "mutants: %d refused, %d labelled (both kinds expected)", refused, labelled);
    free(orig);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "provenance_test_tmp/video_labels";
    fs_error e = {0};
    if (fs_mkdir_p(dir, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    uint8_t *f = frames(N, W, H);
    test_plain(dir, f);
    test_layouts(dir, f);
    test_refused(dir);
    test_mutants(dir);
    free(f);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
