/* image.c — see image.h. */
#include "data/image.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jerror.h>
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/limits.h"

/* ---------------------------------------------------------------- shared */
/* Checked from the header, before any pixel buffer exists: a few bytes can claim 30000 x 30000. */
static int size_ok(const char *name, const char *kind, unsigned long w, unsigned long h, long max_pixels, fs_error *e) {
    if (w == 0 || h == 0 || w > FS_IMAGE_MAX_SIDE || h > FS_IMAGE_MAX_SIDE ||
        (double)w * (double)h > (double)max_pixels)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: %s of %lux%lu px; expected at most %d px a side and %ld pixels in "
                         "all\n  hint: import aligned face crops; downscale larger images first (or the header is "
                         "corrupted)",
                         name, kind, w, h, FS_IMAGE_MAX_SIDE, max_pixels);
    return 0;
}

static unsigned rd16(const uint8_t *p, int le) { return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1]; }
static uint32_t rd32(const uint8_t *p, int le) {
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The EXIF orientation (tag 0x0112 of IFD0) of a TIFF-structured block (JPEG APP1 after
 * "Exif\0\0", PNG eXIf); 1 when absent, out of range or unreadable. */
static int exif_orientation(const uint8_t *p, size_t n) {
    if (n < 8 || !((p[0] == 'I' && p[1] == 'I') || (p[0] == 'M' && p[1] == 'M'))) return 1;
    int le = p[0] == 'I';
    uint32_t ifd = rd32(p + 4, le);
    if (rd16(p + 2, le) != 42 || ifd < 8 || ifd > n - 2) return 1;
    size_t count = rd16(p + ifd, le);
    for (size_t i = 0; i < count; i++) {
        size_t at = ifd + 2 + 12 * i;
        if (at + 12 > n) break;
        if (rd16(p + at, le) != 0x0112) continue;
        unsigned v = rd16(p + at + 8, le); /* SHORT, count 1: the value sits in the entry */
        return rd16(p + at + 2, le) == 3 && v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

/* dst [dh][dw][3] = src [h][w][3] shown upright for EXIF orientation o (5..8 swap w and h).
 * For each display pixel (x, y) the stored pixel it comes from. */
static void orient(const uint8_t *src, int w, int h, int o, uint8_t *dst) {
    int dw = o >= 5 ? h : w, dh = o >= 5 ? w : h;
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++) {
            int sx = x, sy = y;
            switch (o) {
            case 2: sx = w - 1 - x; break;
            case 3: sx = w - 1 - x, sy = h - 1 - y; break;
            case 4: sy = h - 1 - y; break;
            case 5: sx = y, sy = x; break;
            case 6: sx = y, sy = h - 1 - x; break;
            case 7: sx = w - 1 - y, sy = h - 1 - x; break;
            case 8: sx = w - 1 - y, sy = x; break;
            default: break;
            }
            memcpy(dst + ((size_t)y * dw + x) * 3, src + ((size_t)sy * w + sx) * 3, 3);
        }
}

typedef enum { PX_RGB, PX_RGBA, PX_CMYK, PX_CMYK_INVERTED } px_kind;

static uint8_t mul255(unsigned a, unsigned b) { return (uint8_t)((a * b + 127) / 255); }

/* px [h][w][3 or 4] (malloc'd, taken) becomes img's upright RGB. Alpha composites onto black;
 * CMYK is converted without a profile (Adobe files, with their APP14 marker, store it inverted). */
static void finish(fs_image *img, uint8_t *px, int w, int h, px_kind kind, int orientation) {
    size_t n = (size_t)w * h;
    if (kind != PX_RGB) {
        for (size_t i = 0; i < n; i++) {
            const uint8_t *s = px + 4 * i;
            uint8_t *d = px + 3 * i, r, g, b;
            if (kind == PX_RGBA) {
                img->alpha |= s[3] != 255;
                r = mul255(s[0], s[3]), g = mul255(s[1], s[3]), b = mul255(s[2], s[3]);
            } else if (kind == PX_CMYK_INVERTED) {
                r = mul255(s[0], s[3]), g = mul255(s[1], s[3]), b = mul255(s[2], s[3]);
            } else {
                r = mul255(255u - s[0], 255u - s[3]), g = mul255(255u - s[1], 255u - s[3]);
                b = mul255(255u - s[2], 255u - s[3]);
            }
            d[0] = r, d[1] = g, d[2] = b; /* d lags s: in place is safe */
        }
    }
    img->orientation = orientation;
    img->w = orientation >= 5 ? h : w, img->h = orientation >= 5 ? w : h;
    if (orientation == 1) {
        img->rgb = px;
        return;
    }
    img->rgb = fs_malloc(n * 3);
    orient(px, w, h, orientation, img->rgb);
    free(px);
}

/* ---------------------------------------------------------------- PNG read */
typedef struct png_ctx {
    const uint8_t *data;
    size_t len, at;
    char msg[256]; /* libpng's error */
} png_ctx;

static void png_fail(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}
/* libpng's warnings are about metadata (a known-wrong iCCP profile, an ancillary CRC): the
 * pixels are either whole or libpng stops with an error. */
static void png_quiet(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void png_src(png_structp png, png_bytep out, png_size_t n) {
    png_ctx *c = png_get_io_ptr(png);
    if (n > c->len - c->at) png_error(png, "the file ends early");
    memcpy(out, c->data + c->at, n);
    c->at += n;
}

/* Every PNG becomes 8-bit RGB or RGBA; 16-bit samples are sRGB-coded like 8-bit ones (scaled,
 * rounded), converted only when a gAMA chunk says they are not (and no sRGB/iCCP overrides). */
static void png_transforms(png_structp png, png_infop info) {
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    double gamma = 0;
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    if (!(type & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    if (!png_get_valid(png, info, PNG_INFO_sRGB) && !png_get_valid(png, info, PNG_INFO_iCCP) &&
        png_get_gAMA(png, info, &gamma) && gamma > 0 && fabs(gamma * 2.2 - 1.0) > 0.02)
        png_set_gamma(png, PNG_DEFAULT_sRGB, gamma);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

static int png_decode(fs_image *img, const uint8_t *data, size_t len, const char *name, fs_error *e) {
    png_ctx c = {.data = data, .len = len};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_fail, png_quiet);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return fs_errorf(e, FS_EXIT_FAIL, "%s: libpng could not start (out of memory?)", name);
    }
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(px), free(rows);
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: not a readable PNG (%s)\n  hint: the file is truncated or "
                         "corrupted; export it again",
                         name, c.msg);
    }
    png_set_read_fn(png, &c, png_src);
    png_set_user_limits(png, FS_IMAGE_MAX_SIDE, FS_IMAGE_MAX_SIDE); /* sides while reading IHDR; pixels below */
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (size_ok(name, "PNG", w, h, img->max_pixels, e)) {
        png_destroy_read_struct(&png, &info, NULL);
        return e ? e->code : FS_EXIT_BADINPUT;
    }
    png_transforms(png, info);
    int ch = png_get_channels(png, info);
    size_t rb = png_get_rowbytes(png, info);
    if ((ch != 3 && ch != 4) || rb != (size_t)w * ch) png_error(png, "unexpected pixel layout after expansion");
    px = fs_malloc(rb * h);
    rows = fs_malloc(sizeof(png_bytep) * h);
    for (png_uint_32 y = 0; y < h; y++) rows[y] = px + rb * y;
    png_read_image(png, rows);
    png_read_end(png, info); /* an eXIf chunk may follow the pixels */
    png_uint_32 n_exif = 0;
    png_bytep exif = NULL;
    int o = png_get_eXIf_1(png, info, &n_exif, &exif) ? exif_orientation(exif, n_exif) : 1;
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    finish(img, px, (int)w, (int)h, ch == 4 ? PX_RGBA : PX_RGB, o);
    return 0;
}

/* ---------------------------------------------------------------- JPEG read */
typedef struct jpeg_ctx {
    struct jpeg_error_mgr mgr; /* first: libjpeg hands back this pointer */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];     /* the error that stopped decoding */
    char warning[JMSG_LENGTH_MAX]; /* the first damage libjpeg recovered from */
    int eof;                       /* the file ended before its end marker */
} jpeg_ctx;

static void jpeg_fail(j_common_ptr ci) {
    jpeg_ctx *c = (jpeg_ctx *)ci->err;
    c->mgr.format_message(ci, c->msg);
    longjmp(c->jump, 1);
}

/* libjpeg's warnings are damage. When the pixel data runs out (the file is cut, or a marker
 * comes early) libjpeg would make up every missing row in grey: that is an error. Anything
 * else (the end marker missing after the last row, extraneous bytes, a bad code it skipped)
 * is reported and the image kept as decoded. */
static void jpeg_note(j_common_ptr ci, int level) {
    jpeg_ctx *c = (jpeg_ctx *)ci->err;
    if (level >= 0) return; /* trace messages */
    c->mgr.num_warnings++;
    c->eof |= c->mgr.msg_code == JWRN_JPEG_EOF;
    if (c->mgr.msg_code == JWRN_HIT_MARKER) {
        j_decompress_ptr d = (j_decompress_ptr)ci;
        snprintf(c->msg, sizeof c->msg, "the pixel data ends early%s, near row %u of %u; the rest would be made up",
                 c->eof ? " (the file is cut short)" : "", d->output_scanline + 1, d->output_height);
        longjmp(c->jump, 1);
    }
    if (!c->warning[0]) c->mgr.format_message(ci, c->warning);
}

static void jpeg_scans(j_common_ptr ci) {
    j_decompress_ptr d = (j_decompress_ptr)ci;
    jpeg_ctx *c = (jpeg_ctx *)ci->err;
    if (d->input_scan_number > FS_JPEG_MAX_SCANS) {
        snprintf(c->msg, sizeof c->msg, "more than %d progressive scans", FS_JPEG_MAX_SCANS);
        longjmp(c->jump, 1);
    }
}

static int jpeg_orientation(j_decompress_ptr ci) {
    for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && !memcmp(m->data, "Exif\0\0", 6))
            return exif_orientation(m->data + 6, m->data_length - 6);
    return 1;
}

/* Decodes into *out (returned through the pointer so that a longjmp cannot lose it). */
static int jpeg_run(j_decompress_ptr ci, jpeg_ctx *c, uint8_t *volatile *out, fs_image *img, const char *name,
                    fs_error *e) {
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(ci, TRUE);
    if (size_ok(name, "JPEG", ci->image_width, ci->image_height, img->max_pixels, e)) return -2;
    int cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    ci->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(ci);
    size_t stride = (size_t)ci->output_width * ci->output_components;
    *out = fs_malloc(stride * ci->output_height);
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW row = *out + stride * ci->output_scanline;
        jpeg_read_scanlines(ci, &row, 1);
    }
    int o = jpeg_orientation(ci); /* saved markers are freed by jpeg_finish_decompress */
    jpeg_finish_decompress(ci);
    snprintf(img->warning, sizeof img->warning, "%s", c->warning);
    finish(img, *out, (int)ci->output_width, (int)ci->output_height,
           !cmyk                  ? PX_RGB
           : ci->saw_Adobe_marker ? PX_CMYK_INVERTED
                                  : PX_CMYK,
           o);
    *out = NULL;
    return 0;
}

static int jpeg_decode(fs_image *img, const uint8_t *data, size_t len, const char *name, fs_error *e) {
    static jpeg_ctx zero;
    jpeg_ctx c = zero;
    struct jpeg_decompress_struct ci;
    uint8_t *volatile px = NULL;
    ci.err = jpeg_std_error(&c.mgr);
    c.mgr.error_exit = jpeg_fail;
    c.mgr.emit_message = jpeg_note;
    c.progress.progress_monitor = jpeg_scans;
    if (setjmp(c.jump)) {
        jpeg_destroy_decompress(&ci);
        free(px);
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: not a readable JPEG (%s)\n  hint: the file is truncated or "
                         "corrupted; export it again",
                         name, c.msg);
    }
    jpeg_create_decompress(&ci);
    ci.progress = &c.progress;
    jpeg_mem_src(&ci, data, (unsigned long)len);
    int rc = jpeg_run(&ci, &c, &px, img, name, e);
    jpeg_destroy_decompress(&ci);
    return rc ? (e ? e->code : FS_EXIT_BADINPUT) : 0;
}

/* ---------------------------------------------------------------- by content */
int fs_image_decode(fs_image *img, const uint8_t *data, size_t len, const char *name, fs_error *e) {
    long cap = img->max_pixels > 0 ? img->max_pixels : FS_IMAGE_MAX_PIXELS;
    memset(img, 0, sizeof *img);
    img->max_pixels = cap;
    img->orientation = 1;
    if (len >= 8 && !png_sig_cmp(data, 0, 8)) return png_decode(img, data, len, name, e);
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return jpeg_decode(img, data, len, name, e);
    uint8_t sig[4] = {0};
    memcpy(sig, data, FS_MIN(len, sizeof sig));
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s: neither PNG nor JPEG (%zu bytes, first bytes %02x %02x %02x %02x)\n"
                     "  hint: import aligned faces as .png or .jpg files",
                     name, len, sig[0], sig[1], sig[2], sig[3]);
}

int fs_image_load(fs_image *img, const char *path, fs_error *e) {
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > FS_IMAGE_MAX_BYTES)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: %lld bytes; expected an image file of at most %ld MB\n  hint: "
                         "import aligned face crops",
                         path, (long long)st.st_size, FS_IMAGE_MAX_BYTES >> 20);
    size_t len = 0;
    char *data = fs_read_file(path, &len, e);
    if (!data) return e ? e->code : FS_EXIT_BADINPUT;
    int rc = fs_image_decode(img, (const uint8_t *)data, len, path, e);
    free(data);
    return rc;
}

void fs_image_free(fs_image *img) {
    free(img->rgb);
    img->rgb = NULL;
}

int fs_image_read(const char *path, uint8_t **rgb, int *w, int *h, fs_error *e) {
    fs_image img = {0};
    *rgb = NULL;
    if (fs_image_load(&img, path, e)) return e ? e->code : FS_EXIT_BADINPUT;
    if (img.warning[0]) fs_warn("%s: damaged JPEG, decoded anyway: %s", path, img.warning);
    if (img.alpha) fs_warn("%s: transparent pixels composited onto black", path);
    *rgb = img.rgb, *w = img.w, *h = img.h;
    return 0;
}

/* ---------------------------------------------------------------- PNG write */
static int png_write_stream(FILE *fp, const uint8_t *rgb, int w, int h, const char *const *kv, char *why) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        snprintf(why, 256, "libpng could not start");
        png_destroy_write_struct(&png, NULL);
        return -1;
    }
    png_bytep *rows = fs_malloc(sizeof(png_bytep) * (size_t)h);
    if (setjmp(png_jmpbuf(png))) {
        snprintf(why, 256, "libpng write error (disk full?)");
        png_destroy_write_struct(&png, &info);
        free(rows);
        return -1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    int ntext = 0;
    png_text text[16];
    for (; kv && kv[2 * ntext] && kv[2 * ntext + 1] && ntext < 16; ntext++) {
        memset(&text[ntext], 0, sizeof text[ntext]);
        text[ntext].compression = PNG_TEXT_COMPRESSION_NONE;
        text[ntext].key = (png_charp)kv[2 * ntext];
        text[ntext].text = (png_charp)kv[2 * ntext + 1];
    }
    if (ntext) png_set_text(png, info, text, ntext);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)(rgb + (size_t)y * w * 3);
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return 0;
}

int fs_png_write(const char *path, const uint8_t *rgb, int w, int h, const char *const *text_kv, fs_error *e) {
    if (w <= 0 || h <= 0)
        return fs_errorf(e, FS_EXIT_FAIL, "%s: image of %dx%d px; expected a positive size", path, w, h);
    char tmp[FS_PATH_LEN + 64], why[256] = "";
    fs_tmp_path(path, tmp, sizeof tmp);
    FILE *fp = fs_fopen(tmp, "wb", e);
    if (!fp) return e ? e->code : FS_EXIT_FAIL;
    int bad = png_write_stream(fp, rgb, w, h, text_kv, why);
    if (fflush(fp) != 0 && !bad) bad = 1, snprintf(why, sizeof why, "flush failed (disk full?)");
    if (fclose(fp) != 0 && !bad) bad = 1, snprintf(why, sizeof why, "close failed (disk full?)");
    if (bad) {
        remove(tmp);
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot write PNG: %s\n  hint: check free disk space", path, why);
    }
    return fs_commit_file(tmp, path, e);
}

/* ---------------------------------------------------------------- resize */
static void bilinear(const uint8_t *src, int sw, int sh, float x, float y, float acc[3]) {
    x = FS_MIN(FS_MAX(x, 0.0f), (float)(sw - 1));
    y = FS_MIN(FS_MAX(y, 0.0f), (float)(sh - 1));
    int x0 = (int)x, y0 = (int)y, x1 = FS_MIN(x0 + 1, sw - 1), y1 = FS_MIN(y0 + 1, sh - 1);
    float fx = x - (float)x0, fy = y - (float)y0;
    const uint8_t *a = src + ((size_t)y0 * sw + x0) * 3, *b = src + ((size_t)y0 * sw + x1) * 3;
    const uint8_t *c = src + ((size_t)y1 * sw + x0) * 3, *d = src + ((size_t)y1 * sw + x1) * 3;
    for (int k = 0; k < 3; k++) acc[k] += (1 - fy) * ((1 - fx) * a[k] + fx * b[k]) + fy * ((1 - fx) * c[k] + fx * d[k]);
}

void fs_image_resize(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh) {
    float sx = (float)sw / (float)dw, sy = (float)sh / (float)dh;
    int tx = FS_MAX(1, (int)ceilf(sx)), ty = FS_MAX(1, (int)ceilf(sy));
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++) {
            float acc[3] = {0, 0, 0};
            for (int j = 0; j < ty; j++)
                for (int i = 0; i < tx; i++) /* taps spread evenly over the source footprint */
                    bilinear(src, sw, sh, ((float)x + ((float)i + 0.5f) / (float)tx) * sx - 0.5f,
                             ((float)y + ((float)j + 0.5f) / (float)ty) * sy - 0.5f, acc);
            for (int k = 0; k < 3; k++) dst[((size_t)y * dw + x) * 3 + k] = (uint8_t)(acc[k] / (float)(tx * ty) + 0.5f);
        }
}
