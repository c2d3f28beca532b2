/* watermark.c — see watermark.h; the scheme is described in docs/provenance.md.
 *
 * Domain. Luma Y = 0.299 R + 0.587 G + 0.114 B of a w x h region. Its coefficient (u, v) is
 *   X(u,v) = 32 / (w h) * sum_xy Y(x,y) c_u(x) c_v(y),  c_u(x) = k_u cos(pi u (x + 0.5) / w),
 * k_0 = 1, k_u = sqrt 2: the orthonormal DCT-II of the image as if it were 32 x 32 px, taken in
 * normalised coordinates. A copy resized to any size >= 32 px has the same low-frequency
 * coefficients (up to its resampling filter's response), so no synchronisation search is needed
 * for scaling. Adding sum_uv d(u,v) c_u(x) c_v(y) / 32 to Y changes X(u,v) by exactly d(u,v),
 * and the mean square change per pixel is sum d^2 / 1024 at every size.
 *
 * Modulation. The first n coefficients in zig-zag order after DC form a version's band (n its
 * code bits: 140 in versions 1 and 2, 192 in version 3); a keyed permutation gives each code bit
 * one of them and a keyed sign. The bit is carried by quantising that signed coefficient to one
 * of two interleaved dithered lattices (dither modulation QIM, step DELTA): the host's own
 * coefficient does not interfere, unlike additive spread spectrum. (Spreading a bit over
 * several coefficients was measured worse; docs/provenance.md.) */
#include "data/watermark.h"

#include "data/wm_code.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BAND FS_WM_CODED_BITS   /* coefficients used by versions 1 and 2, one per code bit */
#define BAND3 FS_WM3_CODED_BITS /* version 3's (u + v up to 19) */
#define MAXBITS (BAND3 > BAND ? BAND3 : BAND)
#define FMAX 24  /* u, v < FMAX covers the bands */
#define CANON 32 /* the detector reads the image as 32 x 32 area cells */
/* The scheme versions (FS_WM_VERSIONS): the lattice step and the synthesis. Version 1 (DELTA 20,
 * the change added to R, G and B equally: ~41 dB) is what faceswarm wrote first; version 2
 * (issue 16, second round) takes a step of 30 and synthesises the luma change as the least RGB change that
 * makes it (R, G, B moved in proportion to the luma weights: 1.27 dB less squared error than an
 * equal change; the mark's chroma is what that costs, and luma readers do not see it). Its first
 * pass would cost more than the 40 dB floor, so it is scaled down to the floor: each projection
 * lands part of the way to its lattice point (distortion-compensated QIM, Chen & Wornell 2001),
 * which at this noise (H.264 on small faces) holds more bits than a full move on a finer lattice
 * at the same PSNR (docs/provenance.md). Version 3 (the current one) keeps version 2's lattice
 * step, synthesis and floor and changes the code: 192 code bits of a tail-biting rate-1/3 K = 11
 * convolutional code (data/wm_code.c) on 192 coefficients instead of 140 of the K = 7 rate-1/2
 * code. Each version's dither comes from its own key stream: a region read under one version's
 * lattices decodes another's mark as noise. */
static const float DELTA_OF[FS_WM_VERSIONS] = {20.0f, 30.0f, 30.0f};
static const int SOFT_AT[FS_WM_VERSIONS] = {0, FS_WM_CODED_BITS, 2 * FS_WM_CODED_BITS}; /* version's soft values */
#define DELTA (DELTA_OF[ver])
#define MARGIN_GOAL 0.9f /* closed loop: re-push bits whose margin fell below */
#define LOOP_PASSES 8
#define PSNR_FLOOR_V1 40.3 /* dB: the loop stops pushing before the mark costs more */
#define PSNR_FLOOR 40.05   /* versions 2, 3: also the first pass is held to it (scaled down to it) */
#define CORR_MIN                                                                                                       \
    0.75 /* unmarked images: mean 0.68, max 0.748 of 20000 (bench); below, a matching check code is not enough */
#define CORR_MIN3 0.60   /* version 3 (192 code bits): unmarked images average 0.55 */
#define GAIN_STEP 0.002f /* contrast search: g = 1 +- k GAIN_STEP */
#define GAIN_STEPS 150   /* 0.7 .. 1.3 */
#define K_TAIL 6         /* constraint length 7: 6 zero tail bits end the trellis in state 0 */
#define G0 0171
#define G1 0133

/* ---------------------------------------------------------------- payload */
static uint16_t crc16_ccitt(const uint8_t *p, size_t n) {
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++) crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

static uint16_t tag_check(uint64_t tag) {
    uint8_t b[6];
    for (int i = 0; i < 6; i++) b[i] = (uint8_t)(tag >> (40 - 8 * i));
    return crc16_ccitt(b, 6);
}

uint64_t fs_wm_run_tag(const char *run_id) {
    return fs_checksum64(run_id, strlen(run_id)) >> (64 - FS_WM_RUN_TAG_BITS);
}

uint64_t fs_wm_payload(uint64_t run_tag) {
    run_tag &= (1ULL << FS_WM_RUN_TAG_BITS) - 1;
    return run_tag << 16 | tag_check(run_tag);
}

int fs_wm_payload_valid(uint64_t payload) { return (uint16_t)payload == tag_check(payload >> 16); }

/* ---------------------------------------------------------------- convolutional code */
static int parity(unsigned x) { return __builtin_parity(x); }

void fs_wm_conv_encode(uint64_t payload, uint8_t coded[FS_WM_CODED_BITS]) {
    unsigned state = 0;
    for (int i = 0; i < 64 + K_TAIL; i++) {
        unsigned bit = i < 64 ? (unsigned)(payload >> (63 - i)) & 1u : 0u;
        unsigned reg = bit << 6 | state;
        coded[2 * i] = (uint8_t)parity(reg & G0);
        coded[2 * i + 1] = (uint8_t)parity(reg & G1);
        state = reg >> 1;
    }
}

/* Soft-decision Viterbi over the 64-state trellis, ending in state 0 (the tail). */
uint64_t fs_wm_viterbi(const float soft[FS_WM_CODED_BITS]) {
    enum { NS = 64, STEPS = 64 + K_TAIL };
    float metric[NS], next[NS];
    uint8_t from[STEPS][NS]; /* surviving predecessor's input bit and state */
    for (int s = 0; s < NS; s++) metric[s] = s ? -1e30f : 0.0f;
    for (int i = 0; i < STEPS; i++) {
        for (int s = 0; s < NS; s++) next[s] = -1e30f;
        for (int s = 0; s < NS; s++) {
            if (metric[s] < -1e29f) continue;
            for (unsigned bit = 0; bit < (i < 64 ? 2u : 1u); bit++) {
                unsigned reg = bit << 6 | (unsigned)s, ns = reg >> 1;
                float m =
                    metric[s] + soft[2 * i] * (1 - 2 * parity(reg & G0)) + soft[2 * i + 1] * (1 - 2 * parity(reg & G1));
                if (m > next[ns]) next[ns] = m, from[i][ns] = (uint8_t)s;
            }
        }
        memcpy(metric, next, sizeof metric);
    }
    uint64_t payload = 0;
    unsigned s = 0;
    for (int i = STEPS - 1; i >= 0; i--) {
        unsigned prev = from[i][s];
        if (i < 64) payload |= (uint64_t)((s >> 5) & 1u) << (63 - i); /* the input bit is the state's top bit */
        s = prev;
    }
    return payload;
}

/* ---------------------------------------------------------------- keyed plan */
/* Per version: code bit j sits on coefficient (u, v)[j] with a keyed sign chip[j] and a lattice
 * offset dither[j]. Versions 1 and 2 share the band of 140 coefficients, its permutation and the
 * chips (key streams 1 and 2) and differ in dither (streams 2 and 3); version 3 has its own band
 * (the first FS_WM3_CODED_BITS coefficients after DC), permutation, chips and dither (stream 4). */
typedef struct plan {
    int n[FS_WM_VERSIONS]; /* code bits */
    uint8_t u[FS_WM_VERSIONS][MAXBITS], v[FS_WM_VERSIONS][MAXBITS];
    float chip[FS_WM_VERSIONS][MAXBITS];   /* +-1 */
    float dither[FS_WM_VERSIONS][MAXBITS]; /* [0, DELTA) */
} plan;

/* The first n coefficients after DC in zig-zag order: by u + v, then by u. */
static void zigzag(int n, uint8_t *bu, uint8_t *bv) {
    int k = 0;
    for (int d = 1; k < n; d++)
        for (int u = 0; u <= d && k < n; u++)
            if (u < FMAX && d - u < FMAX) bu[k] = (uint8_t)u, bv[k] = (uint8_t)(d - u), k++;
}

static void plan_make(plan *P) {
    uint8_t bu[MAXBITS], bv[MAXBITS];
    uint32_t perm[MAXBITS];
    zigzag(BAND, bu, bv);
    fs_permutation(perm, BAND, FS_WM_KEY, 1, 0);
    fs_rng r;
    fs_rng_init(&r, FS_WM_KEY, 2, 0);
    for (int j = 0; j < BAND; j++) {
        for (int ver = 0; ver < 2; ver++) P->u[ver][j] = bu[perm[j]], P->v[ver][j] = bv[perm[j]];
        P->chip[0][j] = P->chip[1][j] = fs_rng_u64(&r) & 1 ? 1.0f : -1.0f;
        P->dither[0][j] = (float)fs_rng_uniform(&r) * DELTA_OF[0];
    }
    fs_rng_init(&r, FS_WM_KEY, 3, 0); /* version 2's own dither */
    for (int j = 0; j < BAND; j++) P->dither[1][j] = (float)fs_rng_uniform(&r) * DELTA_OF[1];
    P->n[0] = P->n[1] = BAND;
    zigzag(BAND3, bu, bv); /* version 3: its own band, permutation, chips and dither */
    fs_permutation(perm, BAND3, FS_WM_KEY, 4, 0);
    fs_rng_init(&r, FS_WM_KEY, 4, 1);
    for (int j = 0; j < BAND3; j++) {
        P->u[2][j] = bu[perm[j]], P->v[2][j] = bv[perm[j]];
        P->chip[2][j] = fs_rng_u64(&r) & 1 ? 1.0f : -1.0f;
        P->dither[2][j] = (float)fs_rng_uniform(&r) * DELTA_OF[2];
    }
    P->n[2] = BAND3;
}

static plan the_plan_;
static void the_plan_init(void) { plan_make(&the_plan_); }

static const plan *the_plan(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, the_plan_init);
    return &the_plan_;
}

/* ---------------------------------------------------------------- transform */
typedef struct frame {
    int w, h, stride;
    float *luma;              /* [h][w] */
    float *cx;                /* [FMAX][w]: synthesis, c_u(x) */
    float *cy;                /* [FMAX][h] */
    float *bx;                /* [FMAX][w]: analysis, the 32-point DCT basis seen through the area filter */
    float *bxt;               /* [w][FMAX]: bx transposed, for the row pass */
    float *by;                /* [FMAX][h] */
    float ax[FMAX], ay[FMAX]; /* change of X(u, .) per unit of synthesised c_u: the filter's gain */
    float *tmp;               /* [h][FMAX] */
} frame;

static float k_u(int u) { return u ? sqrtf(2.0f) : 1.0f; }

/* c_u(x) on n samples; b_u(x) = sum_i d_u(i) A[i][x] where A averages the n samples onto 32
 * cells of width n/32 (fractional overlaps) and d_u is the 32-point DCT-II basis. Detecting
 * through the 32-cell area average is what makes a resized copy read the same coefficients:
 * halving then averaging onto 32 cells is the same average as averaging the original. */
static void basis(float *c, float *b, float *gain, int n) {
    double cell = (double)n / CANON, d[CANON];
    for (int u = 0; u < FMAX; u++) {
        for (int i = 0; i < CANON; i++) d[i] = k_u(u) * cos(M_PI * u * (i + 0.5) / CANON);
        /* cos(pi u (x + 0.5) / n) by rotation: two trigonometric calls per frequency, not n */
        double step = M_PI * u / n, cs = cos(step), sn = sin(step), re = cos(0.5 * step), im = sin(0.5 * step);
        double g = 0;
        for (int x = 0; x < n; x++) {
            c[u * n + x] = k_u(u) * (float)re;
            double nre = re * cs - im * sn;
            im = re * sn + im * cs, re = nre;
            double acc = 0;
            for (int i = (int)(x / cell); i < CANON && i * cell < x + 1; i++) {
                double lo = FS_MAX((double)x, i * cell), hi = FS_MIN(x + 1.0, (i + 1) * cell);
                if (hi > lo) acc += (hi - lo) / cell * d[i];
            }
            b[u * n + x] = (float)acc;
            g += acc * c[u * n + x];
        }
        gain[u] = (float)(g / CANON);
    }
}

static void frame_open(frame *F, int stride, int w, int h) {
    F->w = w, F->h = h, F->stride = stride;
    F->luma = fs_malloc(sizeof(float) * (size_t)w * h);
    F->cx = fs_malloc(sizeof(float) * FMAX * (size_t)w);
    F->cy = fs_malloc(sizeof(float) * FMAX * (size_t)h);
    F->bx = fs_malloc(sizeof(float) * FMAX * (size_t)w);
    F->by = fs_malloc(sizeof(float) * FMAX * (size_t)h);
    F->tmp = fs_malloc(sizeof(float) * FMAX * (size_t)h);
    basis(F->cx, F->bx, F->ax, w);
    basis(F->cy, F->by, F->ay, h);
    F->bxt = fs_malloc(sizeof(float) * FMAX * (size_t)w);
    for (int u = 0; u < FMAX; u++)
        for (int x = 0; x < w; x++) F->bxt[(size_t)x * FMAX + u] = F->bx[(size_t)u * w + x];
}

static void frame_close(frame *F) {
    free(F->luma), free(F->cx), free(F->cy), free(F->bx), free(F->bxt), free(F->by), free(F->tmp);
}

static void frame_luma(frame *F, const uint8_t *rgb) {
    for (int y = 0; y < F->h; y++)
        for (int x = 0; x < F->w; x++) {
            const uint8_t *p = rgb + ((size_t)y * F->stride + x) * 3;
            F->luma[(size_t)y * F->w + x] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
        }
}

/* X[v][u] for u, v < FMAX, from F->luma: the 32 x 32 orthonormal DCT of the area average.
 * The row pass runs over x outside and u inside (bxt is [w][FMAX]) so that it vectorises
 * without reordering a float sum. */
static void frame_coeffs(frame *F, float X[FMAX][FMAX]) {
    int w = F->w, h = F->h;
    for (int y = 0; y < h; y++) {
        const float *row = F->luma + (size_t)y * w;
        float acc[FMAX] = {0};
        for (int x = 0; x < w; x++) {
            const float *b = F->bxt + (size_t)x * FMAX;
            for (int u = 0; u < FMAX; u++) acc[u] += b[u] * row[x];
        }
        memcpy(F->tmp + (size_t)y * FMAX, acc, sizeof acc);
    }
    for (int v = 0; v < FMAX; v++) {
        float acc[FMAX] = {0};
        for (int y = 0; y < h; y++) {
            float c = F->by[(size_t)v * h + y];
            const float *t = F->tmp + (size_t)y * FMAX;
            for (int u = 0; u < FMAX; u++) acc[u] += c * t[u];
        }
        for (int u = 0; u < FMAX; u++) X[v][u] = acc[u] / CANON;
    }
}

/* Adds sum_uv d[v][u] c_u(x) c_v(y) / (32 ax[u] ay[v]) to the float image D [h][w]: a smooth
 * pattern whose coefficients, read through the area filter, are about d. */
static void frame_synth(frame *F, const float d[FMAX][FMAX], float *D) {
    int w = F->w, h = F->h;
    for (int y = 0; y < h; y++)
        for (int u = 0; u < FMAX; u++) {
            float acc = 0;
            for (int v = 0; v < FMAX; v++) acc += d[v][u] / F->ay[v] * F->cy[(size_t)v * h + y];
            F->tmp[(size_t)y * FMAX + u] = acc / (CANON * F->ax[u]);
        }
    for (int y = 0; y < h; y++) {
        float *row = D + (size_t)y * w;
        for (int u = 0; u < FMAX; u++) {
            float g = F->tmp[(size_t)y * FMAX + u];
            if (g == 0.0f) continue;
            const float *c = F->cx + (size_t)u * w;
            for (int x = 0; x < w; x++) row[x] += g * c[x];
        }
    }
}

/* ---------------------------------------------------------------- modulation */
static float projection(const plan *P, int ver, const float X[FMAX][FMAX], int j) {
    return P->chip[ver][j] * X[P->v[ver][j]][P->u[ver][j]];
}

/* Signed distance of projection p from bit b's lattice: 1 at a lattice point, 0 half-way to
 * the other bit's lattice, -1 on it. *to_centre: the move onto the nearest point of b's lattice. */
static float margin(const plan *P, int ver, int j, float p, int b, float *to_centre) {
    float off = P->dither[ver][j] + (b ? 0.5f * DELTA : 0.0f);
    float r = (p - off) / DELTA, n = roundf(r);
    if (to_centre) *to_centre = (n - r) * DELTA;
    return 1.0f - 4.0f * fabsf(r - n);
}

/* The moves that bring every code bit whose margin is under `goal` onto its lattice, as a
 * coefficient change d; returns how many bits move. */
static int moves(const plan *P, int ver, const float X[FMAX][FMAX], const uint8_t *coded, float goal,
                 float d[FMAX][FMAX]) {
    memset(d, 0, sizeof(float) * FMAX * FMAX);
    int n = 0;
    for (int j = 0; j < P->n[ver]; j++) {
        float e;
        if (margin(P, ver, j, projection(P, ver, X, j), coded[j], &e) >= goal) continue;
        d[P->v[ver][j]][P->u[ver][j]] += e * P->chip[ver][j];
        n++;
    }
    return n;
}

/* out = clamp(round(orig + k_c D)) on channel c: the luma change D. Version 1: k = 1 on every
 * channel (Cb and Cr untouched); versions 2, 3: k_c = (0.299, 0.587, 0.114)_c / 0.447046, the least
 * RGB change whose luma is D (squared error 0.746 D^2 per channel instead of D^2). */
static void apply(const frame *F, int ver, const uint8_t *orig, const float *D, uint8_t *out) {
    static const float K[FS_WM_VERSIONS][3] = {{1.0f, 1.0f, 1.0f},
                                               {0.299f / 0.447046f, 0.587f / 0.447046f, 0.114f / 0.447046f},
                                               {0.299f / 0.447046f, 0.587f / 0.447046f, 0.114f / 0.447046f}};
    for (int y = 0; y < F->h; y++)
        for (int x = 0; x < F->w; x++) {
            float dv = D[(size_t)y * F->w + x];
            size_t at = ((size_t)y * F->stride + x) * 3;
            for (int c = 0; c < 3; c++) {
                float v = orig[at + c] + dv * K[ver][c] + 0.5f;
                out[at + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
}

/* PSNR (dB) of the region of a against b (same stride). */
static double region_psnr(const frame *F, const uint8_t *a, const uint8_t *b) {
    double se = 0;
    for (int y = 0; y < F->h; y++)
        for (int x = 0; x < 3 * F->w; x++) {
            double d = (double)a[(size_t)y * F->stride * 3 + x] - b[(size_t)y * F->stride * 3 + x];
            se += d * d;
        }
    return se > 0 ? 10.0 * log10(255.0 * 255.0 * 3.0 * F->w * F->h / se) : 99.0;
}

int fs_wm_embed(uint8_t *rgb, int stride, int w, int h, uint64_t payload, fs_error *e) {
    return fs_wm_embed_version(rgb, stride, w, h, payload, FS_WM_VERSION, e);
}

int fs_wm_embed_version(uint8_t *rgb, int stride, int w, int h, uint64_t payload, int version, fs_error *e) {
    if (version < 1 || version > FS_WM_VERSIONS)
        return fs_errorf(e, FS_EXIT_BADINPUT, "watermark: scheme version %d; expected 1..%d", version, FS_WM_VERSIONS);
    int ver = version - 1;
    double floor_db = ver ? PSNR_FLOOR : PSNR_FLOOR_V1;
    if (w < FS_WM_MIN_SIDE || h < FS_WM_MIN_SIDE)
        return fs_errorf(e, FS_EXIT_BADINPUT, "watermark: region of %dx%d px; expected at least %d px a side", w, h,
                         FS_WM_MIN_SIDE);
    const plan *P = the_plan();
    uint8_t coded[MAXBITS];
    if (ver < 2) fs_wm_conv_encode(payload, coded);
    else fs_wm3_encode(payload, coded);
    frame F;
    frame_open(&F, stride, w, h);
    size_t bytes = ((size_t)(h - 1) * stride + w) * 3;
    uint8_t *orig = fs_malloc(bytes), *prev = fs_malloc(bytes);
    memcpy(orig, rgb, bytes);
    float *D = fs_calloc((size_t)w * h, sizeof(float));
    float X[FMAX][FMAX], d[FMAX][FMAX];
    frame_luma(&F, rgb);
    frame_coeffs(&F, X);
    /* Closed loop: rounding and clipping at 0 and 255 move projections; measure the marked
     * pixels again and push the bits that drifted, while the PSNR stays above PSNR_FLOOR. */
    for (int pass = 0; pass < LOOP_PASSES && moves(P, ver, X, coded, pass ? MARGIN_GOAL : 2.0f, d); pass++) {
        memcpy(prev, rgb, bytes);
        frame_synth(&F, d, D);
        apply(&F, ver, orig, D, rgb);
        double psnr = region_psnr(&F, orig, rgb);
        /* versions 2, 3: the first pass is scaled down to the floor (every move alike: distortion
         * compensation), so the PSNR holds whatever the host's lattice distances */
        for (int k = 0; ver && !pass && psnr < floor_db && k < 4; k++) {
            float scale = (float)pow(10.0, (psnr - floor_db) / 20.0) * 0.998f;
            for (size_t i = 0; i < (size_t)w * h; i++) D[i] *= scale;
            apply(&F, ver, orig, D, rgb);
            psnr = region_psnr(&F, orig, rgb);
        }
        if (pass && psnr < floor_db) {
            memcpy(rgb, prev, bytes);
            break;
        }
        frame_luma(&F, rgb);
        frame_coeffs(&F, X);
    }
    free(D), free(orig), free(prev);
    frame_close(&F);
    return 0;
}

/* ---------------------------------------------------------------- detection */
/* The contrast gain g (coefficients scaled by g, as by levels or a contrast change) that best
 * fits the projections to the two lattices: the sum of |margin| is ~FS_WM_CODED_BITS at the
 * right gain and ~half that anywhere else. g = 1 wins ties. */
static float best_gain(const plan *P, int ver, const float *p) {
    float best = 1.0f, best_fit = -1.0f;
    for (int k = 0; k <= 2 * GAIN_STEPS; k++) {
        int step = k % 2 ? (k + 1) / 2 : -(k / 2); /* 0, +1, -1, +2, -2, ...: nearest to 1 first */
        float g = 1.0f + (float)step * GAIN_STEP, fit = 0;
        for (int j = 0; j < P->n[ver]; j++) fit += fabsf(margin(P, ver, j, p[j] / g, 0, NULL));
        if (fit > best_fit + 1e-3f) best_fit = fit, best = g;
    }
    return best;
}

/* Decodes the soft values of one region read at gain g, re-encodes: the payload and its
 * correlation into r. */
static void decode_at(const float *soft, int ver, float g, fs_wm_result *r) {
    uint8_t coded[MAXBITS];
    int n = ver < 2 ? FS_WM_CODED_BITS : FS_WM3_CODED_BITS;
    uint64_t payload;
    memset(r, 0, sizeof *r);
    r->candidate = -1;
    if (ver < 2) payload = fs_wm_viterbi(soft), fs_wm_conv_encode(payload, coded);
    else payload = fs_wm3_decode(soft), fs_wm3_encode(payload, coded);
    double dot = 0, ss = 0;
    for (int j = 0; j < n; j++) dot += soft[j] * (1 - 2 * coded[j]), ss += (double)soft[j] * soft[j];
    r->correlation = ss > 0 ? dot / sqrt(ss * n) : 0;
    r->payload = payload;
    r->run_tag = payload >> 16;
    r->gain = g;
    r->found = fs_wm_payload_valid(payload) && r->correlation >= (ver < 2 ? CORR_MIN : CORR_MIN3);
}

static void region_coeffs(const uint8_t *rgb, int stride, int w, int h, float X[FMAX][FMAX]) {
    frame F;
    frame_open(&F, stride, w, h);
    frame_luma(&F, rgb);
    frame_coeffs(&F, X);
    frame_close(&F);
}

/* The soft values of coefficients X under every version's lattices, as read and at each
 * version's best gain. */
static void soft_of(const float X[FMAX][FMAX], float *soft1, float *softg, float *gain) {
    const plan *P = the_plan();
    float p[MAXBITS];
    for (int ver = 0; ver < FS_WM_VERSIONS; ver++) {
        for (int j = 0; j < P->n[ver]; j++) p[j] = projection(P, ver, X, j);
        float g = best_gain(P, ver, p);
        for (int j = 0; j < P->n[ver]; j++) {
            soft1[SOFT_AT[ver] + j] = margin(P, ver, j, p[j], 0, NULL);
            if (softg) softg[SOFT_AT[ver] + j] = margin(P, ver, j, p[j] / g, 0, NULL);
        }
        if (gain) gain[ver] = g;
    }
}

void fs_wm_soft(const uint8_t *rgb, int stride, int w, int h, float soft1[FS_WM_SOFT], float softg[FS_WM_SOFT],
                float gain[FS_WM_VERSIONS]) {
    float X[FMAX][FMAX];
    region_coeffs(rgb, stride, w, h, X);
    soft_of(X, soft1, softg, gain);
}

/* The coefficients the marked image had, if the copy shows it in orientation o: mirroring x
 * (o & 1) or y (o & 2) changes the sign of the odd frequencies along it (the 32 cells and the
 * DCT basis are symmetric), a quarter turn transposes (o & 4: u and v swap; with the mirrors,
 * the 90 and 270 degree rotations). Exact, whatever the aspect ratio (normalised coordinates). */
static void orient(const float X[FMAX][FMAX], int o, float R[FMAX][FMAX]) {
    for (int v = 0; v < FMAX; v++)
        for (int u = 0; u < FMAX; u++) {
            float x = o & 4 ? X[u][v] : X[v][u];
            int odd = ((o & 1) && (u & 1)) ^ ((o & 2) && (v & 1));
            R[v][u] = odd ? -x : x;
        }
}

void fs_wm_soft_oriented(const uint8_t *rgb, int stride, int w, int h, int n, float soft1[][FS_WM_SOFT],
                         float softg[][FS_WM_SOFT], float gain[][FS_WM_VERSIONS]) {
    float X[FMAX][FMAX], R[FMAX][FMAX];
    region_coeffs(rgb, stride, w, h, X);
    for (int o = 0; o < n && o < FS_WM_ORIENTATIONS; o++) {
        orient(X, o, R);
        soft_of(R, soft1[o], softg[o], gain[o]);
    }
}

const char *fs_wm_orientation_name(int o) {
    static const char *const NAME[FS_WM_ORIENTATIONS] = {"as made",
                                                         "mirrored left-right",
                                                         "mirrored top-bottom",
                                                         "rotated 180 degrees",
                                                         "transposed",
                                                         "rotated 90 degrees anticlockwise",
                                                         "rotated 90 degrees clockwise",
                                                         "transposed across the other diagonal"};
    return o >= 0 && o < FS_WM_ORIENTATIONS ? NAME[o] : "?";
}

/* A found decode's strength: the blind decode's correlation, or an informed one's statistic;
 * a blind decode beats an informed one. */
int fs_wm_orientation_better(const fs_wm_result *c, const fs_wm_result *best) {
    if (!c->found) return 0;
    if (!best->found || c->informed != best->informed) return !best->found || !c->informed;
    return c->informed ? c->statistic > best->statistic : c->correlation > best->correlation;
}

double fs_wm_p_false(int n_candidates) { return FS_WM_P_FALSE + 2.0 * n_candidates * FS_WM_P_CHECK; }

void fs_wm_detect_with(const uint8_t *rgb, int stride, int w, int h, int orientations, const fs_wm_candidates *C,
                       fs_wm_result *r, int *orientation, fs_wm_result *blind) {
    fs_wm_result b;
    memset(r, 0, sizeof *r);
    r->p_false = 1.0, r->gain = 1.0, r->candidate = -1, b = *r;
    if (orientation) *orientation = 0;
    if (w < FS_WM_MIN_SIDE || h < FS_WM_MIN_SIDE) {
        if (blind) *blind = b;
        return;
    }
    float X[FMAX][FMAX], R[FMAX][FMAX], s1[FS_WM_SOFT], sg[FS_WM_SOFT], g[FS_WM_VERSIONS];
    int n = orientations ? FS_WM_ORIENTATIONS : 1;
    region_coeffs(rgb, stride, w, h, X);
    for (int o = 0; o < n; o++) {
        fs_wm_result rb, ro;
        orient(X, o, R);
        soft_of(R, s1, sg, g);
        fs_wm_decode_pair(s1, sg, g, &rb);
        ro = rb;
        fs_wm_confirm(s1, sg, g, C, &ro);
        /* none found: the highest correlation is reported */
        if (o == 0 || fs_wm_orientation_better(&ro, r) || (!r->found && ro.correlation > r->correlation)) {
            *r = ro;
            if (orientation) *orientation = o;
        }
        if (o == 0 || fs_wm_orientation_better(&rb, &b) || (!b.found && rb.correlation > b.correlation)) b = rb;
    }
    /* every orientation's decodes and checks may be tried */
    r->p_false = r->found ? n * fs_wm_p_false(C ? C->n : 0) : 1.0;
    b.p_false = b.found ? n * FS_WM_P_FALSE : 1.0;
    if (blind) *blind = b;
}

void fs_wm_detect_oriented(const uint8_t *rgb, int stride, int w, int h, fs_wm_result *r, int *orientation) {
    fs_wm_detect_with(rgb, stride, w, h, 1, NULL, r, orientation, NULL);
}

void fs_wm_detect(const uint8_t *rgb, int stride, int w, int h, fs_wm_result *r) {
    fs_wm_detect_with(rgb, stride, w, h, 0, NULL, r, NULL, NULL);
}

/* ---------------------------------------------------------------- informed detection */
double fs_wm_check_statistic(const float soft3[FS_WM_CODED_BITS3], uint64_t payload) {
    uint8_t coded[FS_WM3_CODED_BITS];
    fs_wm3_encode(payload, coded);
    double t = 0;
    for (int j = 0; j < FS_WM3_CODED_BITS; j++) t += coded[j] ? -soft3[j] : soft3[j];
    return t / FS_WM3_CODED_BITS;
}

void fs_wm_confirm(const float soft1[FS_WM_SOFT], const float softg[FS_WM_SOFT], const float gain[FS_WM_VERSIONS],
                   const fs_wm_candidates *C, fs_wm_result *r) {
    if (!C || C->n <= 0) return;
    r->p_false = r->found ? fs_wm_p_false(C->n) : 1.0;
    /* a mark the blind decode found names its own payload: a candidate cannot overrule it */
    const float *s1 = soft1 + SOFT_AT[FS_WM_VERSIONS - 1], *sg = softg + SOFT_AT[FS_WM_VERSIONS - 1];
    float g = gain[FS_WM_VERSIONS - 1];
    for (int i = 0; i < C->n && i < FS_WM_MAX_CANDIDATES; i++) {
        double t1 = fs_wm_check_statistic(s1, C->payload[i]),
               tg = g != 1.0f ? fs_wm_check_statistic(sg, C->payload[i]) : -1;
        double t = t1 >= tg ? t1 : tg;
        if (r->found && !r->informed) {
            if (C->payload[i] == r->payload) r->statistic = t, r->candidate = i;
            continue;
        }
        if (i == 0 || t > r->statistic) {
            r->statistic = t, r->candidate = i;
            if (t >= FS_WM_CHECK_MIN) {
                r->found = r->informed = 1, r->payload = C->payload[i], r->run_tag = C->payload[i] >> 16;
                r->gain = t1 >= tg ? 1.0 : g, r->version = FS_WM_VERSIONS, r->p_false = fs_wm_p_false(C->n);
            }
        }
    }
}

void fs_wm_decide(const float soft1[FS_WM_SOFT], const float softg[FS_WM_SOFT], const float gain[FS_WM_VERSIONS],
                  const fs_wm_candidates *C, fs_wm_result *r) {
    fs_wm_decode_pair(soft1, softg, gain, r);
    fs_wm_confirm(soft1, softg, gain, C, r);
}

void fs_wm_decode_pair(const float soft1[FS_WM_SOFT], const float softg[FS_WM_SOFT], const float gain[FS_WM_VERSIONS],
                       fs_wm_result *r) {
    /* The newest version first. Each: as it is first; then at the contrast gain that fits the
     * lattices best. Under heavy noise the search can pick a wrong gain, so it only adds
     * detections to the plain decode. */
    for (int ver = FS_WM_VERSIONS - 1; ver >= 0; ver--) {
        const float *s1 = soft1 + SOFT_AT[ver], *sg = softg + SOFT_AT[ver];
        fs_wm_result rv;
        decode_at(s1, ver, 1.0f, &rv);
        if (!rv.found && gain[ver] != 1.0f) {
            fs_wm_result rg;
            decode_at(sg, ver, gain[ver], &rg);
            if (rg.found || rg.correlation > rv.correlation) rv = rg;
        }
        rv.version = ver + 1;
        if (ver == FS_WM_VERSIONS - 1 || rv.found || (!r->found && rv.correlation > r->correlation)) *r = rv;
        if (r->found) break;
    }
    /* Unmarked, a decoded payload is uniform over 2^64 (keyed dither): its check code matches
     * with probability 2^-16; two payloads per version are checked (FS_WM_P_FALSE), and the
     * correlation threshold only removes more. */
    r->p_false = r->found ? FS_WM_P_FALSE : 1.0;
}

double fs_wm_psnr(const uint8_t *a, const uint8_t *b, size_t n_pixels) {
    double se = 0;
    for (size_t i = 0; i < n_pixels * 3; i++) {
        double d = (double)a[i] - b[i];
        se += d * d;
    }
    if (se == 0) return 99.0;
    return 10.0 * log10(255.0 * 255.0 / (se / (double)(n_pixels * 3)));
}
