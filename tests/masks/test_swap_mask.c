/* test_swap_mask.c — masks_swap: the learned mask in swaps (trainer/preview.h). For a tiny
 * liae-ud model (it has masks): the blended swap is q gen + (1 - q) in, per pixel within one
 * level of uint8 rounding, the unblended one is the decoder's own output, and the mask is not
 * constant; for the original model (no masks) blending changes nothing and the mask reads 255. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/preview.h"

static int g_fail = 0;
#define EXPECT(cond, ...)                                                                                              \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            g_fail++;                                                                                                  \
            printf("FAIL %s:%d: ", __FILE__, __LINE__), printf(__VA_ARGS__), printf("\n");                             \
        }                                                                                                              \
    } while (0)

static void build(fs_model *m, const char *yaml) {
    fs_config c;
    fs_error e = {0};
    if (fs_config_load_string(&c, yaml, "test", &e) || fs_config_validate(&c, &e) || fs_model_build(m, &c, &e))
        fs_die(FS_EXIT_FAIL, "masks_swap: %s", e.msg);
    fs_model_alloc(m, fs_backend_cpu(), 1);
    fs_model_init_params(m, 5);
}

static void check(const char *name, const char *yaml, int want_masks) {
    fs_model m;
    build(&m, yaml);
    int S = m.resolution;
    size_t img = (size_t)S * S * 3, plane = (size_t)S * S;
    uint8_t *in = fs_malloc(img), *raw = fs_malloc(img), *blend = fs_malloc(img), *q = fs_malloc(plane);
    for (size_t k = 0; k < img; k++) in[k] = (uint8_t)((k * 37 + k / 3 * 11) & 0xff);
    EXPECT(fs_model_has_mask(&m) == want_masks, "%s: has_mask %d, expected %d", name, fs_model_has_mask(&m),
           want_masks);
    fs_swap_faces_masked(&m, in, 1, 1, 0, raw, q);
    fs_swap_faces_masked(&m, in, 1, 1, 1, blend, NULL);
    uint8_t *plain = fs_malloc(img);
    fs_swap_faces(&m, in, 1, 1, plain);
    EXPECT(!memcmp(plain, raw, img), "%s: the unblended swap is not fs_swap_faces' output", name);
    int worst = 0, lo = 255, hi = 0;
    for (size_t k = 0; k < img; k++) {
        double a = q[k / 3] / 255.0, want = a * raw[k] + (1 - a) * in[k];
        worst = FS_MAX(worst, (int)ceil(fabs(blend[k] - want)));
    }
    for (size_t k = 0; k < plane; k++) lo = FS_MIN(lo, q[k]), hi = FS_MAX(hi, q[k]);
    if (want_masks) {
        EXPECT(worst <= 2, "%s: blended swap is off q gen + (1 - q) in by up to %d levels", name, worst);
        EXPECT(hi > lo, "%s: the learned mask is constant (%d)", name, lo);
        EXPECT(memcmp(blend, raw, img) != 0, "%s: blending changed nothing", name);
    } else {
        EXPECT(!memcmp(blend, raw, img), "%s: a model without masks must not blend", name);
        EXPECT(lo == 255 && hi == 255, "%s: the mask of a model without masks reads %d..%d, expected 255", name, lo,
               hi);
    }
    printf("masks_swap: %s: mask %d..%d, blend within %d levels\n", name, lo, hi, worst);
    free(in), free(raw), free(blend), free(q), free(plain);
    fs_model_free(&m);
}

int main(void) {
    check("liae-ud",
          "model: {arch: liae, archi_flags: ud, resolution: 64, ae_dims: 16, e_dims: 4, d_dims: 4, "
          "d_mask_dims: 2}\n",
          1);
    check("original",
          "model: {resolution: 32, encoder_filters: [8, 16], dense: 32, bottleneck_filters: 16, "
          "encoder_upscale: [16], decoder_filters: [8]}\n",
          0);
    if (g_fail) {
        printf("masks_swap: %d checks FAILED\n", g_fail);
        return 1;
    }
    printf("masks_swap: swaps blend through the learned mask, and only when there is one\n");
    return 0;
}
