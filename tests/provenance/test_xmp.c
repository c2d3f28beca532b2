/* test_xmp.c — XMP labels: build -> parse gives the fields back (escaping included), a labelled
 * PNG is a valid PNG whose labels read back, JPEG APP1 XMP is read, a truncated PNG is refused.
 * With a DIR argument it also writes the fixtures that tests/provenance/cli.sh gives to
 * `faceswarm detect` and exiftool. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "data/synth.h"
#include "data/watermark.h"
#include "data/wm_attack.h"
#include "data/xmp.h"
#include "tests/check.h"
#include "trainer/config.h"

static const char *const TEXT[] = {"Title", "faceswarm face swap", "faceswarm:synthetic", "true", NULL};

static void face(int s, int i, uint8_t *out) {
    fs_synth_identity id;
    fs_synth_identity_draw(&id, 5, i);
    fs_synth_render(&id, 5, i, i, s, out, NULL);
}

static fs_provenance prov(void) {
    fs_provenance p = {.source_type = FS_IPTC_TRAINED,
                       .run = "runs/demo <1> & \"x\"",
                       .checkpoint = "runs/demo/ckpt-100.h5",
                       .checkpoint_checksum = "0123456789abcdef",
                       .n_identities = 2,
                       .watermark = 1};
    p.identity[0] = "A", p.consent[0] = "consent/a.pdf#2026-11";
    p.identity[1] = "B", p.consent[1] = NULL;
    return p;
}

static void test_roundtrip(void) {
    fs_provenance p = prov();
    static const fs_region two[] = {{1, 2, 64, 64}, {66, 2, 64, 64}};
    p.n_regions = 2, p.region = two;
    char *x = fs_xmp_build(&p, "a & b", 0x1122334455667788ULL, 1);
    fs_labels L;
    memset(&L, 0, sizeof L);
    fs_xmp_parse(x, strlen(x), &L);
    CHECK(!strcmp(L.source_type, FS_IPTC_TRAINED), "source type '%s'", L.source_type);
    CHECK(!strcmp(L.run, p.run), "run '%s' (escaping)", L.run);
    CHECK(!strcmp(L.checkpoint, p.checkpoint) && !strcmp(L.checkpoint_checksum, p.checkpoint_checksum), "checkpoint");
    CHECK(!strcmp(L.watermark, "1122334455667788"), "watermark '%s'", L.watermark);
    CHECK(!strcmp(L.identities, "A (consent: consent/a.pdf#2026-11); B (consent: consent not recorded)"),
          "identities '%s'", L.identities);
    CHECK(L.n_regions == 2 && L.region[1].x == 66 && L.region[1].w == 64, "regions %d", L.n_regions);
    char tag[32];
    snprintf(tag, sizeof tag, "%012llx", (unsigned long long)fs_wm_run_tag(p.run));
    CHECK(!strcmp(L.run_tag, tag), "run tag '%s' want '%s'", L.run_tag, tag);
    CHECK(!strncmp(L.tool, "faceswarm ", 10), "creator tool '%s'", L.tool);
    CHECK(!strcmp(L.version, FS_XMP_VERSION), "version '%s'", L.version);
    free(x);
    /* fields of untrusted files reach terminals and JSON: no control bytes, only UTF-8 */
    static const char evil[] = "<x fsw:Run=\"a\x01"
                               "b\xff\xc3\xa9\xe2\x82\" Iptc4xmpExt:DigitalSourceType=\"\x1b[31mred\"/>";
    memset(&L, 0, sizeof L);
    fs_xmp_parse(evil, strlen(evil), &L);
    CHECK(!strcmp(L.run, "a b?\xc3\xa9??"), "run cleaned to '%s'", L.run);
    CHECK(!strcmp(L.source_type, " [31mred"), "escape sequence cleaned to '%s'", L.source_type);
}

static void test_png(const char *dir) {
    char path[FS_PATH_LEN];
    snprintf(path, sizeof path, "%s/labelled.png", dir);
    int s = 128;
    uint8_t *a = malloc((size_t)s * s * 3), *back;
    face(s, 1, a);
    fs_provenance p = prov();
    fs_error e = {0};
    CHECK(fs_png_write_labelled(path, a, s, s, TEXT, &p, &e) == 0, "write: %s", e.msg);
    int w, h;
    CHECK(fs_image_read(path, &back, &w, &h, &e) == 0 && w == s && h == s, "libpng reads it: %s", e.msg);
    double psnr = fs_wm_psnr(a, back, (size_t)s * s);
    CHECK(psnr >= 40.0 && psnr < 99.0, "marked (PSNR %.2f dB)", psnr);
    fs_wm_result r;
    fs_wm_detect(back, s, s, s, &r);
    CHECK(r.found && r.run_tag == fs_wm_run_tag(p.run), "watermark carries the run tag");
    fs_labels L;
    CHECK(fs_labels_read(path, &L, &e) == 0, "labels: %s", e.msg);
    CHECK(L.has_xmp && L.has_text && !strcmp(L.text_synthetic, "true"), "xmp %d text %d", L.has_xmp, L.has_text);
    CHECK(!strcmp(L.source_type, FS_IPTC_TRAINED), "source type '%s'", L.source_type);
    char hex[32];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)r.payload);
    CHECK(!strcmp(L.watermark, hex), "label's payload %s = decoded %s", L.watermark, hex);
    snprintf(path, sizeof path, "%s/labelled.png.unlabelled.*", dir);
    glob_t g;
    CHECK(glob(path, 0, NULL, &g) == GLOB_NOMATCH, "a staging file was left: %s", path);
    globfree(&g);
    free(back);
    /* a truncated copy is refused with its name */
    size_t len;
    snprintf(path, sizeof path, "%s/labelled.png", dir);
    char *bytes = fs_read_file(path, &len, &e), trunc[FS_PATH_LEN];
    snprintf(trunc, sizeof trunc, "%s/truncated.png", dir);
    fs_write_file_atomic(trunc, bytes, 60, &e);
    CHECK(fs_labels_read(trunc, &L, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "truncated.png"), "truncated: %s", e.msg);
    remove(trunc);
    free(bytes);
    free(a);
}

/* JPEG with an APP1 XMP segment after SOI, as exiftool and cameras write it. */
static void test_jpeg_xmp(const char *dir) {
    char path[FS_PATH_LEN];
    snprintf(path, sizeof path, "%s/xmp.jpg", dir);
    int s = 64;
    uint8_t *a = malloc((size_t)s * s * 3);
    face(s, 2, a);
    fs_error e = {0};
    CHECK(fs_jpeg_write(path, a, s, s, 90, &e) == 0, "jpeg: %s", e.msg);
    size_t len;
    char *j = fs_read_file(path, &len, &e);
    fs_provenance p = prov();
    p.source_type = FS_IPTC_COMPOSITE;
    char *x = fs_xmp_build(&p, NULL, 0, 0);
    static const char ID[] = "http://ns.adobe.com/xap/1.0/";
    size_t seg = 2 + sizeof ID + strlen(x), n = len + 2 + seg;
    uint8_t *o = malloc(n);
    memcpy(o, j, 2);
    o[2] = 0xFF, o[3] = 0xE1, o[4] = (uint8_t)(seg >> 8), o[5] = (uint8_t)seg;
    memcpy(o + 6, ID, sizeof ID);
    memcpy(o + 6 + sizeof ID, x, strlen(x));
    memcpy(o + 4 + seg, j + 2, len - 2);
    fs_write_file_atomic(path, o, n, &e);
    fs_labels L;
    CHECK(fs_labels_read(path, &L, &e) == 0 && L.has_xmp, "jpeg labels: %s", e.msg);
    CHECK(!strcmp(L.source_type, FS_IPTC_COMPOSITE), "jpeg source type '%s'", L.source_type);
    uint8_t *back;
    int w, h;
    CHECK(fs_image_read(path, &back, &w, &h, &e) == 0, "libjpeg still reads it: %s", e.msg);
    free(back), free(o), free(x), free(j), free(a);
}

/* A preview-like grid: an original column (real, unlabelled as synthetic) and swapped cells,
 * each its own region and its own mark; a region under 32 px stays labelled but unmarked; with
 * only such regions the XMP names no watermark payload. */
static void test_grid(const char *dir) {
    int s = 64, gap = 2, W = 2 * s + gap, H = 2 * s + gap;
    uint8_t *grid = calloc((size_t)W * H * 3, 1), *f = malloc((size_t)s * s * 3), *back;
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 2; c++) {
            face(s, 10 + 2 * r + c, f);
            for (int y = 0; y < s; y++)
                memcpy(grid + ((size_t)(r * (s + gap) + y) * W + c * (s + gap)) * 3, f + (size_t)y * s * 3,
                       (size_t)s * 3);
        }
    const fs_region cells[] = {{s + gap, 0, s, s}, {s + gap, s + gap, s, s}, {0, 0, 16, 16}};
    fs_provenance p = prov();
    p.n_regions = 3, p.region = cells;
    char path[FS_PATH_LEN];
    snprintf(path, sizeof path, "%s/grid.png", dir);
    fs_error e = {0};
    CHECK(fs_png_write_labelled(path, grid, W, H, NULL, &p, &e) == 0, "grid: %s", e.msg);
    int w, h;
    CHECK(fs_image_read(path, &back, &w, &h, &e) == 0, "grid read: %s", e.msg);
    size_t real_changed = 0; /* the original column: cells at x < s, except the 16 px one */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < s; x++)
            if (!(x < 16 && y < 16))
                real_changed += memcmp(back + ((size_t)y * W + x) * 3, grid + ((size_t)y * W + x) * 3, 3) != 0;
    CHECK(real_changed == 0, "%zu pixels of the real column changed", real_changed);
    size_t tiny_changed = 0;
    for (int y = 0; y < 16; y++)
        tiny_changed += memcmp(back + (size_t)y * W * 3, grid + (size_t)y * W * 3, 16 * 3) != 0;
    CHECK(tiny_changed == 0, "the 16 px region was marked");
    for (int i = 0; i < 2; i++) {
        fs_wm_result r;
        fs_wm_detect(back + ((size_t)cells[i].y * W + cells[i].x) * 3, W, s, s, &r);
        CHECK(r.found && r.run_tag == fs_wm_run_tag(p.run), "cell %d found %d", i, r.found);
    }
    fs_labels L;
    CHECK(fs_labels_read(path, &L, &e) == 0 && L.n_regions == 3 && L.watermark[0], "grid labels: %d regions",
          L.n_regions);
    p.mark_whole = 1; /* a converted frame: regions listed, one mark over the frame */
    CHECK(fs_png_write_labelled(path, grid, W, H, NULL, &p, &e) == 0, "whole: %s", e.msg);
    free(back);
    CHECK(fs_image_read(path, &back, &w, &h, &e) == 0, "whole read: %s", e.msg);
    fs_wm_result whole;
    fs_wm_detect(back, W, W, H, &whole);
    CHECK(whole.found && whole.run_tag == fs_wm_run_tag(p.run), "mark_whole: found %d", whole.found);
    CHECK(fs_labels_read(path, &L, &e) == 0 && L.n_regions == 3, "mark_whole keeps the regions: %d", L.n_regions);
    p.mark_whole = 0;
    p.n_regions = 1, p.region = cells + 2;
    CHECK(fs_png_write_labelled(path, grid, W, H, NULL, &p, &e) == 0, "tiny only: %s", e.msg);
    CHECK(fs_labels_read(path, &L, &e) == 0 && L.has_xmp && !L.watermark[0], "no payload named: '%s'", L.watermark);
    const fs_region outside = {W - 10, 0, 20, 20};
    p.region = &outside;
    CHECK(fs_png_write_labelled(path, grid, W, H, NULL, &p, &e) == FS_EXIT_FAIL && strstr(e.msg, "outside"),
          "region outside refused: %s", e.msg);
    free(grid), free(f), free(back);
}

/* The fixtures of cli.sh (see there). */
static int fixtures(const char *dir) {
    char path[FS_PATH_LEN];
    fs_error e = {0};
    int s = 128, W = 256, H = 192;
    uint8_t *a = malloc((size_t)s * s * 3), *frame = malloc((size_t)W * H * 3), *m;
    int w, h, rc = 0;
    face(s, 4, a);
    snprintf(path, sizeof path, "%s/plain.png", dir);
    rc |= fs_png_write(path, a, s, s, NULL, &e);
    snprintf(path, sizeof path, "%s/textonly.png", dir);
    rc |= fs_png_write(path, a, s, s, TEXT, &e);
    /* the labelled face, re-encoded as a JPEG without metadata: only the watermark is left */
    snprintf(path, sizeof path, "%s/labelled.png", dir);
    rc |= fs_image_read(path, &m, &w, &h, &e);
    snprintf(path, sizeof path, "%s/stripped.jpg", dir);
    if (!rc) rc |= fs_jpeg_write(path, m, w, h, 75, &e);
    /* and mirrored left-right, as a JPEG without metadata (detect --orientations) */
    for (int y = 0; !rc && y < h; y++)
        for (int x = 0; x < w / 2; x++)
            for (int c = 0; c < 3; c++) {
                uint8_t *l = m + ((size_t)y * w + x) * 3 + c, *r = m + ((size_t)y * w + (w - 1 - x)) * 3 + c, t = *l;
                *l = *r, *r = t;
            }
    snprintf(path, sizeof path, "%s/mirrored.jpg", dir);
    if (!rc) rc |= fs_jpeg_write(path, m, w, h, 75, &e);
    /* a frame whose 96 x 96 region at (64, 48) is synthetic */
    fs_image_resize(a, s, s, frame, W, H);
    fs_provenance p = prov();
    static const fs_region one = {64, 48, 96, 96};
    p.source_type = FS_IPTC_COMPOSITE, p.n_regions = 1, p.region = &one;
    snprintf(path, sizeof path, "%s/composite.png", dir);
    rc |= fs_png_write_labelled(path, frame, W, H, NULL, &p, &e);
    if (rc) fprintf(stderr, "fixtures: %s\n", e.msg);
    free(a), free(frame), free(m);
    return rc;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "provenance_test_tmp/xmp";
    fs_error e = {0};
    if (fs_mkdir_p(dir, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    test_roundtrip();
    test_png(dir);
    test_jpeg_xmp(dir);
    test_grid(dir);
    CHECK(fixtures(dir) == 0, "fixtures written");
    if (!failures) printf("provenance_xmp: all checks passed\n");
    return failures ? 1 : 0;
}
