/* bench_allreduce.c — `faceswarm bench allreduce`, nccl-tests style.
 *
 * For sizes from --min to --max (doubling), three ways of summing a float buffer across the
 * ranks, in place, each checked against the exact sum:
 *   plain     one MPI_Allreduce on the whole buffer;
 *   bucketed  fs_allreduce, buckets launched through ready() in backward order (no compute),
 *             on the path --allreduce picks (auto: shared memory between the ranks of a node);
 *   overlap   the same with a simulated backward pass: --layers busy-loop "layers" whose total
 *             time is --compute-ratio x the bucketed time, ready() after each. Its `exposed`
 *             column is the communication left visible to the step: finish()'s wait divided
 *             by the bucketed time (0% = fully hidden behind compute), and `early` the
 *             mean number of buckets that completed before finish() was called.
 * algbw = bytes / time; busbw = algbw * 2(P-1)/P. Time is the slowest rank's mean. */
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "comms/allreduce.h"
#include "comms/nccl/nccl_allreduce.h"
#include "kernels/ops.h"
#include "core/bench.h"
#include "comms/cli.h"

#define MIB ((size_t)1 << 20)
#define MAX_BYTES ((size_t)2 << 30) /* 2 GiB: two buffers of it per rank */

typedef struct bench_opts {
    size_t min_bytes, max_bytes; /* sizes swept, doubling */
    int json;                    /* JSON lines instead of fixed-width rows */
    double bucket_mb;            /* fs_allreduce bucket, MB (10^6 bytes, as comms.bucket_mb) */
    int iters;                   /* timed iterations up to 8 MiB, fewer above */
    double compute_ratio;        /* overlap: compute = ratio x bucketed time; 0 = no overlap rows */
    int layers;                  /* overlap: ready() calls per simulated backward */
    fs_allreduce_mode mode;      /* the bucketed path: auto, shm or mpi (comms.allreduce) */
} bench_opts;

typedef struct path_result {
    double time_s;    /* mean time of one all-reduce (slowest rank), s */
    double wait_s;    /* mean time finish() blocked (slowest rank), s */
    double compute_s; /* simulated compute per step, s */
    double early;     /* mean buckets completed before finish() (fewest of any rank) */
    long wrong;       /* elements differing from the exact sum, all ranks */
    int buckets;
} path_result;

typedef struct bench_ctx {
    fs_world *w;
    const bench_opts *o;
    float *buf, *pristine; /* [count]: reduced in place / this rank's input */
    float *work;           /* the buffer the path being timed reduces: buf, or the shm region */
    char path[112];        /* the bucketed path, in words */
    size_t count;
    int iters, warmup;
    fs_allreduce *ar;
    double compute_s; /* for the overlapped path */
} bench_ctx;

typedef int (*bench_op)(bench_ctx *b, fs_allreduce_stats *st, fs_error *e);

/* ---------------------------------------------------------------- options */
static void usage(FILE *f) {
    fprintf(f, "usage: mpirun -np P faceswarm bench allreduce [options]\n"
               "  --min SIZE           smallest buffer (default 4K; K, M, G = 2^10, 2^20, 2^30 bytes)\n"
               "  --max SIZE           largest buffer (default 256M, at most 2G)\n"
               "  --bucket-mb MB       fs_allreduce bucket size in MB = 10^6 bytes (default 25)\n"
               "  --iters N            timed iterations per size up to 8M, fewer above (default 20)\n"
               "  --layers N           ready() calls per simulated backward pass (default 32)\n"
               "  --compute-ratio R    simulated compute = R x bucketed time; 0 = no overlap (default 1)\n"
               "  --allreduce MODE     bucketed path: auto (shared memory on a node, MPI across), shm or mpi\n"
               "                       (as comms.allreduce; default auto)\n"
               "  --json               JSON lines instead of fixed-width rows\n"
               "Only rank 0 prints. Exits 1 if any result is wrong.\n");
}

static int parse_size(const char *opt, const char *s, size_t *out, fs_error *e) {
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    size_t mult = 1;
    const char *unit = end != s && *end && !end[1] ? strchr("KMG", toupper((unsigned char)*end)) : NULL;
    if (unit && *unit) {
        mult = (size_t)1 << (10 * (unit - "KMG" + 1));
        end++;
    }
    if (end == s || *end || s[0] == '-' || v == 0 || v > MAX_BYTES / mult)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s '%s': expected a size in bytes from 4 to 2G, with an optional K, M or G suffix\n"
                         "  hint: e.g. %s 4K or %s 256M",
                         opt, s, opt, opt);
    *out = (size_t)v * mult;
    return 0;
}

static int check_opts(const bench_opts *o, fs_error *e) {
    if (o->min_bytes < sizeof(float) || o->max_bytes < o->min_bytes)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "--min %zu --max %zu: expected 4 <= min <= max\n  hint: e.g. --min 4K --max 256M",
                         o->min_bytes, o->max_bytes);
    if (o->bucket_mb * 1e6 < (double)sizeof(float))
        return fs_errorf(e, FS_EXIT_BADINPUT, "--bucket-mb %g: expected at least 4 bytes\n  hint: default 25",
                         o->bucket_mb);
    return 0;
}

/* Returns -1 to go on, or the exit code (help, bad option). */
static int parse_opts(bench_opts *o, int argc, char **argv, fs_error *e) {
    static const struct option longopts[] = {{"min", required_argument, 0, 'a'},
                                             {"max", required_argument, 0, 'b'},
                                             {"bucket-mb", required_argument, 0, 'm'},
                                             {"iters", required_argument, 0, 'n'},
                                             {"layers", required_argument, 0, 'l'},
                                             {"compute-ratio", required_argument, 0, 'r'},
                                             {"json", no_argument, 0, 'j'},
                                             {"help", no_argument, 0, 'h'},
                                             {"allreduce", required_argument, 0, 'p'},
                                             {0, 0, 0, 0}};
    *o = (bench_opts){4096, 256 * MIB, 0, 25.0, 20, 1.0, 32, FS_ALLREDUCE_AUTO};
    int c, rc = 0;
    optind = 0; /* glibc: full reinitialisation, whatever parsed argv before */
    while (!rc && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a': rc = parse_size("--min", optarg, &o->min_bytes, e); break;
        case 'b': rc = parse_size("--max", optarg, &o->max_bytes, e); break;
        case 'm': rc = fs_parse_double("--bucket-mb", optarg, 1e-6, 1024, &o->bucket_mb, e); break;
        case 'n': rc = fs_parse_int("--iters", optarg, 1, 100000, &o->iters, e); break;
        case 'l': rc = fs_parse_int("--layers", optarg, 1, 100000, &o->layers, e); break;
        case 'r': rc = fs_parse_double("--compute-ratio", optarg, 0, 100, &o->compute_ratio, e); break;
        case 'j': o->json = 1; break;
        case 'p': rc = fs_allreduce_parse_mode(optarg, &o->mode, e); break;
        case 'h': usage(stdout); return FS_EXIT_OK;
        default:
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "bench allreduce: bad option (see above)\n"
                             "  hint: faceswarm bench allreduce --help");
        }
    }
    if (!rc && optind < argc)
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "bench allreduce: unexpected argument '%s'\n"
                       "  hint: faceswarm bench allreduce --help",
                       argv[optind]);
    if (!rc) rc = check_opts(o, e);
    return rc ? rc : -1;
}

/* ---------------------------------------------------------------- data: exact sums */
/* value(r, i) = a(i) + r * b(i), small integers: sums over up to ~3000 ranks are exact in
 * float in any order, and the expected sum has a closed form. */
static double val_a(size_t i) { return (double)(i % 1021) - 510.0; }
static double val_b(size_t i) { return (double)(i % 7) - 3.0; }

static void fill_input(float *x, size_t n, int rank) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(val_a(i) + rank * val_b(i));
}

static long count_wrong(const bench_ctx *b) {
    double p = b->w->size, tri = p * (p - 1) / 2;
    long wrong = 0;
    for (size_t i = 0; i < b->count; i++) wrong += b->work[i] != (float)(p * val_a(i) + tri * val_b(i));
    return wrong;
}

/* ---------------------------------------------------------------- the paths */
static int op_plain(bench_ctx *b, fs_allreduce_stats *st, fs_error *e) {
    *st = (fs_allreduce_stats){0};
    FS_MPI_TRY(e, MPI_Allreduce(MPI_IN_PLACE, b->buf, (int)b->count, MPI_FLOAT, MPI_SUM, b->w->comm));
    return 0;
}

static void spin(double s) {
    for (double end = fs_now() + s; fs_now() < end;) {}
}

/* A backward pass of o->layers equal layers, last first, each followed by ready(). */
static int op_bucketed(bench_ctx *b, fs_allreduce_stats *st, fs_error *e) {
    int layers = b->o->layers;
    fs_allreduce_begin(b->ar);
    for (int l = 1; l <= layers; l++) {
        if (b->compute_s > 0) spin(b->compute_s / layers);
        fs_allreduce_ready(b->ar, b->count - b->count * (size_t)l / (size_t)layers);
    }
    return fs_allreduce_finish(b->ar, 120.0, st, e);
}

static int time_op(bench_ctx *b, bench_op op, path_result *res, fs_error *e) {
    double sums[2] = {0, 0}, early = 0; /* time, wait: slowest rank; early: fewest */
    for (int it = -b->warmup; it < b->iters; it++) {
        memcpy(b->work, b->pristine, b->count * sizeof(float));
        FS_MPI_TRY(e, MPI_Barrier(b->w->comm));
        fs_allreduce_stats st;
        double t0 = fs_now();
        int rc = op(b, &st, e);
        if (rc) return rc;
        if (it >= 0) sums[0] += fs_now() - t0, sums[1] += st.wait_s, early += st.early;
    }
    long wrong = count_wrong(b);
    FS_MPI_TRY(e, MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_MAX, b->w->comm));
    FS_MPI_TRY(e, MPI_Allreduce(MPI_IN_PLACE, &early, 1, MPI_DOUBLE, MPI_MIN, b->w->comm));
    FS_MPI_TRY(e, MPI_Allreduce(MPI_IN_PLACE, &wrong, 1, MPI_LONG, MPI_SUM, b->w->comm));
    res->time_s = sums[0] / b->iters;
    res->wait_s = sums[1] / b->iters;
    res->compute_s = b->compute_s;
    res->early = early / b->iters;
    res->wrong = wrong;
    res->buckets = b->ar ? fs_allreduce_buckets(b->ar) : 0;
    return 0;
}

/* res[0] plain, res[1] bucketed, res[2] overlapped (time_s < 0 when off). */
static int bench_size(bench_ctx *b, path_result res[3], fs_error *e) {
    size_t bytes = b->count * sizeof(float), bucket = (size_t)(b->o->bucket_mb * 1e6); /* as comms.bucket_mb */
    /* Fewer iterations for big buffers keep the default sweep near a minute at P=2; the first
     * big iterations need no warmup (connections are up, pages touched by the copy-in). */
    b->iters = bytes <= 8 * MIB ? b->o->iters : FS_MAX(1, (int)((double)b->o->iters * 4.0 * MIB / bytes));
    b->warmup = bytes <= MIB ? 3 : bytes <= 32 * MIB ? 1 : 0;
    b->ar = NULL;
    b->compute_s = 0;
    b->work = b->buf;
    int rc = time_op(b, op_plain, &res[0], e);
    if (!rc) rc = fs_allreduce_init(&b->ar, b->w, &b->work, b->count, bucket, b->o->mode, e);
    if (!rc) snprintf(b->path, sizeof b->path, "%s", fs_allreduce_path(b->ar));
    b->warmup = FS_MAX(b->warmup, 1); /* the shm path's region is new: its first touch is not a step's cost */
    if (!rc) rc = time_op(b, op_bucketed, &res[1], e);
    res[2] = (path_result){.time_s = -1};
    b->compute_s = b->o->compute_ratio * res[1].time_s;
    if (!rc && b->compute_s > 0) rc = time_op(b, op_bucketed, &res[2], e);
    fs_allreduce_free(b->ar);
    b->ar = NULL;
    return rc;
}

/* ---------------------------------------------------------------- output (rank 0) */
static double algbw(size_t bytes, double t) { return t > 0 ? (double)bytes / t / 1e9 : 0; }
static double busbw(size_t bytes, double t, int p) { return algbw(bytes, t) * 2.0 * (p - 1) / p; }

const fs_bench_col fs_allreduce_bench_cols[] = {
    FS_COL_I("size", NULL, "B", 10),
    FS_COL_I("count", NULL, "elements", 10),
    FS_COL_S("dtype", NULL, NULL, 5),
    FS_COL_N("plain_time_us", "time", "us", 9, 1, 2),
    FS_COL_N("plain_algbw", "algbw", "GB/s", 7, 3, 3),
    FS_COL_N("plain_busbw", "busbw", "GB/s", 7, 3, 3),
    FS_COL_I("plain_wrong", "wrong", NULL, 5),
    FS_COL_N("bucketed_time_us", "time", "us", 9, 1, 2),
    FS_COL_N("bucketed_algbw", "algbw", "GB/s", 7, 3, 3),
    FS_COL_N("bucketed_busbw", "busbw", "GB/s", 7, 3, 3),
    FS_COL_I("bucketed_wrong", "wrong", NULL, 5),
    FS_COL_I("buckets", "bkts", NULL, 4),
    FS_COL_N("overlap_compute_us", "compute", "us", 9, 1, 2),
    FS_COL_N("overlap_wait_us", "wait", "us", 9, 1, 2),
    FS_COL_P("overlap_exposed", "exposed", 7, 1, 4),
    FS_COL_N("overlap_early", "early", "bkts", 6, 1, 2),
    FS_COL_I("overlap_wrong", "wrong", NULL, 5),
};

static int print_header(fs_bench *B, fs_world *w, const bench_opts *o, fs_error *e) {
    char hosts[1024], lib[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0, rc = fs_world_hosts(w, hosts, sizeof hosts, e);
    if (rc) return rc;
    MPI_Get_library_version(lib, &len);
    lib[strcspn(lib, ",\n")] = 0;
    fs_bench_fact_int(B, "world_size", w->size);
    fs_bench_fact_str(B, "hosts", hosts);
    fs_bench_fact_str(B, "mpi", lib);
    fs_bench_fact_num(B, "bucket_mb", o->bucket_mb, 3, "MB");
    fs_bench_fact_int(B, "iters", o->iters);
    fs_bench_fact_int(B, "layers", o->layers);
    fs_bench_fact_num(B, "compute_ratio", o->compute_ratio, 3, NULL);
    fs_bench_note(B, "op sum, dtype float, in place; iters fewer above 8M; columns: plain MPI_Allreduce (plain_), "
                     "bucketed fs_allreduce (bucketed_), overlapped backward of `layers` layers whose compute is "
                     "compute_ratio x the bucketed time (overlap_; exposed = wait / bucketed time)");
    fs_bench_columns(B, "mpi", fs_allreduce_bench_cols, (int)FS_ARRAY_LEN(fs_allreduce_bench_cols));
    return 0;
}

static void print_row(fs_bench *B, const fs_world *w, size_t count, const path_result r[3]) {
    size_t bytes = count * sizeof(float);
    int p = w->size, ov = r[2].time_s >= 0 && r[1].time_s > 0;
    fs_bench_row(B,
                 (fs_bench_val[]){FS_INT(bytes), FS_INT(count), FS_STR("float"), FS_NUM(1e6 * r[0].time_s),
                                  FS_NUM(algbw(bytes, r[0].time_s)), FS_NUM(busbw(bytes, r[0].time_s, p)),
                                  FS_INT(r[0].wrong), FS_NUM(1e6 * r[1].time_s), FS_NUM(algbw(bytes, r[1].time_s)),
                                  FS_NUM(busbw(bytes, r[1].time_s, p)), FS_INT(r[1].wrong), FS_INT(r[1].buckets),
                                  ov ? FS_NUM(1e6 * r[2].compute_s) : FS_NONE, ov ? FS_NUM(1e6 * r[2].wait_s) : FS_NONE,
                                  ov ? FS_NUM(r[2].wait_s / r[1].time_s) : FS_NONE, ov ? FS_NUM(r[2].early) : FS_NONE,
                                  ov ? FS_INT(r[2].wrong) : FS_NONE});
}

/* ---------------------------------------------------------------- run */
static int sweep(fs_bench *B, bench_ctx *b, long *wrong, fs_error *e) {
    const bench_opts *o = b->o;
    for (size_t bytes = o->min_bytes; bytes <= o->max_bytes; bytes *= 2) {
        path_result r[3];
        b->count = bytes / sizeof(float);
        int rc = bench_size(b, r, e);
        if (rc) return rc;
        print_row(B, b->w, b->count, r);
        *wrong += r[0].wrong + r[1].wrong + r[2].wrong;
        if (bytes > o->max_bytes / 2) break;
    }
    return 0;
}

static int run_bench(fs_bench *B, fs_world *w, const bench_opts *o, fs_error *e) {
    size_t max_count = o->max_bytes / sizeof(float);
    bench_ctx b = {.w = w, .o = o};
    b.buf = fs_aligned_alloc(max_count * sizeof(float));
    b.pristine = fs_aligned_alloc(max_count * sizeof(float));
    fill_input(b.pristine, max_count, w->rank);
    long wrong = 0;
    int rc = print_header(B, w, o, e);
    if (!rc) rc = sweep(B, &b, &wrong, e);
    free(b.buf);
    free(b.pristine);
    if (rc) return rc;
    fs_bench_fact_str(B, "bucketed_path", b.path);
    fs_bench_wrong(B, wrong);
    if (wrong)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "bench allreduce: %ld reduced values differ from the exact sum\n"
                         "  hint: the MPI library or the interconnect corrupts data; rerun with --min/--max "
                         "around the failing size and report it",
                         wrong);
    return 0;
}

/* The NCCL path, on every rank's GPU, when this build has NCCL and every rank has a GPU;
 * otherwise one line says why it was not run. */
static int run_nccl(fs_bench *B, fs_world *w, const bench_opts *o, fs_error *e) {
    fs_error why = {0};
    int have = fs_nccl_available() && fs_backend_cuda(w->local_rank, &why) != NULL, all = 0;
    if (!fs_nccl_available()) fs_errorf(&why, FS_EXIT_FAIL, "this build has no NCCL");
    MPI_Allreduce(&have, &all, 1, MPI_INT, MPI_MIN, w->comm);
    if (!all) {
        fs_bench_note(B, "NCCL path: not run (%s)", have ? "a rank has no GPU" : why.msg);
        return 0;
    }
    long wrong = fs_nccl_bench(w, o->min_bytes, o->max_bytes, (size_t)(o->bucket_mb * 1e6), o->iters, B, e);
    if (wrong < 0) return e->code ? e->code : FS_EXIT_FAIL;
    fs_bench_wrong(B, wrong);
    if (wrong)
        return fs_errorf(e, FS_EXIT_FAIL, "bench allreduce (NCCL): %ld reduced values differ from the exact sum",
                         wrong);
    return 0;
}

int bench_allreduce(int argc, char **argv) {
    bench_opts o;
    fs_error e = {0};
    fs_bench B;
    fs_bench_init(&B, "allreduce", argc, argv); /* before getopt permutes argv */
    int rc = parse_opts(&o, argc, argv, &e);
    if (rc >= 0) {
        if (rc) fprintf(stderr, "error: %s\n", e.msg);
        return fs_bench_free(&B), rc;
    }
    fs_world w;
    if ((rc = fs_world_init(&w, &argc, &argv, &e)) != 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        return fs_bench_free(&B), rc;
    }
    B.json = o.json, B.quiet = w.rank != 0;
    rc = run_bench(&B, &w, &o, &e);
    if (!rc) rc = run_nccl(&B, &w, &o, &e);
    if (rc) fs_log(FS_LOG_ERROR, "%s", e.msg);
    fs_world_finalize(&w);
    /* a wrong sum is reported by the harness (exit 1) after its message above */
    if (rc && !B.wrong) return fs_bench_free(&B), rc;
    return fs_bench_end(&B, "reduced values that differ from the exact sum");
}
