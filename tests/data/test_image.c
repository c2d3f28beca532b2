/* test_image.c — what an image file decodes to (fs_image_load), for every kind of file the
 * import meets: truncated and damaged JPEGs, headers claiming huge sizes, 16-bit and gAMA
 * PNGs against their 8-bit versions, the eight EXIF orientations (JPEG APP1, PNG eXIf),
 * transparency, CMYK and YCCK JPEGs, grey, palette and interlaced PNGs. Fixtures are written
 * here with libpng/libjpeg (tests/data/imgfix.h). */
#include <math.h>
#include <sys/stat.h>

#include "data/font.h"
#include "data/image.h"
#include "tests/data/imgfix.h"
#include "tests/data/testutil.h"

static char g_dir[600];

static const char *at(const char *name) {
    static char p[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", g_dir, name);
    return p[k];
}

static double mean_abs(const uint8_t *a, const uint8_t *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d += fabs((double)a[i] - b[i]);
    return d / (double)n;
}

static int max_abs(const uint8_t *a, const uint8_t *b, size_t n) {
    int m = 0;
    for (size_t i = 0; i < n; i++) m = FS_MAX(m, abs((int)a[i] - (int)b[i]));
    return m;
}

/* Smooth (JPEG-friendly) RGB content that tells every orientation apart. */
static void smooth(uint8_t *px, int w, int h) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(20 + 200 * x / w), p[1] = (uint8_t)(20 + 200 * y / h),
            p[2] = (uint8_t)(60 + 60 * (x + y) / (w + h));
        }
}

static int load(const char *path, fs_image *img, fs_error *e) {
    memset(img, 0, sizeof *img);
    memset(e, 0, sizeof *e);
    return fs_image_load(img, path, e);
}

/* ------------------------------------------------------------ finding 1: damaged JPEGs */
static void check_damaged_jpeg(void) {
    enum { W = 64 };
    static uint8_t px[W * W * 3];
    smooth(px, W, W);
    jpeg_opts jo = {.comps = 3, .in = JCS_RGB};
    fs_image img;
    fs_error e;
    write_jpeg_ex(at("whole.jpg"), px, W, W, &jo);
    CHECK(load(at("whole.jpg"), &img, &e) == 0 && !img.warning[0], "a whole JPEG: %s / %s", e.msg, img.warning);
    fs_image_free(&img);
    const char *cuts[] = {"cut.jpg", "cutscan.jpg"}; /* cut short; cut in the scan, then a proper end */
    for (int i = 0; i < 2; i++) {
        write_jpeg_ex(at(cuts[i]), px, W, W, &jo);
        if (i == 0) truncate_to(at(cuts[i]), file_size(at(cuts[i])) * 6 / 10);
        else jpeg_cut_scan(at(cuts[i]), file_size(at(cuts[i])) * 6 / 10);
        int rc = load(at(cuts[i]), &img, &e);
        CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, cuts[i]) && strstr(e.msg, "ends early") && strstr(e.msg, "hint:"),
              "%s must be refused (its missing rows would be grey): rc %d '%s'", cuts[i], rc, e.msg);
        fs_image_free(&img);
    }
    write_jpeg_ex(at("noeoi.jpg"), px, W, W, &jo); /* every row there, only the end marker missing */
    truncate_to(at("noeoi.jpg"), file_size(at("noeoi.jpg")) - 2);
    int rc = load(at("noeoi.jpg"), &img, &e);
    CHECK(rc == 0 && strstr(img.warning, "Premature end of JPEG file"), "a JPEG without EOI: rc %d '%s' '%s'", rc,
          e.msg, img.warning);
    uint8_t *noeoi = img.rgb;
    img.rgb = NULL;
    write_jpeg_ex(at("stray.jpg"), px, W, W, &jo);
    jpeg_stray_bytes(at("stray.jpg"));
    rc = load(at("stray.jpg"), &img, &e);
    CHECK(rc == 0 && strstr(img.warning, "extraneous bytes"), "stray bytes must be reported: rc %d '%s' '%s'", rc,
          e.msg, img.warning);
    fs_image whole = {0};
    CHECK(load(at("whole.jpg"), &whole, &e) == 0 && img.rgb && noeoi && !memcmp(img.rgb, whole.rgb, sizeof px) &&
              !memcmp(noeoi, whole.rgb, sizeof px),
          "a missing end marker or stray bytes change no pixel");
    free(noeoi);
    fs_image_free(&whole);
    fs_image_free(&img);
}

/* ------------------------------------------------------------ finding 2: size cap */
static void check_size_cap(void) {
    static uint8_t px[16 * 16 * 3];
    smooth(px, 16, 16);
    jpeg_opts jo = {.comps = 3, .in = JCS_RGB};
    fs_image img;
    fs_error e;
    const unsigned sizes[][2] = {{30000, 30000}, {16000, 8000}, {20000, 16}};
    for (size_t i = 0; i < FS_ARRAY_LEN(sizes); i++) {
        write_jpeg_ex(at("huge.jpg"), px, 16, 16, &jo); /* a few hundred bytes */
        jpeg_set_size(at("huge.jpg"), sizes[i][0], sizes[i][1]);
        double t0 = fs_now();
        int rc = load(at("huge.jpg"), &img, &e);
        CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, "huge.jpg") && strstr(e.msg, "at most 16384 px") &&
                  fs_now() - t0 < 1.0,
              "JPEG header %ux%u: rc %d in %.2f s: '%s'", sizes[i][0], sizes[i][1], rc, fs_now() - t0, e.msg);
        fs_image_free(&img);
    }
    static uint8_t row[4 * 16000 * 3]; /* incompressible: the IDAT chunk reaches the file */
    for (size_t i = 0; i < sizeof row; i++) row[i] = (uint8_t)fs_hash3(3, i, 0);
    png_opts po = {.depth = 8, .type = PNG_COLOR_TYPE_RGB, .rows = 4};
    write_png_ex(at("huge.png"), row, 16000, 16000, &po);
    int rc = load(at("huge.png"), &img, &e);
    CHECK(rc == FS_EXIT_BADINPUT && strstr(e.msg, "at most 16384 px a side and 67108864 pixels"),
          "PNG header 16000x16000 (256 Mpx): rc %d '%s'", rc, e.msg);
    fs_image_free(&img);
    img.max_pixels = 100; /* the cap is the caller's to lower */
    memset(&e, 0, sizeof e);
    write_jpeg_ex(at("small.jpg"), px, 16, 16, &jo);
    CHECK(fs_image_load(&img, at("small.jpg"), &e) == FS_EXIT_BADINPUT && strstr(e.msg, "100 pixels"),
          "max_pixels 100: '%s'", e.msg);
}

/* ------------------------------------------------------------ finding 3: 16-bit PNG */
static void check_16bit(void) {
    enum { W = 24 };
    static uint8_t p8[W * W * 3], p16[W * W * 6], g8[W * W], g16[W * W * 2];
    for (int i = 0; i < W * W * 3; i++) {
        p8[i] = (uint8_t)(fs_hash3(1, (uint64_t)i, 0) & 0xff);
        int v = p8[i] * 257 + (int)(fs_hash3(2, (uint64_t)i, 0) % 201) - 100; /* within half a step of p8 */
        v = v < 0 ? 0 : v > 65535 ? 65535 : v;
        p16[2 * i] = (uint8_t)(v >> 8), p16[2 * i + 1] = (uint8_t)v;
    }
    for (int i = 0; i < W * W; i++) g8[i] = p8[i], g16[2 * i] = p8[i], g16[2 * i + 1] = p8[i];
    const struct {
        const char *name;
        const uint8_t *px;
        int depth, type;
        double gamma;
    } cases[] = {{"rgb8.png", p8, 8, PNG_COLOR_TYPE_RGB, 0},
                 {"rgb16.png", p16, 16, PNG_COLOR_TYPE_RGB, 0},
                 {"rgb16g.png", p16, 16, PNG_COLOR_TYPE_RGB, 0.45455},
                 {"grey8.png", g8, 8, PNG_COLOR_TYPE_GRAY, 0},
                 {"grey16.png", g16, 16, PNG_COLOR_TYPE_GRAY, 0}};
    fs_image ref = {0}, img;
    fs_error e;
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        png_opts po = {.depth = cases[i].depth, .type = cases[i].type, .gamma = cases[i].gamma};
        write_png_ex(at(cases[i].name), cases[i].px, W, W, &po);
        if (load(at(cases[i].name), &img, &e)) {
            CHECK(0, "%s: %s", cases[i].name, e.msg);
            continue;
        }
        if (i == 0) CHECK(!memcmp(img.rgb, p8, sizeof p8), "rgb8.png must decode exactly");
        if (i == 0 || i == 3) {
            fs_image_free(&ref);
            ref = img;
            continue;
        }
        int d = max_abs(img.rgb, ref.rgb, sizeof p8);
        CHECK(d <= 1, "%s and its 8-bit version differ by up to %d (expected <= 1: 16-bit samples are sRGB-coded)",
              cases[i].name, d);
        fs_image_free(&img);
    }
    fs_image_free(&ref);
    /* A gAMA far from sRGB is honoured: linear (1.0) mid-grey comes out brighter in sRGB. */
    static uint8_t mid[W * W * 3];
    memset(mid, 64, sizeof mid);
    png_opts lin = {.depth = 8, .type = PNG_COLOR_TYPE_RGB, .gamma = 1.0};
    write_png_ex(at("linear.png"), mid, W, W, &lin);
    CHECK(load(at("linear.png"), &img, &e) == 0 && img.rgb[0] > 130 && img.rgb[0] < 145,
          "linear 64/255 should be about 137 in sRGB: %d (%s)", img.rgb ? img.rgb[0] : -1, e.msg);
    fs_image_free(&img);
}

/* ------------------------------------------------------------ finding 4: EXIF orientation */
/* Independent of the decoder's table: each orientation as flips and a transpose of the
 * upright image (EXIF: display = T(stored), so stored = T^-1(upright)). */
static void flip_h(uint8_t *p, int w, int h) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w / 2; x++)
            for (int c = 0; c < 3; c++) {
                uint8_t *a = p + ((size_t)y * w + x) * 3 + c, *b = p + ((size_t)y * w + w - 1 - x) * 3 + c, t = *a;
                *a = *b, *b = t;
            }
}
static void flip_v(uint8_t *p, int w, int h) {
    for (int y = 0; y < h / 2; y++)
        for (int x = 0; x < w * 3; x++) {
            uint8_t *a = p + (size_t)y * w * 3 + x, *b = p + (size_t)(h - 1 - y) * w * 3 + x, t = *a;
            *a = *b, *b = t;
        }
}
static void transpose(uint8_t *p, int *w, int *h) {
    size_t n = (size_t)*w * *h * 3;
    uint8_t *q = malloc(n);
    for (int y = 0; y < *h; y++)
        for (int x = 0; x < *w; x++) memcpy(q + ((size_t)x * *h + y) * 3, p + ((size_t)y * *w + x) * 3, 3);
    memcpy(p, q, n);
    free(q);
    int t = *w;
    *w = *h, *h = t;
}
/* stored = T_o^-1(upright): 2 flip, 3 rotate 180, 4 flip vertically, 5 transpose, 6 display
 * rotates stored 90 deg clockwise (so stored = upright turned counter-clockwise), 7 transverse,
 * 8 the reverse of 6. */
static void unorient(uint8_t *p, int *w, int *h, int o) {
    if (o == 2 || o == 3) flip_h(p, *w, *h);
    if (o == 3 || o == 4) flip_v(p, *w, *h);
    if (o == 5) transpose(p, w, h);
    if (o == 6) transpose(p, w, h), flip_v(p, *w, *h); /* CCW = flip_v(transpose) */
    if (o == 7) transpose(p, w, h), flip_h(p, *w, *h), flip_v(p, *w, *h);
    if (o == 8) transpose(p, w, h), flip_h(p, *w, *h); /* CW = flip_h(transpose) */
}

static void check_orientation(void) {
    enum { W = 48, H = 32 }; /* not square: 5..8 swap the sides */
    static uint8_t up[W * H * 3], st[W * H * 3];
    smooth(up, W, H);
    fs_image img;
    fs_error e;
    for (int o = 1; o <= 9; o++) { /* 9: out of range, taken as upright */
        int w = W, h = H;
        memcpy(st, up, sizeof up);
        if (o <= 8) unorient(st, &w, &h, o);
        uint8_t exif[64];
        jpeg_opts jo = {.comps = 3, .in = JCS_RGB, .exif = exif, .exif_len = exif_block(exif, o, o % 2)};
        write_jpeg_ex(at("orient.jpg"), st, w, h, &jo);
        if (load(at("orient.jpg"), &img, &e)) {
            CHECK(0, "orientation %d: %s", o, e.msg);
            continue;
        }
        double d = img.w == W && img.h == H ? mean_abs(img.rgb, up, sizeof up) : 999;
        CHECK(d < 2.0 && img.orientation == (o <= 8 ? o : 1),
              "JPEG orientation %d: decoded %dx%d (expected %dx%d upright), mean error %.1f", o, img.w, img.h, W, H, d);
        fs_image_free(&img);
    }
    int w = W, h = H;
    memcpy(st, up, sizeof up);
    unorient(st, &w, &h, 6);
    uint8_t exif[64];
    png_opts po = {.depth = 8, .type = PNG_COLOR_TYPE_RGB, .exif = exif, .exif_len = (int)exif_block(exif, 6, 1)};
    write_png_ex(at("orient.png"), st, w, h, &po);
    CHECK(load(at("orient.png"), &img, &e) == 0 && img.w == W && img.h == H && !memcmp(img.rgb, up, sizeof up),
          "PNG eXIf orientation 6: %dx%d %s", img.w, img.h, e.msg);
    fs_image_free(&img);
}

/* ------------------------------------------------------------ finding 5: transparency */
static void check_alpha(void) {
    enum { W = 16 };
    static uint8_t rgba[W * W * 4], want[W * W * 3];
    for (int i = 0; i < W * W; i++) {
        uint8_t a = (uint8_t)(i < W * W / 2 ? 255 : 128);
        rgba[4 * i] = 200, rgba[4 * i + 1] = 100, rgba[4 * i + 2] = 50, rgba[4 * i + 3] = a;
        for (int c = 0; c < 3; c++) want[3 * i + c] = (uint8_t)((rgba[4 * i + c] * a + 127) / 255); /* onto black */
    }
    fs_image img;
    fs_error e;
    png_opts po = {.depth = 8, .type = PNG_COLOR_TYPE_RGB_ALPHA};
    write_png_ex(at("rgba.png"), rgba, W, W, &po);
    CHECK(load(at("rgba.png"), &img, &e) == 0 && img.alpha == 1 && max_abs(img.rgb, want, sizeof want) <= 1,
          "RGBA half transparent: alpha %d, %s", img.alpha, e.msg);
    fs_image_free(&img);
    for (int i = 0; i < W * W; i++) rgba[4 * i + 3] = 255;
    write_png_ex(at("opaque.png"), rgba, W, W, &po);
    CHECK(load(at("opaque.png"), &img, &e) == 0 && img.alpha == 0, "an opaque RGBA PNG is not transparent");
    fs_image_free(&img);
    /* palette with a tRNS entry: index 1 is fully transparent */
    static uint8_t idx[W * W];
    png_color pal[2] = {{10, 200, 30}, {250, 250, 250}};
    uint8_t trns[2] = {255, 0};
    for (int i = 0; i < W * W; i++) idx[i] = (uint8_t)(i % 2);
    png_opts pp =
        {.depth = 8, .type = PNG_COLOR_TYPE_PALETTE, .palette = pal, .n_palette = 2, .trns = trns, .n_trns = 2};
    write_png_ex(at("paltrns.png"), idx, W, W, &pp);
    CHECK(load(at("paltrns.png"), &img, &e) == 0 && img.alpha == 1 && img.rgb[0] == 10 && img.rgb[1] == 200 &&
              img.rgb[3] == 0 && img.rgb[4] == 0 && img.rgb[5] == 0,
          "palette + tRNS: %s", e.msg);
    fs_image_free(&img);
}

/* ------------------------------------------------------------ finding 6: CMYK JPEG */
static void check_cmyk(void) {
    enum { W = 32 };
    static uint8_t cmyk[W * W * 4], want[W * W * 3];
    for (int y = 0; y < W; y++)
        for (int x = 0; x < W; x++) { /* stored the Adobe way: inverted, 255 = no ink */
            uint8_t *p = cmyk + ((size_t)y * W + x) * 4;
            p[0] = (uint8_t)(100 + 4 * x), p[1] = (uint8_t)(90 + 4 * y), p[2] = (uint8_t)(200 - 2 * x),
            p[3] = (uint8_t)(255 - 2 * y);
            for (int c = 0; c < 3; c++) want[((size_t)y * W + x) * 3 + c] = (uint8_t)((p[c] * p[3] + 127) / 255);
        }
    const J_COLOR_SPACE coding[] = {JCS_CMYK, JCS_YCCK};
    for (int i = 0; i < 2; i++) {
        jpeg_opts jo = {.comps = 4, .in = JCS_CMYK, .coding = coding[i]};
        write_jpeg_ex(at("cmyk.jpg"), cmyk, W, W, &jo); /* libjpeg writes the Adobe marker */
        fs_image img;
        fs_error e;
        int rc = load(at("cmyk.jpg"), &img, &e);
        double d = rc == 0 ? mean_abs(img.rgb, want, sizeof want) : 999;
        CHECK(rc == 0 && d < 2.0, "%s JPEG: rc %d, mean error %.1f: %s", i ? "YCCK" : "CMYK", rc, d, e.msg);
        fs_image_free(&img);
    }
}

/* ------------------------------------------------------------ the other kinds */
static void check_kinds(void) {
    enum { W = 32 };
    static uint8_t rgb[W * W * 3], grey[W * W], want[W * W * 3], idx[W * W];
    smooth(rgb, W, W);
    for (int i = 0; i < W * W; i++) grey[i] = (uint8_t)(i * 7 % 251), idx[i] = (uint8_t)(i % 4);
    for (int i = 0; i < W * W; i++) want[3 * i] = want[3 * i + 1] = want[3 * i + 2] = grey[i];
    fs_image img;
    fs_error e;
    png_opts gp = {.depth = 8, .type = PNG_COLOR_TYPE_GRAY};
    write_png_ex(at("grey.png"), grey, W, W, &gp);
    CHECK(load(at("grey.png"), &img, &e) == 0 && !memcmp(img.rgb, want, sizeof want), "grey PNG: %s", e.msg);
    fs_image_free(&img);
    jpeg_opts gj = {.comps = 1, .in = JCS_GRAYSCALE};
    write_jpeg_ex(at("grey.jpg"), grey, W, W, &gj);
    CHECK(load(at("grey.jpg"), &img, &e) == 0 && img.w == W && mean_abs(img.rgb, want, sizeof want) < 4.0,
          "grey JPEG: %s", e.msg);
    fs_image_free(&img);
    png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {9, 99, 199}};
    png_opts pp = {.depth = 2, .type = PNG_COLOR_TYPE_PALETTE, .palette = pal, .n_palette = 4};
    write_png_ex(at("pal2.png"), idx, W, W, &pp);
    int ok = load(at("pal2.png"), &img, &e) == 0;
    for (int i = 0; ok && i < W * W; i++) ok = !memcmp(img.rgb + 3 * i, &pal[idx[i]], 3);
    CHECK(ok, "2-bit palette PNG: %s", e.msg);
    fs_image_free(&img);
    png_opts ip = {.depth = 8, .type = PNG_COLOR_TYPE_RGB, .interlace = PNG_INTERLACE_ADAM7};
    write_png_ex(at("adam7.png"), rgb, W, W, &ip);
    CHECK(load(at("adam7.png"), &img, &e) == 0 && !memcmp(img.rgb, rgb, sizeof rgb), "interlaced PNG: %s", e.msg);
    fs_image_free(&img);
    jpeg_opts pj = {.comps = 3, .in = JCS_RGB, .progressive = 1};
    write_jpeg_ex(at("prog.jpg"), rgb, W, W, &pj);
    CHECK(load(at("prog.jpg"), &img, &e) == 0 && mean_abs(img.rgb, rgb, sizeof rgb) < 2.0, "progressive JPEG: %s",
          e.msg);
    fs_image_free(&img);
    png_opts whole = {.depth = 8, .type = PNG_COLOR_TYPE_RGB};
    write_png_ex(at("cut.png"), rgb, W, W, &whole);
    truncate_to(at("cut.png"), file_size(at("cut.png")) * 6 / 10); /* in the middle of IDAT */
    CHECK(load(at("cut.png"), &img, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "cut.png") && strstr(e.msg, "hint:"),
          "a truncated PNG: '%s'", e.msg);
    fs_image_free(&img);
    spit(at("text.png"), (const uint8_t *)"hi", 2);
    CHECK(load(at("text.png"), &img, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "neither PNG nor JPEG"), "'%s'", e.msg);
}

/* ------------------------------------------------------------ the label font */
static void check_font(void) {
    uint8_t px[FS_FONT_H * FS_FONT_W * 2 * 3], ink[3] = {255, 255, 255}, q[sizeof px];
    memset(px, 0, sizeof px);
    CHECK(fs_font_width("ab_", 2) == 3 * FS_FONT_W * 2, "width of 3 characters at scale 2");
    fs_font_draw(px, 2 * FS_FONT_W, FS_FONT_H, 0, 0, "I\x01", 1, ink); /* 'I', then an unknown: '?' */
    int stroke = 1, gap = 1;
    for (int y = 1; y < 6; y++)
        stroke &= px[(y * 2 * FS_FONT_W + 2) * 3] == 255, gap &= px[(y * 2 * FS_FONT_W) * 3] == 0;
    CHECK(stroke && gap, "'I' is a vertical stroke in column 2");
    memset(q, 0, sizeof q);
    fs_font_draw(q, 2 * FS_FONT_W, FS_FONT_H, FS_FONT_W, 0, "?", 1, ink);
    CHECK(!memcmp(px + FS_FONT_W * 3, q + FS_FONT_W * 3, 5 * 3), "an unknown character is drawn as '?'");
    fs_font_draw(px, 2 * FS_FONT_W, FS_FONT_H, -3, 7, "Wg", 4, ink); /* clipped, no write outside */
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_dir("image"));
    check_damaged_jpeg();
    check_size_cap();
    check_16bit();
    check_orientation();
    check_alpha();
    check_cmyk();
    check_kinds();
    check_font();
    return test_done("data_image");
}
