/* test_video_detect.c — the watermark in videos (data/wm_video.h). 640x360 frames (a synthetic
 * face moving over a textured background, and a pan over a real photo), each frame marked
 * whole as convert marks them, written as H.264 at CRF 23 through libavcodec (keyframe every
 * 250, B-frames: what a video writer makes), then re-encoded: decoded and written at CRF 23
 * again, and through the attack code's ffmpeg round trip (wm_attack.h) and written again.
 * The mark is found in each, with the run's payload, over every 5th frame and every frame;
 * the same videos unmarked are not (and no unmarked frame is, alone). The synthetic one mirrored,
 * and turned by 180 degrees: found only with the orientation search, in that orientation. Usage:
 * test_video_detect DIR PHOTO; the files stay in DIR for tests/provenance/video.sh. */
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "data/synth.h"
#include "data/video_labels.h"
#include "data/wm_attack.h"
#include "data/wm_video.h"
#include "tests/check.h"
#include "tests/provenance/video_fixture.h"

#define W 640
#define H 360
#define N 30
#define RUN "runs/video-detect"

static const uint8_t *photo;
static int pw, ph;

/* Frame i of video `kind` (0: synthetic face over a texture, 1: pan over the photo). */
static void draw(int kind, int i, uint8_t *out) {
    if (kind == 1) {
        int cw = pw * 3 / 4, ch = cw * H / W, x0 = (pw - cw) * i / (N - 1), y0 = (ph - ch) / 2;
        uint8_t *crop = malloc((size_t)cw * ch * 3);
        for (int y = 0; y < ch; y++)
            memcpy(crop + (size_t)y * cw * 3, photo + ((size_t)(y0 + y) * pw + x0) * 3, (size_t)cw * 3);
        fs_image_resize(crop, cw, ch, out, W, H);
        free(crop);
        return;
    }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = out + ((size_t)y * W + x) * 3;
            int t = ((x / 8 + y / 8 + i) % 2) * 24;
            p[0] = (uint8_t)(60 + x / 5 + t), p[1] = (uint8_t)(80 + y / 3), p[2] = (uint8_t)(120 + t);
        }
    enum { S = 256 };
    static uint8_t face[S * S * 3];
    fs_synth_identity id;
    fs_synth_identity_draw(&id, 3, 1);
    fs_synth_render(&id, 3, 1, i, S, face, NULL);
    int ox = 120 + 6 * i, oy = 52;
    for (int y = 0; y < S; y++) memcpy(out + ((size_t)(oy + y) * W + ox) * 3, face + (size_t)y * S * 3, S * 3);
}

static uint8_t *video(int kind, int marked) {
    uint8_t *f = malloc((size_t)N * W * H * 3);
    uint64_t payload = fs_wm_payload(fs_wm_run_tag(RUN));
    for (int i = 0; i < N; i++) {
        uint8_t *fr = f + (size_t)i * W * H * 3;
        draw(kind, i, fr);
        if (marked) fs_wm_embed(fr, W, W, H, payload, NULL);
    }
    return f;
}

/* want: 1 marked, 0 unmarked; orient >= 0: searched over the orientations, the mark expected
 * in that one (want = 1) or in none (want = 0). */
static void expect_mark_o(const char *path, int every, int want, int orient) {
    fs_wm_video V;
    fs_error e = {0};
    CHECK(fs_wm_detect_video(path, every, orient >= 0, NULL, &V, &e) == 0, "%s: %s", path, e.msg);
    if (orient >= 0 && want)
        CHECK(V.orientation == orient && V.mark.p_false > 7.3e-4 && V.mark.p_false < 7.4e-4,
              "%s: orientation %d (%s), expected %d; p_false %g", path, V.orientation,
              fs_wm_orientation_name(V.orientation), orient, V.mark.p_false);
    CHECK(V.frames == N && V.examined == (N + every - 1) / every, "%s: %ld frames, %d examined", path, V.frames,
          V.examined);
    uint64_t payload = fs_wm_payload(fs_wm_run_tag(RUN));
    if (want) {
        CHECK(V.mark.found && V.mark.payload == payload, "%s every %d: found %d payload %016llx corr %.3f", path, every,
              V.mark.found, (unsigned long long)V.mark.payload, V.mark.correlation);
        CHECK(V.frames_agree == V.frames_found, "%s: %d frames found a mark alone, %d of them the run's", path,
              V.frames_found, V.frames_agree);
    } else
        CHECK(!V.mark.found && V.frames_found == 0, "%s every %d: unmarked, found %d (corr %.3f), %d frames alone",
              path, every, V.mark.found, V.mark.correlation, V.frames_found);
    printf("%-44s every %d%s: found %d (%s), correlation %.3f, %d/%d frames alone\n", path, every,
           orient >= 0 ? " oriented" : "", V.mark.found, fs_wm_orientation_name(V.orientation), V.mark.correlation,
           V.frames_found, V.examined);
}

static void expect_mark(const char *path, int every, int want) { expect_mark_o(path, every, want, -1); }

/* The frames mirrored left-right (o = 1) or turned by 180 degrees (o = 3), in place. */
static void reorient(uint8_t *f, int o) {
    uint8_t *tmp = malloc((size_t)W * H * 3);
    for (int i = 0; i < N; i++) {
        uint8_t *fr = f + (size_t)i * W * H * 3;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int sx = W - 1 - x, sy = o == 3 ? H - 1 - y : y;
                memcpy(tmp + ((size_t)y * W + x) * 3, fr + ((size_t)sy * W + sx) * 3, 3);
            }
        memcpy(fr, tmp, (size_t)W * H * 3);
    }
    free(tmp);
}

/* --orientations on videos: the marked frames mirrored, and turned by 180 degrees, written at CRF
 * 23: not found as made, found with the search, in the orientation they show; the unmarked
 * video searched the same finds nothing. */
static void oriented(const char *dir, const uint8_t *marked, const char *unmarked_path) {
    uint8_t *f = malloc((size_t)N * W * H * 3);
    fs_error e = {0};
    char path[512];
    for (int o = 1; o <= 3; o += 2) {
        memcpy(f, marked, (size_t)N * W * H * 3);
        reorient(f, o);
        snprintf(path, sizeof path, "%s/oriented-%d-synth.mp4", dir, o);
        CHECK(fx_write_mp4(path, f, N, W, H, 23, 250, NULL, NULL, 0, &e) == 0, "%s: %s", path, e.msg);
        expect_mark(path, FS_WM_VIDEO_EVERY, 0);
        expect_mark_o(path, FS_WM_VIDEO_EVERY, 1, o);
    }
    expect_mark_o(unmarked_path, 1, 0, 0);
    free(f);
}

/* Decodes src and writes it again at CRF 23: a second generation, labels gone. */
static void reencode(const char *src, const char *dst) {
    uint8_t *f = NULL;
    int w, h;
    fs_error e = {0};
    int n = fx_decode_all(src, &f, &w, &h, &e);
    CHECK(n == N && w == W && h == H, "%s: decoded %d frames %dx%d: %s", src, n, w, h, e.msg);
    if (n == N) CHECK(fx_write_mp4(dst, f, N, W, H, 23, 250, NULL, NULL, 0, &e) == 0, "%s: %s", dst, e.msg);
    free(f);
}

static void one_kind(const char *dir, int kind) {
    static const char *const NAME[] = {"synth", "photo"};
    char path[512], other[512];
    fs_error e = {0};
    fs_provenance p = {.source_type = FS_IPTC_COMPOSITE, .run = RUN, .n_identities = 1, .watermark = 1};
    p.identity[0] = "A", p.consent[0] = "consent/a.pdf";
    uint8_t *m = video(kind, 1), *u = video(kind, 0), *m0 = video(kind, 1); /* m0: kept as marked */
    snprintf(path, sizeof path, "%s/marked-%s.mp4", dir, NAME[kind]);
    CHECK(fx_write_mp4(path, m, N, W, H, 23, 250, NULL, &p, 1, &e) == 0, "%s: %s", path, e.msg);
    expect_mark(path, FS_WM_VIDEO_EVERY, 1);
    expect_mark(path, 1, 1);
    snprintf(other, sizeof other, "%s/reencoded-%s.mp4", dir, NAME[kind]);
    reencode(path, other);
    expect_mark(other, FS_WM_VIDEO_EVERY, 1);
    /* the attack code's round trip (ffmpeg, libx264 CRF 23, every frame a keyframe), written again */
    if (fs_attack_have_ffmpeg()) {
        CHECK(fs_attack_h264(m, N, W, H, 23, 0, dir, &e) == 0, "attack: %s", e.msg);
        snprintf(other, sizeof other, "%s/attacked-%s.mp4", dir, NAME[kind]);
        CHECK(fx_write_mp4(other, m, N, W, H, 23, 250, NULL, NULL, 0, &e) == 0, "%s: %s", other, e.msg);
        expect_mark(other, FS_WM_VIDEO_EVERY, 1);
    }
    snprintf(path, sizeof path, "%s/unmarked-%s.mp4", dir, NAME[kind]);
    CHECK(fx_write_mp4(path, u, N, W, H, 23, 250, NULL, NULL, 0, &e) == 0, "%s: %s", path, e.msg);
    expect_mark(path, FS_WM_VIDEO_EVERY, 0);
    expect_mark(path, 1, 0);
    if (kind == 0) oriented(dir, m0, path);
    snprintf(other, sizeof other, "%s/reencoded-unmarked-%s.mp4", dir, NAME[kind]);
    reencode(path, other);
    expect_mark(other, 1, 0);
    if (kind == 0) { /* labelled, not marked: the label alone */
        p.watermark = 0;
        snprintf(path, sizeof path, "%s/labels-only.mp4", dir);
        CHECK(fx_write_mp4(path, u, N, W, H, 23, 250, NULL, &p, 1, &e) == 0, "%s: %s", path, e.msg);
    }
    free(m), free(u), free(m0);
}

int main(int argc, char **argv) {
    if (argc != 3) return fprintf(stderr, "usage: test_video_detect DIR PHOTO\n"), 2;
    fs_error e = {0};
    uint8_t *rgb;
    if (fs_mkdir_p(argv[1], &e) || fs_image_read(argv[2], &rgb, &pw, &ph, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    photo = rgb;
    one_kind(argv[1], 0);
    one_kind(argv[1], 1);
    free(rgb);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
