/* config.h — the typed, validated run configuration.
 *
 * A config is YAML (libyaml) with the sections below. Every key has a default, a type and
 * bounds, held in one key table in config.c; the loader, `--set section.key=value`, the
 * printer (--print-config) and the docs all come from that table. The effective config
 * text is saved into every checkpoint and the run directory. */
#ifndef FACESWARM_CONFIG_H
#define FACESWARM_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "core/common.h"

#define FS_MAX_BLOCKS 8 /* FS_MAX_IDENTITIES, FS_NAME_LEN, FS_PATH_LEN: core/limits.h */

typedef struct fs_config {
    char source[FS_PATH_LEN]; /* the file it was read from, "" for the embedded defaults */
    int file_keys;            /* keys that file set; 0 = it was empty (defaults only) */

    struct {
        char arch[16];                                   /* "original" | "df" | "liae" (trainer/arch_*.c) */
        int resolution;                                  /* input/output face size, px; the builder checks it */
        int n_identities;                                /* >= 2; one decoder each */
        char identities[FS_MAX_IDENTITIES][FS_NAME_LEN]; /* default [A, B] */
        int n_encoder_filters;
        int encoder_filters[FS_MAX_BLOCKS]; /* 5x5 stride-2 conv + LeakyReLU blocks, e.g. [128,256,512,1024] */
        int encoder_kernel;                 /* 5 */
        int dense;                          /* first dense layer width, 1024 */
        int bottleneck_filters;             /* channels after reshape to (res/2^n)^2, 1024 */
        int n_encoder_upscale;
        int encoder_upscale[FS_MAX_BLOCKS]; /* upscale blocks ending the encoder, [512] */
        int n_decoder_filters;
        int decoder_filters[FS_MAX_BLOCKS]; /* upscale blocks of each decoder, [256,128,64] */
        int upscale_kernel;                 /* 3 */
        int output_kernel;                  /* 5: final conv to 3 channels + sigmoid */
        float leaky_alpha;                  /* 0.1 */
        /* df and liae (DeepFaceLab's SAEHD): */
        int ae_dims, e_dims, d_dims, d_mask_dims; /* 256, 64, 64, 22 */
        char archi_flags[8];                      /* any of "u", "d", "t": SAEHD's -u -d -t */
    } model;

    struct {
        char dir[FS_PATH_LEN];                      /* holds <identity>.h5 */
        char paths[FS_MAX_IDENTITIES][FS_PATH_LEN]; /* per-identity override, "" = dir/<id>.h5 */
        int n_paths;
        char dataset[256];   /* "/faces" */
        char layout[8];      /* "nhwc" | "nchw" */
        char dtype[16];      /* "uint8" | "float32" (float32 in [0,1]) */
        int prefetch;        /* batches prepared ahead, >= 1 */
        int threads;         /* augmentation threads per rank */
        float rotation;      /* degrees, +-; 10 */
        float zoom;          /* fraction, +-; 0.05 */
        float shift;         /* fraction of size, +-; 0.05 */
        float flip;          /* probability; 0.5 */
        int warp;            /* 1 = random warp of the input (faceswap) */
        int require_consent; /* 1 = a dataset without a consent record is refused (docs/data.md) */
    } data;

    struct {
        char device[8];               /* "cpu" | "cuda" */
        int batch_per_identity;       /* GLOBAL batch per identity (split over ranks), 16 */
        long steps;                   /* total optimizer steps of the run */
        char optimizer[16];           /* "adam" | "adabelief" */
        double lr, beta1, beta2, eps; /* 5e-5, 0.9, 0.999, 1e-7 (double: 1 - 0.999 in float is off by 1.3e-5) */
        double adabelief_eps;         /* AdaBelief's epsilon, 1e-6 (DeepFaceLab's) */
        char adam_epsilon[8];         /* "keras" | "paper" | "legacy": where eps goes (kernels/ops.h fs_adam_variant) */
        char precision[8];            /* "fp32" | "bf16": conv/dense GEMM operands (kernels/ops.h fs_precision) */
        float weight_decay;           /* 0 */
        float clip_norm;              /* global gradient-norm clip (SAEHD's clipnorm), 0 = off */
        float lr_dropout;             /* AdaBelief's lr_dropout: probability an element updates, 0 = off */
        float loss_mse, loss_dssim, loss_l1;    /* loss weights */
        char mask_loss[8];                      /* "auto" | "on" | "off": losses on the face region (/masks) only */
        float mask_outside;                     /* 0..1: face-loss weight outside the mask (trainer/loss.h), 0 */
        float loss_mask;                        /* weight of the learned-mask MSE, 1 */
        float eye_multiplier, mouth_multiplier; /* eye / mouth priority, >= 1, 1 = off */
        uint64_t seed;
        int max_nonfinite; /* abort after this many non-finite steps in a row */
        int log_every;     /* steps between metric lines */
        int preview_every; /* steps between preview PNGs, 0 = off */
        int preview_scale; /* preview magnification (nearest neighbour), 0 = auto: >= 512 px wide */
        int threads;       /* OpenMP/BLAS threads per rank, 0 = cores / local ranks */
    } train;

    struct {
        int every; /* steps between checkpoints, 0 = only on signal and at the end */
        int keep;  /* newest checkpoints kept */
    } checkpoint;

    struct {
        char dir[FS_PATH_LEN]; /* run directory */
    } run;

    struct {
        float bucket_mb;   /* all-reduce bucket size, MB */
        char allreduce[8]; /* "auto" | "shm" | "mpi": path of the CPU gradient all-reduce (comms/allreduce.h) */
        int check_every;   /* steps between parameter-checksum divergence checks, 0 = off */
        float timeout_s;   /* a collective waiting longer than this names the missing rank */
    } comms;

    struct {
        char address[256]; /* "" = rank 0 starts a local one on 127.0.0.1; else tcp://host:port */
        float heartbeat_s;
        float timeout_s;        /* no heartbeat for this long = rank named dead/hung */
        char keys[FS_PATH_LEN]; /* CURVE key file, "" = none */
    } coordinator;

    struct {
        int nodes, gpus_per_node, cpus_per_task;
        int min_nodes;      /* a node range min_nodes-nodes (sbatch -N MIN-MAX), 0 = exactly nodes */
        int tasks_per_node; /* ranks per node, 0 = one per GPU (1 without GPUs) */
        char time[32], partition[64], account[64];
        int signal_lead_s;         /* --signal=B:USR1@lead */
        char job_name[64];         /* "" = faceswarm-<run directory name> */
        char workdir[FS_PATH_LEN]; /* the job's working directory, "" = where submit runs */
    } slurm;
} fs_config;

/* Embedded defaults (faceswap "original" at 64 px, identities A and B). */
void fs_config_defaults(fs_config *c);
/* Defaults, then the YAML file. Errors name file:line:column, key, value, expectation,
 * and "did you mean" for near misses; code FS_EXIT_BADINPUT. */
int fs_config_load(fs_config *c, const char *path, fs_error *e);
int fs_config_load_string(fs_config *c, const char *yaml, const char *name, fs_error *e);
/* "section.key=value" with the same checks as the file. */
int fs_config_set(fs_config *c, const char *assignment, fs_error *e);
/* Cross-field checks (shapes that cannot be built, batch vs world size is checked later). */
int fs_config_validate(const fs_config *c, fs_error *e);
/* The effective config as YAML, every key; malloc'd. Loading it gives the same config. */
char *fs_config_dump(const fs_config *c);
/* Hash of the effective config (ranks compare it at start). */
uint64_t fs_config_hash(const fs_config *c);
/* Hash of the model section only (a checkpoint must match it to be resumed). */
uint64_t fs_config_model_hash(const fs_config *c);
/* The value text of section.key in YAML config text (a checkpoint's): 1 and out filled when
 * present, 0 when absent, -1 when the text does not parse. */
int fs_config_text_value(const char *yaml, const char *key, char *out, size_t outlen);
/* Path of identity i's HDF5 file: data.paths[i] if set, else data.dir/<identity>.h5. */
void fs_config_data_path(const fs_config *c, int identity, char *out, size_t outlen);
/* Prints the key table (key, type, default, bounds, doc) — `faceswarm train --help-config`. */
void fs_config_print_keys(FILE *f);

#endif
