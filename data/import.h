/* import.h — `faceswarm data import`: aligned face images (PNG, JPEG; files or directories,
 * recursively, in name order) into one schema v1 file. */
#ifndef FACESWARM_DATA_IMPORT_H
#define FACESWARM_DATA_IMPORT_H

#include "core/common.h"

typedef struct fs_import_opts {
    const char *identity, *consent, *source;
    const char *out;           /* FILE.h5, written through a temp file */
    int size;                  /* S; images of another size are resized */
    int strict;                /* 1 = an unreadable or non-face-sized image fails the import */
    int progress;              /* 1 = progress bar on stderr */
    const char *const *inputs; /* files or directories */
    int n_inputs;
} fs_import_opts;

/* A face-sized image is square and at least FS_IMPORT_MIN_SIDE px a side. */
#define FS_IMPORT_MIN_SIDE 16

/* Imports; *imported and *skipped (may be NULL) receive the counts. Skipped images are
 * listed on stderr. Nothing appears at o->out unless the import succeeds. */
int fs_import(const fs_import_opts *o, long *imported, long *skipped, fs_error *e);

#endif
