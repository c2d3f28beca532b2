/* synth.c — procedurally drawn faces; see synth.h. Drawing is per pixel in face coordinates
 * (u right, v down, both -1..1 across the image), back to front, each shape blended by its
 * anti-aliased coverage. */
#include "data/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "core/limits.h"

/* Inline min/max: libm's fminf/fmaxf are out-of-line legacy-SSE calls (slow in threads that
 * inherit dirty upper AVX state; see augment.c). */
static inline float minf(float a, float b) { return a < b ? a : b; }
static inline float maxf(float a, float b) { return a > b ? a : b; }

/* ---------------------------------------------------------------- identity */
static const float SKIN[5][3] = {{250, 222, 196}, {232, 190, 140}, {198, 140, 90}, {141, 90, 52}, {86, 56, 36}};
static const float HAIR[6][3] = {{28, 22, 20},  {92, 58, 34},    {224, 192, 118},
                                 {168, 72, 30}, {150, 150, 155}, {60, 40, 30}};
static const float IRIS[6][3] = {{95, 60, 30},    {60, 120, 200}, {70, 140, 80},
                                 {120, 130, 140}, {150, 110, 45}, {45, 30, 20}};

static void lerp3(float out[3], const float a[3], const float b[3], float t) {
    for (int k = 0; k < 3; k++) out[k] = a[k] + (b[k] - a[k]) * t;
}

/* Spreads identities over the palettes with the golden ratio, so that A and B differ clearly. */
static void identity_colours(fs_synth_identity *id, fs_rng *r, int index) {
    float t = fmodf(0.08f + 0.618034f * (float)index + 0.08f * (float)fs_rng_uniform(r), 1.0f) * 3.999f;
    lerp3(id->skin, SKIN[(int)t], SKIN[(int)t + 1], t - floorf(t));
    int h = (index * 2 + (int)fs_rng_below(r, 2)) % 6;
    memcpy(id->hair, HAIR[h], sizeof id->hair);
    memcpy(id->iris, IRIS[(index * 5 + (int)fs_rng_below(r, 2)) % 6], sizeof id->iris);
    const float red[3] = {190, 70, 80};
    lerp3(id->lip, id->skin, red, (float)fs_rng_range(r, 0.35, 0.6));
    id->hair_style = (index + (int)fs_rng_below(r, 4)) % 4;
}

void fs_synth_identity_draw(fs_synth_identity *id, uint64_t seed, int index) {
    fs_rng r;
    fs_rng_init(&r, seed, 0x1D, (uint64_t)index);
    identity_colours(id, &r, index);
    id->face_w = (float)fs_rng_range(&r, 0.46, 0.60);
    id->face_h = (float)fs_rng_range(&r, 0.62, 0.74);
    id->jaw = (float)fs_rng_range(&r, 0.05, 0.45);
    id->eye_dx = (float)fs_rng_range(&r, 0.17, 0.26);
    id->eye_y = (float)fs_rng_range(&r, -0.10, 0.0);
    id->eye_w = (float)fs_rng_range(&r, 0.085, 0.115);
    id->eye_h = (float)fs_rng_range(&r, 0.042, 0.06);
    id->brow_off = (float)fs_rng_range(&r, 0.09, 0.14);
    id->brow_t = (float)fs_rng_range(&r, 0.018, 0.04);
    id->brow_arch = (float)fs_rng_range(&r, 0.0, 0.04);
    id->nose_len = (float)fs_rng_range(&r, 0.15, 0.25);
    id->nose_w = (float)fs_rng_range(&r, 0.05, 0.085);
    id->mouth_y = (float)fs_rng_range(&r, 0.30, 0.40);
    id->mouth_w = (float)fs_rng_range(&r, 0.12, 0.19);
    id->lip_t = (float)fs_rng_range(&r, 0.018, 0.032);
    id->hairline = (float)fs_rng_range(&r, -0.50, -0.36);
}

void fs_synth_name(int index, char *out, size_t len) {
    if (index < 26) snprintf(out, len, "%c", 'A' + index);
    else snprintf(out, len, "I%d", index);
}

/* ---------------------------------------------------------------- one sample */
/* Aligned faces fill most of the crop (cheek to cheek about 3/4 of the width). */
#define ZOOM 1.45f

typedef struct pose {
    float c, s, scale, tx, ty, yaw; /* rotation cos/sin, scale, shift, yaw -1..1 */
    float smile, open, eye_open, brow_up, gaze_x, gaze_y;
    float light[3], ambient, diffuse;
    float bg0[3], bg1[3], bg_dir[2];
    float px; /* one pixel in face units, for anti-aliasing */
} pose;

static void pose_draw(pose *p, uint64_t seed, int index, long k, int S) {
    fs_rng r;
    fs_rng_init(&r, seed ^ 0x5A3F0000ULL, (uint64_t)index, (uint64_t)k);
    float rot = (float)fs_rng_range(&r, -0.14, 0.14);
    p->c = cosf(rot), p->s = sinf(rot);
    p->scale = (float)fs_rng_range(&r, 0.92, 1.08);
    p->tx = (float)fs_rng_range(&r, -0.06, 0.06), p->ty = (float)fs_rng_range(&r, -0.06, 0.06);
    p->yaw = (float)fs_rng_range(&r, -0.35, 0.35);
    p->smile = (float)fs_rng_range(&r, -0.4, 1.0);
    p->open = fs_rng_uniform(&r) < 0.4 ? (float)fs_rng_range(&r, 0.2, 1.0) : 0.0f;
    p->eye_open = fs_rng_uniform(&r) < 0.08 ? 0.15f : (float)fs_rng_range(&r, 0.75, 1.1);
    p->brow_up = (float)fs_rng_range(&r, -0.015, 0.035);
    p->gaze_x = (float)fs_rng_range(&r, -0.3, 0.3), p->gaze_y = (float)fs_rng_range(&r, -0.2, 0.2);
    float la = (float)fs_rng_range(&r, 0, 6.2831853);
    p->light[0] = 0.7f * cosf(la), p->light[1] = 0.5f * sinf(la) - 0.3f, p->light[2] = 0.6f;
    p->ambient = (float)fs_rng_range(&r, 0.55, 0.75), p->diffuse = (float)fs_rng_range(&r, 0.3, 0.5);
    for (int c = 0; c < 3; c++)
        p->bg0[c] = (float)fs_rng_range(&r, 20, 235), p->bg1[c] = (float)fs_rng_range(&r, 20, 235);
    float ga = (float)fs_rng_range(&r, 0, 6.2831853);
    p->bg_dir[0] = cosf(ga), p->bg_dir[1] = sinf(ga);
    p->px = 2.0f / ((float)S * p->scale * ZOOM);
}

/* Coverage of a shape whose signed distance (face units, negative inside) is d. */
static inline float cover(float d, float px) {
    float t = 0.5f - d / px;
    return t < 0 ? 0 : t > 1 ? 1 : t;
}
static inline void blend(float col[3], const float c[3], float a) {
    for (int k = 0; k < 3; k++) col[k] += (c[k] - col[k]) * a;
}
static inline float ellipse_sd(float u, float v, float a, float b) {
    return (sqrtf(u * u / (a * a) + v * v / (b * b)) - 1.0f) * minf(a, b);
}

typedef struct pix {
    float u, v;   /* face coordinates of this pixel */
    float o, f;   /* yaw shift of the outline and of the features */
    float fw;     /* face half-width after the yaw squash */
    float shade;  /* lighting of the skin here */
    float col[3]; /* colour so far */
    float fg;     /* face-region coverage so far (skin, ears, hair = 1; background, neck = 0) */
} pix;

/* Blends the colour and the face-region mask alike, so the mask is what the image shows. */
static inline void blend_region(pix *q, const float c[3], float a, float region) {
    blend(q->col, c, a);
    q->fg += (region - q->fg) * a;
}

static void draw_background(pix *q, const pose *p, float nx, float ny) {
    float t = 0.5f + 0.35f * (nx * p->bg_dir[0] + ny * p->bg_dir[1]);
    lerp3(q->col, p->bg0, p->bg1, t);
}

static void draw_head(pix *q, const fs_synth_identity *id, const pose *p) {
    float u = q->u - q->o, v = q->v, px = p->px;
    if (id->hair_style == 1) /* long hair falls behind the face down to the shoulders */
        blend_region(q, id->hair, cover(ellipse_sd(u, v - 0.2f, q->fw + 0.17f, id->face_h + 0.32f), px), 1.0f);
    float neck[3] = {id->skin[0] * 0.78f, id->skin[1] * 0.78f, id->skin[2] * 0.78f};
    blend_region(q, neck, cover(maxf(fabsf(u) - 0.2f, 0.45f - v), px), 0.0f);
    float ear[3] = {id->skin[0] * 0.85f, id->skin[1] * 0.85f, id->skin[2] * 0.85f};
    for (int sgn = -1; sgn <= 1; sgn += 2)
        blend_region(q, ear, cover(ellipse_sd(u - (float)sgn * q->fw * 0.97f, v - 0.02f, 0.065f, 0.12f), px), 1.0f);
    float vv = minf(maxf(v / id->face_h, 0.0f), 1.0f), w = q->fw * (1.0f - id->jaw * vv * vv);
    float nx = u / q->fw, ny = v / id->face_h, nz = sqrtf(maxf(0.05f, 1.0f - nx * nx - ny * ny));
    float lit = nx * p->light[0] + ny * p->light[1] + nz * p->light[2];
    q->shade = p->ambient + p->diffuse * maxf(lit, 0.0f);
    float skin[3] = {id->skin[0] * q->shade, id->skin[1] * q->shade, id->skin[2] * q->shade};
    blend_region(q, skin, cover(ellipse_sd(u, v, w, id->face_h), px), 1.0f);
}

static float hairline_at(const fs_synth_identity *id, float u) {
    switch (id->hair_style) {
    case 2: return id->hairline - 0.12f + 1.6f * u * u;             /* receding: hair at the sides */
    case 3: return id->hairline + 0.14f + 0.025f * sinf(u * 32.0f); /* fringe over the forehead */
    default: return id->hairline + 0.9f * u * u;
    }
}

static void draw_hair(pix *q, const fs_synth_identity *id, const pose *p) {
    float u = q->u - q->o, v = q->v;
    float a = cover(ellipse_sd(u, v + 0.05f, q->fw + 0.07f, id->face_h + 0.11f), p->px) *
              cover(v - hairline_at(id, u), p->px * 2.0f);
    if (a <= 0) return;
    float strand = 0.9f + 0.1f * sinf(u * 70.0f + 12.0f * sinf(v * 7.0f)), k = strand * (0.6f + 0.5f * q->shade);
    float c[3] = {minf(id->hair[0] * k, 255.0f), minf(id->hair[1] * k, 255.0f), minf(id->hair[2] * k, 255.0f)};
    blend_region(q, c, a, 1.0f);
}

static void draw_eye(pix *q, const fs_synth_identity *id, const pose *p, int sgn) {
    float a = q->u - ((float)sgn * id->eye_dx + q->f), b = q->v - id->eye_y, px = p->px;
    float eh = id->eye_h * p->eye_open, ew = id->eye_w;
    if (fabsf(a) > ew + 0.03f || fabsf(b) > id->eye_h + 0.03f) return;
    float sd = ellipse_sd(a, b, ew, maxf(eh, 0.004f)), in = cover(sd, px);
    const float white[3] = {236, 232, 226}, dark[3] = {40, 28, 26}, pupil[3] = {12, 10, 10};
    blend(q->col, white, in);
    float ix = a - p->gaze_x * ew * 0.35f, iy = b - p->gaze_y * eh * 0.3f, ri = id->eye_h * 0.85f;
    float r = sqrtf(ix * ix + iy * iy);
    float iris[3];
    for (int k = 0; k < 3; k++) iris[k] = id->iris[k] * (0.75f + 0.35f * r / ri);
    blend(q->col, iris, in * cover(r - ri, px));
    blend(q->col, pupil, in * cover(r - ri * 0.45f, px));
    float hx = ix + ri * 0.3f, hy = iy + ri * 0.3f;
    blend(q->col, white, in * cover(sqrtf(hx * hx + hy * hy) - ri * 0.18f, px));
    blend(q->col, dark, 0.85f * cover(fabsf(sd) - 0.006f, px)); /* lid line */
}

static void draw_brow(pix *q, const fs_synth_identity *id, const pose *p, int sgn) {
    float bw = id->eye_w * 1.35f, t = (q->u - ((float)sgn * id->eye_dx * 1.05f + q->f)) / bw;
    if (fabsf(t) > 1.2f) return;
    float yb = id->eye_y - id->brow_off - p->brow_up - id->brow_arch * (1.0f - t * t);
    float th = id->brow_t * (1.0f - 0.35f * (t * (float)sgn + 1.0f) * 0.5f);
    float d = maxf(fabsf(q->v - yb) - th * 0.5f, (fabsf(t) - 1.0f) * bw);
    float c[3] = {id->hair[0] * 0.7f, id->hair[1] * 0.7f, id->hair[2] * 0.7f};
    blend(q->col, c, 0.9f * cover(d, p->px));
}

static void draw_nose(pix *q, const fs_synth_identity *id, const pose *p) {
    float x0 = q->f * 1.4f, tip = id->eye_y + id->nose_len, u = q->u - x0, v = q->v, px = p->px;
    float side = p->light[0] > 0 ? -1.0f : 1.0f; /* the shadowed flank faces away from the light */
    float shadow[3] = {q->col[0] * 0.78f, q->col[1] * 0.78f, q->col[2] * 0.78f};
    float flank = maxf(fabsf(u - side * id->nose_w * 0.55f) - 0.012f, maxf(id->eye_y + 0.06f - v, v - tip));
    blend(q->col, shadow, 0.6f * cover(flank, px * 2.0f));
    float tipc[3] = {minf(q->col[0] * 1.06f, 255.0f), minf(q->col[1] * 1.06f, 255.0f), minf(q->col[2] * 1.06f, 255.0f)};
    blend(q->col, tipc, 0.7f * cover(ellipse_sd(u, v - tip, id->nose_w * 0.7f, id->nose_w * 0.45f), px));
    float nos[3] = {id->skin[0] * 0.35f, id->skin[1] * 0.3f, id->skin[2] * 0.3f};
    for (int sgn = -1; sgn <= 1; sgn += 2)
        blend(q->col, nos,
              0.8f * cover(ellipse_sd(u - (float)sgn * id->nose_w * 0.5f, v - tip - id->nose_w * 0.3f,
                                      id->nose_w * 0.26f, id->nose_w * 0.14f),
                           px));
}

static void draw_mouth(pix *q, const fs_synth_identity *id, const pose *p) {
    float t = (q->u - q->f * 1.1f) / id->mouth_w, px = p->px;
    if (fabsf(t) > 1.1f) return;
    float w2 = maxf(0.0f, 1.0f - t * t), sw = sqrtf(w2);
    float yc = id->mouth_y + p->smile * 0.02f - p->smile * 0.06f * t * t, oh = p->open * 0.045f * sw;
    float lt = id->lip_t * sw + 0.004f, d = q->v - yc, cap = (fabsf(t) - 1.0f) * id->mouth_w;
    float lip[3] = {id->lip[0] * q->shade, id->lip[1] * q->shade, id->lip[2] * q->shade};
    float band = d < 0 ? -d - oh - lt * 0.85f : d - oh - lt * 1.15f; /* upper lip thinner */
    blend(q->col, lip, cover(maxf(band, cap), px));
    const float inside[3] = {70, 22, 28}, teeth[3] = {232, 228, 215}, line[3] = {90, 40, 40};
    if (oh > 0.002f) {
        blend(q->col, inside, cover(maxf(fabsf(d) - oh, cap), px));
        blend(q->col, teeth, (p->open > 0.35f) * cover(maxf(fabsf(d + oh * 0.55f) - oh * 0.4f, cap), px));
    } else {
        blend(q->col, line, 0.8f * cover(maxf(fabsf(d) - 0.004f, cap), px));
    }
}

void fs_synth_render(const fs_synth_identity *id, uint64_t seed, int index, long k, int S, uint8_t *rgb,
                     uint8_t *mask) {
    pose p;
    pose_draw(&p, seed, index, k, S);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float nx = ((float)x + 0.5f) * 2.0f / (float)S - 1.0f, ny = ((float)y + 0.5f) * 2.0f / (float)S - 1.0f;
            float dx = nx - p.tx, dy = ny - p.ty;
            float zk = 1.0f / (p.scale * ZOOM);
            pix q = {.u = (p.c * dx + p.s * dy) * zk, .v = (-p.s * dx + p.c * dy) * zk - 0.06f};
            q.o = p.yaw * 0.06f, q.f = p.yaw * 0.16f, q.fw = id->face_w * (1.0f - 0.12f * fabsf(p.yaw));
            draw_background(&q, &p, nx, ny);
            draw_head(&q, id, &p);
            draw_hair(&q, id, &p);
            for (int sgn = -1; sgn <= 1; sgn += 2) draw_eye(&q, id, &p, sgn), draw_brow(&q, id, &p, sgn);
            draw_nose(&q, id, &p);
            draw_mouth(&q, id, &p);
            uint8_t *o = rgb + ((size_t)y * S + x) * 3;
            for (int c = 0; c < 3; c++) o[c] = (uint8_t)minf(maxf(q.col[c] + 0.5f, 0.0f), 255.0f);
            if (mask) mask[(size_t)y * S + x] = (uint8_t)minf(maxf(q.fg * 255.0f + 0.5f, 0.0f), 255.0f);
        }
}

/* ---------------------------------------------------------------- landmarks */
typedef struct lm_frame {
    pose p;
    float o, f, fw; /* as fs_synth_render's pix: outline and feature yaw shifts, face half-width */
    int S;
} lm_frame;

/* Face coordinates (u, v) to pixel coordinates: fs_synth_render's map inverted. */
static void lm_put(const lm_frame *F, float u, float v, float out[2]) {
    float zk = 1.0f / (F->p.scale * ZOOM), vv = v + 0.06f;
    float dx = (F->p.c * u - F->p.s * vv) / zk, dy = (F->p.s * u + F->p.c * vv) / zk;
    out[0] = (dx + F->p.tx + 1.0f) * (float)F->S * 0.5f - 0.5f;
    out[1] = (dy + F->p.ty + 1.0f) * (float)F->S * 0.5f - 0.5f;
}

static void lm_jaw_brows_nose(const lm_frame *F, const fs_synth_identity *id, float lm[68][2]) {
    for (int i = 0; i <= 16; i++) { /* the outline from the left temple round the chin to the right */
        float a = (float)M_PI * (1.0f - (float)i / 16.0f), v = sinf(a) * id->face_h;
        float vv = minf(maxf(v / id->face_h, 0.0f), 1.0f), w = F->fw * (1.0f - id->jaw * vv * vv);
        lm_put(F, F->o + cosf(a) * w, v, lm[i]);
    }
    for (int b = 0; b < 2; b++) { /* 17-21 the image's left brow, 22-26 the right, left to right */
        int sgn = b ? 1 : -1;
        float bw = id->eye_w * 1.35f;
        for (int j = 0; j < 5; j++) {
            float t = -1.0f + 0.5f * (float)j;
            float yb = id->eye_y - id->brow_off - F->p.brow_up - id->brow_arch * (1.0f - t * t);
            lm_put(F, (float)sgn * id->eye_dx * 1.05f + F->f + t * bw, yb, lm[17 + 5 * b + j]);
        }
    }
    float x0 = F->f * 1.4f, tip = id->eye_y + id->nose_len;
    for (int j = 0; j < 4; j++)
        lm_put(F, x0, id->eye_y + 0.02f + (tip - id->eye_y - 0.02f) * (float)j / 3.0f, lm[27 + j]);
    for (int j = 0; j < 5; j++)
        lm_put(F, x0 + (-1.0f + 0.5f * (float)j) * id->nose_w * 0.6f, tip + id->nose_w * 0.3f, lm[31 + j]);
}

static void lm_eyes(const lm_frame *F, const fs_synth_identity *id, float lm[68][2]) {
    static const float ANG[6] = {180, 120, 60, 0, -60, -120}; /* outer corner, upper lid, inner, lower lid */
    float eh = maxf(id->eye_h * F->p.eye_open, 0.004f);
    for (int j = 0; j < 6; j++) { /* 36-41: the image's left eye, from its left (outer) corner, lid first */
        float a = ANG[j] * (float)M_PI / 180.0f;
        lm_put(F, -id->eye_dx + F->f + cosf(a) * id->eye_w, id->eye_y - sinf(a) * eh, lm[36 + j]);
    }
    for (int j = 0; j < 6; j++) { /* 42-47: the right eye, from its left (inner) corner */
        float a = (180.0f - 60.0f * (float)j) * (float)M_PI / 180.0f;
        lm_put(F, id->eye_dx + F->f + cosf(a) * id->eye_w, id->eye_y - sinf(a) * eh, lm[42 + j]);
    }
}

/* The mouth at t (-1 left corner .. 1 right corner): v of the edge `edge` (-2 upper outer,
 * -1 upper inner, 1 lower inner, 2 lower outer), as draw_mouth bounds the lips. */
static float mouth_v(const lm_frame *F, const fs_synth_identity *id, float t, int edge) {
    float sw = sqrtf(maxf(0.0f, 1.0f - t * t));
    float yc = id->mouth_y + F->p.smile * 0.02f - F->p.smile * 0.06f * t * t, oh = F->p.open * 0.045f * sw;
    float lt = id->lip_t * sw + 0.004f;
    return edge == -2 ? yc - oh - lt * 0.85f : edge == -1 ? yc - oh : edge == 1 ? yc + oh : yc + oh + lt * 1.15f;
}

static void lm_mouth(const lm_frame *F, const fs_synth_identity *id, float lm[68][2]) {
    float cx = F->f * 1.1f, w = id->mouth_w;
    for (int j = 0; j < 7; j++) { /* 48-54: left corner, the upper lip's outer edge, right corner */
        float t = -1.0f + (float)j / 3.0f;
        lm_put(F, cx + t * w, mouth_v(F, id, t, -2), lm[48 + j]);
    }
    for (int j = 0; j < 5; j++) { /* 55-59: the lower lip's outer edge, right to left */
        float t = 1.0f - (float)(j + 1) / 3.0f;
        lm_put(F, cx + t * w, mouth_v(F, id, t, 2), lm[55 + j]);
    }
    lm_put(F, cx - w, mouth_v(F, id, -1.0f, -1), lm[60]);
    for (int j = 0; j < 3; j++)
        lm_put(F, cx + (-0.5f + 0.5f * (float)j) * w, mouth_v(F, id, -0.5f + 0.5f * (float)j, -1), lm[61 + j]);
    lm_put(F, cx + w, mouth_v(F, id, 1.0f, 1), lm[64]);
    for (int j = 0; j < 3; j++)
        lm_put(F, cx + (0.5f - 0.5f * (float)j) * w, mouth_v(F, id, 0.5f - 0.5f * (float)j, 1), lm[65 + j]);
}

void fs_synth_landmarks(const fs_synth_identity *id, uint64_t seed, int index, long k, int S, float lm[68][2]) {
    lm_frame F = {.S = S};
    pose_draw(&F.p, seed, index, k, S);
    F.o = F.p.yaw * 0.06f, F.f = F.p.yaw * 0.16f, F.fw = id->face_w * (1.0f - 0.12f * fabsf(F.p.yaw));
    lm_jaw_brows_nose(&F, id, lm);
    lm_eyes(&F, id, lm);
    lm_mouth(&F, id, lm);
}

/* ---------------------------------------------------------------- files */
static int synth_one(const char *dir, int index, long count, int size, uint64_t seed, fs_error *e) {
    char name[16], path[FS_PATH_LEN], source[128];
    fs_synth_name(index, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s.h5", dir, name);
    snprintf(source, sizeof source, "faceswarm data synth seed %llu", (unsigned long long)seed);
    fs_synth_identity id;
    fs_synth_identity_draw(&id, seed, index);
    fs_faces_meta m = {.identity = name,
                       .consent = "synthetic: no real person",
                       .source = source,
                       .synthetic = 1,
                       .masks = 1,
                       .landmarks = 1};
    fs_faces_writer *w;
    if (fs_faces_create(&w, path, size, &m, e)) return e ? e->code : FS_EXIT_FAIL;
    enum { BLOCK = 64 };
    const size_t face = (size_t)size * size * 3, plane = (size_t)size * size;
    uint8_t *buf = fs_malloc(face * BLOCK), *masks = fs_malloc(plane * BLOCK);
    float(*lm)[68][2] = fs_malloc(sizeof(float) * 136 * BLOCK);
    double t0 = fs_now();
    for (long k0 = 0; k0 < count; k0 += BLOCK) {
        long n = FS_MIN((long)BLOCK, count - k0);
#pragma omp parallel for schedule(dynamic, 4)
        for (long k = 0; k < n; k++) {
            fs_synth_render(&id, seed, index, k0 + k, size, buf + (size_t)k * face, masks + (size_t)k * plane);
            fs_synth_landmarks(&id, seed, index, k0 + k, size, lm[k]);
        }
        if (fs_faces_append_full(w, buf, masks, &lm[0][0][0], n, e)) {
            free(buf), free(masks), free(lm);
            fs_faces_abort(w);
            return e ? e->code : FS_EXIT_FAIL;
        }
    }
    free(buf), free(masks), free(lm);
    int rc = fs_faces_commit(w, e);
    if (rc == 0) fs_info("synth: %s  %ld faces of %d px in %.2f s", path, count, size, fs_now() - t0);
    return rc;
}

int fs_synth_write(const char *dir, int identities, long count, int size, uint64_t seed, fs_error *e) {
    if (identities < 1 || identities > FS_MAX_IDENTITIES)
        return fs_errorf(e, FS_EXIT_BADINPUT, "--identities %d; expected 1..%d", identities, FS_MAX_IDENTITIES);
    if (count < 1) return fs_errorf(e, FS_EXIT_BADINPUT, "--count %ld; expected at least 1 face per identity", count);
    if (size < 16 || size > 1024) return fs_errorf(e, FS_EXIT_BADINPUT, "--size %d; expected 16..1024 px", size);
    if (fs_mkdir_p(dir, e)) return e ? e->code : FS_EXIT_FAIL;
    for (int i = 0; i < identities; i++)
        if (synth_one(dir, i, count, size, seed, e)) return e ? e->code : FS_EXIT_FAIL;
    return 0;
}
