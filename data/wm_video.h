/* wm_video.h — faceswarm's watermark in a video: every k-th frame is read by the image detector
 * (watermark.h), each on its own (the per-frame vote) and all together: the mark is the same in
 * every frame of a run, so the frames' soft values are averaged and decoded once, which holds
 * where single frames are too noisy (H.264 P and B frames at CRF 23). The video-level decision
 * is that joint decode alone, so its false-alarm bound is an image's: two decodes (as is, and
 * at each frame's best contrast gain, per scheme version), FS_WM_P_FALSE (8 x that with the
 * orientation search).
 * docs/provenance.md gives the figures. */
#ifndef FACESWARM_DATA_WM_VIDEO_H
#define FACESWARM_DATA_WM_VIDEO_H

#include "data/watermark.h"
#include "core/common.h"

#define FS_WM_VIDEO_EVERY 5 /* default: every 5th frame (5 a second at 25 frames/s) */

typedef struct fs_wm_video {
    int width, height; /* px */
    double fps;        /* as the file says; 0 when it does not */
    char codec[32];
    long frames;       /* frames decoded (all of them) */
    int examined;      /* frames the detector read: every `every`-th, from frame 0 */
    int frames_found;  /* examined frames whose own decode found a mark */
    int frames_agree;  /* of those, the ones whose payload is mark.payload */
    fs_wm_result mark; /* the joint decode: found, payload, correlation, p_false, gain */
    int orientation;   /* with orientations: the one the joint decode found it in (0: as made) */
} fs_wm_video;

/* The joint decode of frames in memory (what fs_wm_detect_video does with a file's frames):
 * add frames (regions of at least FS_WM_MIN_SIDE px a side), then decide. */
typedef struct fs_wm_joint {
    double s1[FS_WM_SOFT], sg[FS_WM_SOFT]; /* sums of the frames' soft values (every version's) */
    double gain_sum[FS_WM_VERSIONS];
    int n; /* frames added */
} fs_wm_joint;
/* Adds a frame; *alone (may be NULL) gets that frame's own verdict, as fs_wm_detect gives it. */
void fs_wm_joint_add(fs_wm_joint *J, const uint8_t *rgb, int stride, int w, int h, fs_wm_result *alone);
/* The decision over the frames added (fs_wm_decide of their mean soft values, checked against
 * the candidates C, which may be NULL): found, payload, correlation, version, p_false =
 * fs_wm_p_false(n candidates). The mean of the frames' soft values keeps the informed check's
 * bound: by convexity its moment generating function is at most one frame's. */
void fs_wm_joint_decide(const fs_wm_joint *J, const fs_wm_candidates *C, fs_wm_result *r);

/* Decodes path and looks for the mark in every `every`-th frame (every >= 1). FS_EXIT_BADINPUT
 * when FFmpeg cannot open or decode it (damage after the first frames included: a verdict on
 * part of a file would not say what the rest holds). Frames under FS_WM_MIN_SIDE px a side
 * are decoded, not examined. orientations = 1: the frames are also read as if the video showed
 * the marked frames in each of the 7 other orientations (mirrored, flipped, turned: the image
 * detector's fs_wm_detect_oriented), one joint decode per orientation, the found one of highest
 * correlation kept (fs_wm_orientation_better); out->orientation names it, and p_false is
 * 8 x FS_WM_P_FALSE per video. A
 * frame's own verdict (the vote) is then its oriented search too. C (may be NULL): the joint
 * decodes are also checked against these payloads (fs_wm_confirm; a frame's own verdict is
 * the blind decode alone), p_false fs_wm_p_false(C->n), 8 x that with orientations. */
int fs_wm_detect_video(const char *path, int every, int orientations, const fs_wm_candidates *C, fs_wm_video *out,
                       fs_error *e);

#endif
