/* video_fixture.c — see video_fixture.h. */
#include "tests/provenance/video_fixture.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

#include "data/video.h"
#include "data/video_labels.h"

typedef struct writer {
    AVFormatContext *oc;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
} writer;

static int av_err(fs_error *e, const char *path, const char *what, int rc) {
    char t[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(rc, t, sizeof t);
    return fs_errorf(e, FS_EXIT_FAIL, "%s: %s: %s", path, what, t);
}

static int drain(writer *W, const char *path, fs_error *e) {
    for (;;) {
        int rc = avcodec_receive_packet(W->enc, W->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return 0;
        if (rc < 0) return av_err(e, path, "encode", rc);
        if (W->pkt->duration <= 0) W->pkt->duration = 1; /* else the last frame lasts 0 and the edit list drops it */
        av_packet_rescale_ts(W->pkt, W->enc->time_base, W->st->time_base);
        W->pkt->stream_index = W->st->index;
        rc = av_interleaved_write_frame(W->oc, W->pkt);
        if (rc < 0) return av_err(e, path, "write packet", rc);
    }
}

static int open_writer(writer *W, const char *path, int w, int h, int crf, int gop, const char *movflags,
                       const fs_provenance *p, fs_error *e) {
    av_log_set_level(AV_LOG_ERROR); /* libx264's statistics */
    int rc = avformat_alloc_output_context2(&W->oc, NULL, NULL, path);
    if (rc < 0) return av_err(e, path, "output context", rc);
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) return fs_errorf(e, FS_EXIT_FAIL, "%s: no libx264 encoder in this FFmpeg", path);
    W->st = avformat_new_stream(W->oc, NULL);
    W->enc = avcodec_alloc_context3(codec);
    W->enc->width = w, W->enc->height = h, W->enc->pix_fmt = AV_PIX_FMT_YUV420P;
    W->enc->time_base = (AVRational){1, 25}, W->enc->framerate = (AVRational){25, 1};
    W->enc->gop_size = gop, W->enc->thread_count = 1;
    if (W->oc->oformat->flags & AVFMT_GLOBALHEADER) W->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    char crf_s[16];
    snprintf(crf_s, sizeof crf_s, "%d", crf);
    av_opt_set(W->enc->priv_data, "crf", crf_s, 0);
    av_opt_set(W->enc->priv_data, "preset", "veryfast", 0);
    if ((rc = avcodec_open2(W->enc, codec, NULL)) < 0) return av_err(e, path, "open libx264", rc);
    avcodec_parameters_from_context(W->st->codecpar, W->enc);
    W->st->time_base = W->enc->time_base;
    if (p && fs_video_labels_set(W->oc, p, e)) return e->code;
    if ((rc = avio_open(&W->oc->pb, path, AVIO_FLAG_WRITE)) < 0) return av_err(e, path, "open", rc);
    AVDictionary *opt = NULL;
    if (movflags) av_dict_set(&opt, "movflags", movflags, 0);
    rc = avformat_write_header(W->oc, &opt);
    av_dict_free(&opt);
    if (rc < 0) return av_err(e, path, "write header", rc);
    W->frame = av_frame_alloc(), W->pkt = av_packet_alloc();
    W->frame->format = AV_PIX_FMT_YUV420P, W->frame->width = w, W->frame->height = h;
    if (av_frame_get_buffer(W->frame, 0) < 0) return fs_errorf(e, FS_EXIT_FAIL, "%s: frame buffer", path);
    W->sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
    return 0;
}

static void close_writer(writer *W) {
    if (W->oc && W->oc->pb) avio_closep(&W->oc->pb);
    avformat_free_context(W->oc);
    avcodec_free_context(&W->enc);
    av_frame_free(&W->frame);
    av_packet_free(&W->pkt);
    sws_freeContext(W->sws);
}

int fx_write_mp4(const char *path, const uint8_t *rgb, int n, int w, int h, int crf, int gop, const char *movflags,
                 const fs_provenance *p, int xmp_box, fs_error *e) {
    writer W = {0};
    int rc = open_writer(&W, path, w, h, crf, gop, movflags, p, e);
    for (int i = 0; !rc && i < n; i++) {
        const uint8_t *src[1] = {rgb + (size_t)i * w * h * 3};
        int stride[1] = {3 * w};
        av_frame_make_writable(W.frame);
        sws_scale(W.sws, src, stride, 0, h, W.frame->data, W.frame->linesize);
        W.frame->pts = i;
        int r = avcodec_send_frame(W.enc, W.frame);
        rc = r < 0 ? av_err(e, path, "send frame", r) : drain(&W, path, e);
    }
    if (!rc) {
        avcodec_send_frame(W.enc, NULL);
        rc = drain(&W, path, e);
    }
    if (!rc) {
        int r = av_write_trailer(W.oc);
        if (r < 0) rc = av_err(e, path, "write trailer", r);
    }
    close_writer(&W);
    if (!rc && p && xmp_box) rc = fs_video_xmp_insert(path, p, e);
    return rc;
}

int fx_decode_all(const char *path, uint8_t **rgb, int *w, int *h, fs_error *e) {
    fs_video *v = NULL;
    if (fs_video_open(&v, path, e)) return fs_video_close(v), -1;
    size_t cap = 0;
    int n = 0, rc;
    const uint8_t *f;
    long index;
    double t;
    *rgb = NULL;
    while ((rc = fs_video_next(v, &f, &index, &t, e)) == 1) {
        fs_video_frame_size(v, w, h);
        size_t bytes = (size_t)*w * *h * 3;
        if ((size_t)(n + 1) * bytes > cap) cap = (size_t)(n + 1) * bytes * 2, *rgb = fs_realloc(*rgb, cap);
        memcpy(*rgb + (size_t)n * bytes, f, bytes);
        n++;
    }
    fs_video_close(v);
    return rc < 0 ? -1 : n;
}
