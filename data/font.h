/* font.h — a small built-in bitmap font (5x8 glyphs in a 6x10 cell) for labels drawn into
 * images: the preview's legend. Printable ASCII letters, digits and common punctuation;
 * anything else is drawn as '?'. */
#ifndef FACESWARM_DATA_FONT_H
#define FACESWARM_DATA_FONT_H

#include <stdint.h>

#define FS_FONT_W 6  /* advance per character, px at scale 1 (5 px glyph + 1 px space) */
#define FS_FONT_H 10 /* line height, px at scale 1 (8 px glyph with descender + 2 px) */

/* Width in px of text at an integer scale. */
int fs_font_width(const char *text, int scale);
/* Draws text into rgb [h][w][3] with its top-left corner at (x, y), each font pixel a
 * scale x scale square of colour; pixels outside the image are clipped. */
void fs_font_draw(uint8_t *rgb, int w, int h, int x, int y, const char *text, int scale, const uint8_t colour[3]);

#endif
