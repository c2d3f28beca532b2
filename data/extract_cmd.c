/* extract_cmd.c — `faceswarm extract`: options, then fs_extract (data/extract.h). */
#include <getopt.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/align.h"
#include "data/extract.h"
#include "data/cli.h"

#ifndef FS_DLIB_LANDMARKS
#define FS_DLIB_LANDMARKS "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
#endif

static const char HELP[] =
    "usage: faceswarm extract --identity NAME --consent REF --source TEXT -o NAME.h5 [options] INPUT...\n"
    "       mpirun -np P faceswarm extract ...   (the frames are split over the ranks; one output)\n"
    "  INPUT: video files (whatever FFmpeg decodes), PNG/JPEG images, or folders of either\n"
    "  (searched recursively, in name order). Faces are found with dlib's HOG frontal detector,\n"
    "  fitted with its 68 landmarks, aligned as faceswap aligns (similarity onto the mean face)\n"
    "  and stored with their landmarks, landmark-hull masks and the frame each came from.\n"
    "  --every N        search every N-th frame of a video (default 1: all)\n"
    "  --size S         stored face size in px (default %d)\n"
    "  --faces MODE     largest (default): the largest face of a frame; all: up to %d per frame\n"
    "  --min-face PX    smallest face kept, detector box width in px (default %d; below 80 the\n"
    "                   search runs on an upsampled frame and is ~4x slower; above, faster)\n"
    "  --coverage F     fraction of the stored face that the mean-face square (brows to chin)\n"
    "                   spans, 0.25..1 (default %.3f, faceswap's legacy extract)\n"
    "  --landmarks PATH dlib's 68-point model (default %s)\n"
    "  --chunk N        frames per chunk, the unit of work of a rank and of a rerun (default %d)\n"
    "  NAME.h5 appears only when whole. Frames without a face are counted and listed (/noface).\n"
    "  Finished chunks are kept in NAME.h5.work/: after a stop (SIGINT, SIGTERM, SIGUSR1: exit 3)\n"
    "  or a failure, the same command goes on where it stopped; once NAME.h5 is written from the\n"
    "  same inputs (paths, sizes, times) and options, a rerun has nothing to do.\n";

static int usage_error(const char *what) {
    fprintf(stderr, "error: faceswarm extract: %s\n  hint: faceswarm extract --help\n", what);
    return FS_EXIT_BADINPUT;
}

static int parse_int(const char *opt, const char *text, long lo, long hi, int *out) {
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < lo || v > hi) {
        fprintf(stderr,
                "error: faceswarm extract: --%s '%s'; expected an integer in %ld..%ld\n"
                "  hint: faceswarm extract --help explains --%s\n",
                opt, text, lo, hi, opt);
        return FS_EXIT_BADINPUT;
    }
    *out = (int)v;
    return 0;
}

static int parse_coverage(const char *text, double *out) {
    char *end;
    double v = strtod(text, &end);
    if (!*text || *end) {
        fprintf(stderr,
                "error: faceswarm extract: --coverage '%s'; expected a number in 0.25..1\n"
                "  hint: 0.625 is faceswap's legacy extract; 1 crops to the mean-face square\n",
                text);
        return FS_EXIT_BADINPUT;
    }
    *out = v;
    return 0;
}

static int parse_faces(const char *text, int *all) {
    if (!strcmp(text, "largest") || !strcmp(text, "all")) {
        *all = !strcmp(text, "all");
        return 0;
    }
    fprintf(stderr,
            "error: faceswarm extract: --faces '%s'; expected largest or all\n"
            "  hint: --faces all keeps up to %d faces per frame, largest first\n",
            text, FS_EXTRACT_MAX_FACES);
    return FS_EXIT_BADINPUT;
}

static int parse(int argc, char **argv, fs_extract_opts *o) {
    static const struct option opts[] = {{"identity", required_argument, 0, 'i'},
                                         {"consent", required_argument, 0, 'c'},
                                         {"source", required_argument, 0, 'S'},
                                         {"out", required_argument, 0, 'o'},
                                         {"every", required_argument, 0, 'e'},
                                         {"size", required_argument, 0, 's'},
                                         {"faces", required_argument, 0, 'f'},
                                         {"min-face", required_argument, 0, 'm'},
                                         {"coverage", required_argument, 0, 'C'},
                                         {"landmarks", required_argument, 0, 'l'},
                                         {"chunk", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c, rc = 0;
    optind = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "i:c:S:o:e:s:f:m:C:l:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': o->identity = optarg; break;
        case 'c': o->consent = optarg; break;
        case 'S': o->source = optarg; break;
        case 'o': o->out = optarg; break;
        case 'e': rc = parse_int("every", optarg, 1, 1000000, &o->every); break;
        case 's': rc = parse_int("size", optarg, 16, 1024, &o->size); break;
        case 'f': rc = parse_faces(optarg, &o->all_faces); break;
        case 'm': rc = parse_int("min-face", optarg, 40, 4096, &o->min_face); break;
        case 'C': rc = parse_coverage(optarg, &o->coverage); break;
        case 'l': o->landmarks = optarg; break;
        case 'k': rc = parse_int("chunk", optarg, 1, 100000, &o->chunk); break;
        case 'h':
            printf(HELP, FS_EXTRACT_SIZE_DEFAULT, FS_EXTRACT_MAX_FACES, FS_EXTRACT_MIN_FACE_DEFAULT,
                   FS_ALIGN_COVERAGE_DEFAULT, FS_DLIB_LANDMARKS, FS_EXTRACT_CHUNK_DEFAULT);
            return -1;
        default: return usage_error("unknown option");
        }
    }
    if (rc) return rc;
    if (!o->identity || !o->consent || !o->consent[0] || !o->source || !o->source[0])
        return usage_error("--identity, --consent and --source are required (the schema records them)");
    if (!o->out) return usage_error("-o NAME.h5 is required");
    if (optind >= argc) return usage_error("no INPUT given (video files, images or folders)");
    o->inputs = (const char *const *)(argv + optind);
    o->n_inputs = argc - optind;
    return 0;
}

static void summary(const fs_extract_opts *o, const fs_extract_result *r) {
    if (r->already_done) {
        fs_info("extract: %s is already extracted from these inputs with these options; nothing to do", o->out);
        return;
    }
    fs_info("extract: wrote %s: %ld faces of %d px, identity %s, from %ld of %ld frames in %ld sources; "
            "%ld frames without a face; %ld chunks reused; %.1f s",
            o->out, r->faces, o->size, o->identity, r->scanned, r->frames, r->sources, r->no_face, r->chunks_skipped,
            r->seconds);
}

int cmd_extract(int argc, char **argv) {
    fs_extract_opts o = {.size = FS_EXTRACT_SIZE_DEFAULT,
                         .every = 1,
                         .min_face = FS_EXTRACT_MIN_FACE_DEFAULT,
                         .coverage = FS_ALIGN_COVERAGE_DEFAULT,
                         .landmarks = FS_DLIB_LANDMARKS,
                         .chunk = FS_EXTRACT_CHUNK_DEFAULT,
                         .progress_tty = isatty(2)};
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? FS_EXIT_OK : rc;
    fs_extract_result r;
    fs_error e = {0};
    rc = fs_extract(&o, &r, &e);
    if (rc && e.msg[0]) fs_log(FS_LOG_ERROR, "%s", e.msg);
    else if (rc == 0) summary(&o, &r);
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
    return rc;
}
