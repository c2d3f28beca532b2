/* train_cmd.c — command line of `faceswarm train`. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/cli.h"
#include "trainer/train.h"

static void train_usage(FILE *f) {
    fprintf(f, "usage: faceswarm train CONFIG [options]\n"
               "       mpirun -np P faceswarm train CONFIG ...   (or srun --mpi=pmix ... under Slurm)\n\n"
               "Trains the face-swap autoencoder described by CONFIG (YAML). One rank per process; the\n"
               "global batch (train.batch_per_identity) is split over the ranks.\n\n"
               "options:\n"
               "  -s, --set KEY=VALUE   override a config key (repeatable), e.g. --set train.steps=500;\n"
               "                        VALUE is YAML as in the file, except that a string not starting\n"
               "                        with a quote is taken as it is (spaces, ':' and '#' included);\n"
               "                        a quoted one is YAML's: run.dir='\"a b\"' is a b, key='\"\"' empty\n"
               "      --steps N         train until step N (same as --set train.steps=N)\n"
               "      --resume WHAT     auto: newest checkpoint of run.dir that verifies (fresh start if\n"
               "                        none); PATH: that checkpoint; none: start from scratch (default)\n"
               "      --print-config    print the effective config (every key) and exit\n"
               "      --help-config     list every config key with its type, default and bounds\n"
               "  -h, --help            this help\n\n"
               "Signals: SIGINT, SIGTERM or SIGUSR1 finish the current step, write a checkpoint and exit\n"
               "with status 3 (Slurm's job script requeues on it). Exit status: 0 done, 1 failure,\n"
               "2 bad input, 3 stopped by a signal after a checkpoint. Under mpirun, Ctrl-C is mpirun's own:\n"
               "it terminates the ranks (SIGKILL a second later) and exits 1; send SIGUSR1 to mpirun instead\n"
               "(kill -USR1 PID), which it forwards, to stop after a checkpoint with status 3.\n"
               "Run directory (run.dir; one run at a time, locked by run.lock):\n"
               "  config.yaml     the effective config\n"
               "  metrics.jsonl   one JSON line per logged step\n"
               "  checkpoints/    ckpt-<step>.h5, the newest checkpoint.keep of them\n"
               "  previews/       preview-<step>.png and latest.png\n"
               "  coordinator/    the coordinator's log, registry, every rank's metrics, status\n"
               "  tensorboard/    TensorBoard event files (tensorboard --logdir RUN/tensorboard)\n");
}

int cmd_train(int argc, char **argv) {
    static const struct option opts[] = {
        {"set", required_argument, 0, 's'},
        {"steps", required_argument, 0, 'n'},
        {"resume", required_argument, 0, 'r'},
        {"print-config", no_argument, 0, 'p'},
        {"help-config", no_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    fs_train_args a = {0};
    a.sets = calloc((size_t)argc + 1, sizeof(char *));
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': a.sets[a.n_sets++] = optarg; break;
        case 'n': {
            fs_error e = {0};
            if (fs_parse_long("--steps", optarg, 1, 1000000000000L, &a.steps, &e)) {
                fprintf(stderr, "error: faceswarm train: %s\n", e.msg);
                return FS_EXIT_BADINPUT;
            }
            break;
        }
        case 'r': a.resume = optarg; break;
        case 'p': a.print_config = 1; break;
        case 'k': fs_config_print_keys(stdout); return FS_EXIT_OK;
        case 'h': train_usage(stdout); return FS_EXIT_OK;
        default: train_usage(stderr); return FS_EXIT_BADINPUT;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr,
                "error: faceswarm train takes one CONFIG file (got %d)\n  hint: faceswarm train "
                "configs/quickstart.yaml\n",
                argc - optind);
        return FS_EXIT_BADINPUT;
    }
    a.config_path = argv[optind];
    if (a.resume && strcmp(a.resume, "auto") && strcmp(a.resume, "none") && !fs_exists(a.resume)) {
        fprintf(stderr,
                "error: --resume '%s': no such checkpoint file\n  hint: --resume auto picks the newest "
                "checkpoint of run.dir\n",
                a.resume);
        return FS_EXIT_BADINPUT;
    }
    if (a.resume && strcmp(a.resume, "auto") && strcmp(a.resume, "none") && fs_is_dir(a.resume)) {
        fprintf(stderr,
                "error: --resume '%s': is a directory; expected a checkpoint file\n  hint: name one "
                "file (RUN/checkpoints/ckpt-<step>.h5), or --resume auto with run.dir = the run\n",
                a.resume);
        return FS_EXIT_BADINPUT;
    }
    int rc = fs_train_main(&a, &argc, &argv);
    free(a.sets);
    return rc;
}
