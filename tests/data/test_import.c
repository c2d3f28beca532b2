/* test_import.c — `data import` through fs_import: PNG (RGB, grey) and JPEG fixtures written
 * here with libpng/libjpeg, directory recursion in name order, resizing, skipped images
 * (not square, garbage), --strict, and no output (nor temp file) left by a failed import.
 * Then the odd images of a real collection: truncated, damaged and huge-header JPEGs, 16-bit,
 * RGBA and EXIF-rotated files, CMYK; the identity-name rule; and warnings that never land on
 * the progress line. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/import.h"
#include "tests/data/imgfix.h"
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
    jpeg_opts o = {.comps = 3, .in = JCS_RGB};
    write_jpeg_ex(path, rgb, w, h, &o);
}

/* A smooth face-like fixture (JPEG-friendly): gradients per channel plus an offset. */
static void smooth(uint8_t *px, int S, int off) {
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++)
                px[((size_t)y * S + x) * 3 + c] = (uint8_t)(off + (c == 0   ? 3 * x
                                                                   : c == 1 ? 3 * y
                                                                            : 2 * (x + y)) %
                                                                      200);
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
    fs_import_opts o = {.identity = "Imported",
                        .consent = "consent-42",
                        .source = "test fixtures",
                        .out = out,
                        .size = S,
                        .strict = strict,
                        .inputs = inputs,
                        .n_inputs = n};
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
              !fs_faces_attr(f, "synthetic")[0],
          "import attributes");
    uint8_t faces[4 * S * S * 3], want[S * S * 3];
    CHECK(fs_faces_count(f) == 4 && fs_faces_read(f, 0, 4, faces, &e) == 0, "%s", e.msg);
    fs_faces_close(f);
    /* name order: a.png, b.jpg, gray.png, sub/c.png */
    CHECK(!memcmp(faces, g_a, sizeof g_a), "a.png must import exactly");
    CHECK(diff(faces + S * S * 3, g_b, sizeof g_b) < 3.0, "b.jpg: mean error %.2f",
          diff(faces + S * S * 3, g_b, sizeof g_b));
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

/* stderr into a file while an import runs; returns what to restore. */
static int capture_begin(const char *path) {
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
    return saved;
}
static char *capture_end(int saved, const char *path) {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    long n;
    uint8_t *b = slurp(path, &n);
    b[n] = 0;
    return (char *)b;
}

static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* Odd images as a user's collection has them: what is imported, what is skipped, what is said. */
static void make_odd(const char *in) {
    static uint8_t up[S * S * 3], st[S * S * 3], p16[S * S * 6], rgba[S * S * 4], cmyk[S * S * 4];
    char p[1024];
    smooth(up, S, 30);
    jpeg_opts jo = {.comps = 3, .in = JCS_RGB};
    snprintf(p, sizeof p, "%s/a_rgb8.png", in);
    png_opts p8 = {.depth = 8, .type = PNG_COLOR_TYPE_RGB}, p16o = {.depth = 16, .type = PNG_COLOR_TYPE_RGB};
    write_png_ex(p, up, S, S, &p8);
    for (int i = 0; i < S * S * 3; i++) p16[2 * i] = p16[2 * i + 1] = up[i]; /* v * 257: the same sRGB value */
    snprintf(p, sizeof p, "%s/b_rgb16.png", in), write_png_ex(p, p16, S, S, &p16o);
    for (int y = 0; y < S; y++) /* stored turned counter-clockwise; EXIF 6 says: turn it clockwise */
        for (int x = 0; x < S; x++) memcpy(st + ((size_t)(S - 1 - x) * S + y) * 3, up + ((size_t)y * S + x) * 3, 3);
    uint8_t exif[64];
    jpeg_opts jx = {.comps = 3, .in = JCS_RGB, .exif = exif, .exif_len = exif_block(exif, 6, 0)};
    snprintf(p, sizeof p, "%s/c_exif6.jpg", in), write_jpeg_ex(p, st, S, S, &jx);
    for (int i = 0; i < S * S; i++) {
        memcpy(rgba + 4 * i, up + 3 * i, 3), rgba[4 * i + 3] = (uint8_t)(i % 2 ? 255 : 0);
        cmyk[4 * i] = up[3 * i], cmyk[4 * i + 1] = up[3 * i + 1], cmyk[4 * i + 2] = up[3 * i + 2],
                 cmyk[4 * i + 3] = 255;
    }
    png_opts pa = {.depth = 8, .type = PNG_COLOR_TYPE_RGB_ALPHA};
    snprintf(p, sizeof p, "%s/d_rgba.png", in), write_png_ex(p, rgba, S, S, &pa);
    jpeg_opts jc = {.comps = 4, .in = JCS_CMYK}; /* Adobe-inverted, K = none: the RGB itself */
    snprintf(p, sizeof p, "%s/e_cmyk.jpg", in), write_jpeg_ex(p, cmyk, S, S, &jc);
    static uint8_t big[128 * 128 * 3]; /* a scan much longer than the headers: the cuts fall in it */
    smooth(big, 128, 5);
    snprintf(p, sizeof p, "%s/f_damaged.jpg", in), write_jpeg_ex(p, up, S, S, &jo);
    jpeg_stray_bytes(p);
    snprintf(p, sizeof p, "%s/g_truncated.jpg", in), write_jpeg_ex(p, big, 128, 128, &jo);
    truncate_to(p, file_size(p) * 6 / 10);
    snprintf(p, sizeof p, "%s/h_huge.jpg", in), write_jpeg_ex(p, up, S, S, &jo);
    jpeg_set_size(p, 12000, 12000); /* 144 Mpx from a 2 kB file */
}

static void check_odd(const char *dir) {
    char in[700], out[800], log[800];
    snprintf(in, sizeof in, "%s/odd", dir), mkdir(in, 0755);
    make_odd(in);
    snprintf(out, sizeof out, "%s/odd.h5", dir);
    snprintf(log, sizeof log, "%s/odd.log", dir);
    const char *inputs[] = {in};
    fs_import_opts o = {.identity = "Odd",
                        .consent = "c",
                        .source = "s",
                        .out = out,
                        .size = S,
                        .progress = 1,
                        .inputs = inputs,
                        .n_inputs = 1};
    long done = -1, skipped = -1;
    fs_error e = {0};
    int saved = capture_begin(log);
    int rc = fs_import(&o, &done, &skipped, &e);
    char *err = capture_end(saved, log);
    CHECK(rc == 0 && done == 6 && skipped == 2, "odd images: rc %d, imported %ld, skipped %ld (expected 6 and 2): %s",
          rc, done, skipped, e.msg);
    CHECK(strstr(err, "g_truncated.jpg") && strstr(err, "ends early"), "the truncated JPEG is skipped, named:\n%s",
          err);
    CHECK(strstr(err, "h_huge.jpg") && strstr(err, "at most 16384 px"), "the huge header is refused:\n%s", err);
    CHECK(strstr(err, "f_damaged.jpg: damaged JPEG"), "the damaged JPEG is named:\n%s", err);
    CHECK(count_of(err, "transparent pixels") == 1 && strstr(err, "1 image had transparent pixels"),
          "one notice counting the transparent images:\n%s", err);
    for (const char *w = err; (w = strstr(w, "warning:")); w++) /* never on the progress line */
        CHECK(w == err || w[-1] == '\n', "a warning lands on the progress line: ...%.40s", w - FS_MIN(w - err, 30));
    fs_faces *f;
    if (rc || fs_faces_open(&f, out, NULL, &e)) {
        CHECK(0, "%s", e.msg);
        free(err);
        return;
    }
    static uint8_t faces[6 * S * S * 3], up[S * S * 3], black[S * S * 3];
    CHECK(fs_faces_read(f, 0, 6, faces, &e) == 0, "%s", e.msg);
    fs_faces_close(f);
    smooth(up, S, 30);
    const size_t F = sizeof up;
    CHECK(!memcmp(faces + F, up, F), "16-bit PNG: mean error %.2f against its 8-bit version", diff(faces + F, up, F));
    CHECK(diff(faces + 2 * F, up, F) < 3.0, "EXIF 6 JPEG not upright: mean error %.2f", diff(faces + 2 * F, up, F));
    for (int i = 0; i < S * S; i++) memcpy(black + 3 * i, i % 2 ? up + 3 * i : (const uint8_t *)"\0\0\0", 3);
    CHECK(!memcmp(faces + 3 * F, black, F), "RGBA onto black");
    CHECK(diff(faces + 4 * F, up, F) < 3.0, "CMYK JPEG: mean error %.2f", diff(faces + 4 * F, up, F));
    free(err);
    /* --strict: the damaged JPEG fails the import */
    char one[900];
    snprintf(one, sizeof one, "%s/f_damaged.jpg", in);
    const char *only = one;
    o.inputs = &only, o.strict = 1, o.progress = 0;
    memset(&e, 0, sizeof e);
    CHECK(fs_import(&o, NULL, NULL, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "f_damaged.jpg") &&
              strstr(e.msg, "damaged JPEG") && strstr(e.msg, "hint:"),
          "--strict on a damaged JPEG: '%s'", e.msg);
    CHECK(leftovers(dir, "odd.h5") == 1, "a failed strict import replaced odd.h5");
}

static void check_identity_rule(const char *dir) {
    char out[800];
    snprintf(out, sizeof out, "%s/named.h5", dir);
    const char *bad[] = {"Jane Doe", "", "-x", "a/b", "caf\xc3\xa9", "x\"y"};
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++) {
        const char *in = dir;
        fs_import_opts o =
            {.identity = bad[i], .consent = "c", .source = "s", .out = out, .size = S, .inputs = &in, .n_inputs = 1};
        fs_error e = {0};
        int rc = fs_import(&o, NULL, NULL, &e);
        CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, "--identity") && strstr(e.msg, "letters, digits"),
              "identity '%s': rc %d '%s'", bad[i], rc, e.msg);
    }
    fs_faces_meta m = {.identity = "Jane Doe", .consent = "c", .source = "s"}; /* every writer: synth too */
    fs_faces_writer *w = NULL;
    fs_error e = {0};
    CHECK(fs_faces_create(&w, out, S, &m, &e) == FS_EXIT_BADINPUT && !w && strstr(e.msg, "identity 'Jane Doe'"),
          "the dataset writer must refuse identity 'Jane Doe': '%s'", e.msg);
    CHECK(leftovers(dir, "named.h5") == 0, "a refused identity left a file");
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
    check_odd(dir);
    check_identity_rule(dir);
    return test_done("data_import");
}
