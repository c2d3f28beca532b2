/* bench_loader.c — `faceswarm bench loader CONFIG|--data DIR`: faces/s read + augmented by the
 * loader on 1 and 2 threads, next to the raw HDF5 read rate of the same files in the same run,
 * and the ratio to what training consumes. It checks itself: the batches of the first steps
 * must be identical on 1 and 2 threads (the `wrong` count). */
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "data/loader.h"
#include "core/bench.h"
#include "trainer/cli.h"
#include "trainer/config.h"

#define CHECK_STEPS 4

typedef struct bench {
    char paths[FS_MAX_IDENTITIES][FS_PATH_LEN];
    const char *path_v[FS_MAX_IDENTITIES];
    fs_loader_opts o;
    double seconds, train_rate; /* time per measurement; faces/s training consumes */
    int json;
    uint64_t sums[2][CHECK_STEPS];
} bench;

static const char HELP[] =
    "usage: faceswarm bench loader CONFIG | --data DIR [--size S] [--batch B] [--seconds T]\n"
    "                              [--train-rate R] [--json]\n"
    "  faces/s read+augmented by the loader on 1 and 2 threads, the raw HDF5 read rate of the same\n"
    "  files, and the ratio to R, the faces/s that training at batch 16 consumes (default 15: about\n"
    "  11.4 GFLOP per trained face of faceswap's original model at ~170 GFLOP/s on two cores).\n"
    "  With --data, DIR's *.h5 files are the identities (name order) and augmentation is faceswap's.\n";

static int files_from_dir(bench *B, const char *dir, fs_error *e) {
    DIR *d = opendir(dir);
    if (!d)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: cannot list the directory\n  hint: make one with "
                         "faceswarm data synth --out %s",
                         dir, dir);
    int n = 0;
    for (struct dirent *de; (de = readdir(d)) && n < FS_MAX_IDENTITIES;) {
        size_t len = strlen(de->d_name);
        if (len > 3 && !strcmp(de->d_name + len - 3, ".h5"))
            snprintf(B->paths[n++], FS_PATH_LEN, "%s/%s", dir, de->d_name);
    }
    closedir(d);
    if (n == 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: no .h5 files\n  hint: faceswarm data synth --out %s", dir, dir);
    qsort(B->paths, (size_t)n, FS_PATH_LEN, (int (*)(const void *, const void *))strcmp);
    B->o.n_identities = n;
    return 0;
}

static int opts_from_config(bench *B, const char *path, fs_error *e) {
    fs_config *c = fs_malloc(sizeof *c);
    int rc = fs_config_load(c, path, e);
    if (rc == 0) {
        B->o.n_identities = c->model.n_identities;
        for (int i = 0; i < c->model.n_identities; i++) fs_config_data_path(c, i, B->paths[i], FS_PATH_LEN);
        B->o.resolution = c->model.resolution;
        B->o.global_batch = c->train.batch_per_identity;
        B->o.seed = c->train.seed;
        B->o.rotation = c->data.rotation, B->o.zoom = c->data.zoom, B->o.shift = c->data.shift;
        B->o.flip = c->data.flip, B->o.warp = c->data.warp, B->o.prefetch = c->data.prefetch;
        static char map[3][256]; /* the bench runs once per process */
        snprintf(map[0], 256, "%s", c->data.dataset), snprintf(map[1], 256, "%s", c->data.layout);
        snprintf(map[2], 256, "%s", c->data.dtype);
        B->o.map = (fs_faces_map){map[0], map[1], map[2]};
    }
    free(c);
    return rc;
}

/* Sequential hyperslab reads of every file, 64 faces at a time, repeated for `seconds`. */
static int raw_rate(bench *B, double *rate, fs_error *e) {
    long faces = 0;
    double t0 = fs_now();
    uint8_t *buf = NULL;
    int rc = 0;
    do {
        for (int i = 0; i < B->o.n_identities && rc == 0; i++) {
            fs_faces *f;
            if ((rc = fs_faces_open(&f, B->path_v[i], &B->o.map, e))) break;
            long n = fs_faces_count(f);
            int S = fs_faces_size(f);
            buf = fs_realloc(buf, (size_t)64 * S * S * 3);
            for (long k = 0; k < n && rc == 0; k += 64) rc = fs_faces_read(f, k, FS_MIN(64L, n - k), buf, e);
            faces += n;
            fs_faces_close(f);
        }
    } while (rc == 0 && fs_now() - t0 < B->seconds);
    free(buf);
    *rate = faces / (fs_now() - t0);
    return rc;
}

static int loader_rate(bench *B, int threads, double *rate, fs_error *e) {
    fs_loader_opts o = B->o;
    o.threads = threads;
    fs_loader *L;
    if (fs_loader_open(&L, &o, e)) return e->code;
    long steps = 0, per_step = (long)o.global_batch * o.n_identities;
    double t0 = fs_now();
    while (steps < CHECK_STEPS || fs_now() - t0 < B->seconds) {
        const fs_batch *b = fs_loader_next(L, e);
        if (!b) {
            fs_loader_close(L);
            return e->code;
        }
        if (steps < CHECK_STEPS) {
            size_t bytes = (size_t)b->n_identities * b->per_rank * b->size * b->size * 3;
            B->sums[threads - 1][steps] = fs_checksum64(b->input, bytes) ^ fs_mix64(fs_checksum64(b->target, bytes));
        }
        steps++;
    }
    *rate = (double)(steps * per_step) / (fs_now() - t0);
    fs_loader_close(L);
    return 0;
}

static const fs_bench_col COLS[] = {
    FS_COL_I("threads", NULL, NULL, 7),
    FS_COL_N("faces_per_s", "read+augm", "faces/s", 12, 1, 1),
    FS_COL_N("raw_faces_per_s", "HDF5 read", "faces/s", 12, 1, 1),
    FS_COL_N("x_train", NULL, "x", 9, 2, 2),
};

static void print_header(fs_bench *H, const bench *B) {
    char key[32];
    for (int i = 0; i < B->o.n_identities; i++) {
        snprintf(key, sizeof key, "identity_%d", i);
        fs_bench_fact_str(H, key, B->path_v[i]);
    }
    fs_bench_fact_int(H, "global_batch", B->o.global_batch);
    fs_bench_fact_int(H, "prefetch", B->o.prefetch);
    fs_bench_fact_int(H, "seed", (long long)B->o.seed);
    fs_bench_note(H, "augment: rotation %g zoom %g shift %g flip %g warp %d", (double)B->o.rotation, (double)B->o.zoom,
                  (double)B->o.shift, (double)B->o.flip, B->o.warp);
    fs_bench_fact_num(H, "train_rate", B->train_rate, 1, "faces/s (--train-rate)");
    fs_bench_note(H, "target: x_train >= 10 (faces/s over what training consumes)");
    fs_bench_columns(H, "rates", COLS, (int)FS_ARRAY_LEN(COLS));
}

static void print_row(fs_bench *H, const bench *B, int threads, double rate, double raw) {
    fs_bench_row(H, (fs_bench_val[]){FS_INT(threads), FS_NUM(rate), FS_NUM(raw), FS_NUM(rate / B->train_rate)});
}

static int parse(bench *B, int argc, char **argv, fs_error *e) {
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"size", required_argument, 0, 's'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"seconds", required_argument, 0, 't'},
                                         {"train-rate", required_argument, 0, 'r'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL;
    int c, size = 0, batch = 0, rc = 0;
    optind = 0;
    while (!rc && (c = getopt_long(argc, argv, "d:s:b:t:r:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 's': rc = fs_parse_int("--size", optarg, 16, 1024, &size, e); break;
        case 'b': rc = fs_parse_int("--batch", optarg, 1, 65536, &batch, e); break;
        case 't': rc = fs_parse_double("--seconds", optarg, 0.001, 3600, &B->seconds, e); break;
        case 'r': rc = fs_parse_double("--train-rate", optarg, 0.001, 1e9, &B->train_rate, e); break;
        case 'j': B->json = 1; break;
        case 'h': fputs(HELP, stdout); return -1;
        default: return fs_errorf(e, FS_EXIT_BADINPUT, "bench loader: unknown option\n  hint: --help");
        }
    }
    if (rc) {
        fs_error_prefix(e, "faceswarm bench loader: ");
        return rc;
    }
    if (!dir == !(optind < argc))
        return fs_errorf(e, FS_EXIT_BADINPUT, "bench loader: give either CONFIG or --data DIR\n  hint: --help");
    rc = dir ? files_from_dir(B, dir, e) : opts_from_config(B, argv[optind], e);
    if (size) B->o.resolution = size;
    if (batch) B->o.global_batch = batch;
    return rc;
}

int bench_loader(int argc, char **argv) {
    bench *B = fs_calloc(1, sizeof *B);
    B->o = (fs_loader_opts){.global_batch = 16,
                            .world = 1,
                            .seed = 1,
                            .prefetch = 2,
                            .threads = 1,
                            .rotation = 10,
                            .zoom = 0.05f,
                            .shift = 0.05f,
                            .flip = 0.5f,
                            .warp = 1};
    B->seconds = 1.0, B->train_rate = 15.0;
    fs_bench H;
    fs_bench_init(&H, "loader", argc, argv); /* before getopt permutes argv */
    fs_error e = {0};
    int rc = parse(B, argc, argv, &e);
    if (rc) {
        free(B), fs_bench_free(&H);
        if (rc < 0) return FS_EXIT_OK;
        fprintf(stderr, "error: %s\n", e.msg);
        return rc;
    }
    H.json = B->json;
    for (int i = 0; i < B->o.n_identities; i++) B->path_v[i] = B->paths[i];
    B->o.paths = B->path_v;
    double raw = 0, rate[2] = {0, 0};
    rc = raw_rate(B, &raw, &e);
    for (int t = 1; t <= 2 && rc == 0; t++) rc = loader_rate(B, t, &rate[t - 1], &e);
    if (rc) {
        fprintf(stderr, "error: %s\n", e.msg);
        free(B), fs_bench_free(&H);
        return rc;
    }
    for (int k = 0; k < CHECK_STEPS; k++) fs_bench_wrong(&H, B->sums[0][k] != B->sums[1][k]);
    print_header(&H, B);
    for (int t = 1; t <= 2; t++) print_row(&H, B, t, rate[t - 1], raw);
    char what[96];
    snprintf(what, sizeof what, "batches that differ between 1 and 2 threads, of %d", CHECK_STEPS);
    free(B);
    return fs_bench_end(&H, what);
}
