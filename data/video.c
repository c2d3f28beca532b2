/* video.c — see video.h. */
#include "data/video.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

struct fs_video {
    char path[FS_PATH_LEN];
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    int stream; /* index of the video stream in fmt */
    int sws_w, sws_h, sws_fmt;
    uint8_t *rgb;     /* [h][w][3] */
    long next_index;  /* index the next decoded frame gets */
    int64_t last_pts; /* of the frame last returned, from the stream's start */
    int eof_sent;     /* the decoder has been flushed */
};

static void av_limits_once(void) { av_max_alloc(FS_AV_MAX_ALLOC); }
void fs_av_limits(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, av_limits_once);
}

const char *fs_av_hint(int err, const char *otherwise) {
    return err == AVERROR(ENOMEM) ? "FFmpeg asked for a block of memory over faceswarm's cap on one allocation "
                                    "(256 MB): the file is damaged or crafted (a real video needs far less)"
                                  : otherwise;
}

static int av_fail(fs_error *e, int code, const char *path, const char *what, int err, const char *hint) {
    char text[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(err, text, sizeof text);
    return fs_errorf(e, code, "%s: %s: %s\n  hint: %s", path, what, text, fs_av_hint(err, hint));
}

static int open_stream(fs_video *v, fs_error *e) {
    fs_av_limits();
    int rc = avformat_open_input(&v->fmt, v->path, NULL, NULL);
    if (rc < 0)
        return av_fail(e, FS_EXIT_BADINPUT, v->path, "cannot read as a video", rc,
                       "the file is not a video FFmpeg knows, or it is truncated (an MP4 cut short loses "
                       "its index); check it with ffprobe");
    rc = avformat_find_stream_info(v->fmt, NULL);
    if (rc < 0)
        return av_fail(e, FS_EXIT_BADINPUT, v->path, "cannot read the stream information", rc,
                       "the file is damaged or truncated");
    const AVCodec *codec = NULL;
    v->stream = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (v->stream == AVERROR_STREAM_NOT_FOUND)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: has no video stream (%u streams: audio, subtitles or data only)\n"
                         "  hint: give a video file or images",
                         v->path, v->fmt->nb_streams);
    if (v->stream < 0 || !codec)
        return av_fail(e, FS_EXIT_BADINPUT, v->path, "no decoder for its video stream",
                       v->stream < 0 ? v->stream : AVERROR_DECODER_NOT_FOUND,
                       "this FFmpeg build cannot decode the codec; convert the file (ffmpeg -c:v libx264)");
    AVStream *st = v->fmt->streams[v->stream];
    v->dec = avcodec_alloc_context3(codec);
    if (!v->dec) return fs_errorf(e, FS_EXIT_FAIL, "%s: out of memory for the decoder", v->path);
    rc = avcodec_parameters_to_context(v->dec, st->codecpar);
    /* One decoding thread: ranks are the parallelism, and detection, not decoding, is the cost. */
    v->dec->thread_count = 1;
    if (rc >= 0) rc = avcodec_open2(v->dec, codec, NULL);
    if (rc < 0)
        return av_fail(e, FS_EXIT_BADINPUT, v->path, "cannot open the video decoder", rc,
                       "the stream's parameters are damaged");
    if (v->dec->width <= 0 || v->dec->height <= 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: video stream of %dx%d px\n  hint: the file is damaged", v->path,
                         v->dec->width, v->dec->height);
    return 0;
}

int fs_video_open(fs_video **out, const char *path, fs_error *e) {
    *out = NULL;
    av_log_set_level(AV_LOG_QUIET); /* FFmpeg's own chatter; errors are reported here */
    fs_video *v = fs_calloc(1, sizeof *v);
    snprintf(v->path, sizeof v->path, "%s", path);
    v->sws_fmt = -1;
    if (open_stream(v, e) == 0) {
        v->pkt = av_packet_alloc();
        v->frame = av_frame_alloc();
        if (v->pkt && v->frame) {
            *out = v;
            return 0;
        }
        fs_errorf(e, FS_EXIT_FAIL, "%s: out of memory for a frame", path);
    }
    fs_video_close(v);
    return e ? e->code : FS_EXIT_BADINPUT;
}

int fs_video_probe(fs_video *v, fs_video_info *info, fs_error *e) {
    AVStream *st = v->fmt->streams[v->stream];
    memset(info, 0, sizeof *info);
    info->width = v->dec->width, info->height = v->dec->height;
    info->fps = st->avg_frame_rate.den ? av_q2d(st->avg_frame_rate) : 0;
    snprintf(info->codec, sizeof info->codec, "%s", v->dec->codec->name);
    AVFormatContext *f = NULL;
    int rc = avformat_open_input(&f, v->path, NULL, NULL);
    if (rc < 0) return av_fail(e, FS_EXIT_BADINPUT, v->path, "cannot reopen", rc, "was the file removed?");
    AVPacket *p = av_packet_alloc();
    while ((rc = av_read_frame(f, p)) >= 0) {
        if (p->stream_index == v->stream) info->frames++;
        av_packet_unref(p);
    }
    av_packet_free(&p);
    avformat_close_input(&f);
    if (rc != AVERROR_EOF)
        return av_fail(e, FS_EXIT_BADINPUT, v->path, "damaged or truncated after the frames counted so far", rc,
                       "re-encode or re-copy the file");
    if (st->nb_frames > 0 && info->frames < st->nb_frames)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: truncated: its index lists %lld video frames, only %ld can be "
                         "read\n  hint: the file was cut short (an interrupted copy or recording); copy it again",
                         v->path, (long long)st->nb_frames, info->frames);
    if (info->frames == 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: its video stream holds no frames\n  hint: check the file", v->path);
    return 0;
}

static int to_rgb(fs_video *v, fs_error *e) {
    AVFrame *fr = v->frame;
    if (!v->sws || fr->width != v->sws_w || fr->height != v->sws_h || fr->format != v->sws_fmt) {
        sws_freeContext(v->sws);
        v->sws = sws_getContext(fr->width, fr->height, fr->format, fr->width, fr->height, AV_PIX_FMT_RGB24,
                                SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
        if (!v->sws)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: cannot convert frames of pixel format %s to RGB\n"
                             "  hint: re-encode the video",
                             v->path, av_get_pix_fmt_name(fr->format));
        v->rgb = fs_realloc(v->rgb, (size_t)fr->width * fr->height * 3);
        v->sws_w = fr->width, v->sws_h = fr->height, v->sws_fmt = fr->format;
    }
    uint8_t *dst[4] = {v->rgb, NULL, NULL, NULL};
    int stride[4] = {fr->width * 3, 0, 0, 0};
    sws_scale(v->sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst, stride);
    return 0;
}

/* Feeds the decoder until it gives a frame: 1, 0 at the end, -1 on an error. */
static int decode_one(fs_video *v, fs_error *e) {
    for (;;) {
        int rc = avcodec_receive_frame(v->dec, v->frame);
        if (rc >= 0) return 1;
        if (rc == AVERROR_EOF) return 0;
        if (rc != AVERROR(EAGAIN))
            return av_fail(e, FS_EXIT_BADINPUT, v->path, "cannot decode a frame", rc, "the video is damaged"), -1;
        if (v->eof_sent) return 0;
        rc = av_read_frame(v->fmt, v->pkt);
        if (rc == AVERROR_EOF) {
            v->eof_sent = 1;
            avcodec_send_packet(v->dec, NULL); /* flush: the decoder hands out what it holds */
            continue;
        }
        if (rc < 0) return av_fail(e, FS_EXIT_BADINPUT, v->path, "damaged or truncated", rc, "copy the file again"), -1;
        if (v->pkt->stream_index == v->stream) rc = avcodec_send_packet(v->dec, v->pkt);
        av_packet_unref(v->pkt);
        if (rc < 0 && rc != AVERROR(EAGAIN))
            return av_fail(e, FS_EXIT_BADINPUT, v->path, "a damaged video packet", rc, "the video is damaged"), -1;
    }
}

int fs_video_next(fs_video *v, const uint8_t **rgb, long *index, double *t, fs_error *e) {
    int rc = decode_one(v, e);
    if (rc <= 0) return rc;
    AVStream *st = v->fmt->streams[v->stream];
    int64_t pts = v->frame->best_effort_timestamp, start = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time;
    double fps = st->avg_frame_rate.den ? av_q2d(st->avg_frame_rate) : 0;
    *index = v->next_index++;
    v->last_pts = pts != AV_NOPTS_VALUE ? pts - start
                  : fps > 0             ? av_rescale_q(*index, av_inv_q(st->avg_frame_rate), st->time_base)
                                        : *index;
    *t = pts != AV_NOPTS_VALUE ? (double)(pts - start) * av_q2d(st->time_base) : fps > 0 ? *index / fps : 0;
    if (rgb) {
        if (to_rgb(v, e)) return -1;
        *rgb = v->rgb;
    }
    av_frame_unref(v->frame);
    return 1;
}

void fs_video_frame_size(const fs_video *v, int *w, int *h) { *w = v->sws_w, *h = v->sws_h; }

void fs_video_timing_of(const fs_video *v, fs_video_timing *t) {
    const AVStream *st = v->fmt->streams[v->stream];
    t->tb_num = st->time_base.num, t->tb_den = st->time_base.den;
    t->fps_num = st->avg_frame_rate.den ? st->avg_frame_rate.num : 0;
    t->fps_den = st->avg_frame_rate.den ? st->avg_frame_rate.den : 1;
    t->start = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time;
}

int64_t fs_video_last_pts(const fs_video *v) { return v->last_pts; }

void fs_video_close(fs_video *v) {
    if (!v) return;
    sws_freeContext(v->sws);
    av_frame_free(&v->frame);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
    free(v->rgb);
    free(v);
}
