/* extract_int.h — what the files of `extract` share (not an API): the plan (the inputs with
 * their frame counts), the part files of finished chunks, the worker and the final writer. */
#ifndef FACESWARM_DATA_EXTRACT_INT_H
#define FACESWARM_DATA_EXTRACT_INT_H

#include <stdint.h>

#include "data/align.h"
#include "data/extract.h"
#include "data/face_detect.h"
#include "data/video.h"

/* ---------------------------------------------------------------- plan (extract_plan.c) */
enum { XSRC_IMAGE = 1, XSRC_VIDEO = 2 };
typedef struct xsource {
    char path[FS_PATH_LEN];
    int kind;        /* XSRC_* */
    long frames;     /* 1 for an image; packets counted for a video */
    long long bytes; /* file size and modification time: a changed file is new work */
    long long mtime_ns;
} xsource;

typedef struct xplan {
    xsource *src; /* [n] in input order, folders expanded in name order */
    long n;
    long *first;        /* [n+1] global index of source i's frame 0; first[n] = total frames */
    long chunks;        /* ceil(total / o->chunk) */
    int chunk;          /* o->chunk */
    uint64_t work_hash; /* of the sources and the options that shape a part file */
    uint64_t out_hash;  /* work_hash and the schema attributes: OUT's extract_params */
} xplan;

/* Rank 0: expands folders, classifies each file (PNG/JPEG by signature, else a video that
 * FFmpeg must open) and counts video frames. FS_EXIT_BADINPUT names the bad file. */
int xplan_build(const fs_extract_opts *o, xplan *p, fs_error *e);
/* Every rank gets rank 0's plan (hashes included). */
int xplan_bcast(xplan *p, int rank, fs_error *e);
void xplan_free(xplan *p);
/* Source of global frame g (binary search over first[]). */
long xplan_source_of(const xplan *p, long g);
void xplan_hex(uint64_t h, char out[17]);

/* ---------------------------------------------------------------- part files (extract_part.c) */
typedef struct xface_rec {
    uint32_t source;              /* index into the plan's sources */
    uint32_t face;                /* 0 = the largest face of its frame, 1 the next, ... */
    int64_t frame;                /* frame index in its source */
    double time;                  /* seconds from the source's start (0 for an image) */
    double matrix[2][3];          /* frame-to-face */
    float lm[FS_ALIGN_POINTS][2]; /* landmarks in face coordinates */
} xface_rec;
typedef struct xpart_writer xpart_writer;
/* Streams a part through its temp file; commit makes it appear whole under path. */
int xpart_begin(xpart_writer **w, const char *path, int S, uint64_t hash, long chunk, fs_error *e);
int xpart_face(xpart_writer *w, const xface_rec *r, const uint8_t *face, const uint8_t *mask, fs_error *e);
int xpart_noface(xpart_writer *w, uint32_t source, int64_t frame, fs_error *e);
int xpart_commit(xpart_writer *w, long scanned, fs_error *e); /* frees w */
void xpart_abort(xpart_writer *w);                            /* frees w, removes the temp file */
/* Reads a part: on_face / on_noface per record in order. Returns 0, or FS_EXIT_BADINPUT
 * when the file is not a whole part of this S and hash (check with e == NULL: a stale or
 * foreign part is redone). */
typedef struct xpart_sink {
    void *ctx;
    int (*on_face)(void *ctx, const xface_rec *r, const uint8_t *face, const uint8_t *mask, fs_error *e);
    int (*on_noface)(void *ctx, uint32_t source, int64_t frame, fs_error *e);
    long scanned; /* filled from the part's trailer */
} xpart_sink;
int xpart_read(const char *path, int S, uint64_t hash, long chunk, xpart_sink *sink, fs_error *e);
void xpart_path(const char *workdir, long chunk, char *out, size_t len);

/* ---------------------------------------------------------------- worker (extract_work.c) */
typedef struct xworker xworker;
int xworker_init(xworker **w, const fs_extract_opts *o, const xplan *p, fs_error *e);
/* Searches chunk c's frames and writes its part. *stop (a signal flag) abandons the chunk
 * (FS_EXIT_STOPPED, nothing written). */
int xworker_chunk(xworker *w, long c, const char *part, volatile const int *stop, fs_error *e);
/* Where a worker's time went (seconds) and what it did, for bench extract. */
typedef struct xtimes {
    double decode, detect, landmarks, align, part; /* align: matrix, crop and mask */
    long frames, faces;                            /* frames searched, faces written */
} xtimes;
void xworker_times(const xworker *w, xtimes *t);
void xworker_free(xworker *w);

/* ---------------------------------------------------------------- output (extract_out.c) */
/* Rank 0: joins the parts in chunk order into o->out (temp file + rename) and fills r's
 * counts; refuses (FS_EXIT_BADINPUT) when no face was found, leaving nothing at o->out. */
int xout_write(const fs_extract_opts *o, const xplan *p, const char *workdir, fs_extract_result *r, fs_error *e);
/* Rank 0: 1 when o->out exists and was written from the same plan (its extract_params),
 * 0 when it does not exist; FS_EXIT_BADINPUT when it exists otherwise. */
int xout_done(const fs_extract_opts *o, const xplan *p, fs_error *e);

#endif
