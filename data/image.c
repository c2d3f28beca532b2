/* image.c — see image.h. */
#include "data/image.h"

#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/config.h"

/* ---------------------------------------------------------------- PNG */
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

int fs_png_read(const char *path, uint8_t **rgb, int *w, int *h, fs_error *e) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    *rgb = NULL;
    if (!png_image_begin_read_from_file(&img, path))
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: not a readable PNG (%s)\n  hint: the file is truncated or "
                         "corrupted", path, img.message);
    if (img.width > 16384 || img.height > 16384) {
        png_image_free(&img);
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: PNG of %ux%u px; expected at most 16384 px a side", path,
                         img.width, img.height);
    }
    img.format = PNG_FORMAT_RGB;
    uint8_t *buf = fs_calloc(PNG_IMAGE_SIZE(img), 1); /* zeros: alpha composites onto black */
    if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        free(buf);
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: PNG data unreadable (%s)\n  hint: the file is truncated or "
                         "corrupted", path, img.message);
    }
    *rgb = buf;
    *w = (int)img.width;
    *h = (int)img.height;
    return 0;
}

/* ---------------------------------------------------------------- JPEG */
typedef struct jpeg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_fail(j_common_ptr cinfo) {
    jpeg_err *je = (jpeg_err *)cinfo->err;
    je->mgr.format_message(cinfo, je->msg);
    longjmp(je->jump, 1);
}
static void jpeg_quiet(j_common_ptr cinfo, int level) { (void)cinfo, (void)level; }

/* Decodes from an open file; the buffer is returned through *out so that longjmp cannot lose it. */
static int jpeg_decode(FILE *fp, uint8_t *volatile *out, int *w, int *h, jpeg_err *je) {
    struct jpeg_decompress_struct ci;
    ci.err = jpeg_std_error(&je->mgr);
    je->mgr.error_exit = jpeg_fail;
    je->mgr.emit_message = jpeg_quiet;
    if (setjmp(je->jump)) {
        jpeg_destroy_decompress(&ci);
        return -1;
    }
    jpeg_create_decompress(&ci);
    jpeg_stdio_src(&ci, fp);
    jpeg_read_header(&ci, TRUE);
    if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
        snprintf(je->msg, sizeof je->msg, "CMYK JPEG; expected RGB or greyscale");
        jpeg_destroy_decompress(&ci);
        return -1;
    }
    ci.out_color_space = JCS_RGB;
    jpeg_start_decompress(&ci);
    *w = (int)ci.output_width;
    *h = (int)ci.output_height;
    *out = fs_malloc((size_t)ci.output_width * ci.output_height * 3);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = *out + (size_t)ci.output_scanline * ci.output_width * 3;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    return 0;
}

int fs_jpeg_read(const char *path, uint8_t **rgb, int *w, int *h, fs_error *e) {
    FILE *fp = fs_fopen(path, "rb", e);
    *rgb = NULL;
    if (!fp) return e ? e->code : FS_EXIT_BADINPUT;
    jpeg_err je;
    memset(&je, 0, sizeof je);
    uint8_t *volatile buf = NULL;
    int rc = jpeg_decode(fp, &buf, w, h, &je);
    fclose(fp);
    if (rc) {
        free(buf);
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: not a readable JPEG (%s)\n  hint: the file is truncated or "
                         "corrupted", path, je.msg);
    }
    *rgb = buf;
    return 0;
}

int fs_image_read(const char *path, uint8_t **rgb, int *w, int *h, fs_error *e) {
    FILE *fp = fs_fopen(path, "rb", e);
    if (!fp) return e ? e->code : FS_EXIT_BADINPUT;
    uint8_t sig[8] = {0};
    size_t got = fread(sig, 1, sizeof sig, fp);
    fclose(fp);
    if (got >= 8 && !png_sig_cmp(sig, 0, 8)) return fs_png_read(path, rgb, w, h, e);
    if (got >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF) return fs_jpeg_read(path, rgb, w, h, e);
    return fs_errorf(e, FS_EXIT_BADINPUT, "%s: neither PNG nor JPEG (first bytes %02x %02x %02x %02x)\n"
                     "  hint: import aligned faces as .png or .jpg files", path, sig[0], sig[1], sig[2], sig[3]);
}

/* ---------------------------------------------------------------- resize */
static void bilinear(const uint8_t *src, int sw, int sh, float x, float y, float acc[3]) {
    x = FS_MIN(FS_MAX(x, 0.0f), (float)(sw - 1));
    y = FS_MIN(FS_MAX(y, 0.0f), (float)(sh - 1));
    int x0 = (int)x, y0 = (int)y, x1 = FS_MIN(x0 + 1, sw - 1), y1 = FS_MIN(y0 + 1, sh - 1);
    float fx = x - (float)x0, fy = y - (float)y0;
    const uint8_t *a = src + ((size_t)y0 * sw + x0) * 3, *b = src + ((size_t)y0 * sw + x1) * 3;
    const uint8_t *c = src + ((size_t)y1 * sw + x0) * 3, *d = src + ((size_t)y1 * sw + x1) * 3;
    for (int k = 0; k < 3; k++)
        acc[k] += (1 - fy) * ((1 - fx) * a[k] + fx * b[k]) + fy * ((1 - fx) * c[k] + fx * d[k]);
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
            for (int k = 0; k < 3; k++)
                dst[((size_t)y * dw + x) * 3 + k] = (uint8_t)(acc[k] / (float)(tx * ty) + 0.5f);
        }
}
