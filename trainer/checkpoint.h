/* checkpoint.h — HDF5 training checkpoints, written atomically and verified before trusted.
 *
 * File layout (format "faceswarm.checkpoint", version 1):
 *   /params  float32 [n_params]   each dataset carries attribute `checksum` (16 hex digits,
 *   /adam_m  float32 [n_params]   fs_checksum64 of its bytes); datasets are contiguous so a
 *   /adam_v  float32 [n_params]   reader can also locate them byte for byte
 *   /config  string               the effective config (YAML)
 *   /model   string               the layer table as printed by `faceswarm model`
 *   root attributes: format, version, step (completed optimizer steps = data cursor: the next
 *   step's batch), epoch, seed, world_size, global_batch, model_hash (16 hex), n_params,
 *   nonfinite_skipped, restart_count, created (UTC), faceswarm (version and commit).
 * RNG state: every random stream in faceswarm is a pure function of (seed, step or epoch,
 * sample index), so seed + step restore all of it.
 * Writes go to a temp file, fsync, rename, fsync of the directory (fs_commit_file); the
 * final name is only ever a whole file. The file starts with a 512-byte HDF5 user block that
 * holds a seal (core/seal.h): the CRC-32C of every byte after it, checked before HDF5 parses
 * anything, so a file damaged after it was written is refused whatever byte changed. Files
 * without it (written before seals) are read as before. */
#ifndef FACESWARM_CHECKPOINT_H
#define FACESWARM_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"
#include "trainer/config.h" /* FS_PATH_LEN */

#define FS_CKPT_FORMAT "faceswarm.checkpoint"
#define FS_CKPT_VERSION 2

typedef struct fs_ckpt_meta {
    long step; /* completed optimizer steps */
    long epoch;
    uint64_t seed;
    int world_size;
    int global_batch;    /* per identity */
    uint64_t model_hash; /* fs_config_model_hash */
    long n_params;
    long nonfinite_skipped;
    long restart_count;
    char created[32];
    char kernels[96];   /* the kernels its sums came from (backend, and for the fast CPU path its GEMM's
                           kernel set, fs_cpu_kernel_set): root attribute kernels, optional; "" = not
                           recorded (older files). A resume on other kernels continues, not bit-exactly */
    char *config_text;  /* malloc'd by readers */
    char *model_text;   /* malloc'd by readers */
    char *consent_text; /* the consent chain: one line per identity, "identity=A<TAB>consent=REF<TAB>
                             source=TEXT<TAB>dataset=FILE<TAB>dataset_checksum=HEX|none"; root attribute
                             consent_chain (covered by meta_checksum); NULL/"" = not recorded (older runs);
                             malloc'd by readers */
    int version;        /* format version read (readers); writers write FS_CKPT_VERSION */
} fs_ckpt_meta;

typedef struct fs_ckpt_sums {
    char params[17], adam_m[17], adam_v[17], config[17], model[17]; /* hex checksums of the datasets */
    char meta[17];                                                  /* the metadata checksum (format v2; "" for v1) */
    char seal[48]; /* "crc32c HEX of bytes 512-END" (core/seal.h), "" for a file written before seals */
} fs_ckpt_sums;

/* Writes path atomically. sums (may be NULL) receives the checksums written. */
int fs_ckpt_write(const char *path, const fs_ckpt_meta *meta, const float *params, const float *adam_m,
                  const float *adam_v, fs_ckpt_sums *sums, fs_error *e);
/* Reads and verifies every checksum; buffers (may be NULL to verify only) must hold
 * meta->n_params floats, n_params_expected (0 = any) is checked first. meta's strings are
 * malloc'd; free with fs_ckpt_meta_free. */
int fs_ckpt_read(const char *path, long n_params_expected, fs_ckpt_meta *meta, float *params, float *adam_m,
                 float *adam_v, fs_ckpt_sums *sums, fs_error *e);
void fs_ckpt_meta_free(fs_ckpt_meta *meta);
/* The consent reference of identity in a consent chain (consent_text) into out; 0 when the
 * chain has no such identity (out = ""). */
int fs_ckpt_consent_of(const char *chain, const char *identity, char *out, size_t n);
/* What a reader should say about a checkpoint it read (format v1: metadata without a
 * checksum), or NULL. */
const char *fs_ckpt_notice(const fs_ckpt_meta *meta);

/* <run>/checkpoints/ckpt-<step, 10 digits>.h5 */
void fs_ckpt_path(const char *run_dir, long step, char *out, size_t outlen);
/* Checkpoint files of a run, newest (highest step) first; returns the count (caller frees
 * each path and the array). */
int fs_ckpt_list(const char *run_dir, char ***paths, fs_error *e);
/* Keeps the newest `keep` checkpoints, removes older ones and stale temp files. */
void fs_ckpt_prune(const char *run_dir, int keep);
/* The newest checkpoint of the run that verifies (warning for each one that does not);
 * candidates are the coordinator registry's paths (relative to run_dir, may be NULL/0) and
 * the checkpoints/ listing, tried from the highest step down.
 * Returns 1 and fills out if found, 0 if there is none, or an error code. */
int fs_ckpt_find_latest(const char *run_dir, char **registry, int n_registry, char *out, size_t outlen, fs_error *e);

#endif
