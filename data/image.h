/* image.h — PNG and JPEG files and resizing, for `data import` and the trainer's previews.
 * Images are RGB uint8, row-major [h][w][3]. */
#ifndef FACESWARM_DATA_IMAGE_H
#define FACESWARM_DATA_IMAGE_H

#include <stdint.h>

#include "trainer/common.h"

/* Writes path atomically (temp file + fs_commit_file) with PNG tEXt chunks from text_kv
 * (key, value, key, value, ..., NULL; may be NULL). */
int fs_png_write(const char *path, const uint8_t *rgb, int w, int h, const char *const *text_kv, fs_error *e);
/* Reads any PNG (palette, grey, 16-bit, alpha composited on black) as RGB; *rgb is malloc'd. */
int fs_png_read(const char *path, uint8_t **rgb, int *w, int *h, fs_error *e);
/* Reads a JPEG (RGB or greyscale) as RGB; *rgb is malloc'd. */
int fs_jpeg_read(const char *path, uint8_t **rgb, int *w, int *h, fs_error *e);
/* By content (PNG or JPEG signature), not by name. */
int fs_image_read(const char *path, uint8_t **rgb, int *w, int *h, fs_error *e);
/* Resamples src [sh][sw][3] to dst [dh][dw][3]: bilinear, averaging ceil(sw/dw)^2 taps per
 * output pixel when shrinking so that downscaled faces do not alias. */
void fs_image_resize(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);

#endif
