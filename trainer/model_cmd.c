/* model_cmd.c — `faceswarm model CONFIG [--batch N] [--device cpu|cuda] [--json] [--set ...]`:
 * the graph of a config's model (node, kind, inputs, output shape, parameters), the parameter
 * totals, the forward GFLOP per image and the memory a training rank allocates
 * (trainer/memory.h). Needs no data and no device. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/parse.h"
#include "trainer/cli.h"
#include "trainer/config.h"
#include "trainer/memory.h"
#include "trainer/model.h"

#define MAX_SETS 256

typedef struct model_args {
    const char *config;
    const char *sets[MAX_SETS];
    int n_sets;
    int help, help_config;
    int json;
    long batch;         /* --batch: samples per identity per rank, 0 = the config's */
    const char *device; /* --device, NULL = train.device */
} model_args;

static void usage(FILE *f) {
    fprintf(f, "usage: faceswarm model CONFIG [--batch N] [--device cpu|cuda] [--json] [--set section.key=value]...\n"
               "       faceswarm model --help-config\n\n"
               "Prints the graph of CONFIG's model (node, kind, input nodes, output shape HxWxC,\n"
               "parameters; =N: shares node N's), the parameters of each part (encoder, decoders...),\n"
               "the total, the forward GFLOP per image (identity 0's path: encoder + one decoder), and\n"
               "the memory one training rank allocates: parameters, gradients, optimizer state,\n"
               "activations kept for the backward pass at N samples per identity for every identity,\n"
               "their gradients, step and loss buffers, the largest workspace, the loader's buffers,\n"
               "the all-reduce buckets and the total. `faceswarm train` checks the same total against\n"
               "the memory available before it allocates.\n\n"
               "options:\n"
               "  -b, --batch N        samples per identity on one rank (default train.batch_per_identity)\n"
               "  -d, --device D       cpu | cuda: host or device memory (default train.device)\n"
               "      --json           only the memory estimate, as one JSON object (bytes)\n"
               "  -s, --set KEY=VALUE  override a config key (same checks as the file); repeatable;\n"
               "                       a string not starting with a quote is taken as it is, a quoted one\n"
               "                       is a YAML quoted scalar (\"a b\" is a b, \"\" the empty string)\n"
               "      --help-config    list every config key with its type, default and bounds\n"
               "  -h, --help           this text\n\n"
               "Testing aid: FACESWARM_TEST_MEM_AVAILABLE=BYTES makes `faceswarm train` take BYTES per\n"
               "rank as the memory available (instead of MemAvailable / the cgroup limit / the GPU's).\n");
}

static int parse_args(int argc, char **argv, model_args *a) {
    static const struct option opts[] = {{"set", required_argument, NULL, 's'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"device", required_argument, NULL, 'd'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"help-config", no_argument, NULL, 'K'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "s:b:d:h", opts, NULL)) != -1) {
        fs_error e = {0};
        if (ch == 'h') a->help = 1;
        else if (ch == 'K') a->help_config = 1;
        else if (ch == 'J') a->json = 1;
        else if (ch == 'b' && fs_parse_long("--batch", optarg, 1, 65536, &a->batch, &e))
            return fprintf(stderr, "error: %s\n", e.msg), -1;
        else if (ch == 'd' && strcmp(optarg, "cpu") && strcmp(optarg, "cuda"))
            return fprintf(stderr,
                           "error: --device %s: expected cpu or cuda\n  hint: cpu estimates host memory, cuda a "
                           "GPU's (the default is the config's train.device)\n",
                           optarg),
                   -1;
        else if (ch == 'd') a->device = optarg;
        else if (ch == 'b') continue;
        else if (ch == 's' && a->n_sets < MAX_SETS) a->sets[a->n_sets++] = optarg;
        else if (ch == 's') return fprintf(stderr, "error: more than %d --set options\n", MAX_SETS), -1;
        else return -1;
    }
    if (a->help || a->help_config) return 0;
    if (optind != argc - 1) {
        fprintf(stderr,
                "error: faceswarm model takes exactly one CONFIG file, got %d arguments\n"
                "  hint: faceswarm model configs/original-64.yaml\n",
                argc - optind);
        return -1;
    }
    a->config = argv[optind];
    return 0;
}

static int load_config(const model_args *a, fs_config *c, fs_error *e) {
    if (fs_config_load(c, a->config, e)) return e->code;
    for (int i = 0; i < a->n_sets; i++)
        if (fs_config_set(c, a->sets[i], e)) return e->code;
    if (a->device) snprintf(c->train.device, sizeof c->train.device, "%s", a->device);
    return fs_config_validate(c, e);
}

/* The CPU threads a rank of a one-rank run would use: train.threads, else the online cores. */
static int estimate_threads(const fs_config *c) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return c->train.threads > 0 ? c->train.threads : n > 0 ? (int)n : 1;
}

int cmd_model(int argc, char **argv) {
    model_args a = {0};
    if (parse_args(argc, argv, &a)) {
        usage(stderr);
        return FS_EXIT_BADINPUT;
    }
    if (a.help) return usage(stdout), FS_EXIT_OK;
    if (a.help_config) return fs_config_print_keys(stdout), FS_EXIT_OK;
    fs_config c;
    fs_model m;
    fs_error e = {0};
    if (load_config(&a, &c, &e) || fs_model_build(&m, &c, &e)) {
        fprintf(stderr, "error: %s\n", e.msg);
        return e.code ? e.code : FS_EXIT_BADINPUT;
    }
    fs_mem_estimate est;
    int batch = a.batch > 0 ? (int)a.batch : c.train.batch_per_identity;
    fs_mem_estimate_at(&m, &c, batch, 1, estimate_threads(&c), &est);
    if (a.json) {
        fs_mem_print_json(&est, stdout);
        fs_model_free(&m);
        return FS_EXIT_OK;
    }
    printf("# faceswarm %s model of %s: %d px, %d identities\n", FS_VERSION, a.config, m.resolution, m.n_decoders);
    fs_model_print(&m, stdout);
    printf("forward GFLOP per image (encoder + one decoder): %.3f\n", fs_model_forward_flops(&m) / 1e9);
    fs_mem_print(&est, &m, &c, stdout);
    fs_model_free(&m);
    return FS_EXIT_OK;
}
