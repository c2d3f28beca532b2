/* extract_work.c — one chunk of frames: decode, detect, landmarks, align, crop, mask, and
 * the part file. A worker keeps its video open between chunks: a rank's chunks are
 * consecutive, so each video is decoded once, front to back (frames before a rank's first
 * chunk are decoded but not converted; decoding is cheap next to detection). */
#include <stdlib.h>
#include <string.h>

#include "data/extract_int.h"
#include "data/image.h"

struct xworker {
    const fs_extract_opts *o;
    const xplan *p;
    fs_face_detector *det;
    fs_video *vid;        /* open video, or NULL */
    long vid_src;         /* its source index */
    long vid_next;        /* index of the frame it gives next */
    long warned_src;      /* source whose missing frames were reported (once each) */
    uint8_t *image;       /* an image source's pixels (malloc'd by the reader), or NULL */
    uint8_t *face, *mask; /* [S][S][3], [S][S] */
    fs_face_found found[FS_EXTRACT_MAX_FACES];
    xtimes t; /* decode, align, part and the counts; detect and landmarks: the detector's */
};

int xworker_init(xworker **out, const fs_extract_opts *o, const xplan *p, fs_error *e) {
    xworker *w = fs_calloc(1, sizeof *w);
    w->o = o, w->p = p, w->vid_src = -1, w->warned_src = -1;
    char err[1024];
    if (fs_face_detector_open(&w->det, o->landmarks, err, sizeof err)) {
        free(w);
        *out = NULL;
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s", err);
    }
    w->face = fs_malloc((size_t)o->size * o->size * 3);
    w->mask = fs_malloc((size_t)o->size * o->size);
    *out = w;
    return 0;
}

void xworker_times(const xworker *w, xtimes *t) {
    *t = w->t;
    fs_face_detector_times(w->det, &t->detect, &t->landmarks);
}

void xworker_free(xworker *w) {
    if (!w) return;
    fs_face_detector_close(w->det);
    fs_video_close(w->vid);
    free(w->image);
    free(w->face);
    free(w->mask);
    free(w);
}

/* Frame f of source s as RGB; 0, 1 when the video ended before it (fewer frames decode than
 * were counted: the rest are missing), or an error code. */
static int get_frame(xworker *w, long s, long f, const uint8_t **rgb, int *fw, int *fh, double *t, fs_error *e) {
    const xsource *src = &w->p->src[s];
    if (src->kind == XSRC_IMAGE) {
        free(w->image);
        w->image = NULL;
        *t = 0;
        if (fs_image_read(src->path, &w->image, fw, fh, e)) return e ? e->code : FS_EXIT_BADINPUT;
        *rgb = w->image;
        return 0;
    }
    if (w->vid_src != s || w->vid_next > f) {
        fs_video_close(w->vid);
        w->vid = NULL, w->vid_src = -1;
        if (fs_video_open(&w->vid, src->path, e)) return e ? e->code : FS_EXIT_BADINPUT;
        w->vid_src = s, w->vid_next = 0;
    }
    while (w->vid_next <= f) {
        long idx;
        int got = fs_video_next(w->vid, w->vid_next == f ? rgb : NULL, &idx, t, e);
        if (got < 0) return e ? e->code : FS_EXIT_BADINPUT;
        if (got == 0) return 1;
        w->vid_next = idx + 1;
    }
    fs_video_frame_size(w->vid, fw, fh);
    return 0;
}

/* The faces of one frame into the part (or the frame into the no-face list). */
static int do_frame(xworker *w, xpart_writer *pw, long s, long f, const uint8_t *rgb, int fw, int fh, double t,
                    fs_error *e) {
    const fs_extract_opts *o = w->o;
    char err[1024];
    int max = o->all_faces ? FS_EXTRACT_MAX_FACES : 1;
    int n = fs_face_detect(w->det, rgb, fw, fh, o->min_face, w->found, max, err, sizeof err);
    if (n < 0) return fs_errorf(e, FS_EXIT_FAIL, "%s frame %ld: %s", w->p->src[s].path, f, err);
    int kept = 0;
    double t0 = fs_now(), t_part = 0;
    for (int i = 0; i < FS_MIN(n, max); i++) {
        xface_rec r;
        memset(&r, 0, sizeof r);
        r.source = (uint32_t)s, r.face = (uint32_t)kept, r.frame = f, r.time = t;
        if (fs_align_matrix((const float(*)[2])w->found[i].pts, o->size, o->coverage, r.matrix)) continue;
        fs_align_apply(r.matrix, (const float(*)[2])w->found[i].pts, r.lm, FS_ALIGN_POINTS);
        fs_align_warp(rgb, fw, fh, r.matrix, w->face, o->size, o->size);
        fs_align_hull_mask((const float(*)[2])r.lm, FS_ALIGN_POINTS, o->size, w->mask);
        double tp = fs_now();
        if (xpart_face(pw, &r, w->face, w->mask, e)) return FS_EXIT_FAIL;
        t_part += fs_now() - tp;
        kept++;
    }
    w->t.align += fs_now() - t0 - t_part, w->t.part += t_part, w->t.faces += kept, w->t.frames++;
    return kept ? 0 : xpart_noface(pw, (uint32_t)s, f, e);
}

static int chunk_frames(xworker *w, xpart_writer *pw, long c, volatile const int *stop, long *scanned, fs_error *e) {
    const xplan *p = w->p;
    long g0 = c * p->chunk, g1 = FS_MIN(g0 + p->chunk, p->first[p->n]);
    for (long g = g0; g < g1; g++) {
        if (*stop) return FS_EXIT_STOPPED;
        long s = xplan_source_of(p, g), f = g - p->first[s];
        if (f % w->o->every != 0) continue;
        const uint8_t *rgb = NULL;
        int fw = 0, fh = 0;
        double t = 0, t0 = fs_now();
        int rc = get_frame(w, s, f, &rgb, &fw, &fh, &t, e);
        w->t.decode += fs_now() - t0;
        if (rc == 1) { /* an edit list or damage: fewer frames decode than packets were counted */
            if (w->warned_src != s)
                fs_warn("%s: frames %ld.. do not decode (the file holds %ld video packets); they are skipped",
                        p->src[s].path, f, p->src[s].frames);
            w->warned_src = s;
            continue;
        }
        if (rc || (rc = do_frame(w, pw, s, f, rgb, fw, fh, t, e))) return rc;
        (*scanned)++;
    }
    return 0;
}

int xworker_chunk(xworker *w, long c, const char *part, volatile const int *stop, fs_error *e) {
    xpart_writer *pw;
    long scanned = 0;
    if (xpart_begin(&pw, part, w->o->size, w->p->work_hash, c, e)) return e ? e->code : FS_EXIT_FAIL;
    int rc = chunk_frames(w, pw, c, stop, &scanned, e);
    if (rc) {
        xpart_abort(pw);
        return rc;
    }
    return xpart_commit(pw, scanned, e);
}
