/* make_video.c — test footage from a still photo: a video in which the photo's face moves
 * (pan, zoom in and out, a small rotation), encoded with libavcodec (H.264 through libx264,
 * or MPEG-4 part 2), optionally starting with black frames (frames without a face).
 *
 *   make_video OUT.mp4 PHOTO FRAMES W H [--codec libx264|mpeg4] [--black N] [--truth FILE]
 *              [--second PHOTO2]
 *
 * --second puts PHOTO2's face, still and smaller, in the right half of every frame (the
 * moving face then moves about the centre of the left half): two faces per frame.
 * --truth writes, per frame, the 2x3 photo-to-frame matrix ("k m00 m01 m02 m10 m11 m12"),
 * from which a test knows where the photo's landmarks must be in every frame. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/align.h"
#include "data/face_detect.h"
#include "data/image.h"

#ifndef FS_DLIB_LANDMARKS
#define FS_DLIB_LANDMARKS "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
#endif

static _Noreturn void die(const char *what, int rc) {
    char t[AV_ERROR_MAX_STRING_SIZE] = "";
    if (rc < 0) av_strerror(rc, t, sizeof t);
    fprintf(stderr, "make_video: %s %s\n", what, t);
    exit(1);
}

typedef struct enc {
    AVFormatContext *fmt;
    AVCodecContext *c;
    AVStream *st;
    AVFrame *yuv;
    AVPacket *pkt;
    struct SwsContext *sws;
} enc;

static void enc_open(enc *v, const char *out, const char *codec, int w, int h) {
    int rc = avformat_alloc_output_context2(&v->fmt, NULL, NULL, out);
    if (rc < 0) die("no container for", rc);
    const AVCodec *cd = avcodec_find_encoder_by_name(codec);
    if (!cd) die("no encoder", 0);
    v->st = avformat_new_stream(v->fmt, NULL);
    v->c = avcodec_alloc_context3(cd);
    v->c->width = w, v->c->height = h, v->c->pix_fmt = AV_PIX_FMT_YUV420P;
    v->c->time_base = (AVRational){1, 25}, v->c->framerate = (AVRational){25, 1};
    v->c->gop_size = 12, v->c->thread_count = 1;
    if (!strcmp(codec, "mpeg4")) v->c->flags |= AV_CODEC_FLAG_QSCALE, v->c->global_quality = FF_QP2LAMBDA * 2;
    else av_opt_set(v->c->priv_data, "crf", "18", 0), av_opt_set(v->c->priv_data, "preset", "veryfast", 0);
    if (v->fmt->oformat->flags & AVFMT_GLOBALHEADER) v->c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((rc = avcodec_open2(v->c, cd, NULL)) < 0) die("cannot open the encoder", rc);
    avcodec_parameters_from_context(v->st->codecpar, v->c);
    v->st->time_base = v->c->time_base;
    if ((rc = avio_open(&v->fmt->pb, out, AVIO_FLAG_WRITE)) < 0) die("cannot write", rc);
    if ((rc = avformat_write_header(v->fmt, NULL)) < 0) die("cannot write the header", rc);
    v->yuv = av_frame_alloc();
    v->yuv->format = AV_PIX_FMT_YUV420P, v->yuv->width = w, v->yuv->height = h;
    av_frame_get_buffer(v->yuv, 0);
    v->pkt = av_packet_alloc();
    v->sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
}

static void enc_drain(enc *v) {
    while (avcodec_receive_packet(v->c, v->pkt) >= 0) {
        /* Without durations the MP4 muxer's edit list ends one frame early. */
        if (v->pkt->duration == 0) v->pkt->duration = 1;
        av_packet_rescale_ts(v->pkt, v->c->time_base, v->st->time_base);
        v->pkt->stream_index = v->st->index;
        av_interleaved_write_frame(v->fmt, v->pkt);
    }
}

static void enc_frame(enc *v, const uint8_t *rgb, long k) {
    const uint8_t *src[1] = {rgb};
    int stride[1] = {v->c->width * 3};
    av_frame_make_writable(v->yuv);
    sws_scale(v->sws, src, stride, 0, v->c->height, v->yuv->data, v->yuv->linesize);
    v->yuv->pts = k;
    if (avcodec_send_frame(v->c, v->yuv) < 0) die("encoding failed", 0);
    enc_drain(v);
}

static void enc_close(enc *v) {
    avcodec_send_frame(v->c, NULL);
    enc_drain(v);
    av_write_trailer(v->fmt);
    avio_closep(&v->fmt->pb);
    sws_freeContext(v->sws);
    av_frame_free(&v->yuv);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->c);
    avformat_free_context(v->fmt);
}

/* Photo-to-frame matrix of frame k of n: the face's centre c (photo px) moves about the
 * point (cx, h/2), the face is s0 times its photo size times a zoom, turned by a few degrees. */
static void motion(long k, long n, const double c[2], double s0, double cx, int h, double M[2][3]) {
    double u = n > 1 ? (double)k / (n - 1) : 0, pi = acos(-1.0);
    double s = s0 * (1 + 0.15 * sin(2 * pi * u)), th = (-6 + 12 * u) * pi / 180;
    double tx = cx - 40 + 80 * u, ty = h / 2.0 + 15 * sin(2 * pi * u);
    M[0][0] = s * cos(th), M[0][1] = -s * sin(th), M[1][0] = s * sin(th), M[1][1] = s * cos(th);
    M[0][2] = tx - (M[0][0] * c[0] + M[0][1] * c[1]), M[1][2] = ty - (M[1][0] * c[0] + M[1][1] * c[1]);
}

typedef struct photo_face {
    uint8_t *rgb;
    int w, h;
    fs_face_found f;
    double c[2]; /* centre of the face's box */
} photo_face;

static void load_photo(const char *path, photo_face *p) {
    fs_error e = {0};
    if (fs_image_read(path, &p->rgb, &p->w, &p->h, &e)) die(e.msg, 0);
    fs_face_detector *d;
    char err[1024];
    if (fs_face_detector_open(&d, FS_DLIB_LANDMARKS, err, sizeof err)) die(err, 0);
    if (fs_face_detect(d, p->rgb, p->w, p->h, 80, &p->f, 1, err, sizeof err) < 1) die("no face in the photo", 0);
    fs_face_detector_close(d);
    p->c[0] = (p->f.box[0] + p->f.box[2]) / 2, p->c[1] = (p->f.box[1] + p->f.box[3]) / 2;
}

int main(int argc, char **argv) {
    if (argc < 6) die("usage: make_video OUT PHOTO FRAMES W H [--codec C] [--black N] [--truth FILE] [--second P]", 0);
    const char *out = argv[1], *codec = "libx264", *truth = NULL, *second = NULL;
    long n = atol(argv[3]), black = 0;
    int w = atoi(argv[4]), h = atoi(argv[5]);
    for (int i = 6; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--codec")) codec = argv[i + 1];
        else if (!strcmp(argv[i], "--black")) black = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--truth")) truth = argv[i + 1];
        else if (!strcmp(argv[i], "--second")) second = argv[i + 1];
    }
    av_log_set_level(AV_LOG_ERROR);
    photo_face p1, p2;
    load_photo(argv[2], &p1);
    if (second) load_photo(second, &p2);
    double s0 = 0.42 * h / (p1.f.box[2] - p1.f.box[0]), cx = second ? w / 4.0 : w / 2.0, still[2][3];
    if (second) motion(0, 1, p2.c, 0.3 * h / (p2.f.box[2] - p2.f.box[0]), 3 * w / 4.0 + 40, h, still);
    FILE *tf = truth ? fopen(truth, "w") : NULL;
    enc v = {0};
    enc_open(&v, out, codec, w, h);
    uint8_t *frame = malloc((size_t)w * h * 3), *right = malloc((size_t)w * h * 3);
    if (second) fs_align_warp(p2.rgb, p2.w, p2.h, still, right, w, h);
    for (long k = 0; k < n; k++) {
        double M[2][3];
        motion(k, n, p1.c, s0, cx, h, M);
        if (k < black) memset(frame, 0, (size_t)w * h * 3);
        else fs_align_warp(p1.rgb, p1.w, p1.h, M, frame, w, h);
        for (int y = 0; second && y < h; y++)
            memcpy(frame + ((size_t)y * w + w / 2) * 3, right + ((size_t)y * w + w / 2) * 3, (size_t)(w - w / 2) * 3);
        if (tf)
            fprintf(tf, "%ld %.17g %.17g %.17g %.17g %.17g %.17g\n", k, M[0][0], M[0][1], M[0][2], M[1][0], M[1][1],
                    M[1][2]);
        enc_frame(&v, frame, k);
    }
    enc_close(&v);
    if (tf) fclose(tf);
    free(frame);
    free(right);
    return 0;
}
