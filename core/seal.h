/* seal.h — a whole-file seal: a CRC-32C of every byte after the first FS_SEAL_BYTES, kept in
 * those first bytes (an HDF5 user block, which HDF5 leaves to its owner), so that a reader
 * finds a damaged, truncated or extended file before a library parses any of it. HDF5 1.10
 * is not memory-safe on every damaged object header (docs/checkpoint.md): a file whose bytes
 * changed after it was written is refused here, whatever byte changed.
 *
 * The seal is text, NUL-padded to FS_SEAL_BYTES (`head -c 512 FILE` shows it):
 *   faceswarm seal 1
 *   covers 512-<end> crc32c <8 hex>
 *   seal_crc32c <8 hex>
 * <end> is the file's size; seal_crc32c is the CRC-32C (Castagnoli, as fs_crc32c) of the two
 * lines above it; the bytes after the third line up to FS_SEAL_BYTES are 0. */
#ifndef FACESWARM_CORE_SEAL_H
#define FACESWARM_CORE_SEAL_H

#include <stdint.h>

#include "core/error.h"

#define FS_SEAL_BYTES 512 /* = the HDF5 user block the writer asks for (H5Pset_userblock) */

typedef struct fs_seal {
    int sealed;   /* 1: the file carries a seal and it holds; 0: no seal (a file from before seals) */
    uint64_t end; /* the bytes covered: [FS_SEAL_BYTES, end) */
    uint32_t crc; /* their CRC-32C */
} fs_seal;

/* Seals path, a closed file whose first FS_SEAL_BYTES are 0 (an HDF5 user block nobody wrote)
 * followed by the HDF5 signature. Call it on the temp file before fs_commit_file. Fills e
 * (FS_EXIT_FAIL) on an I/O error, or on a file of another layout (a writer's bug). */
int fs_seal_file(const char *path, fs_seal *s, fs_error *e);
/* Checks path's seal before the file is parsed: 0 with s->sealed = 1 when the seal holds; 0
 * with s->sealed = 0 when the file starts with the HDF5 signature (no user block: written
 * before seals, or by another tool); FS_EXIT_BADINPUT when the seal is damaged, the file's
 * size is not the sealed size, or the CRC differs: the message names the file and what
 * differs, then "  hint: " and hint. Anything else (not HDF5 at all) is left to the parser:
 * 0 with s->sealed = 0. */
int fs_seal_check(const char *path, const char *hint, fs_seal *s, fs_error *e);

#endif
