/* regions.h — the eye and mouth regions of a face from its 68 landmarks (eye and mouth
 * priority of the loss, trainer/loss.h).
 *
 * eye   = the convex hulls of points 36-41 and 42-47 (each eye), mouth = the convex hull of
 * points 48-67 (outer and inner lips), each dilated by FS_REGION_DILATE(S) px: the hull of
 * the points moved by that radius in 16 (eyes) or 6 (mouth) directions, a polygon inside
 * the disc's Minkowski sum, as DeepFaceLab dilates its eye and mouth hulls with an ellipse
 * of S/32 px across (unlike DFL, no Gaussian blur follows: the maps are 0/255 where the
 * augmentation's bilinear resampling leaves them). Pixels are inside when their centre is
 * (data/align.h's rule, landmarks in the face's pixel coordinates). */
#ifndef FACESWARM_DATA_REGIONS_H
#define FACESWARM_DATA_REGIONS_H

#include <stdint.h>

#define FS_REGION_DILATE(S) ((double)(S) / 64.0)

/* lm [68][2] (x, y) of a face of S px; eye and mouth [S][S] get 255 inside, 0 outside. */
void fs_face_regions(const float (*lm)[2], int S, uint8_t *eye, uint8_t *mouth);

#endif
