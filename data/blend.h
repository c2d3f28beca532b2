/* blend.h — putting a generated face back into its frame (no model here, convert's last
 * steps): the generated face colour-matched to the original inside the mask, the mask
 * warped into the frame through the inverse of the frame-to-face matrix, eroded and
 * feathered there (so --erode and --blur are frame pixels whatever the model's size), and
 * the generated face alpha-blended over the frame through it.
 *
 * The mask is any [S][S] uint8 map (0 = keep the frame, 255 = the generated face): the
 * landmark hull today, a learned mask where the model has one. Pixels where the feathered
 * mask is 0 are not touched: they keep their exact value. */
#ifndef FACESWARM_DATA_BLEND_H
#define FACESWARM_DATA_BLEND_H

#include <stdint.h>

#include "data/xmp.h" /* fs_region */

typedef enum { FS_COLOR_NONE = 0, FS_COLOR_AVG = 1, FS_COLOR_HIST = 2 } fs_color_mode;

/* Automatic erosion and feathering, as fractions of the side of the aligned face square in
 * the frame (S divided by the matrix's scale): about 1/4 and 2/3 of a typical face's width
 * in percent. */
#define FS_BLEND_ERODE_AUTO 0.015
#define FS_BLEND_BLUR_AUTO 0.04

typedef struct fs_blend_opts {
    fs_color_mode color;
    int erode; /* frame px the mask shrinks by (grayscale erosion, square); -1: automatic */
    int blur;  /* frame px over which the mask's edge fades (two box blurs of blur/2); -1: automatic */
} fs_blend_opts;

/* Parses none|avg|hist. -1 for another word. */
int fs_color_mode_parse(const char *s);
const char *fs_color_mode_name(fs_color_mode m);

/* Colour-matches gen [S][S][3] to orig [S][S][3] over the pixels where mask >= 128, in place:
 * avg = the mean and the standard deviation of each channel in CIE L*a*b* (D65) made the
 * original's (Reinhard et al. 2001, faceswap's color-transfer); hist = each RGB channel's
 * histogram mapped onto the original's (the CDF matched); none = unchanged. Fewer than 16
 * mask pixels: unchanged. */
void fs_color_match(uint8_t *gen, const uint8_t *orig, const uint8_t *mask, int S, fs_color_mode mode);

/* The erosion and feathering that o asks for, in frame px, for a face of S px under M. */
void fs_blend_widths(const fs_blend_opts *o, int S, const double M[2][3], int *erode, int *blur);

/* Blends gen [S][S][3] into frame [h][w][3] in place through mask [S][S], M frame-to-face.
 * *changed receives the bounding box of the pixels it changed (w = h = 0 when none).
 * Returns 0, or -1 when M is singular (nothing changed). */
int fs_blend_face(uint8_t *frame, int w, int h, const uint8_t *gen, const uint8_t *mask, int S, const double M[2][3],
                  const fs_blend_opts *o, fs_region *changed);

#endif
