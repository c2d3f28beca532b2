/* bench_convert.c — `faceswarm bench convert INPUT`: frames/s of convert's real pipeline on this
 * machine (one process; ranks multiply it) and where the time goes: decode (FFmpeg, RGB),
 * detect and landmarks (dlib; with --alignments the look-up), align (crop, mask), model
 * (encoder and decoder on the CPU backend), blend (colour matching, mask, composite), mark
 * (the watermark), encode (libx264) and join (the remux into MP4). Without --checkpoint the
 * model is built from a config with its seeded initial weights: the cost is the same.
 * It checks itself: the video it wrote must decode to the frames it converted, at the
 * source's size (the `wrong` count). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/video.h"
#include "data/video_enc.h"
#include "data/watermark.h"
#include "core/bench.h"
#include "trainer/cli.h"
#include "trainer/convert_int.h"

#ifndef FS_DLIB_LANDMARKS
#define FS_DLIB_LANDMARKS "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
#endif

static const char HELP[] =
    "usage: faceswarm bench convert [--frames N] [--checkpoint CKPT | --config CFG] [--from A --to B]\n"
    "                               [--alignments A.h5] [--json] INPUT\n"
    "  Runs convert's pipeline on the first N frames of INPUT (default 32) in one process and prints\n"
    "  frames/s and the time per stage: decode, detect, landmarks, align, model, blend, mark, encode,\n"
    "  join. Without --checkpoint the model is CFG's (default configs/original-64.yaml) with its\n"
    "  initial weights; --from and --to default to its first and second identities.\n";

typedef struct bench {
    cv_opts o;
    const char *config;
    long frames;
    int json;
    char dir[64], piece[128], out[128];
} bench;

static int parse(bench *B, int argc, char **argv, fs_error *e) {
    static const struct option opts[] = {{"frames", required_argument, 0, 'n'},
                                         {"checkpoint", required_argument, 0, 'c'},
                                         {"config", required_argument, 0, 'C'},
                                         {"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"alignments", required_argument, 0, 'a'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c, rc = 0;
    optind = 0;
    while (!rc && (c = getopt_long(argc, argv, "n:c:C:f:t:a:jh", opts, NULL)) != -1) {
        if (c == 'n') rc = fs_parse_long("--frames", optarg, 1, 100000, &B->frames, e);
        else if (c == 'c') B->o.ckpt = optarg;
        else if (c == 'C') B->config = optarg;
        else if (c == 'f') B->o.from = optarg;
        else if (c == 't') B->o.to = optarg;
        else if (c == 'a') B->o.alignments = optarg;
        else if (c == 'j') B->json = 1;
        else if (c == 'h') return fputs(HELP, stdout), -1;
        else
            rc =
                fs_errorf(e, FS_EXIT_BADINPUT, "bench convert: unknown option\n  hint: faceswarm bench convert --help");
    }
    if (!rc && optind != argc - 1)
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "bench convert: give one INPUT video\n  hint: faceswarm bench convert --help");
    if (!rc) B->o.input = argv[optind];
    return rc;
}

/* The model: the checkpoint's, or the config's with its initial weights. */
static int load_model(bench *B, cv_pipe *p, fs_error *e) {
    if (B->o.ckpt) return fs_infer_load(&p->m, B->o.ckpt, e);
    static char path[FS_PATH_LEN];
    if (!B->config && fs_data_file("configs/original-64.yaml", path, sizeof path, e)) return e->code;
    if (!B->config) B->config = path;
    int rc = fs_config_load(&p->m.cfg, B->config, e);
    if (!rc) rc = fs_model_build(&p->m.model, &p->m.cfg, e);
    if (rc) return rc;
    fs_model_alloc(&p->m.model, fs_backend_cpu(), 1);
    fs_model_init_params(&p->m.model, p->m.cfg.train.seed);
    p->m.ckpt = B->config;
    return 0;
}

static void report(fs_bench *H, const bench *B, const cv_pipe *p, const fs_video_info *in, double wall) {
    const cv_times *t = &p->t;
    fs_bench_fact_str(H, "input", B->o.input);
    fs_bench_fact_int(H, "width", in->width);
    fs_bench_fact_int(H, "height", in->height);
    fs_bench_fact_str(H, "model", B->o.ckpt ? B->o.ckpt : B->config);
    fs_bench_fact_int(H, "resolution", p->S);
    fs_bench_fact_str(H, "faces_from", B->o.alignments ? B->o.alignments : "dlib detection");
    fs_bench_fact_str(H, "encoder", fs_venc_codec());
    fs_bench_fact_int(H, "crf", B->o.crf);
    fs_bench_fact_str(H, "preset", B->o.preset);
    fs_bench_note(H, "the first `frames` frames of the input, in one process (ranks multiply it)");
    fs_bench_fact_int(H, "converted_frames", t->frames);
    fs_bench_fact_int(H, "faces", t->faces);
    fs_bench_fact_num(H, "frames_per_s", wall > 0 ? t->frames / wall : 0.0, 2, "frames/s (model load excluded)");
    fs_bench_fact_num(H, "wall_s", wall, 2, "s");
    const char *const names[] = {"decode", "detect", "landmarks", "align", "model", "blend", "mark", "encode", "join"};
    const double v[] = {t->decode, t->detect, t->landmarks, t->align, t->model, t->blend, t->mark, t->encode, t->join};
    fs_bench_stages(H, names, v, (int)FS_ARRAY_LEN(v), t->frames);
}

/* The first B->frames frames through the pipeline into one piece. */
static int convert_frames(bench *B, cv_pipe *p, fs_video *v, const fs_video_info *in, fs_error *e) {
    fs_video_timing tm;
    fs_video_timing_of(v, &tm);
    double fps = tm.fps_num > 0 ? (double)tm.fps_num / tm.fps_den : 25.0;
    fs_venc_opts vo = {.width = in->width,
                       .height = in->height,
                       .tb_num = tm.tb_num,
                       .tb_den = tm.tb_den,
                       .frame_dur = (int64_t)(tm.tb_den / (tm.tb_num * fps) + 0.5),
                       .crf = B->o.crf,
                       .preset = B->o.preset};
    if (vo.frame_dur < 1) vo.frame_dur = 1;
    fs_venc *enc;
    int rc = fs_venc_open(&enc, B->piece, &vo, e);
    uint64_t payload = fs_wm_payload(fs_wm_run_tag("bench convert"));
    for (long k = 0; !rc && k < B->frames; k++) {
        const uint8_t *rgb;
        long idx;
        double t, a = fs_now();
        int got = fs_video_next(v, &rgb, &idx, &t, e);
        p->t.decode += fs_now() - a;
        if (got <= 0) {
            rc = got < 0 ? e->code : 0;
            break;
        }
        if ((rc = cv_pipe_frame(p, rgb, in->width, in->height, idx, e))) break;
        double b = fs_now();
        if (p->n_region && fs_wm_embed(p->frame, in->width, in->width, in->height, payload, e)) rc = e->code;
        double c = fs_now();
        if (!rc) rc = fs_venc_frame(enc, p->frame, fs_video_last_pts(v), e);
        p->t.mark += c - b, p->t.encode += fs_now() - c;
    }
    if (rc) return fs_venc_abort(enc), rc;
    double c = fs_now();
    rc = fs_venc_close(enc, e);
    p->t.encode += fs_now() - c;
    return rc;
}

/* The joined file must decode to the converted frames at the source's size. */
static long check(const bench *B, const cv_pipe *p, const fs_video_info *in) {
    fs_video *v;
    fs_video_info out;
    fs_error e = {0};
    if (fs_video_open(&v, B->out, &e) || fs_video_probe(v, &out, &e)) {
        fprintf(stderr, "wrong: %s\n", e.msg);
        if (v) fs_video_close(v);
        return 1;
    }
    fs_video_close(v);
    long wrong = out.frames != p->t.frames || out.width != in->width || out.height != in->height;
    if (wrong)
        fprintf(stderr, "wrong: %s holds %ld frames of %dx%d, expected %ld of %dx%d\n", B->out, out.frames, out.width,
                out.height, p->t.frames, in->width, in->height);
    return wrong;
}

static int run(fs_bench *H, bench *B, fs_error *e) {
    static cv_pipe p;
    fs_video *v = NULL;
    fs_video_info in;
    int rc = load_model(B, &p, e);
    if (!rc && !B->o.from) B->o.from = p.m.cfg.model.identities[0];
    if (!rc && !B->o.to) B->o.to = p.m.cfg.model.identities[p.m.cfg.model.n_identities > 1];
    if (!rc) rc = cv_pipe_setup(&p, &B->o, e);
    if (!rc) rc = fs_video_open(&v, B->o.input, e);
    if (!rc) rc = fs_video_probe(v, &in, e);
    double t0 = fs_now();
    if (!rc) rc = convert_frames(B, &p, v, &in, e);
    const char *pieces[] = {B->piece};
    fs_vjoin_opts jo = {.out = B->out, .audio_from = B->o.input, .pieces = pieces, .n_pieces = 1};
    fs_vjoin_result jr;
    double t1 = fs_now();
    if (!rc) rc = fs_vjoin(&jo, &jr, e);
    p.t.join = fs_now() - t1;
    double wall = fs_now() - t0;
    if (!rc) fs_bench_wrong(H, check(B, &p, &in));
    if (!rc) report(H, B, &p, &in, wall);
    fs_video_close(v);
    remove(B->piece), remove(B->out);
    cv_pipe_free(&p);
    return rc;
}

int bench_convert(int argc, char **argv) {
    bench B = {.o = {.blend = {.color = FS_COLOR_AVG, .erode = -1, .blur = -1},
                     .crf = FS_VENC_CRF_DEFAULT,
                     .preset = FS_VENC_PRESET_DEFAULT,
                     .chunk = FS_CONVERT_CHUNK_DEFAULT,
                     .min_face = FS_EXTRACT_MIN_FACE_DEFAULT,
                     .coverage = FS_ALIGN_COVERAGE_DEFAULT,
                     .landmarks = FS_DLIB_LANDMARKS},
               .frames = 32};
    fs_bench H;
    fs_bench_init(&H, "convert", argc, argv); /* before getopt permutes argv */
    fs_error e = {0};
    int rc = parse(&B, argc, argv, &e);
    if (rc) {
        if (rc > 0) fprintf(stderr, "error: %s\n", e.msg);
        return fs_bench_free(&H), rc < 0 ? 0 : rc;
    }
    H.json = B.json;
    snprintf(B.dir, sizeof B.dir, "/tmp/faceswarm-bench-convert-XXXXXX");
    if (!mkdtemp(B.dir)) {
        fprintf(stderr, "error: bench convert: cannot make a folder in /tmp\n  hint: check /tmp\n");
        return fs_bench_free(&H), FS_EXIT_FAIL;
    }
    snprintf(B.piece, sizeof B.piece, "%s/piece.nut", B.dir);
    snprintf(B.out, sizeof B.out, "%s/bench.mp4", B.dir);
    rc = run(&H, &B, &e);
    rmdir(B.dir);
    if (rc && e.msg[0]) fprintf(stderr, "error: %s\n", e.msg);
    if (rc) return fs_bench_free(&H), rc;
    return fs_bench_end(&H, "the video written does not hold the converted frames at the source's size");
}
