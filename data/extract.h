/* extract.h — `faceswarm extract`: footage (video files, images, folders of either) to one
 * schema v2 identity file of aligned faces, with each face's landmarks, landmark-hull mask
 * and where it came from (docs/extract.md). One process or the ranks of an MPI job.
 *
 * The work is cut into chunks of o->chunk consecutive frames of the inputs taken in
 * order (a chunk may span several images or the end of one video and the start of the next);
 * rank r of P takes chunks [r·C/P, (r+1)·C/P). Each finished chunk is a part file in the
 * work folder OUT.work/ next to the output; rank 0 joins the parts in chunk order into OUT
 * (temp file, fsync, rename). The result does not depend on P, and a rerun with the same
 * inputs and options skips the chunks whose parts exist. */
#ifndef FACESWARM_DATA_EXTRACT_H
#define FACESWARM_DATA_EXTRACT_H

#include <stdint.h>

#include "core/common.h"

#define FS_EXTRACT_CHUNK_DEFAULT 64 /* frames per chunk (part file) */
#define FS_EXTRACT_MAX_FACES 16     /* faces kept per frame with --faces all */
#define FS_EXTRACT_SIZE_DEFAULT 256
#define FS_EXTRACT_MIN_FACE_DEFAULT 80          /* dlib's HOG window: smaller faces cost an upsampled search */
#define FS_EXTRACT_PARAMS_ATTR "extract_params" /* attribute of OUT: hash of inputs and options */

typedef struct fs_extract_opts {
    const char *identity, *consent, *source; /* schema attributes (the consent record) */
    const char *out;                         /* NAME.h5 */
    const char *landmarks;                   /* dlib's 68-point model file */
    int size;                                /* S, stored face size (px) */
    int every;                               /* keep frames whose index % every == 0 */
    int all_faces;                           /* 1 = every face of a frame (largest first), 0 = the largest */
    int min_face;                            /* smallest detector box kept (px) */
    int chunk;                               /* frames per chunk (the unit of balance and resume) */
    double coverage;                         /* fraction of S the mean-face square spans */
    int progress_tty;                        /* 1 = redraw the progress line in place */
    const char *const *inputs;
    int n_inputs;
} fs_extract_opts;

typedef struct fs_extract_result {
    long sources;        /* input files after folders were expanded */
    long frames;         /* frames in all inputs */
    long scanned;        /* frames searched (every --every-th) */
    long faces;          /* faces written */
    long no_face;        /* scanned frames without a face */
    long chunks_skipped; /* chunks found done in OUT.work/ */
    int already_done;    /* OUT existed with the same inputs and options: nothing was done */
    double seconds;
} fs_extract_result;

/* Collective over MPI_COMM_WORLD (initialised here when it is not yet; the caller
 * finalises). Returns FS_EXIT_OK, FS_EXIT_BADINPUT (bad input, no face anywhere: nothing
 * under o->out), FS_EXIT_FAIL or FS_EXIT_STOPPED (SIGINT/SIGTERM/SIGUSR1: finished parts are
 * kept for a rerun); every rank returns the same code. e->msg is set only on the rank(s)
 * that found the problem (so that each message is printed once); r is rank 0's. */
int fs_extract(const fs_extract_opts *o, fs_extract_result *r, fs_error *e);
/* Validates the options alone (no files touched but the output's folder). */
int fs_extract_check_opts(const fs_extract_opts *o, fs_error *e);

#endif
