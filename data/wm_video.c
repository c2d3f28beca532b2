/* wm_video.c — see wm_video.h. */
#include "data/wm_video.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/video.h"

typedef struct joint {
    double s1[FS_WM_CODED_BITS], sg[FS_WM_CODED_BITS]; /* sums of the frames' soft values */
    double gain_sum;
    uint64_t payload[2048];                           /* payloads the frames found alone (first 2048) */
    int n_payload;
} joint;

/* One frame: its own verdict, and its soft values into the sums. */
static void examine_frame(const uint8_t *rgb, int w, int h, joint *J, fs_wm_video *V) {
    float s1[FS_WM_CODED_BITS], sg[FS_WM_CODED_BITS], g;
    fs_wm_soft(rgb, w, w, h, s1, sg, &g);
    for (int j = 0; j < FS_WM_CODED_BITS; j++) J->s1[j] += s1[j], J->sg[j] += sg[j];
    J->gain_sum += g;
    fs_wm_result r;
    fs_wm_decode(s1, 1.0f, &r);
    if (!r.found && g != 1.0f) fs_wm_decode(sg, g, &r);
    if (r.found) {
        V->frames_found++;
        if (J->n_payload < (int)FS_ARRAY_LEN(J->payload)) J->payload[J->n_payload++] = r.payload;
    }
    V->examined++;
}

/* The joint decision: the mean soft values as read, then at the frames' gains. */
static void decide(const joint *J, fs_wm_video *V) {
    float m1[FS_WM_CODED_BITS], mg[FS_WM_CODED_BITS];
    memset(&V->mark, 0, sizeof V->mark);
    V->mark.p_false = 1.0, V->mark.gain = 1.0;
    if (!V->examined) return;
    for (int j = 0; j < FS_WM_CODED_BITS; j++) m1[j] = (float)(J->s1[j] / V->examined), mg[j] = (float)(J->sg[j] / V->examined);
    fs_wm_result r1, rg;
    fs_wm_decode(m1, 1.0f, &r1);
    fs_wm_decode(mg, (float)(J->gain_sum / V->examined), &rg);
    V->mark = r1.found || (!rg.found && r1.correlation >= rg.correlation) ? r1 : rg;
    V->mark.p_false = V->mark.found ? 2.0 * ldexp(1.0, -16) : 1.0;
    for (int i = 0; i < J->n_payload; i++) V->frames_agree += V->mark.found && J->payload[i] == V->mark.payload;
}

int fs_wm_detect_video(const char *path, int every, fs_wm_video *V, fs_error *e) {
    memset(V, 0, sizeof *V);
    if (every < 1) return fs_errorf(e, FS_EXIT_BADINPUT, "watermark: every %d frames; expected 1 or more", every);
    fs_video *v = NULL;
    if (fs_video_open(&v, path, e)) return e->code;
    fs_video_info info;
    int rc = fs_video_probe(v, &info, e);
    joint *J = fs_calloc(1, sizeof *J);
    if (!rc) {
        V->width = info.width, V->height = info.height, V->fps = info.fps;
        snprintf(V->codec, sizeof V->codec, "%s", info.codec);
    }
    for (int got = 1; !rc && got == 1;) {
        const uint8_t *rgb = NULL;
        long index;
        double t;
        int look = V->frames % every == 0;
        got = fs_video_next(v, look ? &rgb : NULL, &index, &t, e);
        if (got < 0) rc = e->code ? e->code : FS_EXIT_BADINPUT;
        if (got != 1) break;
        V->frames++;
        int w, h;
        fs_video_frame_size(v, &w, &h);
        if (look && w >= FS_WM_MIN_SIDE && h >= FS_WM_MIN_SIDE) examine_frame(rgb, w, h, J, V);
    }
    if (!rc) decide(J, V);
    free(J);
    fs_video_close(v);
    return rc;
}
