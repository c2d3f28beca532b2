/* test_informed.c — informed detection (fs_wm_confirm, `detect --run`): the stated bound
 * FS_WM_P_CHECK is the Chernoff bound it claims (computed here); under noise the blind decode
 * cannot read (64 px faces, 4 x 4 px blocks of Gaussian luma noise, sd 3.5: measured blind 11 of
 * 100), checking the right payload finds nearly every mark, a wrong payload finds none, and
 * unmarked faces are not found; a mark the blind decode reads is never overruled by a
 * candidate; a video's joint decode takes candidates too. With a DIR argument it also writes
 * the fixtures that tests/provenance/informed.sh gives to `faceswarm detect --run`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "data/synth.h"
#include "data/watermark.h"
#include "data/wm_video.h"
#include "core/rng.h"
#include "tests/check.h"

enum { S = 64, N = 100 };
#define NOISE_SD 3.5
#define FIXTURE_RUN "runs/informed-test" /* tests/provenance/informed.sh names it */

static void face(int i, uint8_t *out) {
    fs_synth_identity id;
    fs_synth_identity_draw(&id, 5, i);
    fs_synth_render(&id, 5, i, i, S, out, NULL);
}

/* Low-frequency noise, as a codec leaves it: every 4 x 4 px block moves by one Gaussian value
 * (sd), the same on R, G and B. */
static void add_noise(uint8_t *m, double sd, fs_rng *r) {
    for (int by = 0; by < S; by += 4)
        for (int bx = 0; bx < S; bx += 4) {
            double u1 = (double)(fs_rng_u64(r) >> 11) * 0x1p-53 + 1e-12, u2 = (double)(fs_rng_u64(r) >> 11) * 0x1p-53;
            double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2) * sd;
            for (int y = by; y < by + 4; y++)
                for (int x = bx; x < bx + 4; x++)
                    for (int c = 0; c < 3; c++) {
                        double v = m[(y * S + x) * 3 + c] + z;
                        m[(y * S + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrint(v));
                    }
        }
}

/* exp(-n sup_l (t l - ln(sinh(l) / l))): the Chernoff bound on the mean of n independent
 * uniform -1..1 values reaching t. */
static double chernoff(int n, double t) {
    double best = 0;
    for (int k = 1; k <= 20000; k++) {
        double l = k * 1e-3, v = t * l - log(sinh(l) / l);
        best = v > best ? v : best;
    }
    return exp(-n * best);
}

static void test_bound(void) {
    double b = chernoff(FS_WM_CODED_BITS3, FS_WM_CHECK_MIN);
    CHECK(b <= FS_WM_P_CHECK && b > 0.95 * FS_WM_P_CHECK, "Chernoff bound %.4g at %.2f vs FS_WM_P_CHECK %.4g", b,
          FS_WM_CHECK_MIN, FS_WM_P_CHECK);
    CHECK(fabs(fs_wm_p_false(3) - (FS_WM_P_FALSE + 6 * FS_WM_P_CHECK)) < 1e-12, "p_false with 3 candidates");
    /* the statistic of a codeword read cleanly is 1, of its complement -1 */
    uint64_t p = fs_wm_payload(0xabcdef123456ULL);
    uint8_t c[FS_WM_CODED_BITS3];
    float soft[FS_WM_CODED_BITS3];
    fs_wm3_encode(p, c);
    for (int j = 0; j < FS_WM_CODED_BITS3; j++) soft[j] = c[j] ? -1.0f : 1.0f;
    CHECK(fabs(fs_wm_check_statistic(soft, p) - 1) < 1e-9, "clean codeword: statistic %.3f",
          fs_wm_check_statistic(soft, p));
    for (int j = 0; j < FS_WM_CODED_BITS3; j++) soft[j] = -soft[j];
    CHECK(fabs(fs_wm_check_statistic(soft, p) + 1) < 1e-9, "complement: statistic %.3f",
          fs_wm_check_statistic(soft, p));
}

/* Noisy marked faces: blind vs checked against the right payload, against a wrong one; noisy
 * unmarked faces against 4 payloads each. */
static void test_noisy(void) {
    uint8_t *m = malloc((size_t)S * S * 3);
    fs_rng r;
    fs_rng_init(&r, 1, 2, 3);
    int blind = 0, checked = 0, wrong = 0, fp = 0, fp_blind = 0;
    for (int i = 0; i < N; i++) {
        uint64_t p = fs_wm_payload(0x100000 + (uint64_t)i), q = fs_wm_payload(0x900000 + (uint64_t)i);
        face(i, m);
        fs_wm_embed(m, S, S, S, p, NULL);
        add_noise(m, NOISE_SD, &r);
        fs_wm_result a, b, w;
        fs_wm_candidates right = {.n = 1, .payload = {p}}, other = {.n = 1, .payload = {q}};
        fs_wm_detect_with(m, S, S, S, 0, &right, &b, NULL, &a);
        fs_wm_detect_with(m, S, S, S, 0, &other, &w, NULL, NULL);
        blind += a.found && a.payload == p;
        checked += b.found && b.payload == p;
        if (b.found && !a.found)
            CHECK(b.informed && b.candidate == 0 && b.statistic >= FS_WM_CHECK_MIN && b.version == 3 &&
                      fabs(b.p_false - fs_wm_p_false(1)) < 1e-12,
                  "face %d: an informed find says so (informed %d, candidate %d, statistic %.3f, p_false %.3g)", i,
                  b.informed, b.candidate, b.statistic, b.p_false);
        wrong += w.found && w.payload == q;
    }
    for (int i = 0; i < 4 * N; i++) {
        face(1000 + i, m);
        add_noise(m, NOISE_SD, &r);
        fs_wm_candidates C = {.n = 4};
        for (int k = 0; k < 4; k++) C.payload[k] = fs_wm_payload(fs_mix64((uint64_t)(i * 4 + k)));
        fs_wm_result a, b;
        fs_wm_detect_with(m, S, S, S, 0, &C, &b, NULL, &a);
        fp += b.found, fp_blind += a.found;
    }
    printf("noisy 64 px faces: blind %d/%d, checked %d/%d, a wrong payload %d/%d; unmarked x 4 payloads: %d/%d\n",
           blind, N, checked, N, wrong, N, fp, 4 * N);
    CHECK(checked >= 97, "checked against the right payload: %d of %d found", checked, N);
    CHECK(blind <= 50, "the noise is meant to defeat the blind decode: it found %d of %d", blind, N);
    CHECK(wrong == 0, "checked against a wrong payload: %d of %d found", wrong, N);
    CHECK(fp == 0 && fp_blind == 0, "unmarked faces found: %d checked, %d blind", fp, fp_blind);
    free(m);
}

/* A mark the blind decode reads names its payload: a candidate of another run does not
 * replace it, and the right candidate's statistic is reported with it. */
static void test_no_overrule(void) {
    uint8_t *m = malloc((size_t)S * S * 3);
    uint64_t p = fs_wm_payload(0x777777ULL), q = fs_wm_payload(0x888888ULL);
    face(3, m);
    fs_wm_embed(m, S, S, S, p, NULL);
    fs_wm_candidates C = {.n = 2, .payload = {q, p}};
    fs_wm_result r;
    fs_wm_detect_with(m, S, S, S, 0, &C, &r, NULL, NULL);
    CHECK(r.found && !r.informed && r.payload == p && r.candidate == 1 && r.statistic > 0.5,
          "intact mark with candidates: found %d informed %d payload %016llx candidate %d statistic %.3f", r.found,
          r.informed, (unsigned long long)r.payload, r.candidate, r.statistic);
    fs_wm_candidates Q = {.n = 1, .payload = {q}};
    fs_wm_detect_with(m, S, S, S, 0, &Q, &r, NULL, NULL);
    CHECK(r.found && !r.informed && r.payload == p && r.candidate == -1,
          "another run's candidate: found %d informed %d payload %016llx candidate %d", r.found, r.informed,
          (unsigned long long)r.payload, r.candidate);
    free(m);
}

/* Two noisier frames of one mark (sd 1.2 x NOISE_SD) that neither the frames alone nor their joint
 * blind decode read: the joint decode checked against the payload finds it. */
static void test_joint(void) {
    uint8_t *m = malloc((size_t)S * S * 3);
    fs_rng r;
    fs_rng_init(&r, 4, 5, 6);
    uint64_t p = fs_wm_payload(0x424242ULL);
    fs_wm_joint J;
    memset(&J, 0, sizeof J);
    int alone = 0;
    for (int f = 0; f < 2; f++) {
        face(7, m);
        fs_wm_embed(m, S, S, S, p, NULL);
        add_noise(m, 1.2 * NOISE_SD, &r);
        fs_wm_result a;
        fs_wm_joint_add(&J, m, S, S, S, &a);
        alone += a.found;
    }
    fs_wm_candidates C = {.n = 1, .payload = {p}};
    fs_wm_result blind, chk;
    fs_wm_joint_decide(&J, NULL, &blind);
    fs_wm_joint_decide(&J, &C, &chk);
    CHECK(alone == 0 && !blind.found, "the frames are meant to defeat the blind decode: %d alone, joint %d", alone,
          blind.found);
    CHECK(chk.found && chk.informed && chk.payload == p, "joint decode checked: found %d informed %d statistic %.3f",
          chk.found, chk.informed, chk.statistic);
    free(m);
}

/* DIR/noisy.png: a noisy face marked for FIXTURE_RUN that the blind decode misses; DIR/plain.png:
 * the same face unmarked, with the same noise. No labels: only the pixels speak. */
static int fixtures(const char *dir) {
    uint8_t *m = malloc((size_t)S * S * 3), *u = malloc((size_t)S * S * 3);
    char path[512];
    fs_error e = {0};
    for (int i = 0; i < N; i++) {
        fs_rng r, r2;
        fs_rng_init(&r, 9, 9, (uint64_t)i), r2 = r;
        face(i, m);
        memcpy(u, m, (size_t)S * S * 3);
        fs_wm_embed(m, S, S, S, fs_wm_payload(fs_wm_run_tag(FIXTURE_RUN)), NULL);
        add_noise(m, NOISE_SD, &r);
        add_noise(u, NOISE_SD, &r2);
        fs_wm_result a, b;
        fs_wm_candidates C = {.n = 1, .payload = {fs_wm_payload(fs_wm_run_tag(FIXTURE_RUN))}};
        fs_wm_detect_with(m, S, S, S, 0, &C, &b, NULL, &a);
        if (a.found || !b.found) continue; /* the first face the blind decode misses and the check finds */
        snprintf(path, sizeof path, "%s/noisy.png", dir);
        if (fs_png_write(path, m, S, S, NULL, &e)) break;
        snprintf(path, sizeof path, "%s/plain.png", dir);
        if (fs_png_write(path, u, S, S, NULL, &e)) break;
        free(m), free(u);
        return 0;
    }
    fprintf(stderr, "fixtures: %s\n", e.code ? e.msg : "no face the blind decode misses and the check finds");
    free(m), free(u);
    return 1;
}

int main(int argc, char **argv) {
    if (argc > 1) return fixtures(argv[1]);
    test_bound();
    test_noisy();
    test_no_overrule();
    test_joint();
    if (!failures) printf("provenance_informed: all checks passed\n");
    return failures ? 1 : 0;
}
