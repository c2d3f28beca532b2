/* video_enc.h — writing video through libavcodec/libavformat for convert: pieces and the join.
 *
 * A piece is a run of consecutive frames encoded by one encoder from its first frame (so it
 * starts with a keyframe), H.264 through libx264 when this FFmpeg has it (constant rate
 * factor, no B-frames: decoding order is presentation order, so the pieces' packets follow
 * one another in time), else MPEG-4 part 2 at a fixed quantiser. Frames keep the source's
 * timestamps (its time base). A piece is written to a NUT file (any time base, nothing
 * reordered) that appears under its name only when whole.
 *
 * The join copies the pieces' packets, in order, into the output container (chosen by the
 * output's extension) with every audio stream of the source copied beside them and the
 * provenance labels of data/video_labels.h (container keys; the XMP uuid box in MP4/MOV),
 * then renames it into place: nothing is encoded twice, and nothing appears under the
 * output's name before the whole file does. */
#ifndef FACESWARM_DATA_VIDEO_ENC_H
#define FACESWARM_DATA_VIDEO_ENC_H

#include <stdint.h>

#include "data/xmp.h" /* fs_provenance */
#include "core/common.h"

#define FS_VENC_CRF_DEFAULT 18 /* libx264: visually lossless for most footage */
#define FS_VENC_PRESET_DEFAULT "medium"

typedef struct fs_venc_opts {
    int width, height;  /* px */
    int tb_num, tb_den; /* seconds per pts unit of the frames given (the source's time base) */
    int64_t frame_dur;  /* duration of one frame in pts units (from the frame rate), > 0 */
    int crf;            /* libx264 constant rate factor, 0..51 */
    const char *preset; /* libx264 preset (ultrafast .. veryslow) */
} fs_venc_opts;

typedef struct fs_venc fs_venc;

/* The encoder this FFmpeg build gives ("libx264", else "mpeg4"); NULL when it has neither. */
const char *fs_venc_codec(void);
/* Starts a piece at path (written through a temp file). */
int fs_venc_open(fs_venc **v, const char *path, const fs_venc_opts *o, fs_error *e);
/* Encodes one RGB frame [height][width][3] with presentation time pts (time base units). */
int fs_venc_frame(fs_venc *v, const uint8_t *rgb, int64_t pts, fs_error *e);
/* Flushes, writes the trailer and renames the piece into place. Frees v either way. */
int fs_venc_close(fs_venc *v, fs_error *e);
/* Removes the temp file. Frees v. */
void fs_venc_abort(fs_venc *v);

typedef struct fs_vjoin_opts {
    const char *out;           /* final path; its extension chooses the container */
    const char *audio_from;    /* source whose audio streams are copied (keeping their offset
                                       from its video stream's start), or NULL */
    int fps_num, fps_den;      /* the video's frame rate for the container (0/1: unknown) */
    const char *const *pieces; /* [n_pieces] piece files in time order */
    int n_pieces;
    const fs_provenance *labels; /* the labels (NULL: none; bench convert) */
} fs_vjoin_opts;

typedef struct fs_vjoin_result {
    long video_packets, audio_packets;
    int audio_streams;
} fs_vjoin_result;

/* Checks before any work that out's extension names a container that holds H.264
 * (FS_EXIT_BADINPUT with a hint otherwise). */
int fs_vjoin_check_out(const char *out, fs_error *e);
/* Joins the pieces (see above). The pieces must be one encoder's settings (the same codec
 * parameters and stream header): anything else is FS_EXIT_FAIL. */
int fs_vjoin(const fs_vjoin_opts *o, fs_vjoin_result *r, fs_error *e);

#endif
