/* regions.c — see regions.h. */
#include "data/regions.h"

#include <math.h>
#include <string.h>

#include "data/align.h"

/* mask [S][S] = 255 inside the hull of points first..first+count-1 dilated by r (dirs
 * directions), else 0. */
static void dilated_hull(const float (*lm)[2], int first, int count, int dirs, double r, int S, uint8_t *mask) {
    float pts[FS_ALIGN_POINTS * 2][2];
    int n = 0;
    for (int i = first; i < first + count; i++)
        for (int d = 0; d < dirs && n < FS_ALIGN_POINTS * 2; d++) {
            double a = 2.0 * M_PI * d / dirs;
            pts[n][0] = (float)(lm[i][0] + r * cos(a)), pts[n][1] = (float)(lm[i][1] + r * sin(a));
            n++;
        }
    fs_align_hull_mask((const float(*)[2])pts, n, S, mask);
}

void fs_face_regions(const float (*lm)[2], int S, uint8_t *eye, uint8_t *mouth) {
    const double r = FS_REGION_DILATE(S);
    const size_t plane = (size_t)S * S;
    dilated_hull(lm, 36, 6, 16, r, S, eye);
    dilated_hull(lm, 42, 6, 16, r, S, mouth); /* the mouth plane is scratch for the second eye */
    for (size_t k = 0; k < plane; k++) eye[k] |= mouth[k];
    dilated_hull(lm, 48, 20, 6, r, S, mouth);
}
