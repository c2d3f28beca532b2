/* video_enc.c — see video_enc.h. */
#include "data/video_enc.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <string.h>
#include <unistd.h>

#include "data/video.h"
#include "data/video_labels.h"
#include "core/limits.h" /* FS_PATH_LEN */

static int av_err(fs_error *e, int code, const char *path, const char *what, int err, const char *hint) {
    char text[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(err, text, sizeof text);
    return fs_errorf(e, code, "%s: %s: %s\n  hint: %s", path, what, text, hint);
}

/* ---------------------------------------------------------------- pieces */
struct fs_venc {
    char path[FS_PATH_LEN], tmp[FS_PATH_LEN + 32];
    fs_venc_opts o;
    AVFormatContext *fmt;
    AVCodecContext *c;
    AVStream *st;
    AVFrame *yuv;
    AVPacket *pkt;
    struct SwsContext *sws;
};

const char *fs_venc_codec(void) {
    if (avcodec_find_encoder_by_name("libx264")) return "libx264";
    return avcodec_find_encoder_by_name("mpeg4") ? "mpeg4" : NULL;
}

static int open_codec(fs_venc *v, fs_error *e) {
    const char *name = fs_venc_codec();
    const AVCodec *cd = name ? avcodec_find_encoder_by_name(name) : NULL;
    if (!cd)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "%s: this FFmpeg has neither libx264 nor mpeg4 to encode with\n"
                         "  hint: install Debian's libavcodec59 (it has libx264)",
                         v->path);
    const fs_venc_opts *o = &v->o;
    int x264 = !strcmp(name, "libx264"), even = o->width % 2 == 0 && o->height % 2 == 0;
    if (!x264 && !even)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: %dx%d px: MPEG-4 part 2 needs an even width and height\n"
                         "  hint: install libx264 (Debian's libavcodec has it) or crop the source",
                         v->path, o->width, o->height);
    AVCodecContext *c = v->c = avcodec_alloc_context3(cd);
    c->width = o->width, c->height = o->height;
    c->pix_fmt = even ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_YUV444P; /* 4:2:0 needs even sides */
    c->time_base = (AVRational){o->tb_num, o->tb_den};
    c->framerate = av_inv_q(av_mul_q(c->time_base, (AVRational){(int)o->frame_dur, 1}));
    c->max_b_frames = 0; /* decoding order = presentation order: pieces follow one another */
    c->gop_size = 250;
    c->thread_count = 1;                     /* ranks are the parallelism; one thread also makes the bits repeatable */
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER; /* parameter sets in the stream header: an MP4's avcC */
    char crf[16];
    snprintf(crf, sizeof crf, "%d", o->crf);
    if (x264) av_opt_set(c->priv_data, "crf", crf, 0), av_opt_set(c->priv_data, "preset", o->preset, 0);
    else c->flags |= AV_CODEC_FLAG_QSCALE, c->global_quality = FF_QP2LAMBDA * 3;
    int rc = avcodec_open2(c, cd, NULL);
    if (rc < 0) return av_err(e, FS_EXIT_FAIL, v->path, "cannot open the encoder", rc, "check --preset and --crf");
    return 0;
}

int fs_venc_open(fs_venc **out, const char *path, const fs_venc_opts *o, fs_error *e) {
    fs_venc *v = *out = fs_calloc(1, sizeof *v);
    snprintf(v->path, sizeof v->path, "%s", path);
    fs_tmp_path(path, v->tmp, sizeof v->tmp);
    v->o = *o;
    int rc = avformat_alloc_output_context2(&v->fmt, NULL, "nut", NULL);
    if (rc < 0)
        return av_err(e, FS_EXIT_FAIL, path, "no NUT muxer", rc, "FFmpeg's libavformat lacks NUT"), fs_venc_abort(v),
               *out = NULL, FS_EXIT_FAIL;
    if ((rc = open_codec(v, e))) return fs_venc_abort(v), *out = NULL, rc;
    v->st = avformat_new_stream(v->fmt, NULL);
    avcodec_parameters_from_context(v->st->codecpar, v->c);
    v->st->time_base = v->c->time_base;
    if ((rc = avio_open(&v->fmt->pb, v->tmp, AVIO_FLAG_WRITE)) < 0 || (rc = avformat_write_header(v->fmt, NULL)) < 0) {
        av_err(e, FS_EXIT_FAIL, v->tmp, "cannot write", rc, "is the disk full or the folder read-only?");
        fs_venc_abort(v), *out = NULL;
        return FS_EXIT_FAIL;
    }
    v->yuv = av_frame_alloc();
    v->yuv->format = v->c->pix_fmt, v->yuv->width = o->width, v->yuv->height = o->height;
    av_frame_get_buffer(v->yuv, 0);
    v->pkt = av_packet_alloc();
    v->sws = sws_getContext(o->width, o->height, AV_PIX_FMT_RGB24, o->width, o->height, v->c->pix_fmt,
                            SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    return 0;
}

static int drain(fs_venc *v, fs_error *e) {
    int rc;
    while ((rc = avcodec_receive_packet(v->c, v->pkt)) >= 0) {
        if (v->pkt->duration <= 0) v->pkt->duration = v->o.frame_dur;
        av_packet_rescale_ts(v->pkt, v->c->time_base, v->st->time_base);
        v->pkt->stream_index = v->st->index;
        if ((rc = av_write_frame(v->fmt, v->pkt)) < 0)
            return av_err(e, FS_EXIT_FAIL, v->tmp, "cannot write a packet", rc, "is the disk full?");
        av_packet_unref(v->pkt);
    }
    return rc == AVERROR(EAGAIN) || rc == AVERROR_EOF
               ? 0
               : av_err(e, FS_EXIT_FAIL, v->path, "encoding failed", rc, "see the FFmpeg error");
}

int fs_venc_frame(fs_venc *v, const uint8_t *rgb, int64_t pts, fs_error *e) {
    const uint8_t *src[1] = {rgb};
    int stride[1] = {v->o.width * 3};
    if (av_frame_make_writable(v->yuv) < 0) return fs_errorf(e, FS_EXIT_FAIL, "%s: out of memory for a frame", v->path);
    sws_scale(v->sws, src, stride, 0, v->o.height, v->yuv->data, v->yuv->linesize);
    v->yuv->pts = pts;
    int rc = avcodec_send_frame(v->c, v->yuv);
    if (rc < 0) return av_err(e, FS_EXIT_FAIL, v->path, "encoding failed", rc, "see the FFmpeg error");
    return drain(v, e);
}

static void venc_free(fs_venc *v) {
    if (v->fmt && v->fmt->pb) avio_closep(&v->fmt->pb);
    avformat_free_context(v->fmt);
    avcodec_free_context(&v->c);
    sws_freeContext(v->sws);
    av_frame_free(&v->yuv);
    av_packet_free(&v->pkt);
    free(v);
}

int fs_venc_close(fs_venc *v, fs_error *e) {
    int rc =
        avcodec_send_frame(v->c, NULL) < 0 ? fs_errorf(e, FS_EXIT_FAIL, "%s: cannot flush the encoder", v->path) : 0;
    if (!rc) rc = drain(v, e);
    int t = rc ? 0 : av_write_trailer(v->fmt);
    if (t < 0) rc = av_err(e, FS_EXIT_FAIL, v->tmp, "cannot finish", t, "is the disk full?");
    if (v->fmt->pb && avio_closep(&v->fmt->pb) < 0 && !rc) rc = fs_errorf(e, FS_EXIT_FAIL, "%s: cannot close", v->tmp);
    if (!rc) rc = fs_commit_file(v->tmp, v->path, e);
    else unlink(v->tmp);
    venc_free(v);
    return rc;
}

void fs_venc_abort(fs_venc *v) {
    if (!v) return;
    if (v->fmt && v->fmt->pb) avio_closep(&v->fmt->pb);
    unlink(v->tmp);
    venc_free(v);
}

/* ---------------------------------------------------------------- the join */
int fs_vjoin_check_out(const char *out, fs_error *e) {
    const AVOutputFormat *of = av_guess_format(NULL, out, NULL);
    if (!of)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "-o %s: FFmpeg knows no container by that name's extension\n"
                         "  hint: name the output .mp4 (or .mkv, .mov)",
                         out);
    const char *codec = fs_venc_codec();
    enum AVCodecID id = codec && !strcmp(codec, "mpeg4") ? AV_CODEC_ID_MPEG4 : AV_CODEC_ID_H264;
    if (avformat_query_codec(of, id, FF_COMPLIANCE_NORMAL) != 1)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "-o %s: a %s file cannot hold %s video\n  hint: name the output .mp4 "
                         "(or .mkv, .mov)",
                         out, of->name, avcodec_get_name(id));
    return 0;
}

typedef struct joiner {
    const fs_vjoin_opts *o;
    AVFormatContext *oc, *piece, *src; /* output, the piece being copied, the audio's source */
    int piece_i;                       /* index of the open piece; n_pieces when all are copied */
    AVStream *vst;
    AVCodecParameters *par0; /* the first piece's (every piece must match it) */
    int *amap;               /* [src streams] output stream of each copied audio stream, or -1 */
    int64_t *ashift;         /* [src streams] pts subtracted (the video's start, in its units) */
    AVPacket *vp, *ap;       /* the next video and audio packets; NULL once their input ended */
    char tmp[FS_PATH_LEN + 32];
    fs_vjoin_result *r;
} joiner;

static int open_piece(joiner *j, int i, fs_error *e) {
    avformat_close_input(&j->piece);
    const char *p = j->o->pieces[i];
    fs_av_limits();
    int rc = avformat_open_input(&j->piece, p, NULL, NULL);
    if (rc >= 0) rc = avformat_find_stream_info(j->piece, NULL);
    if (rc < 0) return av_err(e, FS_EXIT_FAIL, p, "cannot read a piece", rc, "was the work folder changed?");
    AVCodecParameters *par = j->piece->nb_streams == 1 ? j->piece->streams[0]->codecpar : NULL;
    if (!par) return fs_errorf(e, FS_EXIT_FAIL, "%s: a piece with %u streams; expected 1", p, j->piece->nb_streams);
    if (!j->par0) {
        j->par0 = avcodec_parameters_alloc();
        avcodec_parameters_copy(j->par0, par);
    } else if (par->codec_id != j->par0->codec_id || par->width != j->par0->width || par->height != j->par0->height ||
               par->extradata_size != j->par0->extradata_size ||
               (par->extradata_size && memcmp(par->extradata, j->par0->extradata, (size_t)par->extradata_size)))
        return fs_errorf(e, FS_EXIT_FAIL,
                         "%s: encoded with other settings than %s (stream headers differ); the "
                         "pieces cannot be joined without encoding again\n  hint: run the whole conversion with one "
                         "faceswarm build",
                         p, j->o->pieces[0]);
    j->piece_i = i;
    return 0;
}

/* The next packet of the pieces into j->vp (NULL at the end of the last). */
static int next_video(joiner *j, fs_error *e) {
    for (;;) {
        int rc = av_read_frame(j->piece, j->vp);
        if (rc >= 0) {
            av_packet_rescale_ts(j->vp, j->piece->streams[0]->time_base, j->vst->time_base);
            j->vp->stream_index = j->vst->index, j->vp->pos = -1;
            return 0;
        }
        if (rc != AVERROR_EOF)
            return av_err(e, FS_EXIT_FAIL, j->o->pieces[j->piece_i], "cannot read", rc, "disk error?");
        if (j->piece_i + 1 >= j->o->n_pieces) return av_packet_free(&j->vp), 0;
        if ((rc = open_piece(j, j->piece_i + 1, e))) return rc;
    }
}

/* The next packet of a copied audio stream into j->ap (NULL at the end of the source). */
static int next_audio(joiner *j, fs_error *e) {
    if (!j->src) return av_packet_free(&j->ap), 0;
    for (;;) {
        int rc = av_read_frame(j->src, j->ap);
        if (rc == AVERROR_EOF) return av_packet_free(&j->ap), 0;
        if (rc < 0)
            return av_err(e, FS_EXIT_BADINPUT, j->o->audio_from, "damaged or truncated audio", rc,
                          "copy the file again");
        int s = j->ap->stream_index, to = j->amap[s];
        if (to < 0 || j->ap->pts == AV_NOPTS_VALUE) {
            av_packet_unref(j->ap);
            continue;
        }
        j->ap->pts -= j->ashift[s];
        if (j->ap->dts != AV_NOPTS_VALUE) j->ap->dts -= j->ashift[s];
        if (j->ap->pts + j->ap->duration <= 0) { /* wholly before the video's first frame */
            av_packet_unref(j->ap);
            continue;
        }
        av_packet_rescale_ts(j->ap, j->src->streams[s]->time_base, j->oc->streams[to]->time_base);
        j->ap->stream_index = to, j->ap->pos = -1;
        return 0;
    }
}

/* The source's audio streams as output streams (those the container can hold). */
static int add_audio(joiner *j, fs_error *e) {
    const char *path = j->o->audio_from;
    if (!path) return 0;
    fs_av_limits();
    int rc = avformat_open_input(&j->src, path, NULL, NULL);
    if (rc >= 0) rc = avformat_find_stream_info(j->src, NULL);
    if (rc < 0) return av_err(e, FS_EXIT_BADINPUT, path, "cannot read the audio", rc, "the file is damaged");
    int vs = av_find_best_stream(j->src, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    AVStream *v = vs >= 0 ? j->src->streams[vs] : NULL;
    int64_t vstart = v && v->start_time != AV_NOPTS_VALUE ? v->start_time : 0;
    j->amap = fs_malloc(sizeof(int) * j->src->nb_streams);
    j->ashift = fs_calloc(j->src->nb_streams, sizeof(int64_t));
    for (unsigned i = 0; i < j->src->nb_streams; i++) {
        AVStream *is = j->src->streams[i];
        j->amap[i] = -1;
        if (is->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) continue;
        if (avformat_query_codec(j->oc->oformat, is->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
            fs_warn("%s: audio stream %u (%s) is not copied: a %s file cannot hold it", path, i,
                    avcodec_get_name(is->codecpar->codec_id), j->oc->oformat->name);
            continue;
        }
        AVStream *os = avformat_new_stream(j->oc, NULL);
        avcodec_parameters_copy(os->codecpar, is->codecpar);
        os->codecpar->codec_tag = 0;
        os->time_base = is->time_base;
        j->amap[i] = os->index;
        j->ashift[i] = v ? av_rescale_q(vstart, v->time_base, is->time_base) : 0;
        j->r->audio_streams++;
    }
    if (!j->r->audio_streams) avformat_close_input(&j->src);
    return 0;
}

static int open_output(joiner *j, fs_error *e) {
    const fs_vjoin_opts *o = j->o;
    int rc = avformat_alloc_output_context2(&j->oc, NULL, NULL, o->out);
    if (rc < 0) return av_err(e, FS_EXIT_BADINPUT, o->out, "no container for this name", rc, "name it .mp4");
    if ((rc = open_piece(j, 0, e))) return rc;
    j->vst = avformat_new_stream(j->oc, NULL);
    avcodec_parameters_copy(j->vst->codecpar, j->par0);
    j->vst->codecpar->codec_tag = 0;
    j->vst->time_base = j->piece->streams[0]->time_base;
    if (o->fps_num > 0) j->vst->avg_frame_rate = (AVRational){o->fps_num, o->fps_den};
    if ((rc = add_audio(j, e))) return rc;
    if (o->labels && (rc = fs_video_labels_set(j->oc, o->labels, e))) return rc;
    fs_tmp_path(o->out, j->tmp, sizeof j->tmp);
    if ((rc = avio_open(&j->oc->pb, j->tmp, AVIO_FLAG_WRITE)) < 0)
        return av_err(e, FS_EXIT_FAIL, j->tmp, "cannot write", rc, "is the folder writable?");
    if ((rc = avformat_write_header(j->oc, NULL)) < 0)
        return av_err(e, FS_EXIT_FAIL, j->tmp, "cannot write the header", rc, "see the FFmpeg error");
    return 0;
}

/* Packets in time order (video first on a tie) until both inputs end. */
static int copy_all(joiner *j, fs_error *e) {
    j->vp = av_packet_alloc(), j->ap = av_packet_alloc();
    int rc = next_video(j, e);
    if (!rc) rc = next_audio(j, e);
    while (!rc && (j->vp || j->ap)) {
        int video = j->vp && (!j->ap || av_compare_ts(j->vp->dts, j->vst->time_base, j->ap->dts,
                                                      j->oc->streams[j->ap->stream_index]->time_base) <= 0);
        AVPacket *p = video ? j->vp : j->ap;
        int w = av_interleaved_write_frame(j->oc, p); /* takes p's data */
        if (w < 0) return av_err(e, FS_EXIT_FAIL, j->tmp, "cannot write a packet", w, "is the disk full?");
        if (video) j->r->video_packets++, rc = next_video(j, e);
        else j->r->audio_packets++, rc = next_audio(j, e);
    }
    return rc;
}

/* MP4, MOV and their kin (ISO base media files): they take the XMP uuid box. */
static int iso_bmff(const AVOutputFormat *of) {
    static const char *const names[] = {"mp4", "mov", "ipod", "3gp", "3g2", "ismv", "f4v", "psp"};
    for (size_t i = 0; i < FS_ARRAY_LEN(names); i++)
        if (!strcmp(of->name, names[i])) return 1;
    return 0;
}

int fs_vjoin(const fs_vjoin_opts *o, fs_vjoin_result *r, fs_error *e) {
    memset(r, 0, sizeof *r);
    if (o->n_pieces < 1) return fs_errorf(e, FS_EXIT_FAIL, "%s: no pieces to join", o->out);
    joiner j = {.o = o, .r = r};
    int rc = open_output(&j, e);
    if (!rc) rc = copy_all(&j, e);
    if (!rc) {
        int t = av_write_trailer(j.oc);
        if (t < 0) rc = av_err(e, FS_EXIT_FAIL, j.tmp, "cannot finish", t, "is the disk full?");
    }
    if (j.oc && j.oc->pb && avio_closep(&j.oc->pb) < 0 && !rc)
        rc = fs_errorf(e, FS_EXIT_FAIL, "%s: cannot close", j.tmp);
    if (!rc && o->labels && iso_bmff(j.oc->oformat)) rc = fs_video_xmp_insert(j.tmp, o->labels, e);
    if (!rc) rc = fs_commit_file(j.tmp, o->out, e);
    else if (j.tmp[0]) unlink(j.tmp);
    av_packet_free(&j.vp), av_packet_free(&j.ap);
    avcodec_parameters_free(&j.par0);
    avformat_close_input(&j.piece);
    avformat_close_input(&j.src);
    avformat_free_context(j.oc);
    free(j.amap), free(j.ashift);
    return rc;
}
