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
#include "core/bench.h"
#include "data/cli.h"

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
    static const struct option opts[] = {{"frames", required_argument, 0, 'n'},
                                         {"size", required_argument, 0, 's'},
                                         {"min-face", required_argument, 0, 'm'},
                                         {"every", required_argument, 0, 'e'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c, rc = 0;
    fs_error e = {0};
    optind = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "n:s:m:e:jh", opts, NULL)) != -1) {
        switch (c) { /* the ranges of `faceswarm extract` (data/extract_cmd.c) */
        case 'n': rc = fs_parse_int("--frames", optarg, 1, 100000, &B->o.chunk, &e); break;
        case 's': rc = fs_parse_int("--size", optarg, 16, 1024, &B->o.size, &e); break;
        case 'm': rc = fs_parse_int("--min-face", optarg, 40, 4096, &B->o.min_face, &e); break;
        case 'e': rc = fs_parse_int("--every", optarg, 1, 1000000, &B->o.every, &e); break;
        case 'j': B->json = 1; break;
        case 'h': fputs(HELP, stdout); return -1;
        default:
            fprintf(stderr, "error: bench extract: unknown option\n  hint: faceswarm bench extract --help\n");
            return 2;
        }
    }
    if (rc) {
        fprintf(stderr, "error: bench extract: %s\n", e.msg);
        return rc;
    }
    if (optind >= argc) {
        fprintf(stderr, "error: bench extract: no INPUT given\n  hint: a video, images or a folder\n");
        return FS_EXIT_BADINPUT;
    }
    B->o.inputs = (const char *const *)(argv + optind);
    B->o.n_inputs = argc - optind;
    return 0;
}

static void report(fs_bench *H, const bench *B, const xplan *p, const xtimes *t, double join, double wall) {
    char key[32];
    for (long i = 0; i < p->n && i < 8; i++) {
        snprintf(key, sizeof key, "input_%ld", i);
        fs_bench_fact_str(H, key, p->src[i].path);
        snprintf(key, sizeof key, "input_%ld_frames", i);
        fs_bench_fact_int(H, key, p->src[i].frames);
    }
    fs_bench_fact_int(H, "frames", B->o.chunk);
    fs_bench_fact_int(H, "every", B->o.every);
    fs_bench_fact_int(H, "size", B->o.size);
    fs_bench_fact_int(H, "min_face", B->o.min_face);
    fs_bench_fact_num(H, "coverage", B->o.coverage, 3, NULL);
    fs_bench_note(H, "the first `frames` frames of the inputs, in one process (ranks multiply it)");
    fs_bench_fact_int(H, "searched_frames", t->frames);
    fs_bench_fact_int(H, "faces", t->faces);
    fs_bench_fact_num(H, "frames_per_s", wall > 0 ? t->frames / wall : 0.0, 2, "frames/s (model load excluded)");
    fs_bench_fact_num(H, "wall_s", wall, 2, "s");
    const char *const names[] = {"decode", "detect", "landmarks", "align", "part", "join"};
    const double v[] = {t->decode, t->detect, t->landmarks, t->align, t->part, join};
    fs_bench_stages(H, names, v, (int)FS_ARRAY_LEN(v), t->frames);
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

static int run(fs_bench *H, bench *B, fs_error *e) {
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
    if (rc == 0) fs_bench_wrong(H, check(B, &t));
    if (rc == 0) report(H, B, &p, &t, join, t1 - t0 + join);
    remove(part), remove(B->out), rmdir(B->dir);
    xworker_free(w);
    xplan_free(&p);
    return rc;
}

int bench_extract(int argc, char **argv) {
    bench B = {.o = {.identity = "bench",
                     .consent = "bench extract",
                     .source = "bench extract",
                     .size = FS_EXTRACT_SIZE_DEFAULT,
                     .every = 1,
                     .min_face = FS_EXTRACT_MIN_FACE_DEFAULT,
                     .coverage = FS_ALIGN_COVERAGE_DEFAULT,
                     .landmarks = FS_DLIB_LANDMARKS,
                     .chunk = 64}};
    fs_bench H;
    fs_bench_init(&H, "extract", argc, argv); /* before getopt permutes argv */
    int rc = parse(&B, argc, argv);
    if (rc) return fs_bench_free(&H), rc < 0 ? 0 : rc;
    H.json = B.json;
    snprintf(B.dir, sizeof B.dir, "/tmp/faceswarm-bench-extract-XXXXXX");
    if (!mkdtemp(B.dir)) {
        fprintf(stderr, "error: bench extract: cannot make a folder in /tmp\n  hint: check /tmp\n");
        return fs_bench_free(&H), FS_EXIT_FAIL;
    }
    snprintf(B.out, sizeof B.out, "%s/bench.h5", B.dir);
    B.o.out = B.out;
    fs_error e = {0};
    if (B.o.chunk < 1 || B.o.size < 16 || B.o.size > 1024 || B.o.every < 1 || B.o.min_face < 40)
        rc = fs_errorf(&e, FS_EXIT_BADINPUT,
                       "bench extract: --frames %d, --size %d, --every %d, --min-face %d; "
                       "expected >= 1, 16..1024, >= 1, >= 40\n  hint: faceswarm bench extract --help",
                       B.o.chunk, B.o.size, B.o.every, B.o.min_face);
    if (rc == 0) rc = run(&H, &B, &e);
    rmdir(B.dir);
    if (rc && e.msg[0]) fprintf(stderr, "error: %s\n", e.msg);
    if (rc) return fs_bench_free(&H), rc;
    return fs_bench_end(&H, "the file written does not verify or lacks faces the worker found");
}
