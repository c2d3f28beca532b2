/* synth.h — procedurally drawn faces, the embedded default dataset.
 *
 * An identity (seed, index) has stable features: face shape, skin tone, eye spacing and iris
 * colour, brows, nose, mouth, hair style and colour. A sample (seed, index, k) varies pose
 * (rotation, translation, scale, yaw), expression (smile, mouth, eye opening, brows), the
 * lighting direction and the background. Everything is a pure function of its key words. */
#ifndef FACESWARM_DATA_SYNTH_H
#define FACESWARM_DATA_SYNTH_H

#include <stdint.h>

#include "core/common.h"

typedef struct fs_synth_identity {
    float face_w, face_h, jaw; /* half-width, half-height (of 1), chin narrowing 0..1 */
    float skin[3], hair[3], iris[3], lip[3];
    float eye_dx, eye_y, eye_w, eye_h; /* half spacing, height, eye half-extent */
    float brow_off, brow_t, brow_arch; /* above the eye, thickness, arch */
    float nose_len, nose_w, mouth_y, mouth_w, lip_t;
    float hairline; /* v of the hairline at the centre (negative = up) */
    int hair_style; /* 0 short, 1 long, 2 receding, 3 fringe */
} fs_synth_identity;

void fs_synth_identity_draw(fs_synth_identity *id, uint64_t seed, int index);
/* Renders sample k of identity id into rgb [S][S][3], and, when mask is not NULL, its face
 * region into mask [S][S]: 255 where skin, ears or hair cover the pixel, 0 on the background
 * and the neck, anti-aliased edges in between (what the image shows, drawn back to front). */
void fs_synth_render(const fs_synth_identity *id, uint64_t seed, int index, long k, int S, uint8_t *rgb, uint8_t *mask);
/* The 68 landmarks of sample k (dlib's / faceswap's order: jaw 0-16, brows 17-26, nose 27-35,
 * eyes 36-47, mouth 48-67; the subject's right side first, which is the image's left) as
 * fs_synth_render draws it, in the face's pixel coordinates (x right, y down, pixel centres
 * at integers, as faceswarm extract stores them): the eye points on each eye's outline (its
 * corners and lids), the lip points on the lips' outer and inner edges, the jaw on the face
 * outline, the brows along their centre line, the nose on its ridge and under its tip. */
void fs_synth_landmarks(const fs_synth_identity *id, uint64_t seed, int index, long k, int S, float lm[68][2]);
/* Writes dir/<name>.h5 for identities 0..n-1 (names A, B, ...), count faces each, with their
 * face-region masks (/masks) and landmarks (/landmarks), and progress on stdout; files
 * appear only when whole. */
int fs_synth_write(const char *dir, int identities, long count, int size, uint64_t seed, fs_error *e);
/* "A".."Z", then "I26", ... */
void fs_synth_name(int index, char *out, size_t len);

#endif
