/* wm_video.c — see wm_video.h. */
#include "data/wm_video.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/video.h"

static void joint_add_soft(fs_wm_joint *J, const float *s1, const float *sg, const float *g) {
    for (int j = 0; j < FS_WM_SOFT; j++) J->s1[j] += s1[j], J->sg[j] += sg[j];
    for (int v = 0; v < FS_WM_VERSIONS; v++) J->gain_sum[v] += g[v];
    J->n++;
}

void fs_wm_joint_add(fs_wm_joint *J, const uint8_t *rgb, int stride, int w, int h, fs_wm_result *alone) {
    float s1[FS_WM_SOFT], sg[FS_WM_SOFT], g[FS_WM_VERSIONS];
    fs_wm_soft(rgb, stride, w, h, s1, sg, g);
    joint_add_soft(J, s1, sg, g);
    if (alone) fs_wm_decode_pair(s1, sg, g, alone);
}

/* --orientations: one joint per orientation J[0..7], fed from one coefficient measurement;
 * *alone is the frame's own oriented search (fs_wm_orientation_better over the 8). */
static void joints_add_oriented(fs_wm_joint *J, const uint8_t *rgb, int stride, int w, int h, fs_wm_result *alone) {
    float s1[FS_WM_ORIENTATIONS][FS_WM_SOFT], sg[FS_WM_ORIENTATIONS][FS_WM_SOFT], g[FS_WM_ORIENTATIONS][FS_WM_VERSIONS];
    fs_wm_soft_oriented(rgb, stride, w, h, FS_WM_ORIENTATIONS, s1, sg, g);
    for (int o = 0; o < FS_WM_ORIENTATIONS; o++) joint_add_soft(&J[o], s1[o], sg[o], g[o]);
    for (int o = 0; o < FS_WM_ORIENTATIONS; o++) {
        fs_wm_result r;
        fs_wm_decode_pair(s1[o], sg[o], g[o], &r);
        if (o == 0 || fs_wm_orientation_better(&r, alone)) *alone = r;
    }
}

void fs_wm_joint_decide(const fs_wm_joint *J, const fs_wm_candidates *C, fs_wm_result *r) {
    float m1[FS_WM_SOFT], mg[FS_WM_SOFT], g[FS_WM_VERSIONS];
    memset(r, 0, sizeof *r);
    r->p_false = 1.0, r->gain = 1.0;
    if (!J->n) return;
    for (int j = 0; j < FS_WM_SOFT; j++) m1[j] = (float)(J->s1[j] / J->n), mg[j] = (float)(J->sg[j] / J->n);
    for (int v = 0; v < FS_WM_VERSIONS; v++) g[v] = (float)(J->gain_sum[v] / J->n);
    fs_wm_decide(m1, mg, g, C, r);
}

#define MAX_ALONE 4096 /* payloads the frames found alone, kept for the vote */

int fs_wm_detect_video(const char *path, int every, int orientations, const fs_wm_candidates *C, fs_wm_video *V,
                       fs_error *e) {
    memset(V, 0, sizeof *V);
    if (every < 1) return fs_errorf(e, FS_EXIT_BADINPUT, "watermark: every %d frames; expected 1 or more", every);
    fs_video *v = NULL;
    if (fs_video_open(&v, path, e)) return e->code;
    fs_video_info info;
    int rc = fs_video_probe(v, &info, e), n_alone = 0;
    int n_orient = orientations ? FS_WM_ORIENTATIONS : 1;
    fs_wm_joint *J = fs_calloc((size_t)n_orient, sizeof *J);
    uint64_t *alone = fs_malloc(sizeof(uint64_t) * MAX_ALONE);
    if (!rc) {
        V->width = info.width, V->height = info.height, V->fps = info.fps;
        snprintf(V->codec, sizeof V->codec, "%s", info.codec);
    }
    for (int got = 1; !rc && got == 1;) {
        const uint8_t *rgb = NULL;
        long index;
        double t;
        int look = V->frames % every == 0, w, h;
        got = fs_video_next(v, look ? &rgb : NULL, &index, &t, e);
        if (got < 0) rc = e->code ? e->code : FS_EXIT_BADINPUT;
        if (got != 1) break;
        V->frames++;
        fs_video_frame_size(v, &w, &h);
        if (!look || w < FS_WM_MIN_SIDE || h < FS_WM_MIN_SIDE) continue;
        fs_wm_result r;
        if (orientations) joints_add_oriented(J, rgb, w, w, h, &r);
        else fs_wm_joint_add(J, rgb, w, w, h, &r);
        V->examined++;
        V->frames_found += r.found;
        if (r.found && n_alone < MAX_ALONE) alone[n_alone++] = r.payload;
    }
    for (int o = 0; !rc && o < n_orient; o++) { /* as made when none holds */
        fs_wm_result r;
        fs_wm_joint_decide(&J[o], C, &r);
        if (o == 0 || fs_wm_orientation_better(&r, &V->mark)) V->mark = r, V->orientation = o;
    }
    if (!rc) V->mark.p_false = V->mark.found ? n_orient * fs_wm_p_false(C ? C->n : 0) : 1.0;
    for (int i = 0; !rc && i < n_alone; i++) V->frames_agree += V->mark.found && alone[i] == V->mark.payload;
    free(J), free(alone);
    fs_video_close(v);
    return rc;
}
