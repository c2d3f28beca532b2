/* dataset.h — HDF5 face datasets, one file per identity.
 *
 * Schema v1 (docs/data.md): /faces uint8 [N,S,S,3] RGB, chunked per face; optional /masks
 * uint8 [N,S,S] and /landmarks float32 [N,68,2]; root attributes format="faceswarm.faces",
 * version=1 (int), identity, consent, source (strings), and synthetic="true" for generated
 * faces.
 *
 * Reading: fs_faces_open(map = NULL) demands schema v1. With a map (the config's data.dataset,
 * data.layout, data.dtype) a file written by another tool is read too: NHWC or NCHW, uint8 or
 * float32 in [0,1], any chunking and any filter HDF5 has (gzip, shuffle, ...). A file that
 * carries format="faceswarm.faces" is always checked as schema v1 (attributes included).
 * Every reader call is serialised on one process-wide HDF5 lock, so any thread may call. */
#ifndef FACESWARM_DATA_DATASET_H
#define FACESWARM_DATA_DATASET_H

#include <stdint.h>

#include "core/common.h"

#define FS_FACES_FORMAT "faceswarm.faces"
#define FS_FACES_VERSION 2 /* v2 = v1 + checksums; v1 files are still read (with a notice) */
#define FS_FACES_N_ITEMS 3 /* per-face items: /faces, /masks, /landmarks */

typedef struct fs_faces fs_faces; /* an open identity file (schema v1 or a mapped foreign file) */
typedef struct fs_faces_map {
    const char *dataset; /* "/faces" when NULL */
    const char *layout;  /* "nhwc" | "nchw"; "nhwc" when NULL */
    const char *dtype;   /* "uint8" | "float32"; "uint8" when NULL */
} fs_faces_map;

/* Opens and validates (rank, shape, dtype, N > 0, attributes). Errors name the file and the
 * dataset, say what was found and what was expected; code FS_EXIT_BADINPUT. */
int fs_faces_open(fs_faces **f, const char *path, const fs_faces_map *map, fs_error *e);
long fs_faces_count(const fs_faces *f);
/* 1 when the file has the optional /masks (checked at open: uint8 [N,S,S], same N and S as
 * /faces, else fs_faces_open fails naming what it found), 0 when it has none. */
int fs_faces_has_masks(const fs_faces *f);
/* 1 when the file has the optional /landmarks (checked at open: float32 [N,68,2]), else 0. */
int fs_faces_has_landmarks(const fs_faces *f);
int fs_faces_size(const fs_faces *f); /* S */
/* The host memory HDF5 holds while the loader reads `files` identity files (bytes): the
 * library's state and the code pages its reads fault in (its loaded segments, nearly whole:
 * 2.9 of 3.1 MB on HDF5 1.10.8), each open file's metadata cache (528,324 bytes measured on
 * 1.10.8: H5C's index of 64 Ki entries), and the raw-data chunk cache of each dataset read
 * per step (/faces, /masks with `masks`, /landmarks with `landmarks`), which fills up to the
 * default file access's rdcc_nbytes (H5Pget_cache: 1 MiB unless HDF5 was built otherwise). */
size_t fs_faces_hdf5_bytes(int files, int masks, int landmarks);
/* identity, consent, source, format, synthetic, checksum (the attribute checksum of schema v2)
 * ("" if absent); "version" as text. */
const char *fs_faces_attr(const fs_faces *f, const char *name);
const char *fs_faces_path(const fs_faces *f);
/* The one rule of every reader: a file with a format attribute is a schema file (checked as
 * such, attributes included); one without is foreign, read through the mapping. */
int fs_faces_is_schema(const char *format);
/* What a reader should tell the user about the file (schema v1: no checksums; foreign: read
 * through the mapping, no checksums), or NULL. */
const char *fs_faces_notice(const fs_faces *f);
/* 1 when the file carries checksums (schema v2): then the attribute checksum was checked at
 * open, and every face and mask read is checked against its own checksum. */
int fs_faces_has_checksums(const fs_faces *f);
/* Faces [start, start+count) as NHWC RGB uint8 [count,S,S,3]: one hyperslab read. */
int fs_faces_read(fs_faces *f, long start, long count, uint8_t *out, fs_error *e);
/* Gather: out[k] = face idx[k]. Runs of consecutive indices are read as one hyperslab. */
int fs_faces_read_index(fs_faces *f, const long *idx, long count, uint8_t *out, fs_error *e);
/* The same for /masks (0 = background, 255 = face): out uint8 [count,S,S], face k's mask at
 * out + k*S*S. Only for a file with masks (fs_faces_has_masks); else FS_EXIT_FAIL. */
int fs_faces_read_masks(fs_faces *f, long start, long count, uint8_t *out, fs_error *e);
int fs_faces_read_masks_index(fs_faces *f, const long *idx, long count, uint8_t *out, fs_error *e);
/* Gather of /landmarks rows: out float32 [count,68,2] (x then y per point, the aligned face's
 * pixel coordinates), row k = face idx[k]; checked against their checksums in a sealed file.
 * Only for a file with landmarks (fs_faces_has_landmarks); else FS_EXIT_FAIL. */
int fs_faces_read_landmarks_index(fs_faces *f, const long *idx, long count, float *out, fs_error *e);
/* Storage description for `data inspect`: "chunked [1,64,64,3]" / "contiguous", and the
 * filters ("none", "deflate(4)", "shuffle+deflate(6)"). */
void fs_faces_storage(const fs_faces *f, char *chunking, size_t clen, char *filters, size_t flen);
/* What training demands of a file it will train identity `identity` (may be NULL) on: a
 * consent record (identity, consent and source all recorded) unless require_consent is 0;
 * with speak, warnings for an identity attribute naming another identity, fewer faces than
 * global_batch, a missing record that is allowed, and the file's notice. */
int fs_faces_check_use(const fs_faces *f, const char *identity, int require_consent, long global_batch, int speak,
                       fs_error *e);
/* Checks the optional /masks and /landmarks shapes against N and S, and, in a sealed file,
 * every landmark row and every sealed extra dataset (attribute extras) against its
 * checksum (verify). */
int fs_faces_check_extras(fs_faces *f, fs_error *e);
void fs_faces_close(fs_faces *f);

/* ---------------------------------------------------------------- writing schema v2 */
typedef struct fs_faces_meta {
    const char *identity, *consent, *source;
    int synthetic; /* 1 = adds synthetic="true" */
    int masks;     /* 1 = also writes /masks uint8 [N,S,S]: append with fs_faces_append_masked */
    int landmarks; /* 1 = also writes /landmarks float32 [N,68,2]: append with fs_faces_append_full */
} fs_faces_meta;
typedef struct fs_faces_writer fs_faces_writer;
/* Starts path's temp file (fs_tmp_path); nothing appears under path before commit. */
int fs_faces_create(fs_faces_writer **w, const char *path, int size, const fs_faces_meta *m, fs_error *e);
int fs_faces_append(fs_faces_writer *w, const uint8_t *faces /* [count,S,S,3] */, long count, fs_error *e);
/* For a writer created with meta.masks: faces and their masks ([count,S,S]) together. */
int fs_faces_append_masked(fs_faces_writer *w, const uint8_t *faces, const uint8_t *masks, long count, fs_error *e);
/* Every item the writer was created with: masks ([count,S,S]) exactly when meta.masks, and
 * landmarks ([count,68,2], x then y per point) exactly when meta.landmarks (else NULL). Each
 * gets its per-row checksum. */
int fs_faces_append_full(fs_faces_writer *w, const uint8_t *faces, const uint8_t *masks, const float *landmarks,
                         long count, fs_error *e);
long fs_faces_written(const fs_faces_writer *w);
/* The temp file's HDF5 handle (an hid_t), for writers that add their own datasets or
 * attributes before commit (extract's /frames, /sources, ...); call HDF5 under fs_h5_lock.
 * Root attributes added so must be strings or integers (the seal refuses others). */
int64_t fs_faces_writer_file(const fs_faces_writer *w);
/* Seals dataset name (numbers or strings, written into the temp file before commit) with the
 * file: commit records its checksum in the root attribute `extras`, which the attribute
 * checksum covers with its type and shape; `data verify` reads it back (docs/data.md). */
int fs_faces_writer_cover(fs_faces_writer *w, const char *name, fs_error *e);
/* Closes, refuses zero faces, and renames the temp file into place. Frees w either way. */
int fs_faces_commit(fs_faces_writer *w, fs_error *e);
/* Closes and removes the temp file. Frees w. */
void fs_faces_abort(fs_faces_writer *w);

#endif
