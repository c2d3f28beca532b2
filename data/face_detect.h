/* face_detect.h — face detection and 68-point landmarks (dlib's HOG frontal detector and its
 * shape predictor), behind a C interface: the one C++ file data/face_dlib.cpp implements it.
 *
 * Images are RGB uint8 row-major [h][w][3]. Coordinates are pixels of that image, x right,
 * y down, a pixel's centre at integer coordinates (dlib's convention). Landmarks follow
 * dlib's (iBUG 300-W) 68-point numbering: 0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes,
 * 48-67 mouth. Detection is deterministic: the same image gives the same faces.
 *
 * The header is plain C and self-contained (no core/common.h: that header is C11, not
 * C++); errors come back as text in err[errlen]. */
#ifndef FACESWARM_DATA_FACE_DETECT_H
#define FACESWARM_DATA_FACE_DETECT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FS_FACE_POINTS 68
/* dlib's HOG detector scans an 80x80 px window: smaller faces need an upsampled image. */
#define FS_FACE_WINDOW 80

typedef struct fs_face_found {
    float box[4];                 /* detector rectangle x0, y0, x1, y1 (px, inclusive) */
    float pts[FS_FACE_POINTS][2]; /* landmarks (px) */
    double score;                 /* detector confidence (larger = surer) */
} fs_face_found;

typedef struct fs_face_detector fs_face_detector;

/* Loads the shape predictor (dlib's shape_predictor_68_face_landmarks.dat, ~100 MB, about a
 * second). Returns 0, or -1 with err filled (file missing, not a dlib model). */
int fs_face_detector_open(fs_face_detector **d, const char *landmarks_model, char *err, size_t errlen);
/* Finds faces whose detector box is at least min_face px wide. The image is searched at the
 * scale that makes a min_face face fill dlib's 80 px window (upsampled when min_face < 80,
 * downsampled when larger: faster). Landmarks are always fitted at full resolution. Writes
 * up to max faces, largest box first (ties: leftmost, then topmost), and returns how many
 * it found in all (may exceed max), or -1 with err filled. */
int fs_face_detect(fs_face_detector *d, const uint8_t *rgb, int w, int h, int min_face, fs_face_found *out, int max,
                   char *err, size_t errlen);
/* Seconds spent so far in the detector's scan and in the landmark fits (for bench extract). */
void fs_face_detector_times(const fs_face_detector *d, double *detect_s, double *landmarks_s);
void fs_face_detector_close(fs_face_detector *d);

#ifdef __cplusplus
}
#endif

#endif
