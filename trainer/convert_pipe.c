/* convert_pipe.c — convert's per-frame pipeline (convert_int.h): the faces of a frame, from the
 * detector or from an extract file's alignments, cropped with their frame-to-face matrices;
 * each through the shared encoder and the target identity's decoder; colour-matched and
 * blended back through its mask (data/blend.h). */
#include <stdlib.h>
#include <string.h>

#include "trainer/convert_int.h"

int cv_pipe_setup(cv_pipe *p, const cv_opts *o, fs_error *e) {
    p->o = o;
    p->S = p->m.model.resolution;
    if ((p->from = fs_infer_identity(&p->m, "--from", o->from, e)) < 0) return FS_EXIT_BADINPUT;
    if ((p->to = fs_infer_identity(&p->m, "--to", o->to, e)) < 0) return FS_EXIT_BADINPUT;
    if (o->alignments) {
        int rc = fs_alignments_read(o->alignments, o->input, o->from, "--from", &p->al, e);
        if (rc) return rc;
        p->have_al = 1;
        if (p->al.size != p->S)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: faces of %d px; the checkpoint %s takes %d px "
                             "(model.resolution)\n  hint: extract with --size %d for this model, or leave "
                             "--alignments out to detect the faces again",
                             o->alignments, p->al.size, o->ckpt, p->S, p->S);
    } else {
        char err[1024];
        if (fs_face_detector_open(&p->det, o->landmarks, err, sizeof err))
            return fs_errorf(e, FS_EXIT_BADINPUT, "%s", err);
    }
    size_t s2 = (size_t)p->S * p->S;
    p->orig = fs_malloc(s2 * 3 * FS_EXTRACT_MAX_FACES);
    p->mask = fs_malloc(s2 * FS_EXTRACT_MAX_FACES);
    p->gen = fs_malloc(s2 * 3);
    const fs_backend *be = p->m.model.be;
    p->x = be->alloc(sizeof(float) * s2 * 3), p->y = be->alloc(sizeof(float) * s2 * 3);
    if (fs_model_mask(&p->m.model, p->to)) p->ymask = be->alloc(sizeof(float) * s2);
    p->host = fs_malloc(sizeof(float) * s2 * 3);
    return 0;
}

int cv_pipe_init(cv_pipe *p, const cv_opts *o, fs_error *e) {
    memset(p, 0, sizeof *p);
    int rc = fs_infer_load(&p->m, o->ckpt, e);
    return rc ? rc : cv_pipe_setup(p, o, e);
}

void cv_pipe_free(cv_pipe *p) {
    if (p->m.model.be) p->m.model.be->free(p->x), p->m.model.be->free(p->y), p->m.model.be->free(p->ymask);
    free(p->host);
    fs_infer_free(&p->m);
    fs_face_detector_close(p->det);
    fs_alignments_free(&p->al);
    free(p->frame), free(p->orig), free(p->gen), free(p->mask);
    memset(p, 0, sizeof *p);
}

/* The faces of frame f into p->M and p->lm: the alignments' records, or the detector's
 * (largest first; one unless --faces all). Returns how many, or -1 with e set. */
static int find_faces(cv_pipe *p, const uint8_t *rgb, int w, int h, long f, fs_error *e) {
    int n = 0;
    if (p->have_al) {
        long first;
        int k = fs_alignments_of_frame(&p->al, f, &first);
        for (int i = 0; i < k && n < FS_EXTRACT_MAX_FACES; i++, n++) {
            memcpy(p->M[n], p->al.rec[first + i].matrix, sizeof p->M[n]);
            memcpy(p->lm[n], p->al.rec[first + i].lm, sizeof p->lm[n]);
        }
        return n;
    }
    fs_face_found found[FS_EXTRACT_MAX_FACES];
    char err[1024];
    int max = p->o->all_faces ? FS_EXTRACT_MAX_FACES : 1;
    int got = fs_face_detect(p->det, rgb, w, h, p->o->min_face, found, max, err, sizeof err);
    if (got < 0) return fs_errorf(e, FS_EXIT_FAIL, "%s frame %ld: %s", p->o->input, f, err), -1;
    for (int i = 0; i < FS_MIN(got, max); i++) {
        if (fs_align_matrix((const float(*)[2])found[i].pts, p->S, p->o->coverage, p->M[n])) continue;
        fs_align_apply(p->M[n], (const float(*)[2])found[i].pts, p->lm[n], FS_ALIGN_POINTS);
        n++;
    }
    return n;
}

/* The generated face of orig and the mask to blend it through: identity `to`'s decoder on the
 * face (values 0..1 to 0..255, rounded). The mask is the landmark hull made at alignment; a
 * model with a learned mask (df, liae) writes its decoder's mask over it here (the one place). */
static void face_model(cv_pipe *p, const uint8_t *orig, uint8_t *gen, uint8_t *mask) {
    const fs_backend *be = p->m.model.be;
    size_t img = (size_t)p->S * p->S * 3;
    be->u8_to_float(img, orig, p->x);
    fs_model_infer_mask(&p->m.model, p->x, 1, p->to, p->y, p->ymask);
    be->download(p->host, p->y, sizeof(float) * img);
    for (size_t k = 0; k < img; k++) {
        float v = p->host[k] * 255.0f + 0.5f;
        gen[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    if (!p->ymask) return;
    size_t s2 = (size_t)p->S * p->S;
    be->download(p->host, p->ymask, sizeof(float) * s2);
    for (size_t k = 0; k < s2; k++) {
        float v = p->host[k] * 255.0f + 0.5f;
        mask[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

int cv_pipe_frame(cv_pipe *p, const uint8_t *rgb, int w, int h, long f, fs_error *e) {
    size_t len = (size_t)w * h * 3, s2 = (size_t)p->S * p->S;
    if (len != p->frame_len) p->frame = fs_realloc(p->frame, len), p->frame_len = len;
    memcpy(p->frame, rgb, len);
    p->n_region = 0;
    double t0 = fs_now(), d0 = 0, l0 = 0, d1, l1;
    if (p->det) fs_face_detector_times(p->det, &d0, &l0);
    int n = find_faces(p, rgb, w, h, f, e);
    if (n < 0) return e->code;
    if (p->det) fs_face_detector_times(p->det, &d1, &l1), p->t.detect += d1 - d0, p->t.landmarks += l1 - l0;
    double t1 = fs_now();
    /* every face cropped from the source frame before any is blended (faces may overlap) */
    for (int i = 0; i < n; i++) {
        fs_align_warp(rgb, w, h, p->M[i], p->orig + s2 * 3 * i, p->S, p->S);
        fs_align_hull_mask((const float(*)[2])p->lm[i], FS_ALIGN_POINTS, p->S, p->mask + s2 * i);
    }
    double t2 = fs_now();
    p->t.align += t2 - t1;
    if (!p->det) p->t.detect += t1 - t0; /* the look-up in the alignments */
    for (int i = 0; i < n; i++) {
        double a = fs_now();
        uint8_t *orig = p->orig + s2 * 3 * i, *mask = p->mask + s2 * i;
        face_model(p, orig, p->gen, mask);
        double b = fs_now();
        fs_color_match(p->gen, orig, mask, p->S, p->o->blend.color);
        fs_region r;
        if (fs_blend_face(p->frame, w, h, p->gen, mask, p->S, (const double(*)[3])p->M[i], &p->o->blend, &r) == 0 &&
            r.w > 0)
            p->region[p->n_region++] = r;
        p->t.model += b - a, p->t.blend += fs_now() - b;
    }
    p->t.frames++, p->t.faces += p->n_region, p->t.face_frames += p->n_region > 0;
    return 0;
}
