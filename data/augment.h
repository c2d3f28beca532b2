/* augment.h — faceswap's training augmentation for one face.
 *
 * target = flip(random_transform(face)): rotation +-rotation deg, zoom +-zoom, shift +-shift of
 * the size (cv2.getRotationMatrix2D about the centre + shift, bilinear, edges replicated), then
 * a horizontal flip with probability flip.
 * input  = random_warp(target) when warp: a 5x5 grid of control points over [0, S-1], each moved
 * by N(0, 5/256*S), both maps resized (bilinear, as cv2.resize) to P = 1.25*S and cropped to
 * the central S x S, then a bilinear remap (edges replicated); else input = target.
 * All draws come from the caller's RNG, in a fixed order, so a sample's augmentation is a pure
 * function of the RNG key (the loader keys it on seed, identity, epoch, position). */
#ifndef FACESWARM_DATA_AUGMENT_H
#define FACESWARM_DATA_AUGMENT_H

#include <stdint.h>

#include "core/common.h"

typedef struct fs_augment_opts {
    float rotation; /* degrees, +- */
    float zoom;     /* fraction, +- */
    float shift;    /* fraction of the size, +- */
    float flip;     /* probability */
    int warp;       /* 1 = random warp of the input */
} fs_augment_opts;

/* Scratch for one face of side S (the warp maps); one per thread. */
typedef struct fs_augment_work {
    int S, P;           /* face side; side of the resized grid before the crop, 1.25*S */
    float *mapx, *mapy; /* [S][S] source coordinates of the warp (the cropped part of [P][P]) */
} fs_augment_work;

void fs_augment_work_init(fs_augment_work *w, int S);
void fs_augment_work_free(fs_augment_work *w);
/* src, input, target: [S][S][3]. input may be NULL (target only). */
void fs_augment(const fs_augment_opts *o, fs_rng *r, fs_augment_work *w, const uint8_t *src, uint8_t *input,
                uint8_t *target);
/* The same, and the face's mask (src_mask, target_mask: [S][S], 0 background .. 255 face) put
 * through the very transform of the target (one draw, applied to both; bilinear, edges
 * replicated), never warped. The RNG draws are those of fs_augment: input and target come
 * out byte for byte as without a mask. With either mask pointer NULL it is fs_augment. */
void fs_augment_masked(const fs_augment_opts *o, fs_rng *r, fs_augment_work *w, const uint8_t *src,
                       const uint8_t *src_mask, uint8_t *input, uint8_t *target, uint8_t *target_mask);
/* The general form: n_planes single-channel maps of the face ([S][S] each: its mask, its eye
 * and mouth regions, ...), src_planes[k] -> dst_planes[k], all through the target's one
 * transform (bilinear, edges replicated), never warped; a NULL pair is skipped. The RNG draws
 * are those of fs_augment, whatever the planes: input and target are the same bytes. */
void fs_augment_planes(const fs_augment_opts *o, fs_rng *r, fs_augment_work *w, const uint8_t *src,
                       const uint8_t *const *src_planes, uint8_t *const *dst_planes, int n_planes, uint8_t *input,
                       uint8_t *target);

#endif
