/* convert.c — `faceswarm convert`: a video's faces swapped to another identity, frame by
 * frame (trainer/convert_pipe.c), and a video (or labelled PNG frames) written back.
 *
 * The frames are cut into pieces of --chunk consecutive frames; rank r of P takes pieces
 * [r·K/P, (r+1)·K/P). Each piece is encoded by an encoder of its own from its first frame
 * (data/video_enc.h), so the pieces do not depend on P and neither does the output; rank 0
 * joins them by copying packets (no second encode), with the source's audio, into a temp
 * file renamed over OUT when whole. Frames without a face are copied unchanged and carry no
 * mark; converted frames carry the watermark over the whole frame. */
#include <dirent.h>
#include <getopt.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/image.h"
#include "data/video.h"
#include "data/video_enc.h"
#include "data/watermark.h"
#include "trainer/cli.h"
#include "trainer/convert_int.h"
#include "trainer/preview.h"

#ifndef FS_DLIB_LANDMARKS
#define FS_DLIB_LANDMARKS "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
#endif

static const char HELP[] =
    "usage: faceswarm convert --checkpoint CKPT --from A --to B (-o OUT.mp4 | --png DIR) [options] INPUT\n"
    "       mpirun -np P faceswarm convert ...   (the frames are split over the ranks; one output)\n"
    "  Every face of INPUT (a video of identity A) goes through the shared encoder and B's decoder\n"
    "  and is blended back into its frame; the video is encoded again (H.264 through libx264, the\n"
    "  source's size and timing, its audio copied) and labelled as composite synthetic media (XMP,\n"
    "  container metadata, a watermark over every converted frame). Frames without a face are\n"
    "  copied unchanged. OUT appears only when whole.\n"
    "  --alignments A.h5 the faces as `faceswarm extract` found them in INPUT (its /frames): no\n"
    "                   detection; the file must be --from's, its faces of the model's resolution\n"
    "  --faces MODE     without --alignments: largest (default) or all (up to %d a frame)\n"
    "  --min-face PX    without --alignments: smallest face detected (default %d)\n"
    "  --coverage F     without --alignments: the alignment the model was trained on (default %.3f)\n"
    "  --erode PX       shrink the mask by PX frame pixels (default: %.1f%% of the aligned face's side)\n"
    "  --blur PX        feather the mask's edge over PX frame pixels (default: %.1f%% of the side)\n"
    "  --color MODE     colour matching of the new face to the old: avg (default; mean and spread\n"
    "                   per channel in L*a*b*), hist (histogram matching per channel) or none\n"
    "  --crf N          libx264 constant rate factor 0..51 (default %d; lower = better)\n"
    "  --preset NAME    libx264 preset (default %s)\n"
    "  --png DIR        write DIR/frame-NNNNNN.png (lossless, labelled) instead of a video\n"
    "  --chunk N        frames per piece, the unit of work of a rank (default %d)\n"
    "  --landmarks PATH dlib's 68-point model (default %s)\n";

static volatile sig_atomic_t g_stop; /* a signal asked to stop after the current frame */
static void on_signal(int sig) { g_stop = sig; }

typedef struct cv_run {
    cv_opts o;
    int rank, size;
    cv_pipe p;
    fs_video_info info;
    fs_video_timing tm;
    int64_t frame_dur;  /* pts units per frame */
    long pieces;        /* K */
    long *piece_frames; /* [K] frames this rank wrote into each piece (summed on rank 0) */
    char workdir[FS_PATH_LEN + 8];
    fs_provenance prov; /* the labels of every output */
    uint64_t payload;   /* the watermark's */
    double t0, last_progress;
} cv_run;

/* ---------------------------------------------------------------- options */
static int usage_error(const char *what) {
    fprintf(stderr, "error: faceswarm convert: %s\n  hint: faceswarm convert --help\n", what);
    return FS_EXIT_BADINPUT;
}

static int parse_opt(cv_opts *o, int c, const char *arg, fs_error *e) {
    switch (c) {
    case 'c': o->ckpt = arg; return 0;
    case 'f': o->from = arg; return 0;
    case 't': o->to = arg; return 0;
    case 'o': o->out = arg; return 0;
    case 'P': o->png = arg; return 0;
    case 'a': o->alignments = arg; return 0;
    case 'l': o->landmarks = arg; return 0;
    case 'p': {
        static const char *const presets[] = {"ultrafast", "superfast", "veryfast", "faster",   "fast",
                                              "medium",    "slow",      "slower",   "veryslow", "placebo"};
        for (size_t i = 0; i < FS_ARRAY_LEN(presets); i++)
            if (!strcmp(arg, presets[i])) return o->preset = arg, 0;
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "--preset '%s' is not a libx264 preset\n  hint: ultrafast, superfast, "
                         "veryfast, faster, fast, medium, slow, slower, veryslow or placebo",
                         arg);
    }
    case 'F':
        if (strcmp(arg, "largest") && strcmp(arg, "all"))
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "--faces '%s'; expected largest or all\n  hint: --faces all "
                             "swaps up to %d faces a frame",
                             arg, FS_EXTRACT_MAX_FACES);
        o->all_faces = !strcmp(arg, "all");
        return 0;
    case 'C': {
        int m = fs_color_mode_parse(arg);
        if (m < 0)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "--color '%s'; expected none, avg or hist\n  hint: avg matches "
                             "each channel's mean and spread in L*a*b*; hist, the histograms",
                             arg);
        o->blend.color = (fs_color_mode)m;
        return 0;
    }
    case 'm': return fs_parse_int("--min-face", arg, 40, 4096, &o->min_face, e);
    case 'v': return fs_parse_double("--coverage", arg, 0.25, 1, &o->coverage, e);
    case 'e': return fs_parse_int("--erode", arg, 0, 1000, &o->blend.erode, e);
    case 'b': return fs_parse_int("--blur", arg, 0, 1000, &o->blend.blur, e);
    case 'q': return fs_parse_int("--crf", arg, 0, 51, &o->crf, e);
    case 'k': return fs_parse_int("--chunk", arg, 1, 1000000, &o->chunk, e);
    default: return fs_errorf(e, FS_EXIT_BADINPUT, "unknown option\n  hint: faceswarm convert --help");
    }
}

static int parse(int argc, char **argv, cv_opts *o) {
    static const struct option opts[] = {{"checkpoint", required_argument, 0, 'c'},
                                         {"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         {"png", required_argument, 0, 'P'},
                                         {"alignments", required_argument, 0, 'a'},
                                         {"faces", required_argument, 0, 'F'},
                                         {"min-face", required_argument, 0, 'm'},
                                         {"coverage", required_argument, 0, 'v'},
                                         {"erode", required_argument, 0, 'e'},
                                         {"blur", required_argument, 0, 'b'},
                                         {"color", required_argument, 0, 'C'},
                                         {"crf", required_argument, 0, 'q'},
                                         {"preset", required_argument, 0, 'p'},
                                         {"chunk", required_argument, 0, 'k'},
                                         {"landmarks", required_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    fs_error e = {0};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "c:f:t:o:h", opts, NULL)) != -1) {
        if (c == 'h') {
            printf(HELP, FS_EXTRACT_MAX_FACES, FS_EXTRACT_MIN_FACE_DEFAULT, FS_ALIGN_COVERAGE_DEFAULT,
                   100 * FS_BLEND_ERODE_AUTO, 100 * FS_BLEND_BLUR_AUTO, FS_VENC_CRF_DEFAULT, FS_VENC_PRESET_DEFAULT,
                   FS_CONVERT_CHUNK_DEFAULT, FS_DLIB_LANDMARKS);
            return -1;
        }
        if (c == '?') return usage_error("unknown option");
        if (parse_opt(o, c, optarg, &e)) /* the message has its hint */
            return fprintf(stderr, "error: faceswarm convert: %s\n", e.msg), FS_EXIT_BADINPUT;
    }
    if (!o->ckpt || !o->from || !o->to) return usage_error("--checkpoint, --from and --to are required");
    if (!o->out == !o->png) return usage_error("give one of -o OUT.mp4 (a video) and --png DIR (frames)");
    if (optind != argc - 1) return usage_error(optind >= argc ? "no INPUT video given" : "give one INPUT video");
    o->input = argv[optind];
    return 0;
}

/* ---------------------------------------------------------------- set-up */
/* The outputs' labels: composite media from this checkpoint, its identities and their
 * consent, the watermark's payload from the run. */
static void labels(cv_run *x) {
    x->prov = (fs_provenance){.source_type = FS_IPTC_COMPOSITE, .watermark = 1, .mark_whole = 1};
    fs_infer_provenance(&x->p.m, &x->prov);
    x->payload = fs_wm_payload(fs_wm_run_tag(x->prov.run ? x->prov.run : ""));
}

/* -o's folder and container, before any work (--png's folder is made once all else is checked). */
static int check_output(const cv_opts *o, fs_error *e) {
    if (!o->out) return 0;
    int rc = fs_check_out_file("-o", o->out, e);
    return rc ? rc : fs_vjoin_check_out(o->out, e);
}

static int probe_input(cv_run *x, fs_error *e) {
    fs_video *v;
    int rc = fs_video_open(&v, x->o.input, e);
    if (rc) return rc;
    rc = fs_video_probe(v, &x->info, e);
    fs_video_timing_of(v, &x->tm);
    fs_video_close(v);
    if (rc) return rc;
    if (x->info.width < FS_WM_MIN_SIDE || x->info.height < FS_WM_MIN_SIDE)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: %dx%d px; convert needs at least %d px a side (the watermark's "
                         "smallest region)\n  hint: give a larger video",
                         x->o.input, x->info.width, x->info.height, FS_WM_MIN_SIDE);
    /* one frame in pts units: from the average frame rate, else 25 frames/s */
    double fps = x->tm.fps_num > 0 ? (double)x->tm.fps_num / x->tm.fps_den : 25.0;
    x->frame_dur = (int64_t)llround((double)x->tm.tb_den / (x->tm.tb_num * fps));
    if (x->frame_dur < 1) x->frame_dur = 1;
    x->pieces = (x->info.frames + x->o.chunk - 1) / x->o.chunk;
    x->piece_frames = fs_calloc((size_t)x->pieces, sizeof(long));
    return 0;
}

static int setup(cv_run *x, fs_error *e) {
    int rc = check_output(&x->o, e);
    if (!rc) rc = probe_input(x, e);
    if (!rc) rc = cv_pipe_init(&x->p, &x->o, e);
    if (!rc) labels(x);
    if (!rc && x->o.png) rc = fs_mkdir_p(x->o.png, e);
    if (!rc && x->o.out) snprintf(x->workdir, sizeof x->workdir, "%s.work", x->o.out);
    return rc;
}

/* ---------------------------------------------------------------- one rank's frames */
static void piece_path(const cv_run *x, long c, char *out, size_t n) {
    snprintf(out, n, "%s/piece-%06ld.nut", x->workdir, c);
}

static int open_piece(cv_run *x, long c, fs_venc **enc, fs_error *e) {
    char path[FS_PATH_LEN + 64];
    piece_path(x, c, path, sizeof path);
    fs_venc_opts vo = {.width = x->info.width,
                       .height = x->info.height,
                       .tb_num = x->tm.tb_num,
                       .tb_den = x->tm.tb_den,
                       .frame_dur = x->frame_dur,
                       .crf = x->o.crf,
                       .preset = x->o.preset};
    return fs_venc_open(enc, path, &vo, e);
}

/* Frame f as a PNG: labelled composite media with its synthetic regions and the mark, or,
 * without a face, the source's pixels labelled as such. */
static int write_png(cv_run *x, long f, fs_error *e) {
    cv_pipe *p = &x->p;
    char path[FS_PATH_LEN + 64], frame[32];
    snprintf(path, sizeof path, "%s/frame-%06ld.png", x->o.png, f);
    snprintf(frame, sizeof frame, "%ld", f);
    if (p->n_region == 0) {
        const char *text[] = {"Title",
                              "faceswarm convert: a source frame",
                              "Software",
                              "faceswarm " FS_VERSION,
                              "faceswarm:synthetic",
                              "false",
                              "faceswarm:source",
                              x->o.input,
                              "faceswarm:frame",
                              frame,
                              "Comment",
                              "no face was found in this frame: its pixels are the source's, unchanged",
                              NULL};
        return fs_png_write(path, p->frame, x->info.width, x->info.height, text, e);
    }
    const char *text[] = {"Title",
                          "faceswarm convert",
                          "Software",
                          "faceswarm " FS_VERSION,
                          "Disclaimer",
                          FS_SYNTHETIC_NOTICE,
                          "faceswarm:synthetic",
                          "true",
                          "faceswarm:checkpoint",
                          x->o.ckpt,
                          "faceswarm:from",
                          x->o.from,
                          "faceswarm:to",
                          x->o.to,
                          "faceswarm:consent",
                          fs_infer_consent_label(&p->m),
                          "faceswarm:source",
                          x->o.input,
                          "faceswarm:frame",
                          frame,
                          NULL};
    fs_provenance pv = x->prov;
    pv.n_regions = p->n_region, pv.region = p->region;
    return fs_png_write_labelled(path, p->frame, x->info.width, x->info.height, text, &pv, e);
}

/* The converted frame out: marked and encoded into the piece, or written as a PNG. */
static int emit(cv_run *x, fs_venc *enc, long f, int64_t pts, fs_error *e) {
    cv_pipe *p = &x->p;
    double t0 = fs_now();
    if (x->o.png) {
        int rc = write_png(x, f, e); /* fs_png_write_labelled marks the frame itself */
        p->t.encode += fs_now() - t0;
        return rc;
    }
    if (p->n_region > 0 && fs_wm_embed(p->frame, x->info.width, x->info.width, x->info.height, x->payload, e))
        return e->code;
    double t1 = fs_now();
    int rc = fs_venc_frame(enc, p->frame, pts, e);
    p->t.mark += t1 - t0, p->t.encode += fs_now() - t1;
    return rc;
}

/* Rank 0's line: its own pace times the ranks (they share the frames evenly); the final line
 * (all >= 0) counts every rank's frames. */
static void progress(cv_run *x, long done, long share, long all) {
    double now = fs_now();
    int final = all >= 0;
    if (x->rank != 0 || (!final && now - x->last_progress < (x->o.progress_tty ? 1.0 : 10.0))) return;
    if (!final && x->last_progress == 0) { /* the first frames' rate means nothing yet */
        x->last_progress = now;
        return;
    }
    x->last_progress = now;
    double rate = (final ? all : done * x->size) / fmax(now - x->t0, 1e-9);
    double left = rate > 0 ? (share - done) * x->size / rate : 0;
    long total = x->info.frames;
    if (!final) all = FS_MIN(total, done * x->size);
    char line[200];
    snprintf(line, sizeof line, "convert: %ld/%ld frames (%.1f%%%s), %.1f frames/s, ETA %ldm%02lds", all, total,
             total ? 100.0 * all / total : 100.0, x->size > 1 && !final ? ", from rank 0's pace" : "", rate,
             (long)left / 60, (long)left % 60);
    if (x->o.progress_tty) fprintf(stderr, "\r%-90s%s", line, final ? "\n" : "");
    else fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

/* One frame of the rank's range: converted, then into its piece (opened at the piece's first). */
static int do_frame(cv_run *x, fs_video *v, const uint8_t *rgb, long f, fs_venc **enc, long *cur, int64_t *last,
                    fs_error *e) {
    long c = f / x->o.chunk;
    int rc = 0, w, h;
    if (x->o.out && c != *cur) {
        if (*enc && (rc = fs_venc_close(*enc, e))) return *enc = NULL, rc;
        *enc = NULL;
        if ((rc = open_piece(x, c, enc, e))) return rc;
        *cur = c, *last = INT64_MIN;
    }
    fs_video_frame_size(v, &w, &h);
    if (w != x->info.width || h != x->info.height)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: frame %ld is %dx%d px, the stream began %dx%d\n  hint: convert "
                         "keeps one frame size; cut the video where it changes",
                         x->o.input, f, w, h, x->info.width, x->info.height);
    if ((rc = cv_pipe_frame(&x->p, rgb, w, h, f, e))) return rc;
    int64_t pts = fs_video_last_pts(v);
    if (*last != INT64_MIN && pts <= *last) pts = *last + x->frame_dur; /* a damaged timestamp */
    *last = pts;
    if ((rc = emit(x, *enc, f, pts, e))) return rc;
    x->piece_frames[c]++;
    return 0;
}

/* Rank r's frames [f0, f1): the frames before f0 are decoded, not converted. */
static int run_rank(cv_run *x, fs_error *e) {
    long c0 = x->pieces * x->rank / x->size, c1 = x->pieces * (x->rank + 1) / x->size;
    long f0 = c0 * x->o.chunk, f1 = FS_MIN(c1 * x->o.chunk, x->info.frames), next = 0, cur = -1;
    if (f0 >= f1) return 0;
    fs_video *v;
    int rc = fs_video_open(&v, x->o.input, e);
    if (rc) return rc;
    fs_venc *enc = NULL;
    int64_t last = INT64_MIN;
    while (!rc && next < f1) {
        if (g_stop) {
            rc = fs_errorf(e, FS_EXIT_STOPPED, "convert: stopped by a signal; nothing was written under %s",
                           x->o.out ? x->o.out : x->o.png);
            break;
        }
        const uint8_t *rgb = NULL;
        long idx;
        double t, a = fs_now();
        int got = fs_video_next(v, next >= f0 ? &rgb : NULL, &idx, &t, e);
        x->p.t.decode += fs_now() - a;
        if (got < 0) rc = e->code;
        if (got <= 0) break;
        next = idx + 1;
        if (idx < f0) continue;
        rc = do_frame(x, v, rgb, idx, &enc, &cur, &last, e);
        progress(x, next - f0, f1 - f0, -1);
    }
    if (!rc && next < f1)
        fs_warn("%s: frames %ld.. do not decode (the file holds %ld video packets); the output ends at frame %ld",
                x->o.input, next, x->info.frames, next);
    if (enc && !rc) rc = fs_venc_close(enc, e);
    else if (enc) fs_venc_abort(enc);
    fs_video_close(v);
    return rc;
}

/* ---------------------------------------------------------------- the ranks together */
static int mpi_up(cv_run *x, fs_error *e) {
    int up = 0;
    MPI_Initialized(&up);
    if (!up) {
        int provided;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return fs_errorf(e, FS_EXIT_FAIL, "convert: MPI_Init failed\n  hint: run under mpirun/srun or alone");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &x->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &x->size);
    fs_log_set_rank(x->rank, x->size);
    return 0;
}

/* The worst code of any rank; a message is kept where it says something new: on rank 0, or
 * on the ranks that failed when rank 0 did not (every rank checks the same input). */
static int agree(cv_run *x, int rc, fs_error *e) {
    int worst = rc, rc0 = rc;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Bcast(&rc0, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (x->rank != 0 && rc0 != 0) e->msg[0] = 0;
    e->code = worst;
    return worst;
}

/* Rank 0: an empty work folder for the pieces (a failed run's are removed). */
static int make_workdir(cv_run *x, fs_error *e) {
    if (!x->o.out || x->rank != 0) return 0;
    if (mkdir(x->workdir, 0755) != 0 && !fs_is_dir(x->workdir))
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot make the work folder\n  hint: is the output's folder writable?",
                         x->workdir);
    DIR *d = opendir(x->workdir);
    for (struct dirent *de; d && (de = readdir(d));) {
        char p[FS_PATH_LEN + 300];
        snprintf(p, sizeof p, "%s/%s", x->workdir, de->d_name);
        if (!strncmp(de->d_name, "piece-", 6)) unlink(p);
    }
    if (d) closedir(d);
    return 0;
}

static void remove_workdir(cv_run *x) {
    if (!x->o.out || x->rank != 0) return;
    for (long c = 0; c < x->pieces; c++) {
        char p[FS_PATH_LEN + 64];
        piece_path(x, c, p, sizeof p);
        unlink(p);
    }
    rmdir(x->workdir);
}

/* Rank 0: the pieces, in order, into OUT with the source's audio and the labels. */
static int join(cv_run *x, fs_vjoin_result *jr, fs_error *e) {
    const char **pieces = fs_calloc((size_t)x->pieces, sizeof *pieces);
    char(*paths)[FS_PATH_LEN + 64] = fs_calloc((size_t)x->pieces, sizeof *paths);
    int n = 0;
    for (long c = 0; c < x->pieces; c++)
        if (x->piece_frames[c] > 0) piece_path(x, c, paths[n], sizeof paths[n]), pieces[n] = paths[n], n++;
    fs_vjoin_opts jo = {.out = x->o.out,
                        .audio_from = x->o.input,
                        .fps_num = x->tm.fps_num,
                        .fps_den = x->tm.fps_den,
                        .pieces = pieces,
                        .n_pieces = n,
                        .labels = &x->prov};
    double t0 = fs_now();
    int rc = fs_vjoin(&jo, jr, e);
    x->p.t.join += fs_now() - t0;
    free(pieces), free(paths);
    return rc;
}

static void summary(cv_run *x, const cv_times *t, const fs_vjoin_result *jr) {
    double s = fs_now() - x->t0;
    const cv_opts *o = &x->o;
    if (o->out)
        fs_info("convert: wrote %s: %ld frames of %dx%d px (%ld with a face, %ld faces swapped %s -> %s), %s crf %d, "
                "%d audio stream(s) copied; %.1f s, %.1f frames/s on %d rank(s)",
                o->out, t->frames, x->info.width, x->info.height, t->face_frames, t->faces, o->from, o->to,
                fs_venc_codec(), o->crf, jr->audio_streams, s, t->frames / fmax(s, 1e-9), x->size);
    else
        fs_info("convert: wrote %ld labelled PNG frames to %s (%ld with a face, %ld faces swapped %s -> %s); %.1f s, "
                "%.1f frames/s on %d rank(s)",
                t->frames, o->png, t->face_frames, t->faces, o->from, o->to, s, t->frames / fmax(s, 1e-9), x->size);
}

/* Every rank's frames, then rank 0's join; every rank returns the same code. */
static int convert_all(cv_run *x, fs_error *e) {
    int rc = agree(x, make_workdir(x, e), e);
    if (rc) return rc;
    x->t0 = fs_now();
    rc = agree(x, run_rank(x, e), e);
    long sums[3] = {x->p.t.frames, x->p.t.face_frames, x->p.t.faces}, all[3];
    MPI_Reduce(sums, all, 3, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(x->rank == 0 ? MPI_IN_PLACE : x->piece_frames, x->piece_frames, (int)x->pieces, MPI_LONG, MPI_SUM, 0,
               MPI_COMM_WORLD);
    fs_vjoin_result jr = {0};
    if (!rc && x->rank == 0) progress(x, 0, 0, all[0]);
    if (!rc && x->rank == 0 && x->o.out) rc = join(x, &jr, e);
    remove_workdir(x);
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!rc && x->rank == 0) {
        cv_times t = {.frames = all[0], .face_frames = all[1], .faces = all[2]};
        summary(x, &t, &jr);
    }
    return rc;
}

int cmd_convert(int argc, char **argv) {
    static cv_run x;
    x.o = (cv_opts){.blend = {.color = FS_COLOR_AVG, .erode = -1, .blur = -1},
                    .crf = FS_VENC_CRF_DEFAULT,
                    .preset = FS_VENC_PRESET_DEFAULT,
                    .chunk = FS_CONVERT_CHUNK_DEFAULT,
                    .min_face = FS_EXTRACT_MIN_FACE_DEFAULT,
                    .coverage = FS_ALIGN_COVERAGE_DEFAULT,
                    .landmarks = FS_DLIB_LANDMARKS,
                    .progress_tty = isatty(2)};
    int rc = parse(argc, argv, &x.o);
    if (rc) return rc < 0 ? FS_EXIT_OK : rc;
    fs_error e = {0};
    struct sigaction sa = {0}, old[3];
    const int sigs[3] = {SIGINT, SIGTERM, SIGUSR1};
    sa.sa_handler = on_signal;
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &sa, &old[i]);
    rc = mpi_up(&x, &e);
    if (!rc) rc = agree(&x, setup(&x, &e), &e);
    if (!rc) rc = convert_all(&x, &e);
    if (rc && e.msg[0]) fs_log(FS_LOG_ERROR, "%s", e.msg);
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &old[i], NULL);
    cv_pipe_free(&x.p);
    free(x.piece_frames);
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
    return rc;
}
