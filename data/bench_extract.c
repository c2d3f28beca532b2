/* bench_extract.c — `faceswarm bench extract INPUT...`: frames/s of extract's real pipeline on
 * this machine (one process; ranks multiply it) and where the time goes: decode (FFmpeg, RGB
 * conversion), detect (dlib's HOG scan), landmarks (the 68-point fit), align (matrix, crop,
 * mask), part (writing the chunk's part file) and join (rank 0's HDF5 output). It checks
 * itself: the file it wrote is opened as schema v2 (every checksum checked) and must hold
 * the faces the worker found (the `wrong` count). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/extract_int.h"
#include "trainer/cli.h"

#ifndef FS_DLIB_LANDMARKS
#define FS_DLIB_LANDMARKS "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
#endif

static const char HELP[] =
    "usage: faceswarm bench extract [--frames N] [--size S] [--min-face PX] [--every K] [--json] INPUT...\n"
    "  Runs extract's pipeline on the first N frames of the inputs (default 64) in one process and\n"
    "  prints frames/s and the time per stage: decode, detect, landmarks, align, part, join.\n";

typedef struct bench {
    fs_extract_opts o;
    int json;
    char dir[64], out[128];
} bench;

static int parse(bench *B, int argc, char **argv) {
    static const struct option opts[] = {{"frames", required_argument, 0, 'n'}, {"size", required_argument, 0, 's'},
                                         {"min-face", required_argument, 0, 'm'}, {"every", required_argument, 0, 'e'},
                                         {"json", no_argument, 0, 'j'},          {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "n:s:m:e:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'n': B->o.chunk = atoi(optarg); break;
        case 's': B->o.size = atoi(optarg); break;
        case 'm': B->o.min_face = atoi(optarg); break;
        case 'e': B->o.every = atoi(optarg); break;
        case 'j': B->json = 1; break;
        case 'h': fputs(HELP, stdout); return -1;
        default: fprintf(stderr, "error: bench extract: unknown option\n  hint: faceswarm bench extract --help\n"); return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "error: bench extract: no INPUT given\n  hint: a video, images or a folder\n");
        return FS_EXIT_BADINPUT;
    }
    B->o.inputs = (const char *const *)(argv + optind);
    B->o.n_inputs = argc - optind;
    return 0;
}

static void row(const bench *B, const char *stage, double s, long frames, double total) {
    if (B->json)
        printf("{\"stage\": \"%s\", \"seconds\": %.4f, \"ms_per_frame\": %.3f, \"share\": %.4f}\n", stage, s,
               frames ? 1e3 * s / frames : 0.0, total > 0 ? s / total : 0.0);
    else
        printf("  %-10s %10.3f %12.3f %8.1f\n", stage, s, frames ? 1e3 * s / frames : 0.0, total > 0 ? 100 * s / total : 0.0);
}

static void report(const bench *B, const xplan *p, const xtimes *t, double join, double wall, long wrong) {
    double total = t->decode + t->detect + t->landmarks + t->align + t->part + join;
    printf("# faceswarm %s (%s) bench extract\n", FS_VERSION, fs_git_commit());
    for (long i = 0; i < p->n && i < 8; i++) printf("# input %ld: %s (%ld frames)\n", i, p->src[i].path, p->src[i].frames);
    printf("# first %d frames, every %d, size %d, min-face %d, coverage %g; one process\n", B->o.chunk, B->o.every,
           B->o.size, B->o.min_face, B->o.coverage);
    printf("# searched %ld frames, %ld faces; %.2f frames/s (wall %.2f s, model load excluded); wrong %ld\n", t->frames,
           t->faces, wall > 0 ? t->frames / wall : 0.0, wall, wrong);
    if (!B->json) printf("# %-10s %10s %12s %8s\n", "stage", "seconds", "ms/frame", "share%");
    row(B, "decode", t->decode, t->frames, total), row(B, "detect", t->detect, t->frames, total);
    row(B, "landmarks", t->landmarks, t->frames, total), row(B, "align", t->align, t->frames, total);
    row(B, "part", t->part, t->frames, total), row(B, "join", join, t->frames, total);
}

/* The written file must open and verify (schema v2) with the worker's face count. */
static long check(const bench *B, const xtimes *t) {
    fs_faces *f;
    fs_error e = {0};
    if (fs_faces_open(&f, B->out, NULL, &e)) {
        fprintf(stderr, "wrong: %s\n", e.msg);
        return 1;
    }
    long wrong = fs_faces_count(f) != t->faces || !fs_faces_has_masks(f) || fs_faces_check_extras(f, &e) != 0;
    fs_faces_close(f);
    return wrong;
}

static int run(bench *B, fs_error *e) {
    xplan p;
    xworker *w = NULL;
    int rc = xplan_build(&B->o, &p, e);
    if (rc == 0) rc = xworker_init(&w, &B->o, &p, e);
    if (rc) {
        xplan_free(&p);
        return rc;
    }
    char part[FS_PATH_LEN + 64];
    xpart_path(B->dir, 0, part, sizeof part);
    static volatile int never;
    double t0 = fs_now();
    rc = xworker_chunk(w, 0, part, &never, e);
    double t1 = fs_now();
    p.chunks = 1; /* join the one chunk measured */
    fs_extract_result r = {0};
    if (rc == 0) rc = xout_write(&B->o, &p, B->dir, &r, e);
    double join = fs_now() - t1;
    xtimes t;
    xworker_times(w, &t);
    long wrong = rc == 0 ? check(B, &t) : 0;
    if (rc == 0) report(B, &p, &t, join, t1 - t0 + join, wrong);
    remove(part), remove(B->out), rmdir(B->dir);
    xworker_free(w);
    xplan_free(&p);
    return rc ? rc : wrong ? FS_EXIT_FAIL : 0;
}

int bench_extract(int argc, char **argv) {
    bench B = {.o = {.identity = "bench", .consent = "bench extract", .source = "bench extract",
                     .size = FS_EXTRACT_SIZE_DEFAULT, .every = 1, .min_face = FS_EXTRACT_MIN_FACE_DEFAULT,
                     .coverage = FS_ALIGN_COVERAGE_DEFAULT, .landmarks = FS_DLIB_LANDMARKS, .chunk = 64}};
    int rc = parse(&B, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    snprintf(B.dir, sizeof B.dir, "/tmp/faceswarm-bench-extract-XXXXXX");
    if (!mkdtemp(B.dir)) {
        fprintf(stderr, "error: bench extract: cannot make a folder in /tmp\n  hint: check /tmp\n");
        return FS_EXIT_FAIL;
    }
    snprintf(B.out, sizeof B.out, "%s/bench.h5", B.dir);
    B.o.out = B.out;
    fs_error e = {0};
    if (B.o.chunk < 1 || B.o.size < 16 || B.o.size > 1024 || B.o.every < 1 || B.o.min_face < 40)
        rc = fs_errorf(&e, FS_EXIT_BADINPUT, "bench extract: --frames %d, --size %d, --every %d, --min-face %d; "
                       "expected >= 1, 16..1024, >= 1, >= 40\n  hint: faceswarm bench extract --help", B.o.chunk,
                       B.o.size, B.o.every, B.o.min_face);
    if (rc == 0) rc = run(&B, &e);
    rmdir(B.dir);
    if (rc && e.msg[0]) fprintf(stderr, "error: %s\n", e.msg);
    return rc;
}
