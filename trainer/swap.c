/* swap.c — `faceswarm swap`: faces through the shared encoder and another identity's
 * decoder, written as PNGs that say they are synthetic media. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "data/xmp.h"
#include "data/dataset.h"
#include "data/image.h"
#include "trainer/cli.h"
#include "trainer/infer.h"
#include "trainer/preview.h"

static void swap_usage(FILE *f) {
    fprintf(f, "usage: faceswarm swap --checkpoint CKPT --to IDENTITY -o OUTDIR [--count N] INPUT...\n\n"
               "INPUT: a face dataset (.h5, its first --count faces, default and 0: all) or aligned face images\n"
               "(PNG/JPEG) of the model's resolution. Each face goes through the shared encoder and\n"
               "IDENTITY's decoder; OUTDIR/swap-NNNNNN.png is written for each, with PNG text chunks\n"
               "that label it synthetic media and name the checkpoint.\n");
}

typedef struct swap_job {
    fs_infer m;
    int to;
    const char *outdir;
    long written, count_limit;
} swap_job;

static int write_face(swap_job *j, const uint8_t *face, fs_error *e) {
    int s = j->m.model.resolution;
    uint8_t *out = fs_malloc((size_t)s * s * 3);
    fs_swap_faces_masked(&j->m.model, face, 1, j->to, 1, out, NULL); /* blended through a learned mask */
    char path[FS_PATH_LEN + 64];
    snprintf(path, sizeof path, "%s/swap-%06ld.png", j->outdir, j->written);
    const char *text[] = {"Title",
                          "faceswarm face swap",
                          "Software",
                          "faceswarm " FS_VERSION,
                          "Disclaimer",
                          FS_SYNTHETIC_NOTICE,
                          "faceswarm:synthetic",
                          "true",
                          "faceswarm:checkpoint",
                          j->m.ckpt,
                          "faceswarm:to",
                          j->m.cfg.model.identities[j->to],
                          "faceswarm:consent",
                          fs_infer_consent_label(&j->m),
                          NULL};
    /* The whole face is generated: labelled so and watermarked, with each identity's consent
     * reference from the checkpoint's consent chain (older checkpoints: what training checked). */
    fs_provenance p = {.source_type = FS_IPTC_TRAINED, .watermark = 1};
    fs_infer_provenance(&j->m, &p);
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
    if (s != j->m.model.resolution)
        rc = fs_errorf(e, FS_EXIT_BADINPUT, "%s: faces are %d px, the model takes %d px", path, s,
                       j->m.model.resolution);
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
    int w, h, s = j->m.model.resolution;
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

int cmd_swap(int argc, char **argv) {
    static const struct option opts[] = {{"checkpoint", required_argument, 0, 'c'},
                                         {"to", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         {"count", required_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    static swap_job j;
    const char *to = NULL, *ckpt = NULL;
    int c, rc = 0;
    fs_error e = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:o:n:h", opts, NULL)) != -1) {
        if (c == 'c') ckpt = optarg;
        else if (c == 't') to = optarg;
        else if (c == 'o') j.outdir = optarg;
        else if (c == 'n' && (rc = fs_parse_long("--count", optarg, 0, 1000000000, &j.count_limit, &e)))
            return fprintf(stderr, "error: faceswarm swap: %s\n", e.msg), rc;
        else if (c == 'h') return swap_usage(stdout), FS_EXIT_OK;
        else if (c != 'n') return swap_usage(stderr), FS_EXIT_BADINPUT;
    }
    if (!ckpt || !to || !j.outdir || optind >= argc) return swap_usage(stderr), FS_EXIT_BADINPUT;
    rc = fs_infer_load(&j.m, ckpt, &e);
    if (!rc && (j.to = fs_infer_identity(&j.m, "--to", to, &e)) < 0) rc = FS_EXIT_BADINPUT;
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
