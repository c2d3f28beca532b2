/* watermark.h — faceswarm's invisible watermark: a 64-bit payload (48-bit run tag + CRC-16) in
 * the low-frequency luma of an image, by dither-modulation QIM on keyed spread-spectrum
 * projections (Chen & Wornell 2001, spread-transform dither modulation) of whole-image DCT-II
 * coefficients taken in normalised image coordinates (so that a resized copy carries the same
 * coefficients), protected by a convolutional code with soft Viterbi decoding: version 3 (what
 * fs_wm_embed writes) the tail-biting K=11 rate-1/3 code of data/wm_code.h, versions 1 and 2
 * the K=7 rate-1/2 code (0171, 0133). docs/provenance.md describes the scheme, its measured
 * rates and its limits.
 *
 * Images are RGB uint8, row-major; a region is given by its first pixel and the row stride of
 * the image it lies in (in pixels), so that one cell of a larger image can be marked alone.
 * The key is fixed and public (FS_WM_KEY): anyone can detect; the mark is a label that
 * survives re-encoding, not a secret. */
#ifndef FACESWARM_DATA_WATERMARK_H
#define FACESWARM_DATA_WATERMARK_H

#include <stdint.h>

#include "core/common.h"
#include "data/wm_code.h"

#define FS_WM_KEY 0x66616365737761ULL /* "faceswa": public, fixed (docs/provenance.md) */
#define FS_WM_MIN_SIDE 32             /* smallest region that can carry or be searched for a mark */
#define FS_WM_RUN_TAG_BITS 48
#define FS_WM_CODED_BITS 140                /* 64 payload + 6 tail bits through the rate-1/2 code */
#define FS_WM_ORIENTATIONS 8                /* the square's symmetries a copy may show (fs_wm_detect_oriented) */
#define FS_WM_VERSIONS 3                    /* scheme versions detect reads (docs/provenance.md); 1 is the first */
#define FS_WM_VERSION 3                     /* the version fs_wm_embed writes */
#define FS_WM_CODED_BITS3 FS_WM3_CODED_BITS /* version 3's code bits (data/wm_code.h) */
/* soft values of a reading: version 1's at 0, 2's at 140, 3's at 280 */
#define FS_WM_SOFT (2 * FS_WM_CODED_BITS + FS_WM_CODED_BITS3)
/* A region's bound: 2 decodes (as read, at the best contrast gain) per version, 2^-16 each. */
#define FS_WM_P_FALSE (2.0 * FS_WM_VERSIONS / 65536.0)

typedef struct fs_wm_result {
    int found;          /* the check code matches and the correlation passes the threshold */
    uint64_t payload;   /* the 64 decoded bits (meaningful only when found) */
    uint64_t run_tag;   /* payload >> 16 */
    double correlation; /* normalised correlation of the demodulated soft bits with the
                           re-encoded codeword, -1..1; ~1 for an intact mark */
    double p_false;     /* bound on the probability that an unmarked image decides "found" */
    double gain;        /* contrast gain the detector compensated (1 = none) */
    int version;        /* the scheme version whose lattices the reported decode used */
    int informed;       /* found by a candidate's check (fs_wm_confirm), not by the blind decode */
    double statistic;   /* the best candidate's check statistic (-1..1; 0 on average unmarked) */
    int candidate;      /* its index in the candidates (-1: none checked, or none matched a blind find) */
} fs_wm_result;

/* Informed detection (docs/provenance.md, "Checking a run"): where the payload is known
 * beforehand (the run an output should come from, or the payload the file's own label states),
 * the detector needs no decoding: the check statistic of a payload is the mean of version 3's
 * 192 soft values signed by its codeword. Unmarked, every soft value is uniform on -1..1
 * (keyed dither), so by the Chernoff bound (moment generating function sinh(l)/l) the
 * statistic reaches FS_WM_CHECK_MIN with probability at most FS_WM_P_CHECK, whatever the
 * payload; marked, it averages 0.32 even on photo crops of 64 px after H.264 at CRF 23, where
 * the blind decode fails (tests/provenance/test_watermark.c computes the bound). */
#define FS_WM_CHECK_MIN 0.20
#define FS_WM_P_CHECK 8.7e-6 /* exp(-192 sup_l (0.20 l - ln(sinh(l) / l))) = 8.62e-6, rounded up */
#define FS_WM_MAX_CANDIDATES 64
typedef struct fs_wm_candidates {
    int n;
    uint64_t payload[FS_WM_MAX_CANDIDATES];
} fs_wm_candidates;
/* The check statistic of payload on version 3's soft values (soft + 2 x FS_WM_CODED_BITS). */
double fs_wm_check_statistic(const float soft3[FS_WM_CODED_BITS3], uint64_t payload);
/* After the blind decode r of the same readings (fs_wm_decode_pair): when it found a mark, r
 * stays (a candidate cannot overrule a decoded payload; statistic and candidate say how that
 * payload's check reads, if it is a candidate); else each candidate is checked as read and at
 * version 3's gain, and the best whose statistic reaches FS_WM_CHECK_MIN is found (informed).
 * p_false: fs_wm_p_false(C->n). C NULL or empty: r is left as it is. */
void fs_wm_confirm(const float soft1[FS_WM_SOFT], const float softg[FS_WM_SOFT], const float gain[FS_WM_VERSIONS],
                   const fs_wm_candidates *C, fs_wm_result *r);
/* fs_wm_decode_pair, then fs_wm_confirm. */
void fs_wm_decide(const float soft1[FS_WM_SOFT], const float softg[FS_WM_SOFT], const float gain[FS_WM_VERSIONS],
                  const fs_wm_candidates *C, fs_wm_result *r);
/* A region's bound with n candidates: FS_WM_P_FALSE + 2 n FS_WM_P_CHECK. */
double fs_wm_p_false(int n_candidates);
/* fs_wm_detect (orientations 0) or fs_wm_detect_oriented (1), each reading also checked
 * against the candidates C (may be NULL); p_false: fs_wm_p_false(n), 8 x with orientations;
 * orientation may be NULL. blind (may be NULL): the verdict of the same readings without the
 * candidates, as fs_wm_detect or fs_wm_detect_oriented gives it. */
void fs_wm_detect_with(const uint8_t *rgb, int stride, int w, int h, int orientations, const fs_wm_candidates *C,
                       fs_wm_result *r, int *orientation, fs_wm_result *blind);

/* The run tag of a run: the first 48 bits of fs_checksum64 of its id text (run directory,
 * checkpoint checksum, whatever the caller names the run by). */
uint64_t fs_wm_run_tag(const char *run_id);
/* run_tag (low 48 bits used) << 16 | CRC-16/CCITT of its 6 bytes. */
uint64_t fs_wm_payload(uint64_t run_tag);
int fs_wm_payload_valid(uint64_t payload);

/* Marks the w x h region (w, h >= FS_WM_MIN_SIDE) in place with scheme version FS_WM_VERSION.
 * PSNR of marked vs unmarked is at least 40 dB (40.05: the mark is scaled to it) whatever the size. Returns 0, or
 * FS_EXIT_BADINPUT for a region too small. */
int fs_wm_embed(uint8_t *rgb, int stride, int w, int h, uint64_t payload, fs_error *e);
/* The same with an older version (1 .. FS_WM_VERSIONS), for tests that files marked by earlier
 * faceswarm still read. */
int fs_wm_embed_version(uint8_t *rgb, int stride, int w, int h, uint64_t payload, int version, fs_error *e);
/* Looks for a mark of any version in the region; never fails (a region too small is "not
 * found"). p_false is FS_WM_P_FALSE. */
void fs_wm_detect(const uint8_t *rgb, int stride, int w, int h, fs_wm_result *r);

/* The detector's soft values of the region's code bits (+1 = surely 0 .. -1 = surely 1) under
 * each version's lattices (versions 1 and 2: 140 at 0 and FS_WM_CODED_BITS; version 3: 192 at
 * 2 x FS_WM_CODED_BITS): read as it is
 * (soft1) and at the contrast gain that fits that version's lattices best (softg, may be NULL;
 * those gains in gain[v - 1], may be NULL). Several frames carrying one mark are decoded
 * together by averaging their soft values (detect on videos); w, h >= FS_WM_MIN_SIDE. */
void fs_wm_soft(const uint8_t *rgb, int stride, int w, int h, float soft1[FS_WM_SOFT], float softg[FS_WM_SOFT],
                float gain[FS_WM_VERSIONS]);
/* fs_wm_soft for the first n (1..FS_WM_ORIENTATIONS) orientations of fs_wm_detect_oriented
 * at once (the coefficients are measured once): soft1[o], softg[o], gain[o] are what fs_wm_soft
 * gives for the copy read as if it showed the marked image in orientation o. Videos searched
 * over orientations add these up per orientation (wm_video.h). */
void fs_wm_soft_oriented(const uint8_t *rgb, int stride, int w, int h, int n, float soft1[][FS_WM_SOFT],
                         float softg[][FS_WM_SOFT], float gain[][FS_WM_VERSIONS]);

/* The decision fs_wm_detect makes on one region's readings (soft1 as it is, softg at each
 * version's gain): the newest version first, each as read, then at its gain (which only adds
 * detections); the first that holds; p_false FS_WM_P_FALSE = 2 x FS_WM_VERSIONS x 2^-16. */
void fs_wm_decode_pair(const float soft1[FS_WM_SOFT], const float softg[FS_WM_SOFT], const float gain[FS_WM_VERSIONS],
                       fs_wm_result *r);

/* fs_wm_detect over the 8 orientations a copy may show (mirrored, flipped, rotated by 90, 180
 * or 270 degrees, transposed): all 8 are decoded and the found one of highest correlation is
 * kept (as made when none holds); *orientation names which (fs_wm_orientation_name). p_false
 * grows to 8 x FS_WM_P_FALSE = 7.3e-4, so detect does this only when asked (--orientations). */
void fs_wm_detect_oriented(const uint8_t *rgb, int stride, int w, int h, fs_wm_result *r, int *orientation);
const char *fs_wm_orientation_name(int orientation);
/* The orientation search's rule (images and videos): a decode c in another orientation
 * replaces the best so far when c holds a mark and best does not, or both do and c's
 * correlation is higher (a blind decode beats an informed check, fs_wm_confirm; two checks
 * compare their statistics). Every orientation is tried: version 3's code can decode a copy read in
 * a wrong orientation that keeps half the coefficients' signs (a 180-degree turn read as a
 * mirror), at a lower correlation than the right one. */
int fs_wm_orientation_better(const fs_wm_result *c, const fs_wm_result *best);

/* PSNR (dB) of two RGB images of n pixels; 99 when identical. */
double fs_wm_psnr(const uint8_t *a, const uint8_t *b, size_t n_pixels);

/* The coding layer, exposed for tests: 64 payload bits -> FS_WM_CODED_BITS code bits (0/1),
 * and soft values (+1 = surely 0 .. -1 = surely 1) -> the most likely payload. */
void fs_wm_conv_encode(uint64_t payload, uint8_t coded[FS_WM_CODED_BITS]);
uint64_t fs_wm_viterbi(const float soft[FS_WM_CODED_BITS]);

#endif
