/* swap.c — `faceswarm swap`: faces through the shared encoder and another identity's
 * decoder, written as PNGs that say they are synthetic media. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "data/xmp.h"
#include "data/dataset.h"
#include "data/image.h"
#include "trainer/checkpoint.h"
#include "trainer/cli.h"
#include "trainer/preview.h"

static void swap_usage(FILE *f) {
    fprintf(f, "usage: faceswarm swap --checkpoint CKPT --to IDENTITY -o OUTDIR [--count N] INPUT...\n\n"
               "INPUT: a face dataset (.h5, its first --count faces, default and 0: all) or aligned face images\n"
               "(PNG/JPEG) of the model's resolution. Each face goes through the shared encoder and\n"
               "IDENTITY's decoder; OUTDIR/swap-NNNNNN.png is written for each, with PNG text chunks\n"
               "that label it synthetic media and name the checkpoint.\n");
}

typedef struct swap_job {
    fs_model model;
    fs_config cfg;
    int to;
    const char *ckpt, *outdir;
    long written, count_limit;
    int ckpt_version; /* format of the checkpoint (v1 runs never checked consent) */
    char params_sum[17]; /* the checkpoint's params checksum (hex), for the labels */
    char consent[FS_MAX_IDENTITIES][256]; /* each identity's consent reference from the checkpoint's chain */
} swap_job;

static int load_model(swap_job *j, fs_error *e) {
    fs_ckpt_meta m;
    int rc = fs_ckpt_read(j->ckpt, 0, &m, NULL, NULL, NULL, NULL, e);
    if (rc) return rc;
    float *params = fs_malloc(sizeof(float) * (size_t)m.n_params);
    fs_ckpt_meta_free(&m);
    fs_ckpt_sums sums;
    rc = fs_ckpt_read(j->ckpt, m.n_params, &m, params, NULL, NULL, &sums, e);
    if (!rc) j->ckpt_version = m.version, snprintf(j->params_sum, sizeof j->params_sum, "%s", sums.params);
    if (!rc) rc = fs_config_load_string(&j->cfg, m.config_text, j->ckpt, e);
    for (int i = 0; !rc && i < j->cfg.model.n_identities; i++)
        fs_ckpt_consent_of(m.consent_text, j->cfg.model.identities[i], j->consent[i], sizeof j->consent[i]);
    if (!rc) rc = fs_model_build(&j->model, &j->cfg, e);
    if (!rc && (long)j->model.n_params != m.n_params)
        rc = fs_errorf(e, FS_EXIT_BADINPUT, "%s: its config builds %zu parameters, the file holds %ld", j->ckpt,
                       j->model.n_params, m.n_params);
    if (!rc) {
        fs_model_alloc(&j->model, fs_backend_cpu(), 1);
        j->model.be->upload(j->model.params, params, sizeof(float) * j->model.n_params);
    }
    if (m.config_text) fs_ckpt_meta_free(&m);
    free(params);
    return rc;
}

static int write_face(swap_job *j, const uint8_t *face, fs_error *e) {
    int s = j->model.resolution;
    uint8_t *out = fs_malloc((size_t)s * s * 3);
    fs_swap_faces_masked(&j->model, face, 1, j->to, 1, out, NULL); /* blended through a learned mask */
    char path[FS_PATH_LEN + 64];
    snprintf(path, sizeof path, "%s/swap-%06ld.png", j->outdir, j->written);
    const char *text[] = {"Title", "faceswarm face swap", "Software", "faceswarm " FS_VERSION, "Disclaimer",
                          FS_SYNTHETIC_NOTICE, "faceswarm:synthetic", "true", "faceswarm:checkpoint", j->ckpt,
                          "faceswarm:to", j->cfg.model.identities[j->to], "faceswarm:consent",
                          fs_consent_label(j->cfg.data.require_consent, j->ckpt_version >= 2), NULL};
    /* The whole face is generated: labelled so and watermarked, with each identity's consent
     * reference from the checkpoint's consent chain (older checkpoints: what training checked). */
    fs_provenance p = {.source_type = FS_IPTC_TRAINED, .run = j->cfg.run.dir, .checkpoint = j->ckpt,
                       .checkpoint_checksum = j->params_sum, .n_identities = j->cfg.model.n_identities,
                       .watermark = 1};
    for (int i = 0; i < p.n_identities && i < FS_XMP_MAX_IDS; i++) {
        p.identity[i] = j->cfg.model.identities[i];
        p.consent[i] = j->consent[i][0] ? j->consent[i] /* the chain: the dataset's reference */
                                        : fs_consent_label(j->cfg.data.require_consent, j->ckpt_version >= 2);
    }
    int rc = fs_png_write_labelled(path, out, s, s, text, &p, e);
    free(out);
    if (!rc) j->written++;
    return rc;
}

static int swap_h5(swap_job *j, const char *path, fs_error *e) {
    fs_faces *f;
    int rc = fs_faces_open(&f, path, NULL, e);
    if (rc) return rc;
    int s = fs_faces_size(f);
    long n = fs_faces_count(f);
    if (j->count_limit > 0 && n > j->count_limit) n = j->count_limit;
    if (s != j->model.resolution)
        rc = fs_errorf(e, FS_EXIT_BADINPUT, "%s: faces are %d px, the model takes %d px", path, s, j->model.resolution);
    uint8_t *face = fs_malloc((size_t)s * s * 3);
    for (long i = 0; i < n && !rc; i++) {
        rc = fs_faces_read(f, i, 1, face, e);
        if (!rc) rc = write_face(j, face, e);
    }
    free(face);
    fs_faces_close(f);
    return rc;
}

static int swap_image(swap_job *j, const char *path, fs_error *e) {
    uint8_t *rgb;
    int w, h, s = j->model.resolution;
    int rc = fs_image_read(path, &rgb, &w, &h, e);
    if (rc) return rc;
    uint8_t *face = rgb;
    if (w != s || h != s) {
        face = fs_malloc((size_t)s * s * 3);
        fs_image_resize(rgb, w, h, face, s, s);
    }
    rc = write_face(j, face, e);
    if (face != rgb) free(face);
    free(rgb);
    return rc;
}

static int find_identity(const fs_config *c, const char *name) {
    for (int i = 0; i < c->model.n_identities; i++)
        if (!strcmp(c->model.identities[i], name)) return i;
    return -1;
}

int cmd_swap(int argc, char **argv) {
    static const struct option opts[] = {{"checkpoint", required_argument, 0, 'c'}, {"to", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},        {"count", required_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    static swap_job j;
    const char *to = NULL;
    int c, rc = 0;
    fs_error e = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:o:n:h", opts, NULL)) != -1) {
        if (c == 'c') j.ckpt = optarg;
        else if (c == 't') to = optarg;
        else if (c == 'o') j.outdir = optarg;
        else if (c == 'n' && (rc = fs_parse_long("--count", optarg, 0, 1000000000, &j.count_limit, &e)))
            return fprintf(stderr, "error: faceswarm swap: %s\n", e.msg), rc;
        else if (c == 'h') return swap_usage(stdout), FS_EXIT_OK;
        else if (c != 'n') return swap_usage(stderr), FS_EXIT_BADINPUT;
    }
    if (!j.ckpt || !to || !j.outdir || optind >= argc) return swap_usage(stderr), FS_EXIT_BADINPUT;
    rc = load_model(&j, &e);
    if (!rc && (j.to = find_identity(&j.cfg, to)) < 0)
        rc = fs_errorf(&e, FS_EXIT_BADINPUT, "--to '%s': the checkpoint's model has no such identity\n  hint: "
                       "faceswarm checkpoint inspect %s lists model.identities", to, j.ckpt);
    if (!rc) rc = fs_mkdir_p(j.outdir, &e);
    for (int i = optind; i < argc && !rc; i++) {
        size_t len = strlen(argv[i]);
        rc = len > 3 && !strcmp(argv[i] + len - 3, ".h5") ? swap_h5(&j, argv[i], &e) : swap_image(&j, argv[i], &e);
    }
    if (rc) {
        fprintf(stderr, "error: %s\n", e.msg);
        return rc;
    }
    printf("wrote %ld swapped face(s) to %s (labelled synthetic media)\n", j.written, j.outdir);
    return FS_EXIT_OK;
}
