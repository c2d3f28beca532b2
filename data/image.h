/* image.h — PNG and JPEG files and resizing, for `data import`, `swap` and the trainer's
 * previews. Images are RGB uint8, row-major [h][w][3], in the file's own (sRGB) coding.
 *
 * What a decoded image is (docs/data.md, "Image import"):
 *  - PNG of any kind: palette, grey, grey+alpha, RGB, RGBA, 1..16 bits, interlaced. 16-bit
 *    samples are sRGB-coded like 8-bit ones and are rounded to 8 bits; a gAMA chunk far from
 *    sRGB's 1/2.2 (and no sRGB or iCCP chunk) is converted to sRGB.
 *  - JPEG: greyscale, YCbCr/RGB, CMYK and YCCK (Adobe files store CMYK inverted; converted
 *    without an ICC profile, R = (1-C)(1-K)).
 *  - Transparency is composited onto black (fs_image.alpha says it happened).
 *  - The EXIF orientation (JPEG APP1, PNG eXIf) is applied: the pixels come upright.
 *  - Width, height and pixel count are checked from the header, before any pixel is decoded. */
#ifndef FACESWARM_DATA_IMAGE_H
#define FACESWARM_DATA_IMAGE_H

#include <stdint.h>

#include "core/common.h"

#define FS_IMAGE_MAX_SIDE 16384                 /* px, width or height */
#define FS_IMAGE_MAX_PIXELS (64L * 1024 * 1024) /* width x height: 192 MB of RGB */
#define FS_IMAGE_MAX_BYTES (256L * 1024 * 1024) /* file size */
#define FS_JPEG_MAX_SCANS 1000                  /* progressive scans: more is a decoding-time bomb */

typedef struct fs_image {
    long max_pixels;   /* in: cap on width x height, 0 = FS_IMAGE_MAX_PIXELS */
    uint8_t *rgb;      /* out: [h][w][3], malloc'd; free with fs_image_free */
    int w, h;          /* out: px, after the EXIF orientation */
    int alpha;         /* out: 1 = some pixel was not opaque and was composited onto black */
    int orientation;   /* out: the EXIF orientation applied, 1..8 (1 = upright or none) */
    char warning[256]; /* out: the decoder recovered from damage (libjpeg's words), "" = none */
} fs_image;

/* Decodes a PNG or JPEG held in memory (by signature, not by name); name is used in messages.
 * Pixel data that ends early is an error (its missing rows would be made up); other damage
 * the decoder recovered from fills img->warning and succeeds. Refusals are code 2 with a hint. */
int fs_image_decode(fs_image *img, const uint8_t *data, size_t len, const char *name, fs_error *e);
/* fs_image_decode of a whole file (at most FS_IMAGE_MAX_BYTES). */
int fs_image_load(fs_image *img, const char *path, fs_error *e);
void fs_image_free(fs_image *img);
/* For one-off readers (swap): fs_image_load, with a warning naming the file for damage and
 * for transparency; *rgb is malloc'd. */
int fs_image_read(const char *path, uint8_t **rgb, int *w, int *h, fs_error *e);

/* Writes path atomically (temp file + fs_commit_file) with PNG tEXt chunks from text_kv
 * (key, value, key, value, ..., NULL; may be NULL). */
int fs_png_write(const char *path, const uint8_t *rgb, int w, int h, const char *const *text_kv, fs_error *e);
/* Resamples src [sh][sw][3] to dst [dh][dw][3]: bilinear, averaging ceil(sw/dw)^2 taps per
 * output pixel when shrinking so that downscaled faces do not alias. */
void fs_image_resize(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);

#endif
