/* infer.h — a checkpoint loaded for inference (swap, convert): its config, the model on the
 * CPU backend with the checkpoint's parameters, and what every output must say about where
 * its pixels came from (the params checksum, each identity's consent reference). */
#ifndef FACESWARM_INFER_H
#define FACESWARM_INFER_H

#include "data/xmp.h"
#include "trainer/config.h"
#include "trainer/model.h"

typedef struct fs_infer {
    fs_model model;
    fs_config cfg;
    const char *ckpt;                     /* the file, the caller's string */
    int ckpt_version;                     /* format of the checkpoint (v1 runs never checked consent) */
    char params_sum[17];                  /* the params checksum (hex), for the labels */
    char consent[FS_MAX_IDENTITIES][256]; /* each identity's consent reference from the checkpoint's chain */
} fs_infer;

/* Reads ckpt (checksums checked), builds its model and loads the parameters (batch 1).
 * FS_EXIT_BADINPUT names the file and what is wrong. */
int fs_infer_load(fs_infer *m, const char *ckpt, fs_error *e);
/* Index of identity name in the model, or -1 with e set (opt names the option: "--to"). */
int fs_infer_identity(const fs_infer *m, const char *opt, const char *name, fs_error *e);
/* The run, checkpoint, identities and consent references of p (the rest untouched). */
void fs_infer_provenance(const fs_infer *m, fs_provenance *p);
/* "consent not recorded" or what training checked, for the tEXt label. */
const char *fs_infer_consent_label(const fs_infer *m);
void fs_infer_free(fs_infer *m);

#endif
