/* video_fixture.h — the tests' H.264 MP4 writer (libavformat + libx264 through libavcodec):
 * RGB frames in, a labelled file out, the way a faceswarm video writer labels its output. */
#ifndef FACESWARM_TESTS_VIDEO_FIXTURE_H
#define FACESWARM_TESTS_VIDEO_FIXTURE_H

#include <stdint.h>

#include "data/xmp.h"
#include "core/common.h"

/* Writes n RGB frames [n][h][w][3] (w, h even) to path as H.264 (yuv420p, crf, 25 frames/s,
 * keyframe every `gop` frames) in the container its name says (.mp4, .mov). movflags (NULL for none) is given to the muxer as
 * "+flag" options; p (NULL for none) sets the container labels before the header and, with
 * xmp_box, the XMP box after the file is closed. */
int fx_write_mp4(const char *path, const uint8_t *rgb, int n, int w, int h, int crf, int gop, const char *movflags,
                 const fs_provenance *p, int xmp_box, fs_error *e);

/* Decodes every frame of path into *rgb (malloc'd [n][h][w][3]); returns the frame count or
 * -1 with e set. */
int fx_decode_all(const char *path, uint8_t **rgb, int *w, int *h, fs_error *e);

#endif
