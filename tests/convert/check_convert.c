/* check_convert.c — what convert's test asserts about its outputs, by decoding them.
 *
 *   check_convert info VIDEO          prints "frames N size WxH duration D" (D: the video
 *                                      stream's duration in s) and "audio K" (audio streams)
 *   check_convert same A B            the two videos decode to the same frames, bit for bit
 *   check_convert regions IN OUT DIR  frame by frame, IN (the source), OUT (the converted video)
 *                                      and DIR/frame-NNNNNN.png (the same conversion as PNGs):
 *       - a PNG without XMP (no face) is the source frame exactly, and OUT's frame is within
 *         codec error of it;
 *       - a PNG with XMP lists its synthetic regions: outside them the PNG differs from the
 *         source by the watermark alone and OUT by the watermark and codec error; OUT differs
 *         from the PNG by codec error alone; inside, both differ from the source (the face
 *         was swapped);
 *       - at least 90% of the frames have a face.
 * Exit 0 when every check holds, 1 otherwise (each failure printed). */
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "data/video.h"
#include "data/xmp.h"

/* Tolerances (mean absolute difference per channel value, 0..255). The watermark's PSNR is
 * about 42 dB (mean ~1.9 here); libx264 at CRF 18 re-encoding a CRF 18 source adds a mean of
 * ~2.3 in RGB (41.5 dB in Y, as ffmpeg -crf 18 gives). */
#define MARK_MEAN 2.5 /* PNG vs source outside the regions */
#define MARK_MAX                                                                                                       \
    24                 /* PNG vs source outside the regions, any pixel: the mark steps up to ~17 at strong
                           edges; a face blended outside its region differs by far more */
#define CODEC_MEAN 4.5 /* video vs source outside the regions (mark + codec) */
#define REENC_MEAN 3.5 /* video vs PNG, the whole frame (codec alone, both marked: ~2.3, PSNR ~41.5 dB in Y) */
#define PLAIN_MEAN 1.5 /* video vs source in a frame without a face (codec alone) */
#define SWAP_MEAN 6.0  /* inside the regions: the swapped face differs at least this much */

static int fails;
#define FAIL(...) (fprintf(stderr, "FAIL: " __VA_ARGS__), fputc('\n', stderr), fails++)

typedef struct frames {
    uint8_t **rgb;
    long n;
    int w, h;
} frames;

static void decode_all(const char *path, frames *f) {
    fs_video *v;
    fs_error e = {0};
    if (fs_video_open(&v, path, &e)) fprintf(stderr, "FAIL: %s\n", e.msg), exit(1);
    memset(f, 0, sizeof *f);
    const uint8_t *rgb;
    long idx;
    double t;
    int got;
    while ((got = fs_video_next(v, &rgb, &idx, &t, &e)) > 0) {
        fs_video_frame_size(v, &f->w, &f->h);
        f->rgb = realloc(f->rgb, sizeof *f->rgb * (size_t)(f->n + 1));
        f->rgb[f->n] = malloc((size_t)f->w * f->h * 3);
        memcpy(f->rgb[f->n++], rgb, (size_t)f->w * f->h * 3);
    }
    if (got < 0) fprintf(stderr, "FAIL: %s\n", e.msg), exit(1);
    fs_video_close(v);
}

static int info(const char *path) {
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0)
        return fprintf(stderr, "FAIL: cannot open %s\n", path), 1;
    int vs = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0), audio = 0;
    for (unsigned i = 0; i < fmt->nb_streams; i++) audio += fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO;
    AVStream *st = vs >= 0 ? fmt->streams[vs] : NULL;
    double d = st && st->duration != AV_NOPTS_VALUE ? st->duration * av_q2d(st->time_base) : -1;
    avformat_close_input(&fmt);
    frames f;
    decode_all(path, &f);
    printf("frames %ld size %dx%d duration %.3f\naudio %d\n", f.n, f.w, f.h, d, audio);
    return 0;
}

static int same(const char *a, const char *b) {
    frames fa, fb;
    decode_all(a, &fa);
    decode_all(b, &fb);
    if (fa.n != fb.n || fa.w != fb.w || fa.h != fb.h)
        return FAIL("%s: %ld frames of %dx%d; %s: %ld of %dx%d", a, fa.n, fa.w, fa.h, b, fb.n, fb.w, fb.h), 1;
    for (long k = 0; k < fa.n; k++)
        if (memcmp(fa.rgb[k], fb.rgb[k], (size_t)fa.w * fa.h * 3)) FAIL("frame %ld differs between %s and %s", k, a, b);
    if (!fails) printf("same: %ld frames of %dx%d decode identically\n", fa.n, fa.w, fa.h);
    return fails > 0;
}

/* Mean |a - b| over the pixels inside (want_inside = 1) or outside the regions; the largest
 * into *max when max is not NULL. */
static double mean_diff_max(const uint8_t *a, const uint8_t *b, int w, int h, const fs_labels *L, int want_inside,
                            int *max) {
    double s = 0;
    long n = 0;
    if (max) *max = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int in = 0;
            for (int r = 0; r < L->n_regions && !in; r++) {
                const fs_region *g = &L->region[r];
                in = x >= g->x && x < g->x + g->w && y >= g->y && y < g->y + g->h;
            }
            if (in != want_inside) continue;
            for (int c = 0; c < 3; c++) {
                int d = abs(a[((size_t)y * w + x) * 3 + c] - b[((size_t)y * w + x) * 3 + c]);
                s += d;
                if (max && d > *max) *max = d;
            }
            n += 3;
        }
    return n ? s / n : 0;
}

static double mean_diff(const uint8_t *a, const uint8_t *b, int w, int h, const fs_labels *L, int want_inside) {
    return mean_diff_max(a, b, w, h, L, want_inside, NULL);
}

static void check_frame(long k, const uint8_t *src, const uint8_t *vid, int w, int h, const char *dir, long *faces) {
    char path[4096];
    snprintf(path, sizeof path, "%s/frame-%06ld.png", dir, k);
    uint8_t *png;
    int pw, ph;
    fs_error e = {0};
    fs_labels L;
    if (fs_image_read(path, &png, &pw, &ph, &e) || fs_labels_read(path, &L, &e)) {
        FAIL("%s", e.msg);
        return;
    }
    if (pw != w || ph != h) FAIL("%s is %dx%d, the source %dx%d", path, pw, ph, w, h);
    else if (!L.has_xmp) {
        if (memcmp(png, src, (size_t)w * h * 3)) FAIL("%s has no face but is not the source frame", path);
        double v = mean_diff(vid, src, w, h, &L, 0);
        if (v > PLAIN_MEAN) FAIL("frame %ld has no face but the video differs by %.2f (> %.1f)", k, v, PLAIN_MEAN);
    } else {
        (*faces)++;
        int pmax;
        double po = mean_diff_max(png, src, w, h, &L, 0, &pmax), vo = mean_diff(vid, src, w, h, &L, 0);
        double pi = mean_diff(png, src, w, h, &L, 1), vi = mean_diff(vid, src, w, h, &L, 1);
        fs_labels none = {0};
        double vp = mean_diff(vid, png, w, h, &none, 0);
        if (L.n_regions < 1) FAIL("%s lists no synthetic region", path);
        if (vp > REENC_MEAN) FAIL("frame %ld: the video differs from the PNG by %.2f (> %.1f)", k, vp, REENC_MEAN);
        if (pmax > MARK_MAX) FAIL("frame %ld: outside the regions a PNG pixel differs by %d (> %d)", k, pmax, MARK_MAX);
        if (po > MARK_MEAN) FAIL("frame %ld: outside the regions the PNG differs by %.2f (> %.1f)", k, po, MARK_MEAN);
        if (vo > CODEC_MEAN)
            FAIL("frame %ld: outside the regions the video differs by %.2f (> %.1f)", k, vo, CODEC_MEAN);
        if (pi < SWAP_MEAN || vi < SWAP_MEAN)
            FAIL("frame %ld: inside the regions PNG and video differ by %.2f and %.2f (< %.1f): no swap?", k, pi, vi,
                 SWAP_MEAN);
        if (k == 10)
            printf("frame 10: outside the regions, PNG %.2f and video %.2f from the source; inside %.2f and %.2f; "
                   "video from PNG %.2f; PNG's largest outside %d\n",
                   po, vo, pi, vi, vp, pmax);
    }
    free(png);
}

static int regions(const char *in, const char *out, const char *dir) {
    frames fi, fo;
    decode_all(in, &fi);
    decode_all(out, &fo);
    if (fi.n != fo.n || fi.w != fo.w || fi.h != fo.h)
        return FAIL("%s: %ld frames of %dx%d; %s: %ld of %dx%d", in, fi.n, fi.w, fi.h, out, fo.n, fo.w, fo.h), 1;
    long faces = 0;
    for (long k = 0; k < fi.n; k++) check_frame(k, fi.rgb[k], fo.rgb[k], fi.w, fi.h, dir, &faces);
    if (faces < 0.9 * (fi.n - 2)) FAIL("only %ld of %ld frames have a face", faces, fi.n);
    printf("regions: %ld frames, %ld with a face\n", fi.n, faces);
    return fails > 0;
}

int main(int argc, char **argv) {
    av_log_set_level(AV_LOG_QUIET);
    if (argc == 3 && !strcmp(argv[1], "info")) return info(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "same")) return same(argv[2], argv[3]);
    if (argc == 5 && !strcmp(argv[1], "regions")) return regions(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: check_convert info VIDEO | same A B | regions IN OUT PNGDIR\n");
    return 2;
}
