/* align.h — faceswap-style face alignment: a similarity transform of 68 landmarks onto a
 * mean-face template, a coverage setting, the crop (bilinear), the landmark-hull mask, and
 * the 2x3 matrix algebra that convert needs to put a face back into its frame.
 *
 * Matrices are affine 2x3, row-major, double: [x', y'] = M · [x, y, 1]. A frame-to-face
 * matrix maps frame pixel coordinates to aligned-face pixel coordinates (pixel centres at
 * integer coordinates, as dlib's landmarks and OpenCV's warpAffine have them).
 *
 * The alignment (as faceswap's "legacy" centring): the Umeyama least-squares similarity
 * (rotation, uniform scale, translation; no reflection) from landmarks 17..67 (brows, nose,
 * eyes, mouth; the jaw line is left out, it moves with expression and pose) onto the mean
 * face in the unit square; then the unit square is placed in the middle of an S px face so
 * that it spans coverage·S px: padding (1-coverage)/2·S on each side. faceswap's legacy
 * extract pads 0.1875·S, i.e. coverage 0.625, which is FS_ALIGN_COVERAGE_DEFAULT. */
#ifndef FACESWARM_DATA_ALIGN_H
#define FACESWARM_DATA_ALIGN_H

#include <stdint.h>

#define FS_ALIGN_POINTS 68
#define FS_ALIGN_FIRST 17 /* first landmark used for the fit */
#define FS_ALIGN_COVERAGE_DEFAULT 0.625

/* The mean face for landmarks 17..67 in the unit square ([51][2], x then y). */
extern const double fs_align_mean_face[FS_ALIGN_POINTS - FS_ALIGN_FIRST][2];

/* Least-squares similarity dst ≈ M·src over n points (Umeyama 1991, with the reflection
 * guard). Returns 0, or -1 when the points are degenerate (all equal). */
int fs_align_umeyama(const double (*src)[2], const double (*dst)[2], int n, double M[2][3]);
/* Frame-to-face matrix for a face of S px from its 68 frame landmarks. -1 if degenerate. */
int fs_align_matrix(const float pts[FS_ALIGN_POINTS][2], int S, double coverage, double M[2][3]);
/* inv = M^-1 (as an affine map). -1 when M is singular. */
int fs_align_invert(const double M[2][3], double inv[2][3]);
void fs_align_apply(const double M[2][3], const float (*in)[2], float (*out)[2], int n);
/* dst [dh][dw][3] = src [sh][sw][3] sampled at M^-1 of each dst pixel, bilinear (M maps src
 * to dst coordinates: frame to face for the crop, face to frame to put a face back); taps
 * outside src are black (as faceswap's constant border). */
void fs_align_warp(const uint8_t *src, int sw, int sh, const double M[2][3], uint8_t *dst, int dw, int dh);
/* mask [S][S] = 255 inside the convex hull of the n points (face coordinates), else 0. A
 * pixel is inside when its centre is inside or on the hull. */
void fs_align_hull_mask(const float (*pts)[2], int n, int S, uint8_t *mask);

#endif
