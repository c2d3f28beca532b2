/* checkpoint_cmd.c — `faceswarm checkpoint inspect|verify FILE`, `checkpoint diff A B`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/checkpoint.h"
#include "trainer/cli.h"

static void ckpt_usage(FILE *f) {
    fprintf(f, "usage: faceswarm checkpoint inspect FILE   step, epoch, config summary and checksums\n"
               "       faceswarm checkpoint verify FILE    re-read every dataset and check every checksum;\n"
               "                                           exit 0 if whole, 2 on any mismatch\n"
               "       faceswarm checkpoint diff A B       how far apart two checkpoints' parameters are:\n"
               "                                           max |a-b|, relative L2 distance |a-b|/|a|\n"
               "  The format and its checksums: docs/checkpoint.md.\n");
}

/* `checkpoint SUB --help`: what SUB does, its arguments and its exit status. */
static int sub_help(const char *sub) {
    if (!strcmp(sub, "inspect"))
        printf("usage: faceswarm checkpoint inspect FILE\n"
               "  Verifies FILE like verify, then prints its step, epoch, seed, world size, global batch,\n"
               "  parameter count, model hash, creation time, restarts, skipped non-finite steps, the model\n"
               "  section of the config it was trained with and every checksum (datasets and metadata).\n"
               "  Exit 0; 2 when FILE is missing, damaged or not a faceswarm checkpoint.\n");
    else if (!strcmp(sub, "verify"))
        printf("usage: faceswarm checkpoint verify FILE\n"
               "  Re-reads /params, /adam_m, /adam_v, /config and /model and checks each against its\n"
               "  checksum, and checks the metadata checksum that covers every attribute (step, epoch,\n"
               "  seed, world size, global batch, ...) and every dataset's shape and checksum.\n"
               "  A format v1 checkpoint (older faceswarm) has no metadata checksum: it is checked by the\n"
               "  v1 rule, with a notice. Exit 0 if whole, 2 on any mismatch or damage.\n");
    else
        printf("usage: faceswarm checkpoint diff A B\n"
               "  Verifies both checkpoints, then prints how many parameters differ, max |a-b| and the\n"
               "  relative L2 distance |a-b|/|a|. Exit 0; 2 when either does not verify or the models differ.\n");
    return FS_EXIT_OK;
}

static int is_help(const char *arg) { return !strcmp(arg, "--help") || !strcmp(arg, "-h"); }

/* A command line that names no known subcommand, or the wrong number of files: what was wrong,
 * and how it is written. */
static int bad_usage(int argc, char **argv, int known) {
    if (argc < 2) fprintf(stderr, "error: faceswarm checkpoint: expected a subcommand (inspect, verify or diff)\n");
    else if (!known)
        fprintf(stderr, "error: faceswarm checkpoint: unknown subcommand '%s'; expected inspect, verify or diff\n",
                argv[1]);
    else
        fprintf(stderr, "error: faceswarm checkpoint %s takes %s (got %d argument(s))\n", argv[1],
                strcmp(argv[1], "diff") ? "one FILE" : "two checkpoints A B", argc - 2);
    fprintf(stderr, "  hint: faceswarm checkpoint verify RUN/checkpoints/ckpt-<step>.h5; "
                    "faceswarm checkpoint --help lists the subcommands\n");
    return FS_EXIT_BADINPUT;
}

/* The model section of the saved config: the lines under "model:". */
static void print_model_section(const char *cfg) {
    const char *p = strstr(cfg, "model:");
    if (!p) return;
    printf("config (model section):\n");
    for (const char *line = p; *line;) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        if (line != p && len > 0 && line[0] != ' ' && line[0] != '#') break;
        printf("  %.*s\n", len, line);
        line = nl ? nl + 1 : line + len;
    }
}

/* The consent chain (checkpoint.h), one identity a line: what training was given. */
static void print_consent(const fs_ckpt_meta *m) {
    if (!m->consent_text || !m->consent_text[0]) {
        printf("consent     not recorded (a checkpoint written before consent chains)\n");
        return;
    }
    printf("consent chain (covered by the metadata checksum):\n");
    for (const char *p = m->consent_text; *p;) {
        int len = (int)strcspn(p, "\n");
        printf("  ");
        for (int k = 0; k < len; k++) putchar(p[k] == '\t' ? ' ' : (unsigned char)p[k] < 32 ? '?' : p[k]);
        putchar('\n');
        p += len + (p[len] == '\n');
    }
}

static void inspect(const char *path, const fs_ckpt_meta *m, const fs_ckpt_sums *s) {
    char hash[17];
    fs_checksum_hex(m->model_hash, hash);
    printf("checkpoint  %s\n", path);
    printf("step        %ld\nepoch       %ld\nseed        %llu\n", m->step, m->epoch, (unsigned long long)m->seed);
    printf("world size  %d (global batch %d per identity)\n", m->world_size, m->global_batch);
    printf("parameters  %ld\nmodel hash  %s\ncreated     %s\n", m->n_params, hash, m->created);
    printf("restarts    %ld\nnon-finite steps skipped  %ld\n", m->restart_count, m->nonfinite_skipped);
    printf("kernels     %s\n", m->kernels[0] ? m->kernels : "(not recorded: written before faceswarm recorded them)");
    print_model_section(m->config_text);
    printf("format      %s v%d\n", FS_CKPT_FORMAT, m->version);
    print_consent(m);
    printf("seal        %s\n", s->seal[0] ? s->seal : "none (written before faceswarm sealed its checkpoints)");
    printf("checksums (verified):\n");
    printf("  params  %s\n  adam_m  %s\n  adam_v  %s\n  config  %s\n", s->params, s->adam_m, s->adam_v, s->config);
    if (m->version >= 2) printf("  model   %s\n  meta    %s\n", s->model, s->meta);
}

/* Loads a checkpoint's parameters (verified); *n receives their count. */
static float *load_params(const char *path, long *n, fs_error *e) {
    fs_ckpt_meta m;
    if (fs_ckpt_read(path, 0, &m, NULL, NULL, NULL, NULL, e)) return NULL;
    fs_ckpt_meta_free(&m);
    float *p = fs_malloc(sizeof(float) * (size_t)m.n_params);
    if (fs_ckpt_read(path, m.n_params, &m, p, NULL, NULL, NULL, e)) {
        free(p);
        return NULL;
    }
    fs_ckpt_meta_free(&m);
    *n = m.n_params;
    return p;
}

static int diff(const char *a, const char *b) {
    fs_error e = {0};
    long na = 0, nb = 0;
    float *pa = load_params(a, &na, &e), *pb = pa ? load_params(b, &nb, &e) : NULL;
    int rc = FS_EXIT_OK;
    if (!pa || !pb) {
        fprintf(stderr, "error: %s\n", e.msg);
        rc = FS_EXIT_BADINPUT;
    } else if (na != nb) {
        fprintf(stderr,
                "error: %s has %ld parameters, %s has %ld: different models\n  hint: diff compares "
                "checkpoints of one model (faceswarm checkpoint inspect prints each one's model section)\n",
                a, na, b, nb);
        rc = FS_EXIT_BADINPUT;
    } else {
        double maxd = 0, d2 = 0, a2 = 0;
        long differ = 0;
        for (long i = 0; i < na; i++) {
            double d = fabs((double)pa[i] - (double)pb[i]);
            maxd = d > maxd ? d : maxd;
            d2 += d * d, a2 += (double)pa[i] * pa[i];
            differ += pa[i] != pb[i];
        }
        printf("parameters      %ld\ndiffering       %ld\nmax_abs_diff    %.6g\nrel_l2_diff     %.6g\n", na, differ,
               maxd, a2 > 0 ? sqrt(d2 / a2) : sqrt(d2));
    }
    free(pa);
    free(pb);
    return rc;
}

int cmd_checkpoint(int argc, char **argv) {
    int known = argc >= 2 && (!strcmp(argv[1], "inspect") || !strcmp(argv[1], "verify") || !strcmp(argv[1], "diff"));
    for (int i = 2; known && i < argc; i++)
        if (is_help(argv[i])) return sub_help(argv[1]);
    if (argc == 4 && !strcmp(argv[1], "diff")) return diff(argv[2], argv[3]);
    if (argc >= 2 && is_help(argv[1])) {
        ckpt_usage(stdout);
        return FS_EXIT_OK;
    }
    if (argc != 3 || !known || !strcmp(argv[1], "diff")) return bad_usage(argc, argv, known);
    fs_ckpt_meta m;
    fs_ckpt_sums s;
    fs_error e = {0};
    int rc = fs_ckpt_read(argv[2], 0, &m, NULL, NULL, NULL, &s, &e);
    if (rc) {
        fprintf(stderr, "error: %s\n", e.msg);
        return rc == FS_EXIT_FAIL ? FS_EXIT_FAIL : FS_EXIT_BADINPUT;
    }
    if (fs_ckpt_notice(&m)) fprintf(stderr, "notice: %s: %s\n", argv[2], fs_ckpt_notice(&m));
    if (!strcmp(argv[1], "inspect")) inspect(argv[2], &m, &s);
    else
        printf("%s: OK (step %ld, %ld parameters, every checksum matches%s%s)\n", argv[2], m.step, m.n_params,
               m.version < 2 ? "; format v1: datasets only" : "", s.seal[0] ? "; the seal holds" : "; not sealed");
    fs_ckpt_meta_free(&m);
    return FS_EXIT_OK;
}
