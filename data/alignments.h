/* alignments.h — the alignments of one source video, read back from an extract file (schema
 * v2 with /frames, /landmarks and /sources, docs/extract.md), so that convert puts faces back
 * where extract found them without detecting them twice.
 *
 * A record is one face of one frame: the frame's index in its source, the face's rank in its
 * frame (0 = the largest), the 2x3 frame-to-face matrix and the aligned landmarks (face px). */
#ifndef FACESWARM_DATA_ALIGNMENTS_H
#define FACESWARM_DATA_ALIGNMENTS_H

#include <stdint.h>

#include "data/align.h"
#include "core/common.h"
#include "core/limits.h" /* FS_PATH_LEN */

typedef struct fs_align_rec {
    int64_t frame;                /* frame index in the source */
    int face;                     /* 0 = the largest face of its frame */
    double matrix[2][3];          /* frame-to-face */
    float lm[FS_ALIGN_POINTS][2]; /* landmarks in face coordinates (px of an S px face) */
} fs_align_rec;

typedef struct fs_alignments {
    int size;                   /* S: the face size the matrices map onto (px) */
    char source[FS_PATH_LEN];   /* the source's path as /sources records it */
    char identity[FS_NAME_LEN]; /* the file's identity attribute (whose faces these are) */
    fs_align_rec *rec;          /* [n], by frame, then face */
    long n;
} fs_alignments;

/* Reads the records of the source that names video: the /sources entry equal to video's path,
 * else the one with the same real path, else the one with the same file name when only one
 * has it. The file is opened and its checksums checked as every dataset reader does; its
 * identity attribute must be identity (when not NULL; opt names the option that gave it).
 * FS_EXIT_BADINPUT names the file and what is wrong (not an extract file, another identity,
 * no source for video: the sources it has are listed). */
int fs_alignments_read(const char *path, const char *video, const char *identity, const char *opt, fs_alignments *a,
                       fs_error *e);
/* The records of frame f: *first is the index of the first, the count is returned (0: none). */
int fs_alignments_of_frame(const fs_alignments *a, int64_t f, long *first);
void fs_alignments_free(fs_alignments *a);

#endif
