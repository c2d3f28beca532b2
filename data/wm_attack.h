/* wm_attack.h — what a marked image meets after it leaves faceswarm, reproduced for the
 * watermark's benchmark and tests: JPEG re-encoding, resizing, H.264 re-encoding (through the
 * ffmpeg program, when it is installed). Images are RGB uint8 [h][w][3]. */
#ifndef FACESWARM_DATA_WM_ATTACK_H
#define FACESWARM_DATA_WM_ATTACK_H

#include <stdint.h>

#include "core/common.h"

/* JPEG-compresses rgb at quality (1..100, 4:2:0 as libjpeg's default) and decodes it again in
 * place. Returns 0, or FS_EXIT_FAIL with libjpeg's message. */
int fs_attack_jpeg(uint8_t *rgb, int w, int h, int quality, fs_error *e);
/* Writes rgb as a JPEG file at quality (atomically), with no metadata at all. */
int fs_jpeg_write(const char *path, const uint8_t *rgb, int w, int h, int quality, fs_error *e);
/* Encodes n frames [n][h][w][3] (w, h even) as one H.264 stream with libx264 at crf (yuv420p,
 * the ffmpeg defaults otherwise) and decodes it back in place: as RGB, or with luma_only as the
 * decoded Y plane (R = G = B = Y), what a video reader hands the detector. FS_EXIT_FAIL when
 * ffmpeg is missing or fails; tmpdir holds its two files while it runs. */
int fs_attack_h264(uint8_t *frames, int n, int w, int h, int crf, int luma_only, const char *tmpdir, fs_error *e);
/* The same with a keyframe every gop frames (gop 1: every frame intra, as fs_attack_h264; 250,
 * libx264's default, gives P and B frames, which CRF codes at a higher quantiser). */
int fs_attack_h264_gop(uint8_t *frames, int n, int w, int h, int crf, int gop, int luma_only, const char *tmpdir,
                       fs_error *e);
/* 1 when an ffmpeg program with libx264 can be run. */
int fs_attack_have_ffmpeg(void);

#endif
