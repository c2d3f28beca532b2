/* watermark.h — faceswarm's invisible watermark: a 64-bit payload (48-bit run tag + CRC-16) in
 * the low-frequency luma of an image, by dither-modulation QIM on keyed spread-spectrum
 * projections (Chen & Wornell 2001, spread-transform dither modulation) of whole-image DCT-II
 * coefficients taken in normalised image coordinates (so that a resized copy carries the same
 * coefficients), protected by the K=7 rate-1/2 convolutional code (0171, 0133) with soft
 * Viterbi decoding. docs/provenance.md describes the scheme, its measured rates and its limits.
 *
 * Images are RGB uint8, row-major; a region is given by its first pixel and the row stride of
 * the image it lies in (in pixels), so that one cell of a larger image can be marked alone.
 * The key is fixed and public (FS_WM_KEY): anyone can detect; the mark is a label that
 * survives re-encoding, not a secret. */
#ifndef FACESWARM_DATA_WATERMARK_H
#define FACESWARM_DATA_WATERMARK_H

#include <stdint.h>

#include "core/common.h"

#define FS_WM_KEY 0x66616365737761ULL /* "faceswa": public, fixed (docs/provenance.md) */
#define FS_WM_MIN_SIDE 32             /* smallest region that can carry or be searched for a mark */
#define FS_WM_RUN_TAG_BITS 48

typedef struct fs_wm_result {
    int found;          /* the check code matches and the correlation passes the threshold */
    uint64_t payload;   /* the 64 decoded bits (meaningful only when found) */
    uint64_t run_tag;   /* payload >> 16 */
    double correlation; /* normalised correlation of the demodulated soft bits with the
                           re-encoded codeword, -1..1; ~1 for an intact mark */
    double p_false;     /* bound on the probability that an unmarked image decides "found" */
    double gain;        /* contrast gain the detector compensated (1 = none) */
} fs_wm_result;

/* The run tag of a run: the first 48 bits of fs_checksum64 of its id text (run directory,
 * checkpoint checksum, whatever the caller names the run by). */
uint64_t fs_wm_run_tag(const char *run_id);
/* run_tag (low 48 bits used) << 16 | CRC-16/CCITT of its 6 bytes. */
uint64_t fs_wm_payload(uint64_t run_tag);
int fs_wm_payload_valid(uint64_t payload);

/* Marks the w x h region (w, h >= FS_WM_MIN_SIDE) in place. PSNR of marked vs unmarked is
 * about 42 dB whatever the size. Returns 0, or FS_EXIT_BADINPUT for a region too small. */
int fs_wm_embed(uint8_t *rgb, int stride, int w, int h, uint64_t payload, fs_error *e);
/* Looks for a mark in the region; never fails (a region too small is "not found"). */
void fs_wm_detect(const uint8_t *rgb, int stride, int w, int h, fs_wm_result *r);

/* PSNR (dB) of two RGB images of n pixels; 99 when identical. */
double fs_wm_psnr(const uint8_t *a, const uint8_t *b, size_t n_pixels);

/* The coding layer, exposed for tests: 64 payload bits -> FS_WM_CODED_BITS code bits (0/1),
 * and soft values (+1 = surely 0 .. -1 = surely 1) -> the most likely payload. */
#define FS_WM_CODED_BITS 140
void fs_wm_conv_encode(uint64_t payload, uint8_t coded[FS_WM_CODED_BITS]);
uint64_t fs_wm_viterbi(const float soft[FS_WM_CODED_BITS]);

#endif
