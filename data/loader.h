/* loader.h — the sharded, prefetching, augmenting batch loader (one batch per identity).
 *
 * Sample order. Step s of identity i covers the global positions p = s*G .. s*G+G-1
 * (G = global_batch); epoch e = p / L with L = the epoch length = the largest identity's
 * count; q = p % L. Identity i with N_i samples takes file index perm[q % N_i] of the
 * permutation fs_permutation(N_i, seed, i, hash(e, q / N_i)): a smaller identity wraps
 * through fresh permutations within the epoch. Rank r of P takes the positions
 * s*G + r*b .. s*G + r*b + b-1 (b = G / P).
 * Augmentation of the sample at (i, e, q) uses fs_rng_init(seed ^ salt(i), e, q): a batch's
 * content depends only on (seed, step), whatever the world size or the resume point.
 * Masks (opts.masks, the files' /masks): the target's mask goes through the target's own
 * transform (fs_augment_planes: the same draw), so reading masks changes no face byte; so do
 * the eye and mouth regions (opts.regions), drawn from each face's /landmarks row first.
 *
 * `threads` prefetch threads each fill whole batches (thread t: steps start+t, start+t+threads,
 * ...): read (sorted indices, one HDF5 hyperslab per run of consecutive ones, reads serialised
 * on the process's HDF5 lock) and augment, into max(prefetch, threads)+1 slots. fs_loader_next
 * waits only when the next batch is not ready, and says how long in fs_batch.wait_ms. */
#ifndef FACESWARM_DATA_LOADER_H
#define FACESWARM_DATA_LOADER_H

#include <stdint.h>

#include "data/dataset.h"
#include "core/common.h"

typedef struct fs_loader fs_loader;
typedef struct fs_batch {
    long step;                  /* global step this batch belongs to */
    long epoch;                 /* epoch of the first sample of the global batch */
    int n_identities, per_rank; /* samples per identity on this rank = global batch / world */
    int size;                   /* S */
    uint8_t *input;             /* [n_identities][per_rank][S][S][3]: augmented + warped */
    uint8_t *target;            /* same shape: augmented, not warped */
    uint8_t *mask;              /* [n_identities][per_rank][S][S]: the target's mask (0 background ..
                                 * 255 face), same transform as the target, never warped; NULL when
                                 * the loader has no masks (fs_loader_has_masks) */
    uint8_t *eye, *mouth;       /* [n_identities][per_rank][S][S]: the target's eye and mouth regions
                                 * (data/regions.h, 0 .. 255), built from the file's /landmarks before
                                 * augmentation and put through the target's transform like the mask;
                                 * NULL unless opts.regions */
    double wait_ms;             /* how long fs_loader_next blocked for this batch */
} fs_batch;

/* train.mask_loss. The zero value is auto, so opts that do not set it get masks when present. */
typedef enum {
    FS_MASKS_AUTO = 0, /* masks when every identity file has /masks */
    FS_MASKS_ON = 1,   /* every identity file must have /masks: open fails naming the first without */
    FS_MASKS_OFF = 2   /* masks are not read */
} fs_masks_mode;
/* "auto" | "on" | "off" (the config has checked the text) -> mode; anything else is auto. */
fs_masks_mode fs_loader_masks_mode(const char *text);

typedef struct fs_loader_opts {
    const char *const *paths; /* one file per identity */
    int n_identities;
    fs_faces_map map; /* data.dataset/layout/dtype */
    int resolution;   /* model resolution; every file's S must equal it (no resizing) */
    int global_batch; /* per identity, across all ranks */
    int rank, world;  /* this rank's share: samples [rank*b, (rank+1)*b) of each global batch */
    uint64_t seed;
    long start_step;                   /* data cursor: the batch of step s depends only on (seed, s) */
    int prefetch, threads;             /* batches ahead (>= 1), prefetch threads that read + augment (>= 1) */
    float rotation, zoom, shift, flip; /* augmentation (config data.*) */
    int warp;
    fs_masks_mode masks;           /* train.mask_loss (FS_MASKS_AUTO when left 0) */
    const char *const *identities; /* model.identities (may be NULL): a file whose identity attribute
                                    * names another is warned about */
    int require_consent;           /* data.require_consent: a file without a consent record is refused */
    int regions;                   /* 1 = batches carry eye and mouth regions: every file must have /landmarks */
    const char *regions_why;       /* the setting that asks for them, for the error ("train.eye_multiplier = 3") */
} fs_loader_opts;

/* Validates every file first (schema, S == resolution, equal S across identities, batch vs
 * world, the consent record when require_consent); errors name the file and the key, code
 * FS_EXIT_BADINPUT. Rank 0 warns about a file whose identity attribute names another
 * identity, one with fewer faces than the batch, one trained without a consent record
 * (require_consent off), and prints each file's notice (schema v1, foreign). */
int fs_loader_open(fs_loader **L, const fs_loader_opts *o, fs_error *e);
/* The bytes fs_loader_open allocates for its batches (prefetch slots of input, target and,
 * when masks / regions, mask and eye/mouth planes) and its workers' buffers, for faces of
 * size px and per_rank samples per identity; the permutation caches (4 bytes per face per
 * worker) are not counted. The memory estimate of `faceswarm model` and train's check. */
size_t fs_loader_buffer_bytes(int size, int per_rank, int n_identities, int prefetch, int threads, int masks,
                              int regions);
/* The batch of the next step (start_step, start_step+1, ...). Valid until the next call.
 * Returns NULL and fills e on a read error in the prefetch thread. */
const fs_batch *fs_loader_next(fs_loader *L, fs_error *e);
void fs_loader_close(fs_loader *L);
long fs_loader_epoch_length(const fs_loader *L); /* = largest identity's count */
long fs_loader_count(const fs_loader *L, int identity);
/* 1 when every batch carries masks (fs_batch.mask != NULL), decided at open. */
int fs_loader_has_masks(const fs_loader *L);
/* The consent reference recorded in identity's dataset ("" if none): for output labels. */
const char *fs_loader_consent(const fs_loader *L, int identity);
/* Any attribute of identity's dataset as fs_faces_attr gives it. */
const char *fs_loader_attr(const fs_loader *L, int identity, const char *name);
double fs_loader_wait_ms_total(const fs_loader *L); /* sum of wait_ms so far */
/* One sample, unaugmented, for previews: out [S,S,3]. index is taken modulo the identity's
 * count (fs_loader_count), so any index below the epoch length is valid for every identity. */
int fs_loader_sample(fs_loader *L, int identity, long index, uint8_t *out, fs_error *e);
/* The sample order, exposed for tests: file index of identity i at global position p. It
 * draws the permutation afresh (O(N_i)); the prefetch thread keeps a cache instead. */
long fs_loader_index(const fs_loader *L, int identity, long global_position);

#endif
