/* preview.c — see preview.h. */
#include "trainer/preview.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"

void fs_swap_faces(fs_model *m, const uint8_t *in, int n, int to, uint8_t *out) {
    const fs_backend *be = m->be;
    size_t img = (size_t)m->resolution * m->resolution * 3;
    float *x = be->alloc(sizeof(float) * img), *y = be->alloc(sizeof(float) * img);
    float *host = fs_malloc(sizeof(float) * img);
    for (int i = 0; i < n; i++) { /* one face at a time: fits any batch the model was built for */
        be->u8_to_float(img, in + (size_t)i * img, x);
        fs_model_infer(m, x, 1, to, y);
        be->download(host, y, sizeof(float) * img);
        for (size_t k = 0; k < img; k++) {
            float v = host[k] * 255.0f + 0.5f;
            out[(size_t)i * img + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    free(host);
    be->free(x);
    be->free(y);
}

/* Copies an S x S face into the grid at cell (row, col); cells are separated by `gap` px. */
static void blit(uint8_t *grid, int gw, const uint8_t *face, int s, int row, int col, int gap) {
    int x0 = col * (s + gap), y0 = row * (s + gap);
    for (int y = 0; y < s; y++) memcpy(grid + ((size_t)(y0 + y) * gw + x0) * 3, face + (size_t)y * s * 3, (size_t)s * 3);
}

const char *fs_consent_label(int require_consent, int checked) {
    if (!require_consent) return "consent not recorded: trained with data.require_consent false";
    return checked ? "every training dataset had a consent record (identity, consent, source)"
                   : "consent not checked: trained by a faceswarm that did not check consent records";
}

int fs_preview_write(fs_model *m, const fs_config *c, fs_loader *L, long step, const char *path, fs_error *e) {
    int s = m->resolution, nid = m->n_decoders, k = FS_PREVIEW_SAMPLES, gap = 2;
    size_t img = (size_t)s * s * 3;
    int cols = 1 + nid, rows = nid * k;
    int gw = cols * (s + gap) - gap, gh = rows * (s + gap) - gap;
    uint8_t *grid = fs_calloc((size_t)gw * gh * 3, 1);
    memset(grid, 40, (size_t)gw * gh * 3); /* dark grey lines between cells */
    uint8_t *face = fs_malloc(img), *out = fs_malloc(img);
    int rc = 0;
    for (int i = 0; i < nid && !rc; i++)
        for (int j = 0; j < k && !rc; j++) {
            long idx = j % FS_MAX(1, fs_loader_epoch_length(L));
            if ((rc = fs_loader_sample(L, i, idx, face, e))) break;
            blit(grid, gw, face, s, i * k + j, 0, gap);
            for (int d = 0; d < nid; d++) {
                fs_swap_faces(m, face, 1, d, out);
                blit(grid, gw, out, s, i * k + j, 1 + d, gap);
            }
        }
    if (!rc) {
        char stepv[32], layout[256];
        snprintf(stepv, sizeof stepv, "%ld", step);
        snprintf(layout, sizeof layout, "rows: %d faces of each identity in order %s...; columns: original, then "
                 "decoder of each identity (own = reconstruction, others = swap)", k, c->model.identities[0]);
        const char *text[] = {"Title", "faceswarm training preview", "Software", "faceswarm " FS_VERSION,
                              "Disclaimer", FS_SYNTHETIC_NOTICE, "faceswarm:synthetic", "true",
                              "faceswarm:run", c->run.dir, "faceswarm:step", stepv, "Comment", layout,
                              "faceswarm:consent", fs_consent_label(c->data.require_consent, 1), NULL};
        rc = fs_png_write(path, grid, gw, gh, text, e);
    }
    free(face);
    free(out);
    free(grid);
    return rc;
}
