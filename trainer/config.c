/* config.c — the typed, validated run configuration (see config.h).
 *
 * ONE key table drives everything: fs_config_defaults (each key's default text is applied
 * through the same setter as a file or --set value), the YAML loader, fs_config_set,
 * fs_config_dump, fs_config_print_keys and docs/config.md. A value is always a libyaml node
 * (a file's node, or a node parsed from the --set text), so every path has the same checks. */
#include "trainer/config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "kernels/ops.h"

typedef enum { K_INT, K_LONG, K_FLOAT, K_DOUBLE, K_U64, K_BOOL, K_STR, K_INTS, K_NAMES, K_PATHS } key_type;

typedef struct key_def {
    const char *name; /* "section.key" */
    key_type type;
    size_t off;          /* offset of the value in fs_config */
    size_t count_off;    /* lists: offset of the int element count */
    size_t size;         /* K_STR: buffer bytes; K_INTS: max elements */
    int min_count;       /* K_INTS: fewest elements */
    const char *def;     /* default, as YAML text */
    double min, max;     /* numbers, list elements: inclusive bounds */
    const char *allowed; /* K_STR: "a|b|c", or NULL for any text */
    const char *doc;
} key_def;

#define OFF(f) offsetof(fs_config, f)
#define SZ(f) sizeof(((fs_config *)0)->f)
#define KINT(n, f, d, lo, hi, doc)                                                                                     \
    { n, K_INT, OFF(f), 0, 0, 0, d, lo, hi, NULL, doc }
#define KLONG(n, f, d, lo, hi, doc)                                                                                    \
    { n, K_LONG, OFF(f), 0, 0, 0, d, lo, hi, NULL, doc }
#define KFLT(n, f, d, lo, hi, doc)                                                                                     \
    { n, K_FLOAT, OFF(f), 0, 0, 0, d, lo, hi, NULL, doc }
#define KDBL(n, f, d, lo, hi, doc)                                                                                     \
    { n, K_DOUBLE, OFF(f), 0, 0, 0, d, lo, hi, NULL, doc }
#define KBOOL(n, f, d, doc)                                                                                            \
    { n, K_BOOL, OFF(f), 0, 0, 0, d, 0, 1, NULL, doc }
#define KSTR(n, f, d, allowed, doc)                                                                                    \
    { n, K_STR, OFF(f), 0, SZ(f), 0, d, 0, 0, allowed, doc }
#define KINTS(n, f, cnt, mincnt, d, lo, hi, doc)                                                                       \
    { n, K_INTS, OFF(f), OFF(cnt), FS_MAX_BLOCKS, mincnt, d, lo, hi, NULL, doc }

#define MAX_FILTERS 8192
#define MAX_STEPS 1e12

static const key_def keys[] = {
    KSTR("model.arch", model.arch, "original", "original|df|liae",
         "architecture: original = faceswap's (the encoder_* and decoder_* keys); df, liae = DeepFaceLab's SAEHD "
         "(ae_dims, e_dims, d_dims, d_mask_dims, archi_flags); docs/architectures.md"),
    KINT("model.resolution", model.resolution, "64", 4, 1024,
         "input/output face size, px; original: a multiple of 2^len(model.encoder_filters); df, liae: 64-512, a "
         "multiple of 16 (32 with the d or t flag)"),
    {"model.identities", K_NAMES, OFF(model.identities), OFF(model.n_identities), FS_MAX_IDENTITIES, 2, "[A, B]", 0, 0,
     NULL, "identity names (" FS_IDENTITY_RULE "), one decoder each; data is data.dir/<name>.h5"},
    KINTS("model.encoder_filters", model.encoder_filters, model.n_encoder_filters, 1, "[128, 256, 512, 1024]", 1,
          MAX_FILTERS, "filters of the encoder's k x k stride-2 conv + LeakyReLU blocks"),
    KINT("model.encoder_kernel", model.encoder_kernel, "5", 1, 15, "kernel size of the encoder convs"),
    KINT("model.dense", model.dense, "1024", 1, 65536, "width of the encoder's first dense layer"),
    KINT("model.bottleneck_filters", model.bottleneck_filters, "1024", 1, MAX_FILTERS,
         "channels of the second dense layer's output, reshaped to (res/2^n, res/2^n)"),
    KINTS("model.encoder_upscale", model.encoder_upscale, model.n_encoder_upscale, 0, "[512]", 1, MAX_FILTERS,
          "filters of the upscale blocks (3x3 conv to 4C + LeakyReLU + pixel shuffle) ending the encoder"),
    KINTS("model.decoder_filters", model.decoder_filters, model.n_decoder_filters, 0, "[256, 128, 64]", 1, MAX_FILTERS,
          "filters of each decoder's upscale blocks"),
    KINT("model.upscale_kernel", model.upscale_kernel, "3", 1, 15, "kernel size of the upscale blocks' convs"),
    KINT("model.output_kernel", model.output_kernel, "5", 1, 15,
         "kernel size of the decoders' final conv to 3 channels + sigmoid"),
    KFLT("model.leaky_alpha", model.leaky_alpha, "0.1", 0, 1, "negative slope of LeakyReLU (original)"),
    KINT("model.ae_dims", model.ae_dims, "256", 1, 4096,
         "df, liae: width of the inter's dense layer and code (SAEHD ae_dims)"),
    KINT("model.e_dims", model.e_dims, "64", 1, 1024, "df, liae: encoder channels of its first stage (SAEHD e_dims)"),
    KINT("model.d_dims", model.d_dims, "64", 1, 1024,
         "df, liae: decoder channels, x8 at its first stage (SAEHD d_dims)"),
    KINT("model.d_mask_dims", model.d_mask_dims, "22", 1, 1024,
         "df, liae: mask decoder channels, x8 at its first stage (SAEHD d_mask_dims)"),
    KSTR("model.archi_flags", model.archi_flags, "", NULL,
         "df, liae: SAEHD's archi options, any of u (pixel norm of the encoder output), d (half the dense "
         "resolution, output doubled by depth-to-space), t (an extra downscale, residual blocks), e.g. \"ud\""),

    KSTR("data.dir", data.dir, "data", NULL, "directory holding one <identity>.h5 per identity"),
    {"data.paths", K_PATHS, OFF(data.paths), OFF(data.n_paths), FS_MAX_IDENTITIES, 0, "{}", 0, 0, NULL,
     "per-identity file overriding data.dir, e.g. {A: a.h5}"},
    KSTR("data.dataset", data.dataset, "/faces", NULL, "HDF5 dataset holding the faces"),
    KSTR("data.layout", data.layout, "nhwc", "nhwc|nchw", "layout of the faces dataset"),
    KSTR("data.dtype", data.dtype, "uint8", "uint8|float32", "element type of the faces (float32 in [0, 1])"),
    KINT("data.prefetch", data.prefetch, "2", 1, 64, "batches prepared ahead"),
    KINT("data.threads", data.threads, "1", 1, 256, "augmentation threads per rank"),
    KFLT("data.rotation", data.rotation, "10", 0, 180, "random rotation, +- degrees"),
    KFLT("data.zoom", data.zoom, "0.05", 0, 0.9, "random zoom, +- fraction"),
    KFLT("data.shift", data.shift, "0.05", 0, 0.5, "random shift, +- fraction of the size"),
    KFLT("data.flip", data.flip, "0.5", 0, 1, "probability of a horizontal flip"),
    KBOOL("data.warp", data.warp, "true", "random warp of the input (faceswap)"),
    KBOOL("data.require_consent", data.require_consent, "true",
          "refuse a dataset without a consent record (identity, consent, source); false trains on it, "
          "recorded in checkpoints (the saved config) and outputs (previews and swaps say \"consent not "
          "recorded\"); see docs/data.md"),

    KSTR("train.device", train.device, "cpu", "cpu|cuda", "compute device"),
    KINT("train.batch_per_identity", train.batch_per_identity, "16", 1, 65536,
         "GLOBAL batch per identity, split over ranks"),
    KLONG("train.steps", train.steps, "100000", 1, MAX_STEPS, "total optimizer steps of the run"),
    KSTR("train.optimizer", train.optimizer, "adam", "adam|adabelief",
         "adam (faceswap) or adabelief (DeepFaceLab's SAEHD default); both take train.lr, beta1 and beta2 (their "
         "defaults are DeepFaceLab's too), Adam train.eps, AdaBelief train.adabelief_eps. A checkpoint resumes only "
         "with the optimizer it was trained with"),
    KDBL("train.lr", train.lr, "5e-5", 1e-10, 10, "learning rate of the optimizer"),
    KDBL("train.beta1", train.beta1, "0.9", 0, 0.999999, "the optimizer's beta1 (first moment decay)"),
    KDBL("train.beta2", train.beta2, "0.999", 0, 0.999999, "the optimizer's beta2 (second moment decay)"),
    KDBL("train.eps", train.eps, "1e-7", 1e-12, 1, "Adam's epsilon"),
    KDBL("train.adabelief_eps", train.adabelief_eps, "1e-6", 1e-12, 1,
         "AdaBelief's epsilon, added to sqrt(s) (DeepFaceLab: float32's resolution, 1e-6)"),
    KSTR("train.adam_epsilon", train.adam_epsilon, "keras", "keras|paper|legacy",
         "where Adam's eps goes: keras = added to sqrt(v) (faceswap's Keras Adam); paper = added to "
         "sqrt(v_hat) (Adam paper, PyTorch); legacy = faceswarm 0.1.0 (paper, float32 constants, skipped "
         "steps counted), which resuming a checkpoint that records no value keeps"),
    KSTR("train.precision", train.precision, "fp32", "fp32|bf16",
         "conv/dense GEMM precision: fp32, or bf16 = both GEMM operands rounded to bfloat16 (nearest even), "
         "products summed in fp32 (tensor cores on cuda); weights, losses and the optimizer stay fp32; "
         "activations stay fp32 on cpu and are stored in bf16 on cuda (half their memory; docs/cuda.md). A "
         "checkpoint resumes in either"),
    KFLT("train.weight_decay", train.weight_decay, "0", 0, 1, "decoupled (AdamW) weight decay, 0 = off"),
    KFLT("train.clip_norm", train.clip_norm, "0", 0, 1e6,
         "global gradient-norm clip as SAEHD's clipnorm (its clipgrad option is 1): when the norm of the "
         "whole gradient (of the mean loss over ranks) reaches this, the gradient is scaled to it; 0 = off"),
    KFLT("train.lr_dropout", train.lr_dropout, "0", 0, 1,
         "AdaBelief only: DeepFaceLab's lr_dropout, the probability that a parameter's update is applied in a step "
         "(each parameter and step drawn from train.seed; SAEHD uses 0.3 when its lr_dropout is on); 0 = off"),
    KFLT("train.loss_mse", train.loss_mse, "1", 0, 1000, "weight of the MSE loss"),
    KFLT("train.loss_dssim", train.loss_dssim, "1", 0, 1000, "weight of the DSSIM loss"),
    KFLT("train.loss_l1", train.loss_l1, "0", 0, 1000, "weight of the L1 loss"),
    KSTR("train.mask_loss", train.mask_loss, "auto", "auto|on|off",
         "losses on the face region only (the /masks of the data): auto = when every identity file has "
         "masks, on = required (a file without is an error), off = whole image"),
    KFLT("train.mask_outside", train.mask_outside, "0", 0, 1,
         "weight of the face loss outside the target's mask when masks apply (faceswap's penalized mask "
         "loss, mask_prop = 1 - this): 0 = only the face counts, 1 = the mask does not weight the face loss"),
    KFLT("train.loss_mask", train.loss_mask, "1", 0, 1000,
         "weight of the mask loss, MSE of a decoder's learned mask against the target's mask (SAEHD); only "
         "models with a mask output"),
    KFLT("train.eye_multiplier", train.eye_multiplier, "1", 1, 1000,
         "eye priority: the face loss weighs this many times inside the eyes (landmarks 36-47 hulls; faceswap "
         "uses 3), 1 = off; needs /landmarks in every identity file"),
    KFLT("train.mouth_multiplier", train.mouth_multiplier, "1", 1, 1000,
         "mouth priority: the face loss weighs this many times inside the mouth (landmarks 48-67 hull; "
         "faceswap uses 2), 1 = off; needs /landmarks in every identity file"),
    {"train.seed", K_U64, OFF(train.seed), 0, 0, 0, "1", 0, 18446744073709551615.0, NULL,
     "seed of the initialisation, the data order and the augmentation"},
    KINT("train.max_nonfinite", train.max_nonfinite, "10", 1, 1000000,
         "abort after this many non-finite steps in a row"),
    KINT("train.log_every", train.log_every, "10", 1, 1000000000, "steps between metric lines"),
    KINT("train.preview_every", train.preview_every, "500", 0, 1000000000, "steps between preview PNGs, 0 = off"),
    KINT("train.preview_scale", train.preview_scale, "0", 0, 16,
         "preview PNG magnification (integer, nearest neighbour), 0 = the smallest making it at least 512 px wide"),
    KINT("train.threads", train.threads, "0", 0, 1024,
         "OpenMP/BLAS threads per rank, 0 = OMP_NUM_THREADS, else SLURM_CPUS_PER_TASK, else the cores of "
         "the affinity mask / local ranks"),

    KINT("checkpoint.every", checkpoint.every, "500", 0, 1000000000,
         "steps between checkpoints, 0 = only on signal and at the end"),
    KINT("checkpoint.keep", checkpoint.keep, "3", 1, 1000, "newest checkpoints kept"),

    KSTR("run.dir", run.dir, "runs/default", NULL, "run directory (checkpoints, logs, previews)"),

    KFLT("comms.bucket_mb", comms.bucket_mb, "25", 0.001, 4096, "all-reduce bucket size, MB"),
    KSTR("comms.allreduce", comms.allreduce, "auto", "auto|shm|mpi",
         "gradient all-reduce on CPUs: shm = ranks of a node sum in one shared-memory region, MPI between "
         "nodes; mpi = MPI_Iallreduce over all ranks; auto = shm when nodes hold more than one rank"),
    KINT("comms.check_every", comms.check_every, "100", 0, 1000000000,
         "steps between parameter-checksum divergence checks, 0 = off"),
    KFLT("comms.timeout_s", comms.timeout_s, "120", 1, 86400,
         "a collective waiting longer than this names the missing rank"),

    KSTR("coordinator.address", coordinator.address, "", NULL,
         "\"\" = rank 0 starts a local one on 127.0.0.1; else tcp://host:port"),
    KFLT("coordinator.heartbeat_s", coordinator.heartbeat_s, "2", 0.05, 3600, "seconds between heartbeats"),
    KFLT("coordinator.timeout_s", coordinator.timeout_s, "30", 0.1, 86400,
         "no heartbeat for this long = rank named dead/hung"),
    KSTR("coordinator.keys", coordinator.keys, "", NULL, "CURVE key file, \"\" = none"),

    KINT("slurm.nodes", slurm.nodes, "1", 1, 100000, "nodes of the job (the most, with slurm.min_nodes)"),
    KINT("slurm.min_nodes", slurm.min_nodes, "0", 0, 100000,
         "the fewest nodes (sbatch -N MIN-MAX, submit --nodes MIN-MAX): a requeue after a lost node runs on "
         "fewer, keeping the global batch; 0 = slurm.nodes"),
    KINT("slurm.gpus_per_node", slurm.gpus_per_node, "1", 0, 64, "GPUs (= ranks) per node"),
    KINT("slurm.tasks_per_node", slurm.tasks_per_node, "0", 0, 1024,
         "ranks per node, 0 = one per GPU (1 without GPUs)"),
    KINT("slurm.cpus_per_task", slurm.cpus_per_task, "8", 1, 1024, "CPU cores per rank"),
    KSTR("slurm.time", slurm.time, "24:00:00", NULL, "time limit of the job"),
    KSTR("slurm.partition", slurm.partition, "", NULL, "partition, \"\" = the cluster's default"),
    KSTR("slurm.account", slurm.account, "", NULL, "account, \"\" = the user's default"),
    KINT("slurm.signal_lead_s", slurm.signal_lead_s, "120", 0, 3600,
         "USR1 this many seconds before the limit (--signal=B:USR1@lead)"),
    KSTR("slurm.job_name", slurm.job_name, "", NULL, "job name, \"\" = faceswarm-<run directory name>"),
    KSTR("slurm.workdir", slurm.workdir, "", NULL,
         "the job's working directory (relative data paths start there), \"\" = where submit runs"),
};
#define N_KEYS FS_ARRAY_LEN(keys)

static const char *const sections[] = {"model", "data", "train", "checkpoint", "run", "comms", "coordinator", "slurm"};

/* Where a value came from: a YAML file (marks give line and column) or a --set argument. */
typedef struct origin {
    const char *file; /* file name, or NULL for --set */
    const char *arg;  /* the --set argument */
} origin;

/* ---------------------------------------------------------------- small helpers */
static void *field(fs_config *c, const key_def *k) { return (char *)c + k->off; }
static const void *cfield(const fs_config *c, const key_def *k) { return (const char *)c + k->off; }
static int *count_field(fs_config *c, const key_def *k) { return (int *)((char *)c + k->count_off); }
static int ccount(const fs_config *c, const key_def *k) { return *(const int *)((const char *)c + k->count_off); }

static const key_def *find_key(const char *name) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].name, name)) return &keys[i];
    return NULL;
}

static void where(const origin *o, const yaml_node_t *n, char *out, size_t len) {
    if (o->file && n) snprintf(out, len, "%s:%zu:%zu", o->file, n->start_mark.line + 1, n->start_mark.column + 1);
    else snprintf(out, len, "--set %.200s", o->arg ? o->arg : "");
}

/* A printable rendering of a node's value for messages (truncated). */
static void node_text(const yaml_node_t *n, char *out, size_t len) {
    if (!n) {
        snprintf(out, len, "(nothing)");
    } else if (n->type == YAML_SCALAR_NODE) {
        size_t l = n->data.scalar.length;
        snprintf(out, len, "'%.*s%s'", (int)FS_MIN(l, 80), (const char *)n->data.scalar.value, l > 80 ? "..." : "");
    } else {
        snprintf(out, len, "%s", n->type == YAML_SEQUENCE_NODE ? "a list" : "a mapping");
    }
}

static const char *type_name(key_type t) {
    switch (t) {
    case K_INT:
    case K_LONG: return "int";
    case K_FLOAT:
    case K_DOUBLE: return "float";
    case K_U64: return "uint64";
    case K_BOOL: return "bool";
    case K_STR: return "string";
    case K_INTS: return "list of int";
    case K_NAMES: return "list of names";
    case K_PATHS: return "map name: path";
    }
    return "?";
}

/* What a key accepts, in words: "an integer in [1, 65536]". */
static void expectation(const key_def *k, char *out, size_t len) {
    switch (k->type) {
    case K_INT:
    case K_LONG: snprintf(out, len, "an integer in [%.15g, %.15g]", k->min, k->max); break;
    case K_FLOAT:
    case K_DOUBLE: snprintf(out, len, "a number in [%g, %g]", k->min, k->max); break;
    case K_U64: snprintf(out, len, "an integer in [0, 18446744073709551615]"); break;
    case K_BOOL: snprintf(out, len, "true or false (or 1 or 0)"); break;
    case K_STR:
        if (k->allowed) snprintf(out, len, "one of %s", k->allowed);
        else snprintf(out, len, "a string of at most %zu bytes", k->size - 1);
        break;
    case K_INTS:
        snprintf(out, len, "a list of %d to %zu integers in [%.15g, %.15g], e.g. [64, 128]", k->min_count, k->size,
                 k->min, k->max);
        break;
    case K_NAMES:
        snprintf(out, len,
                 "a list of %d to %d unique names of letters, digits, '_' and '-' (at most %d bytes), "
                 "e.g. [A, B]",
                 k->min_count, FS_MAX_IDENTITIES, FS_NAME_LEN - 1);
        break;
    case K_PATHS: snprintf(out, len, "a mapping from identity name to HDF5 path, e.g. {A: a.h5, B: b.h5}"); break;
    }
}

static int bad_value(const key_def *k, const origin *o, const yaml_node_t *n, const char *why, fs_error *e) {
    char loc[320], val[128], exp[256];
    where(o, n, loc, sizeof loc);
    node_text(n, val, sizeof val);
    expectation(k, exp, sizeof exp);
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s: %s = %s: %s; expected %s\n  hint: faceswarm model --help-config "
                     "lists every key with its type and bounds",
                     loc, k->name, val, why, exp);
}

/* ---------------------------------------------------------------- text checks */
/* Decodes one UTF-8 character; returns its length, or 0 if the bytes are not valid UTF-8. */
static size_t utf8_char(const unsigned char *s, size_t len, unsigned *cp) {
    static const unsigned lo[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || n > len) return 0;
    unsigned v = n == 1 ? s[0] : s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < lo[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return n;
}

/* Strings are valid UTF-8 without control characters or line/paragraph separators (which
 * YAML folds inside quotes), so that a dump always loads back to the same text. */
static int text_ok(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = utf8_char(p + i, len - i, &cp);
        if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff ||
            cp == 0xfffe || cp == 0xffff)
            return 0;
        i += n;
    }
    return 1;
}

/* s of len bytes (a YAML scalar: it may hold a NUL) */
static int name_ok(const char *s, size_t len) { return strnlen(s, len) == len && fs_identity_ok(s); }

static int allowed_ok(const char *allowed, const char *s) {
    size_t l = strlen(s);
    for (const char *p = allowed; *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == l && !strncmp(p, s, n)) return 1;
        p += n + (bar ? 1 : 0);
    }
    return 0;
}

/* ---------------------------------------------------------------- scalar parsing */
static int is_plain_scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* An optionally signed decimal integer filling the whole scalar. */
static int parse_integer(const yaml_node_t *n, int allow_sign, long long *ll, unsigned long long *ull) {
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length, i = 0;
    if (len == 0 || len > 40 || memchr(s, 0, len)) return -1;
    if (s[0] == '+' || (s[0] == '-' && allow_sign)) i = 1;
    if (i == len) return -1;
    for (size_t j = i; j < len; j++)
        if (s[j] < '0' || s[j] > '9') return -1;
    errno = 0;
    char *end;
    if (ull) *ull = strtoull(s, &end, 10);
    else *ll = strtoll(s, &end, 10);
    return errno == ERANGE || end != s + len ? -2 : 0;
}

static int parse_number(const yaml_node_t *n, double *v) {
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (len == 0 || len > 64 || memchr(s, 0, len) || !strchr("+-.0123456789", s[0])) return -1;
    for (size_t i = 0; i < len; i++)
        if (s[i] == 'x' || s[i] == 'X' || s[i] == 'p' || s[i] == 'P') return -1; /* no hex floats */
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s + len || !isfinite(*v) ? -1 : 0;
}

static int parse_bool(const yaml_node_t *n, int *v) {
    static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "1"};
    static const char *const f[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "0"};
    const char *s = (const char *)n->data.scalar.value;
    for (size_t i = 0; i < FS_ARRAY_LEN(t); i++) {
        if (!strcmp(s, t[i])) return *v = 1, 0;
        if (!strcmp(s, f[i])) return *v = 0, 0;
    }
    return -1;
}

/* ---------------------------------------------------------------- setters, one per type */
static int wrong_kind(const key_def *k, const origin *o, const yaml_node_t *n, fs_error *e) {
    char why[96];
    snprintf(why, sizeof why, "wrong type (found %s)",
             n->type == YAML_SCALAR_NODE     ? (is_plain_scalar(n) ? "a scalar" : "a quoted string")
             : n->type == YAML_SEQUENCE_NODE ? "a list"
                                             : "a mapping");
    return bad_value(k, o, n, why, e);
}

/* Integer-valued keys (K_INT, K_LONG) and list elements: whole decimal numbers within bounds. */
static int get_int(const key_def *k, const origin *o, const yaml_node_t *n, long long *v, fs_error *e) {
    if (!is_plain_scalar(n)) return wrong_kind(k, o, n, e);
    int rc = parse_integer(n, 1, v, NULL);
    if (rc == -1) return bad_value(k, o, n, "not an integer", e);
    if (rc == -2 || (double)*v < k->min || (double)*v > k->max) return bad_value(k, o, n, "out of range", e);
    return 0;
}

static int set_number(fs_config *c, const key_def *k, const origin *o, const yaml_node_t *n, fs_error *e) {
    if (!is_plain_scalar(n)) return wrong_kind(k, o, n, e);
    if (k->type == K_FLOAT) {
        double v;
        if (parse_number(n, &v)) return bad_value(k, o, n, "not a number", e);
        if ((float)v < (float)k->min || (float)v > (float)k->max) return bad_value(k, o, n, "out of range", e);
        *(float *)field(c, k) = (float)v;
    } else if (k->type == K_DOUBLE) {
        double v;
        if (parse_number(n, &v)) return bad_value(k, o, n, "not a number", e);
        if (v < k->min || v > k->max) return bad_value(k, o, n, "out of range", e);
        *(double *)field(c, k) = v;
    } else if (k->type == K_U64) {
        unsigned long long v;
        int rc = parse_integer(n, 0, NULL, &v);
        if (rc) return bad_value(k, o, n, rc == -2 ? "out of range" : "not an unsigned integer", e);
        *(uint64_t *)field(c, k) = (uint64_t)v;
    } else {
        long long v;
        if (get_int(k, o, n, &v, e)) return e->code;
        if (k->type == K_INT) *(int *)field(c, k) = (int)v;
        else *(long *)field(c, k) = (long)v;
    }
    return 0;
}

static int set_bool(fs_config *c, const key_def *k, const origin *o, const yaml_node_t *n, fs_error *e) {
    int v;
    if (!is_plain_scalar(n)) return wrong_kind(k, o, n, e);
    if (parse_bool(n, &v)) return bad_value(k, o, n, "not a boolean", e);
    *(int *)field(c, k) = v;
    return 0;
}

static int set_string(fs_config *c, const key_def *k, const origin *o, const yaml_node_t *n, fs_error *e) {
    if (n->type != YAML_SCALAR_NODE) return wrong_kind(k, o, n, e);
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (len >= k->size) return bad_value(k, o, n, "too long", e);
    if (memchr(s, 0, len) || !text_ok(s, len))
        return bad_value(k, o, n, "contains a control character or invalid UTF-8", e);
    if (k->allowed && !allowed_ok(k->allowed, s)) return bad_value(k, o, n, "not an allowed value", e);
    memset(field(c, k), 0, k->size);
    memcpy(field(c, k), s, len);
    return 0;
}

static int set_ints(fs_config *c, const key_def *k, yaml_document_t *doc, const origin *o, const yaml_node_t *n,
                    fs_error *e) {
    if (n->type != YAML_SEQUENCE_NODE) return wrong_kind(k, o, n, e);
    yaml_node_item_t *it = n->data.sequence.items.start, *end = n->data.sequence.items.top;
    long cnt = end - it;
    if (cnt < k->min_count || cnt > (long)k->size) return bad_value(k, o, n, "wrong number of elements", e);
    int vals[FS_MAX_BLOCKS] = {0};
    for (long i = 0; i < cnt; i++) {
        long long v;
        if (get_int(k, o, yaml_document_get_node(doc, it[i]), &v, e)) return e->code;
        vals[i] = (int)v;
    }
    memcpy(field(c, k), vals, sizeof vals);
    *count_field(c, k) = (int)cnt;
    return 0;
}

/* ---------------------------------------------------------------- identities and their paths */
typedef char name_list[FS_MAX_IDENTITIES][FS_NAME_LEN];
typedef char path_list[FS_MAX_IDENTITIES][FS_PATH_LEN];

static int find_name(const fs_config *c, const char *name) {
    for (int i = 0; i < c->model.n_identities; i++)
        if (!strcmp(c->model.identities[i], name)) return i;
    return -1;
}

/* data.paths[i] follows identity i: when the names change, each path follows its name. */
static int remap_paths(fs_config *c, const name_list names, int cnt, const origin *o, fs_error *e) {
    static path_list paths; /* too big for the stack; config loading is single-threaded */
    memset(paths, 0, sizeof paths);
    for (int j = 0; j < c->model.n_identities; j++) {
        if (!c->data.paths[j][0]) continue;
        int i = 0;
        while (i < cnt && strcmp(names[i], c->model.identities[j]) != 0) i++;
        if (i == cnt)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: model.identities drops '%s', which data.paths names\n"
                             "  hint: keep the identity or remove its data.paths entry",
                             o->file ? o->file : "--set", c->model.identities[j]);
        memcpy(paths[i], c->data.paths[j], FS_PATH_LEN);
    }
    memcpy(c->data.paths, paths, sizeof paths);
    return 0;
}

static int read_names(const key_def *k, yaml_document_t *doc, const origin *o, const yaml_node_t *n, name_list names,
                      fs_error *e) {
    yaml_node_item_t *it = n->data.sequence.items.start;
    int cnt = (int)(n->data.sequence.items.top - it);
    for (int i = 0; i < cnt; i++) {
        const yaml_node_t *v = yaml_document_get_node(doc, it[i]);
        if (v->type != YAML_SCALAR_NODE) return wrong_kind(k, o, v, e);
        const char *s = (const char *)v->data.scalar.value;
        if (!name_ok(s, v->data.scalar.length)) return bad_value(k, o, v, "not a name of " FS_IDENTITY_RULE, e);
        for (int j = 0; j < i; j++)
            if (!strcmp(names[j], s)) return bad_value(k, o, v, "named twice", e);
        memset(names[i], 0, FS_NAME_LEN);
        memcpy(names[i], s, v->data.scalar.length);
    }
    return 0;
}

static int set_names(fs_config *c, const key_def *k, yaml_document_t *doc, const origin *o, const yaml_node_t *n,
                     fs_error *e) {
    if (n->type != YAML_SEQUENCE_NODE) return wrong_kind(k, o, n, e);
    long cnt = n->data.sequence.items.top - n->data.sequence.items.start;
    if (cnt < k->min_count || cnt > FS_MAX_IDENTITIES) return bad_value(k, o, n, "wrong number of names", e);
    name_list names;
    memset(names, 0, sizeof names);
    if (read_names(k, doc, o, n, names, e)) return e->code;
    if (remap_paths(c, (const char(*)[FS_NAME_LEN])names, (int)cnt, o, e)) return e->code;
    memcpy(c->model.identities, names, sizeof names);
    c->model.n_identities = (int)cnt;
    return 0;
}

static int known_names_hint(const fs_config *c, char *out, size_t len) {
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < c->model.n_identities && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", c->model.identities[i]);
    return 0;
}

/* One data.paths entry: name must be an identity, the path a non-empty string. */
static int set_one_path(fs_config *c, const key_def *k, const origin *o, const yaml_node_t *kn, const yaml_node_t *vn,
                        fs_error *e) {
    if (kn->type != YAML_SCALAR_NODE) return wrong_kind(k, o, kn, e);
    int i = find_name(c, (const char *)kn->data.scalar.value);
    if (i < 0 || strlen((const char *)kn->data.scalar.value) != kn->data.scalar.length) {
        char loc[320], val[128], known[FS_MAX_IDENTITIES * FS_NAME_LEN];
        where(o, kn, loc, sizeof loc);
        node_text(kn, val, sizeof val);
        known_names_hint(c, known, sizeof known);
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: data.paths: %s is not an identity; expected one of "
                         "model.identities [%s]\n  hint: add it to model.identities or fix the name",
                         loc, val, known);
    }
    if (c->data.paths[i][0]) return bad_value(k, o, kn, "identity given twice", e);
    if (vn->type != YAML_SCALAR_NODE) return wrong_kind(k, o, vn, e);
    const char *s = (const char *)vn->data.scalar.value;
    size_t len = vn->data.scalar.length;
    if (len == 0 || len >= FS_PATH_LEN || memchr(s, 0, len) || !text_ok(s, len))
        return bad_value(k, o, vn, "not a usable path (empty, too long or with control characters)", e);
    memset(c->data.paths[i], 0, FS_PATH_LEN);
    memcpy(c->data.paths[i], s, len);
    c->data.n_paths++;
    return 0;
}

static int set_paths(fs_config *c, const key_def *k, yaml_document_t *doc, const origin *o, const yaml_node_t *n,
                     fs_error *e) {
    if (n->type != YAML_MAPPING_NODE) return wrong_kind(k, o, n, e);
    memset(c->data.paths, 0, sizeof c->data.paths);
    c->data.n_paths = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        const yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        if (set_one_path(c, k, o, kn, vn, e)) return e->code;
    }
    return 0;
}

static int set_key(fs_config *c, const key_def *k, yaml_document_t *doc, const origin *o, const yaml_node_t *n,
                   fs_error *e) {
    switch (k->type) {
    case K_INT:
    case K_LONG:
    case K_FLOAT:
    case K_DOUBLE:
    case K_U64: return set_number(c, k, o, n, e);
    case K_BOOL: return set_bool(c, k, o, n, e);
    case K_STR: return set_string(c, k, o, n, e);
    case K_INTS: return set_ints(c, k, doc, o, n, e);
    case K_NAMES: return set_names(c, k, doc, o, n, e);
    case K_PATHS: return set_paths(c, k, doc, o, n, e);
    }
    return fs_errorf(e, FS_EXIT_FAIL, "config: key %s has an unknown type", k->name);
}

/* ---------------------------------------------------------------- did you mean */
/* The key nearest to an unknown name: by edit distance, or the same key in another section. */
static const char *suggest_key(const char *name) {
    const char *best = NULL, *dot = strchr(name, '.');
    int bestd = 1000;
    for (size_t i = 0; i < N_KEYS; i++) {
        int d = fs_edit_distance(name, keys[i].name);
        if (dot && !strcmp(dot, strchr(keys[i].name, '.'))) d = FS_MIN(d, 1);
        if (d < bestd) bestd = d, best = keys[i].name;
    }
    int limit = FS_MAX(2, (int)strlen(name) / 4);
    return bestd <= limit ? best : NULL;
}

static const char *suggest_section(const char *name) {
    const char *best = NULL;
    int bestd = 3;
    for (size_t i = 0; i < FS_ARRAY_LEN(sections); i++) {
        int d = fs_edit_distance(name, sections[i]);
        if (d < bestd) bestd = d, best = sections[i];
    }
    return best;
}

static int unknown_key(const char *loc, const char *name, int is_section, fs_error *e) {
    const char *s = is_section ? suggest_section(name) : suggest_key(name);
    char hint[160];
    if (s) snprintf(hint, sizeof hint, "did you mean '%s'?", s);
    else snprintf(hint, sizeof hint, "faceswarm model --help-config lists every key");
    return fs_errorf(e, FS_EXIT_BADINPUT, "%s: unknown %s '%.200s'; expected %s\n  hint: %s", loc,
                     is_section ? "section" : "key", name,
                     is_section ? "one of model, data, train, checkpoint, run, comms, coordinator, slurm"
                                : "a key listed in docs/config.md",
                     hint);
}

/* ---------------------------------------------------------------- walking a document */
/* Line and column (1-based, in characters) of byte offset off of text. */
static void text_position(const char *text, size_t len, size_t off, size_t *line, size_t *col) {
    *line = 1, *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') (*line)++, *col = 1;
        else if (((unsigned char)text[i] & 0xc0) != 0x80) (*col)++;
    }
}

static int malformed(const char *file, const char *text, size_t len, const yaml_parser_t *p, fs_error *e) {
    size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
    /* libyaml's reader (bad UTF-8, control characters) gives only a byte offset. */
    if (p->error == YAML_READER_ERROR) text_position(text, len, p->problem_offset, &line, &col);
    if (p->error == YAML_READER_ERROR)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s:%zu:%zu: not a text file of UTF-8: %s (byte 0x%02x at offset "
                         "%zu)\n  hint: save the config as UTF-8 text",
                         file, line, col, p->problem ? p->problem : "unreadable byte",
                         p->problem_offset < len ? (unsigned char)text[p->problem_offset] : 0u, p->problem_offset);
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s:%zu:%zu: malformed YAML: %s%s%s\n  hint: check the indentation, "
                     "that each 'key: value' has a space after the colon, and matching brackets/quotes",
                     file, line, col, p->problem ? p->problem : "unknown problem", p->context ? " " : "",
                     p->context ? p->context : "");
}

/* A config is small and shallow (sections of keys, lists of numbers): larger or deeper input
 * is refused before it is composed, since libyaml's time grows with the square of the flow
 * nesting (100,000 levels took over a minute). The event pass stops at the first level too
 * deep; libyaml's scanner looks at most 1024 characters ahead, so that stays cheap. */
#define CONFIG_MAX_BYTES (1u << 20)
#define CONFIG_MAX_DEPTH 64

static int check_limits(const char *text, size_t len, const char *name, fs_error *e) {
    if (len > CONFIG_MAX_BYTES)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: %zu bytes; expected a config of at most 1 MiB (%u bytes)\n"
                         "  hint: is this the config file? a faceswarm config is a few KB",
                         name, len, CONFIG_MAX_BYTES);
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot start libyaml", name);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int depth = 0, rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) break; /* the composer reports it, with its place */
        yaml_event_type_t type = ev.type;
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) depth++;
        if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) depth--;
        if (depth > CONFIG_MAX_DEPTH)
            rc = fs_errorf(e, FS_EXIT_BADINPUT,
                           "%s:%zu:%zu: nesting deeper than %d levels; expected sections of "
                           "keys and lists of values (3 levels)\n  hint: check the brackets and indentation",
                           name, ev.start_mark.line + 1, ev.start_mark.column + 1, CONFIG_MAX_DEPTH);
        yaml_event_delete(&ev);
        if (rc || type == YAML_STREAM_END_EVENT) break;
    }
    yaml_parser_delete(&p);
    return rc;
}

/* A mapping's key: a scalar that occurs once. Fills name. */
static int mapping_key(yaml_document_t *doc, const yaml_node_t *map, const yaml_node_pair_t *p, const origin *o,
                       char *name, size_t len, fs_error *e) {
    const yaml_node_t *kn = yaml_document_get_node(doc, p->key);
    char loc[320];
    where(o, kn, loc, sizeof loc);
    if (kn->type != YAML_SCALAR_NODE || kn->data.scalar.length == 0 || kn->data.scalar.length >= len ||
        memchr(kn->data.scalar.value, 0, kn->data.scalar.length))
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: a key must be a short plain name\n  hint: write 'key: value'", loc);
    snprintf(name, len, "%s", (const char *)kn->data.scalar.value);
    for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
        const yaml_node_t *qk = yaml_document_get_node(doc, q->key);
        if (qk->type == YAML_SCALAR_NODE && !strcmp((const char *)qk->data.scalar.value, name))
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: duplicate key '%s' (first at line %zu)\n  hint: keep one of "
                             "them",
                             loc, name, qk->start_mark.line + 1);
    }
    return 0;
}

/* One section's mapping. Phase 0 checks every key and sets model.identities (data.paths
 * refers to it, whatever the order in the file); phase 1 sets the others. */
static int walk_section(fs_config *c, yaml_document_t *doc, const char *sec, const yaml_node_t *map, const origin *o,
                        int phase, fs_error *e) {
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        char key[128], full[260], loc[320];
        if (mapping_key(doc, map, p, o, key, sizeof key, e)) return e->code;
        snprintf(full, sizeof full, "%s.%s", sec, key);
        const key_def *k = find_key(full);
        if (!k) {
            where(o, yaml_document_get_node(doc, p->key), loc, sizeof loc);
            return unknown_key(loc, full, 0, e);
        }
        if ((phase == 0) != (k->type == K_NAMES)) continue;
        if (set_key(c, k, doc, o, yaml_document_get_node(doc, p->value), e)) return e->code;
        c->file_keys++;
    }
    return 0;
}

static int walk_root(fs_config *c, yaml_document_t *doc, const yaml_node_t *root, const origin *o, int phase,
                     fs_error *e) {
    char loc[320];
    if (root->type != YAML_MAPPING_NODE) {
        where(o, root, loc, sizeof loc);
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: the top level must be a mapping of sections\n  hint: start "
                         "with e.g. 'model:' and indent its keys",
                         loc);
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        char sec[128];
        if (mapping_key(doc, root, p, o, sec, sizeof sec, e)) return e->code;
        const yaml_node_t *kn = yaml_document_get_node(doc, p->key), *vn = yaml_document_get_node(doc, p->value);
        where(o, kn, loc, sizeof loc);
        size_t i = 0;
        while (i < FS_ARRAY_LEN(sections) && strcmp(sections[i], sec) != 0) i++;
        if (i == FS_ARRAY_LEN(sections)) return unknown_key(loc, sec, 1, e);
        if (vn->type == YAML_SCALAR_NODE && vn->data.scalar.length == 0) continue; /* "section:" left empty */
        if (vn->type != YAML_MAPPING_NODE)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: section '%s' must be a mapping of keys\n  hint: indent "
                             "its keys under '%s:'",
                             loc, sec, sec);
        if (walk_section(c, doc, sec, vn, o, phase, e)) return e->code;
    }
    return 0;
}

/* Loads one YAML document from text; *root is NULL for an empty stream. */
static int parse_document(const char *text, size_t len, const char *name, yaml_document_t *doc, yaml_node_t **root,
                          fs_error *e) {
    if (check_limits(text, len, name, e)) return e ? e->code : FS_EXIT_BADINPUT;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot start libyaml", name);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, doc)) {
        int rc = malformed(name, text, len, &p, e);
        yaml_parser_delete(&p);
        return rc;
    }
    *root = yaml_document_get_root_node(doc);
    yaml_document_t next;
    int rc = 0;
    if (!yaml_parser_load(&p, &next)) {
        rc = malformed(name, text, len, &p, e);
    } else {
        yaml_node_t *r2 = yaml_document_get_root_node(&next);
        if (r2)
            rc = fs_errorf(e, FS_EXIT_BADINPUT,
                           "%s:%zu: a second YAML document; expected one\n  hint: remove the "
                           "'---' line",
                           name, r2->start_mark.line + 1);
        yaml_document_delete(&next);
    }
    yaml_parser_delete(&p);
    if (rc) yaml_document_delete(doc);
    return rc;
}

static int apply_yaml(fs_config *c, const char *text, size_t len, const char *name, fs_error *e) {
    yaml_document_t doc;
    yaml_node_t *root = NULL;
    if (parse_document(text, len, name, &doc, &root, e)) return e->code;
    origin o = {name, NULL};
    int rc = 0;
    if (root) rc = walk_root(c, &doc, root, &o, 0, e);
    if (root && !rc) rc = walk_root(c, &doc, root, &o, 1, e);
    yaml_document_delete(&doc);
    return rc;
}

/* ---------------------------------------------------------------- public: load and set */
/* Sets one key from YAML value text (a --set value or a default). */
static int is_quoted(const char *value) { return value[0] == '"' || value[0] == '\''; }

static int set_from_text(fs_config *c, const key_def *k, const char *value, const char *arg, fs_error *e) {
    origin o = {NULL, arg};
    /* A string is taken verbatim (no YAML quoting needed on a command line) unless it starts
     * with a quote: then it is a YAML quoted scalar, as in a file ("..." with backslash
     * escapes, '...' with '' for a quote), and the quotes are not part of the value. */
    if (k->type == K_STR && !is_quoted(value)) {
        yaml_node_t n = {.type = YAML_SCALAR_NODE};
        n.data.scalar.value = (yaml_char_t *)value;
        n.data.scalar.length = strlen(value);
        n.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
        return set_string(c, k, &o, &n, e);
    }
    yaml_document_t doc;
    yaml_node_t *root = NULL;
    char label[96]; /* an error names the key: "--set run.dir value:1:5: ..." */
    snprintf(label, sizeof label, "--set %s value", k->name);
    if (parse_document(value, strlen(value), label, &doc, &root, e)) return e->code;
    int rc;
    if (!root) {
        yaml_node_t empty = {.type = YAML_SCALAR_NODE};
        empty.data.scalar.value = (yaml_char_t *)"";
        empty.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
        rc = set_key(c, k, &doc, &o, &empty, e);
    } else {
        rc = set_key(c, k, &doc, &o, root, e);
    }
    yaml_document_delete(&doc);
    return rc;
}

static fs_config g_defaults;

/* Applies every key's default text once; later calls copy the result. */
static void make_defaults(void) {
    memset(&g_defaults, 0, sizeof g_defaults);
    for (size_t i = 0; i < N_KEYS; i++) {
        fs_error e = {0};
        if (set_from_text(&g_defaults, &keys[i], keys[i].def, keys[i].def, &e))
            fs_die(FS_EXIT_FAIL, "config: the default of %s does not pass its own checks: %s", keys[i].name, e.msg);
    }
}

void fs_config_defaults(fs_config *c) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_defaults);
    memcpy(c, &g_defaults, sizeof *c);
}

int fs_config_load_string(fs_config *c, const char *yaml, const char *name, fs_error *e) {
    fs_config_defaults(c);
    snprintf(c->source, sizeof c->source, "%s", name ? name : "");
    return apply_yaml(c, yaml, strlen(yaml), name ? name : "(string)", e);
}

int fs_config_load(fs_config *c, const char *path, fs_error *e) {
    size_t len;
    char *text = fs_read_file(path, &len, e);
    if (!text) {
        e->code = FS_EXIT_BADINPUT;
        fs_error_prefix(e, "config: ");
        return FS_EXIT_BADINPUT;
    }
    fs_config_defaults(c);
    snprintf(c->source, sizeof c->source, "%s", path);
    int rc = apply_yaml(c, text, len, path, e);
    free(text);
    return rc;
}

/* The scalar at section.key of a mapping of mappings, or NULL. */
static const yaml_node_t *lookup(yaml_document_t *doc, const yaml_node_t *map, const char *name, size_t len) {
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        if (kn->type == YAML_SCALAR_NODE && kn->data.scalar.length == len && !memcmp(kn->data.scalar.value, name, len))
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

int fs_config_text_value(const char *yaml, const char *key, char *out, size_t outlen) {
    const char *dot = strchr(key, '.');
    yaml_document_t doc;
    yaml_node_t *root = NULL;
    if (!dot || parse_document(yaml, strlen(yaml), "config text", &doc, &root, NULL)) return -1;
    const yaml_node_t *v = lookup(&doc, lookup(&doc, root, key, (size_t)(dot - key)), dot + 1, strlen(dot + 1));
    int found = v && v->type == YAML_SCALAR_NODE;
    if (found) snprintf(out, outlen, "%.*s", (int)v->data.scalar.length, (const char *)v->data.scalar.value);
    yaml_document_delete(&doc);
    return found;
}

/* "data.paths.NAME=path" with the path as it is. */
static int set_path_plain(fs_config *c, const char *name, const char *value, const char *arg, fs_error *e) {
    origin o = {NULL, arg};
    const key_def *k = find_key("data.paths");
    yaml_node_t kn = {.type = YAML_SCALAR_NODE}, vn = {.type = YAML_SCALAR_NODE};
    kn.data.scalar.value = (yaml_char_t *)name;
    kn.data.scalar.length = strlen(name);
    vn.data.scalar.value = (yaml_char_t *)value;
    vn.data.scalar.length = strlen(value);
    int i = find_name(c, name);
    if (i < 0 || !c->data.paths[i][0]) return set_one_path(c, k, &o, &kn, &vn, e);
    static char old[FS_PATH_LEN]; /* replacing an entry; kept if the new one is refused */
    memcpy(old, c->data.paths[i], FS_PATH_LEN);
    c->data.paths[i][0] = 0;
    c->data.n_paths--;
    if (!set_one_path(c, k, &o, &kn, &vn, e)) return 0;
    memcpy(c->data.paths[i], old, FS_PATH_LEN);
    c->data.n_paths++;
    return e->code;
}

/* "data.paths.NAME=path": one identity's path, verbatim or a YAML quoted scalar. */
static int set_path_entry(fs_config *c, const char *name, const char *value, const char *arg, fs_error *e) {
    if (is_quoted(value)) { /* the same rule as a string key's value (set_from_text) */
        yaml_document_t doc;
        yaml_node_t *root = NULL;
        char label[128];
        snprintf(label, sizeof label, "--set data.paths.%.64s value", name);
        if (parse_document(value, strlen(value), label, &doc, &root, e)) return e->code;
        char plain[FS_PATH_LEN + 1] = "";
        int ok = root && root->type == YAML_SCALAR_NODE && root->data.scalar.length < sizeof plain &&
                 !memchr(root->data.scalar.value, 0, root->data.scalar.length);
        if (ok) memcpy(plain, root->data.scalar.value, root->data.scalar.length);
        yaml_document_delete(&doc);
        if (!ok)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "--set %.200s: data.paths.%s: expected one quoted path of at most %d bytes\n  hint: "
                             "--set data.paths.%s=\"dir/file.h5\"",
                             arg, name, FS_PATH_LEN - 1, name);
        return set_path_plain(c, name, plain, arg, e);
    }
    return set_path_plain(c, name, value, arg, e);
}

int fs_config_set(fs_config *c, const char *assignment, fs_error *e) {
    const char *eq = strchr(assignment, '=');
    char key[160];
    if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof key)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "--set %.200s: expected section.key=value\n  hint: e.g. --set "
                         "train.steps=1000",
                         assignment);
    memcpy(key, assignment, (size_t)(eq - assignment));
    key[eq - assignment] = 0;
    if (!strncmp(key, "data.paths.", 11)) return set_path_entry(c, key + 11, eq + 1, assignment, e);
    const key_def *k = find_key(key);
    if (!k) {
        char loc[256];
        snprintf(loc, sizeof loc, "--set %.200s", assignment);
        return unknown_key(loc, key, 0, e);
    }
    return set_from_text(c, k, eq + 1, assignment, e);
}

/* ---------------------------------------------------------------- validation */
static int stored_bad(const fs_config *c, const key_def *k, const char *val, fs_error *e) {
    char exp[256];
    expectation(k, exp, sizeof exp);
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s: %s = %s: invalid; expected %s\n  hint: faceswarm model "
                     "--help-config lists every key with its type and bounds",
                     c->source[0] ? c->source : "config", k->name, val, exp);
}

static int check_stored_list(const fs_config *c, const key_def *k, fs_error *e) {
    int cnt = ccount(c, k);
    char val[64];
    if (cnt < k->min_count || cnt > (int)k->size) {
        snprintf(val, sizeof val, "(%d elements)", cnt);
        return stored_bad(c, k, val, e);
    }
    for (int i = 0; i < cnt; i++) {
        int v = ((const int *)cfield(c, k))[i];
        snprintf(val, sizeof val, "(element %d = %d)", i + 1, v);
        if (v < k->min || v > k->max) return stored_bad(c, k, val, e);
    }
    return 0;
}

static int check_stored_names(const fs_config *c, const key_def *k, fs_error *e) {
    int n = c->model.n_identities, paths = 0;
    if (n < k->min_count || n > FS_MAX_IDENTITIES) return stored_bad(c, k, "(wrong number of names)", e);
    for (int i = 0; i < n; i++) {
        const char *s = c->model.identities[i];
        if (!name_ok(s, strnlen(s, FS_NAME_LEN))) return stored_bad(c, k, "(a name is not " FS_IDENTITY_RULE ")", e);
        for (int j = 0; j < i; j++)
            if (!strcmp(s, c->model.identities[j])) return stored_bad(c, k, "(a name occurs twice)", e);
    }
    for (int i = 0; i < FS_MAX_IDENTITIES; i++) {
        size_t len = strnlen(c->data.paths[i], FS_PATH_LEN);
        if (len == 0) continue;
        if (i >= n || len == FS_PATH_LEN || !text_ok(c->data.paths[i], len))
            return stored_bad(c, find_key("data.paths"), "(a path without an identity, or unusable)", e);
        paths++;
    }
    if (paths != c->data.n_paths) return stored_bad(c, find_key("data.paths"), "(n_paths disagrees)", e);
    return 0;
}

/* Re-checks a stored value: a config may also be edited field by field. */
static int check_stored(const fs_config *c, const key_def *k, fs_error *e) {
    char val[64];
    const void *p = cfield(c, k);
    switch (k->type) {
    case K_INT: snprintf(val, sizeof val, "%d", *(const int *)p); break;
    case K_LONG: snprintf(val, sizeof val, "%ld", *(const long *)p); break;
    case K_FLOAT: snprintf(val, sizeof val, "%g", (double)*(const float *)p); break;
    case K_DOUBLE: snprintf(val, sizeof val, "%g", *(const double *)p); break;
    case K_BOOL: snprintf(val, sizeof val, "%d", *(const int *)p); break;
    case K_U64: return 0;
    case K_INTS: return check_stored_list(c, k, e);
    case K_NAMES: return check_stored_names(c, k, e);
    case K_PATHS: return 0; /* with the names */
    case K_STR: {
        size_t len = strnlen(p, k->size);
        if (len == k->size || !text_ok(p, len) || (k->allowed && !allowed_ok(k->allowed, p)))
            return stored_bad(c, k, len == k->size ? "(not terminated)" : p, e);
        return 0;
    }
    }
    double v = k->type == K_INT || k->type == K_BOOL ? *(const int *)p
               : k->type == K_LONG                   ? (double)*(const long *)p
               : k->type == K_DOUBLE                 ? *(const double *)p
                                                     : *(const float *)p;
    if (!isfinite(v) ||
        (k->type == K_FLOAT ? ((float)v < (float)k->min || (float)v > (float)k->max) : (v < k->min || v > k->max)))
        return stored_bad(c, k, val, e);
    return 0;
}

int fs_config_validate(const fs_config *c, fs_error *e) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (check_stored(c, &keys[i], e)) return e->code;
    const char *src = c->source[0] ? c->source : "config";
    if (c->train.loss_mse == 0 && c->train.loss_dssim == 0 && c->train.loss_l1 == 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: train.loss_mse, train.loss_dssim and train.loss_l1 are all 0; "
                         "expected at least one > 0\n  hint: faceswap uses loss_mse: 1, loss_dssim: 1",
                         src);
    if (c->train.loss_dssim > 0 && c->model.resolution < FS_DSSIM_WIN)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: train.loss_dssim = %g needs model.resolution >= %d (its %d px "
                         "window), but it is %d\n  hint: set train.loss_dssim: 0 and use train.loss_mse or "
                         "train.loss_l1 for faces this small",
                         src, (double)c->train.loss_dssim, FS_DSSIM_WIN, FS_DSSIM_WIN, c->model.resolution);
    if (c->train.lr_dropout > 0 && strcmp(c->train.optimizer, "adabelief"))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: train.lr_dropout = %g needs train.optimizer: adabelief, but it is %s\n  hint: set "
                         "train.optimizer: adabelief (DeepFaceLab's SAEHD) or train.lr_dropout: 0",
                         src, (double)c->train.lr_dropout, c->train.optimizer);
    if (c->coordinator.timeout_s <= c->coordinator.heartbeat_s)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: coordinator.timeout_s = %g must exceed coordinator.heartbeat_s "
                         "= %g\n  hint: allow several heartbeats, e.g. timeout_s: 30 with heartbeat_s: 2",
                         src, (double)c->coordinator.timeout_s, (double)c->coordinator.heartbeat_s);
    return 0;
}

/* ---------------------------------------------------------------- dump */
/* The shortest %g form that reads back as the same float. */
static void fmt_float(float v, char *out, size_t len) {
    for (int p = 6; p <= 9; p++) {
        snprintf(out, len, "%.*g", p, (double)v);
        if (strtof(out, NULL) == v) return;
    }
}

static void fmt_double(double v, char *out, size_t len) {
    for (int p = 6; p <= 17; p++) {
        snprintf(out, len, "%.*g", p, v);
        if (strtod(out, NULL) == v) return;
    }
}

static void put_quoted(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_list(FILE *f, const fs_config *c, const key_def *k) {
    fputc('[', f);
    for (int i = 0; i < ccount(c, k); i++) {
        if (i) fputs(", ", f);
        if (k->type == K_INTS) fprintf(f, "%d", ((const int *)cfield(c, k))[i]);
        else put_quoted(f, c->model.identities[i]);
    }
    fputc(']', f);
}

static void put_paths(FILE *f, const fs_config *c) {
    int first = 1;
    fputc('{', f);
    for (int i = 0; i < c->model.n_identities; i++) {
        if (!c->data.paths[i][0]) continue;
        fputs(first ? "" : ", ", f);
        put_quoted(f, c->model.identities[i]);
        fputs(": ", f);
        put_quoted(f, c->data.paths[i]);
        first = 0;
    }
    fputc('}', f);
}

static void put_value(FILE *f, const fs_config *c, const key_def *k) {
    const void *p = cfield(c, k);
    char buf[32];
    switch (k->type) {
    case K_INT: fprintf(f, "%d", *(const int *)p); break;
    case K_LONG: fprintf(f, "%ld", *(const long *)p); break;
    case K_FLOAT:
        fmt_float(*(const float *)p, buf, sizeof buf);
        fputs(buf, f);
        break;
    case K_DOUBLE:
        fmt_double(*(const double *)p, buf, sizeof buf);
        fputs(buf, f);
        break;
    case K_U64: fprintf(f, "%llu", (unsigned long long)*(const uint64_t *)p); break;
    case K_BOOL: fputs(*(const int *)p ? "true" : "false", f); break;
    case K_STR: put_quoted(f, p); break;
    case K_INTS:
    case K_NAMES: put_list(f, c, k); break;
    case K_PATHS: put_paths(f, c); break;
    }
}

/* The model keys added with the df and liae architectures leave the model hash of a config
 * that keeps them at their defaults as it was before them (so checkpoints written then still
 * resume): they enter the hash only when set to something else. */
static int hash_skips(const fs_config *c, const key_def *k) {
    static const char *const later[] = {"model.arch",   "model.ae_dims",     "model.e_dims",
                                        "model.d_dims", "model.d_mask_dims", "model.archi_flags"};
    int is_later = 0;
    for (size_t i = 0; i < FS_ARRAY_LEN(later); i++) is_later |= !strcmp(k->name, later[i]);
    if (!is_later) return 0;
    fs_config d;
    fs_config_defaults(&d);
    const void *p = cfield(c, k), *q = cfield(&d, k);
    return k->type == K_STR ? !strcmp(p, q) : !memcmp(p, q, k->type == K_INT ? sizeof(int) : 0);
}

/* All keys (or the model section only), in table order, one section after another. */
static char *dump_text(const fs_config *c, int model_only, int comments) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) fs_die(FS_EXIT_FAIL, "config: open_memstream failed (out of memory)");
    if (comments)
        fprintf(f, "# faceswarm %s effective config%s%s\n", FS_VERSION, c->source[0] ? ", from " : "", c->source);
    for (size_t s = 0; s < (model_only ? 1 : FS_ARRAY_LEN(sections)); s++) {
        size_t sl = strlen(sections[s]);
        fprintf(f, "%s:\n", sections[s]);
        for (size_t i = 0; i < N_KEYS; i++) {
            if (strncmp(keys[i].name, sections[s], sl) != 0 || keys[i].name[sl] != '.') continue;
            if (model_only && hash_skips(c, &keys[i])) continue;
            fprintf(f, "  %s: ", keys[i].name + sl + 1);
            put_value(f, c, &keys[i]);
            if (comments) fprintf(f, "  # %s", keys[i].doc);
            fputc('\n', f);
        }
    }
    if (fclose(f) != 0) fs_die(FS_EXIT_FAIL, "config: writing the dump failed (out of memory)");
    return buf;
}

char *fs_config_dump(const fs_config *c) { return dump_text(c, 0, 1); }

static uint64_t hash_text(char *text) {
    uint64_t h = fs_checksum64(text, strlen(text));
    free(text);
    return h;
}

uint64_t fs_config_hash(const fs_config *c) { return hash_text(dump_text(c, 0, 0)); }
uint64_t fs_config_model_hash(const fs_config *c) { return hash_text(dump_text(c, 1, 0)); }

void fs_config_data_path(const fs_config *c, int identity, char *out, size_t outlen) {
    if (identity >= 0 && identity < c->model.n_identities && c->data.paths[identity][0])
        snprintf(out, outlen, "%s", c->data.paths[identity]);
    else if (identity >= 0 && identity < c->model.n_identities)
        snprintf(out, outlen, "%s%s%s.h5", c->data.dir, c->data.dir[0] ? "/" : "", c->model.identities[identity]);
    else snprintf(out, outlen, "%s", "");
}

static void bounds_text(const key_def *k, char *out, size_t len) {
    switch (k->type) {
    case K_INT:
    case K_LONG: snprintf(out, len, "[%.15g, %.15g]", k->min, k->max); break;
    case K_FLOAT:
    case K_DOUBLE: snprintf(out, len, "[%g, %g]", k->min, k->max); break;
    case K_INTS: snprintf(out, len, "%d..%zu x [%.15g, %.15g]", k->min_count, k->size, k->min, k->max); break;
    case K_NAMES: snprintf(out, len, "%d..%d names", k->min_count, FS_MAX_IDENTITIES); break;
    case K_STR: snprintf(out, len, "%s", k->allowed ? k->allowed : "text"); break;
    case K_U64: snprintf(out, len, "[0, 2^64-1]"); break;
    case K_BOOL: snprintf(out, len, "true|false|1|0"); break;
    case K_PATHS: snprintf(out, len, "identities only"); break;
    }
}

void fs_config_print_keys(FILE *f) {
    fprintf(f, "%-28s %-15s %-24s %-22s %s\n", "key", "type", "default", "bounds", "meaning");
    for (size_t i = 0; i < N_KEYS; i++) {
        char b[96], d[64];
        bounds_text(&keys[i], b, sizeof b);
        snprintf(d, sizeof d, "%s", keys[i].type == K_STR ? "" : keys[i].def);
        if (keys[i].type == K_STR) snprintf(d, sizeof d, "\"%s\"", keys[i].def);
        fprintf(f, "%-28s %-15s %-24s %-22s %s\n", keys[i].name, type_name(keys[i].type), d, b, keys[i].doc);
    }
}
