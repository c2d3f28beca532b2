/* video.h — reading video files through FFmpeg (libavformat demuxing, libavcodec decoding,
 * libswscale to RGB): frames in presentation order, numbered from 0, with their timestamps.
 * Whatever the installed FFmpeg decodes is accepted; the first video stream is used (the
 * one FFmpeg calls best). Errors name the file and say what was wrong (FS_EXIT_BADINPUT for
 * an unreadable, truncated or video-less file). */
#ifndef FACESWARM_DATA_VIDEO_H
#define FACESWARM_DATA_VIDEO_H

#include <stdint.h>

#include "core/common.h"
#include "core/limits.h" /* FS_PATH_LEN */

typedef struct fs_video_info {
    int width, height; /* px */
    double fps;        /* average frame rate (frames/s), 0 when the file does not say */
    long frames;       /* video packets counted by a demux pass (one per frame for every codec in use) */
    char codec[32];    /* decoder name, e.g. "h264" */
} fs_video_info;

typedef struct fs_video fs_video;

/* FFmpeg's largest single allocation in this process (av_max_alloc; FFmpeg's default is
 * INT_MAX). A crafted 4 kB MP4 makes FFmpeg 5.1's mov demuxer grow one table to 2 GB at open,
 * 5 GB resident in all, before it fails; nothing a real video needs is that large (an 8K
 * 16-bit plane is 66 MB, the index of a day at 60 frames/s 124 MB). fs_av_limits sets it,
 * once; every faceswarm path that opens a file with FFmpeg calls it first. */
#define FS_AV_MAX_ALLOC (256u << 20)
void fs_av_limits(void);
/* The hint for an FFmpeg error code: for ENOMEM, that FS_AV_MAX_ALLOC may be what refused,
 * else `otherwise`. */
const char *fs_av_hint(int err, const char *otherwise);

/* Opens path and finds its video stream and decoder. */
int fs_video_open(fs_video **v, const char *path, fs_error *e);
/* Counts the video stream's packets without decoding (a fast demux pass over the whole file,
 * reopened separately so v's position is untouched) and fills info. A file whose index
 * promises more frames than can be read is truncated: FS_EXIT_BADINPUT. */
int fs_video_probe(fs_video *v, fs_video_info *info, fs_error *e);
/* The next frame: returns 1 with *index (0, 1, ...) and *t (seconds from the stream's
 * start) set, and, when rgb is not NULL, *rgb pointing at [height][width][3] RGB owned by v
 * (valid until the next call); 0 at the end of the stream; -1 with e set on an error. A
 * frame read with rgb == NULL is decoded but not converted (for skipping). */
int fs_video_next(fs_video *v, const uint8_t **rgb, long *index, double *t, fs_error *e);
/* Size of the frame fs_video_next last returned in RGB (px). */
void fs_video_frame_size(const fs_video *v, int *w, int *h);
/* The video stream's timing as exact fractions, for writers that keep the source's timing
 * (convert): the time base (seconds per pts unit), the average frame rate (0/1 when the
 * file does not say), and the stream's start pts (0 when unknown). */
typedef struct fs_video_timing {
    int tb_num, tb_den;   /* seconds per pts unit */
    int fps_num, fps_den; /* frames/s */
    int64_t start;        /* pts of the stream's start, time base units */
} fs_video_timing;
void fs_video_timing_of(const fs_video *v, fs_video_timing *t);
/* pts (time base units, from the stream's start) of the frame fs_video_next last returned. */
int64_t fs_video_last_pts(const fs_video *v);
void fs_video_close(fs_video *v);

#endif
