/* test_import.c — `data import` through fs_import: PNG (RGB, grey) and JPEG fixtures written
 * here with libpng/libjpeg, directory recursion in name order, resizing, skipped images
 * (not square, garbage), --strict, and no output (nor temp file) left by a failed import. */
#include <dirent.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <sys/stat.h>

#include "data/dataset.h"
#include "data/import.h"
#include "tests/data/testutil.h"

static void write_png(const char *path, const uint8_t *px, int w, int h, int grey) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION, img.width = (png_uint_32)w, img.height = (png_uint_32)h;
    img.format = grey ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&img, path, 0, px, 0, NULL)) {
        fprintf(stderr, "fixture %s: %s\n", path, img.message);
        exit(1);
    }
}

static void write_jpeg(const char *path, const uint8_t *rgb, int w, int h) {
    FILE *f = fopen(path, "wb");
    if (!f) exit(1);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h, c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 97, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < h; y++) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)y * w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

/* A smooth face-like fixture (JPEG-friendly): gradients per channel plus an offset. */
static void smooth(uint8_t *px, int S, int off) {
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++)
                px[((size_t)y * S + x) * 3 + c] = (uint8_t)(off + (c == 0 ? 3 * x : c == 1 ? 3 * y : 2 * (x + y)) % 200);
}

static int leftovers(const char *dir, const char *out_name) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d));) n += !strncmp(de->d_name, out_name, strlen(out_name));
    if (d) closedir(d);
    return n;
}

static double diff(const uint8_t *a, const uint8_t *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d += fabs((double)a[i] - b[i]);
    return d / (double)n;
}

enum { S = 32 };
static uint8_t g_a[S * S * 3], g_b[S * S * 3], g_grey[S * S], g_big[4 * S * S * 3];

static void make_fixtures(const char *in) {
    char p[1024];
    smooth(g_a, S, 10), smooth(g_b, S, 40), smooth(g_big, 2 * S, 20);
    for (int i = 0; i < S * S; i++) g_grey[i] = (uint8_t)(i % 251);
    snprintf(p, sizeof p, "%s/sub", in), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/a.png", in), write_png(p, g_a, S, S, 0);
    snprintf(p, sizeof p, "%s/b.jpg", in), write_jpeg(p, g_b, S, S);
    snprintf(p, sizeof p, "%s/d.png", in), write_png(p, g_a, 32, 24, 0); /* not square */
    snprintf(p, sizeof p, "%s/e.jpg", in);
    FILE *f = fopen(p, "wb");
    fputs("this is not a JPEG at all", f), fclose(f);
    snprintf(p, sizeof p, "%s/gray.png", in), write_png(p, g_grey, S, S, 1);
    snprintf(p, sizeof p, "%s/notes.txt", in);
    f = fopen(p, "wb"), fputs("ignored: not an image name", f), fclose(f);
    snprintf(p, sizeof p, "%s/sub/c.png", in), write_png(p, g_big, 2 * S, 2 * S, 0);
}

static int import(const char *out, const char *const *inputs, int n, int strict, long *done, long *skipped,
                  fs_error *e) {
    fs_import_opts o = {.identity = "Imported", .consent = "consent-42", .source = "test fixtures", .out = out,
                        .size = S, .strict = strict, .inputs = inputs, .n_inputs = n};
    return fs_import(&o, done, skipped, e);
}

static void check_import(const char *dir, const char *in) {
    char out[1024];
    snprintf(out, sizeof out, "%s/out.h5", dir);
    long done = -1, skipped = -1;
    fs_error e = {0};
    CHECK(import(out, &in, 1, 0, &done, &skipped, &e) == 0, "%s", e.msg);
    CHECK(done == 4 && skipped == 2, "imported %ld, skipped %ld; expected 4 and 2", done, skipped);
    fs_faces *f;
    if (fs_faces_open(&f, out, NULL, &e)) {
        CHECK(0, "%s", e.msg);
        return;
    }
    CHECK(!strcmp(fs_faces_attr(f, "identity"), "Imported") && !strcmp(fs_faces_attr(f, "consent"), "consent-42") &&
              !fs_faces_attr(f, "synthetic")[0], "import attributes");
    uint8_t faces[4 * S * S * 3], want[S * S * 3];
    CHECK(fs_faces_count(f) == 4 && fs_faces_read(f, 0, 4, faces, &e) == 0, "%s", e.msg);
    fs_faces_close(f);
    /* name order: a.png, b.jpg, gray.png, sub/c.png */
    CHECK(!memcmp(faces, g_a, sizeof g_a), "a.png must import exactly");
    CHECK(diff(faces + S * S * 3, g_b, sizeof g_b) < 3.0, "b.jpg: mean error %.2f", diff(faces + S * S * 3, g_b, sizeof g_b));
    for (int i = 0; i < S * S; i++) want[3 * i] = want[3 * i + 1] = want[3 * i + 2] = g_grey[i];
    CHECK(!memcmp(faces + 2 * S * S * 3, want, sizeof want), "gray.png must import as grey RGB");
    for (int y = 0; y < S; y++) /* 64 -> 32: each pixel the mean of its 2x2 source block */
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++) {
                int s = 0;
                for (int k = 0; k < 4; k++) s += g_big[(((size_t)(2 * y + k / 2)) * 2 * S + 2 * x + k % 2) * 3 + c];
                want[((size_t)y * S + x) * 3 + c] = (uint8_t)((s + 2) / 4);
            }
    CHECK(diff(faces + 3 * S * S * 3, want, sizeof want) < 0.6, "sub/c.png resized: mean error %.2f",
          diff(faces + 3 * S * S * 3, want, sizeof want));
}

static void check_failures(const char *dir, const char *in) {
    char out[1024], bad[1024];
    snprintf(out, sizeof out, "%s/strict.h5", dir);
    fs_error e = {0};
    CHECK(import(out, &in, 1, 1, NULL, NULL, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "d.png"),
          "--strict must fail on d.png: '%s'", e.msg);
    CHECK(leftovers(dir, "strict.h5") == 0, "a failed import left strict.h5 or its temp file");
    snprintf(out, sizeof out, "%s/none.h5", dir);
    snprintf(bad, sizeof bad, "%s/d.png", in);
    const char *only_bad = bad;
    e.code = 0;
    CHECK(import(out, &only_bad, 1, 0, NULL, NULL, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "no faces"),
          "all skipped: '%s'", e.msg);
    CHECK(leftovers(dir, "none.h5") == 0, "an import with zero faces left a file");
    snprintf(bad, sizeof bad, "%s/missing", in);
    e.code = 0;
    CHECK(import(out, &only_bad, 1, 0, NULL, NULL, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "missing"),
          "missing input: '%s'", e.msg);
}

int main(void) {
    const char *d = test_dir("import");
    char dir[600], in[640];
    snprintf(dir, sizeof dir, "%s", d);
    snprintf(in, sizeof in, "%s/in", dir);
    mkdir(in, 0755);
    make_fixtures(in);
    check_import(dir, in);
    check_failures(dir, in);
    return test_done("data_import");
}
