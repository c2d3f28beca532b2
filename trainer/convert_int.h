/* convert_int.h — what `convert` and `bench convert` share (not an API): the options and the
 * per-frame pipeline (faces found or read back, aligned, through the model, blended). */
#ifndef FACESWARM_CONVERT_INT_H
#define FACESWARM_CONVERT_INT_H

#include <stdint.h>

#include "data/alignments.h"
#include "data/blend.h"
#include "data/extract.h"
#include "data/face_detect.h"
#include "trainer/infer.h"

#define FS_CONVERT_CHUNK_DEFAULT 250 /* frames per piece: the unit of work of a rank, one keyframe each */

typedef struct cv_opts {
    const char *ckpt, *from, *to;
    const char *out;        /* -o OUT.mp4, or NULL with png */
    const char *png;        /* --png DIR, or NULL */
    const char *input;      /* the source video */
    const char *alignments; /* --alignments A.h5, or NULL: detect */
    const char *landmarks;  /* dlib's 68-point model */
    const char *preset;     /* libx264 preset */
    fs_blend_opts blend;
    int crf, chunk, min_face, all_faces, progress_tty;
    double coverage;
} cv_opts;

/* Where the time goes (seconds), and what was done. */
typedef struct cv_times {
    double decode, detect, landmarks, align, model, blend, mark, encode, join;
    long frames, face_frames, faces; /* frames converted, those with a face, faces swapped */
} cv_times;

typedef struct cv_pipe {
    const cv_opts *o;
    fs_infer m;
    int from, to;          /* identities */
    int S;                 /* model resolution = aligned face size */
    fs_face_detector *det; /* NULL when the faces come from alignments */
    fs_alignments al;
    int have_al;
    uint8_t *frame; /* [h][w][3]: the frame being converted */
    size_t frame_len;
    double M[FS_EXTRACT_MAX_FACES][2][3];               /* frame-to-face of each face */
    float lm[FS_EXTRACT_MAX_FACES][FS_ALIGN_POINTS][2]; /* its landmarks, face px */
    uint8_t *orig, *gen, *mask;                         /* [MAX][S][S][3], [S][S][3], [MAX][S][S] */
    float *x, *y;                                       /* the model's input and output [S][S][3], backend memory */
    float *ymask;                           /* the learned mask [S][S] (backend memory), NULL for a model without one */
    float *host;                            /* y downloaded, [S][S][3] */
    fs_region region[FS_EXTRACT_MAX_FACES]; /* what the last frame's faces changed */
    int n_region;
    cv_times t;
} cv_pipe;

/* Loads the checkpoint, checks the identities, reads the alignments (their face size must be
 * the model's) or opens the detector. FS_EXIT_BADINPUT on bad input. */
int cv_pipe_init(cv_pipe *p, const cv_opts *o, fs_error *e);
/* The same with a model already in p->m (bench convert's random weights). */
int cv_pipe_setup(cv_pipe *p, const cv_opts *o, fs_error *e);
/* Frame f of the source into p->frame, converted; p->region lists what changed (0: no face). */
int cv_pipe_frame(cv_pipe *p, const uint8_t *rgb, int w, int h, long f, fs_error *e);
void cv_pipe_free(cv_pipe *p);

#endif
