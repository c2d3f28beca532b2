/* main.c — the faceswarm binary: one program, subcommands dispatched from one table. The
 * table names the functions themselves (declared in trainer/cli.h, data/cli.h, comms/cli.h),
 * so the linker pulls each subcommand out of the library that defines it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/cpu/cpu.h"
#include "trainer/cli.h"
#include "core/common.h"

typedef int (*cmd_fn)(int, char **);
typedef struct command {
    const char *name;
    cmd_fn fn;
    const char *help;
} command;

static int cmd_bench(int argc, char **argv);

static const command commands[] = {
    {"train", cmd_train, "train a face-swap model (single process, or one rank of mpirun/srun)"},
    {"model", cmd_model, "print a config's layer table and parameter count"},
    {"data", cmd_data, "make, import, inspect and verify HDF5 face datasets"},
    {"extract", cmd_extract, "find, align and store the faces of videos and images (dlib, FFmpeg; several ranks)"},
    {"checkpoint", cmd_checkpoint, "inspect or verify a checkpoint, or diff two"},
    {"swap", cmd_swap, "swap faces with a trained checkpoint (output labelled synthetic)"},
    {"convert", cmd_convert, "swap the faces of a video and encode it again (labelled, watermarked; several ranks)"},
    {"coordinator", cmd_coordinator, "run the job coordinator daemon (ZeroMQ)"},
    {"status", cmd_status, "show a running job: ranks, steps, checkpoints, warnings"},
    {"keys", cmd_keys, "generate CURVE keys for a job's coordinator"},
    {"submit", cmd_submit, "submit a training job to Slurm"},
    {"detect", cmd_detect, "look for faceswarm's labels and watermark in images (PNG, JPEG) and videos"},
    {"bench", cmd_bench, "benchmarks: kernels, loader, extract, convert, train, allreduce, coordinator, watermark"},
};

static const command benches[] = {
    {"kernels", bench_kernels, "forward+backward GFLOP/s of every conv/dense shape vs measured peak"},
    {"loader", bench_loader, "faces/s read+augmented vs raw HDF5 read rate"},
    {"extract", bench_extract, "extract's frames/s and its split: decode, detect, landmarks, align, write"},
    {"convert", bench_convert, "convert's frames/s and its split: decode, detect, align, model, blend, encode"},
    {"train", bench_train, "images/s and the split of step time"},
    {"allreduce", bench_allreduce, "all-reduce time, algbw, busbw (nccl-tests style)"},
    {"coordinator", bench_coordinator, "coordinator messages/s and heartbeat round trip"},
    {"watermark", bench_watermark, "watermark detection rate after JPEG/resize/H.264, false positives, PSNR"},
};

static void usage(FILE *f, const command *table, size_t n, const char *prefix) {
    fprintf(f, "usage: %s <command> [options]   (%s <command> --help for its options)\n", prefix, prefix);
    if (!strcmp(prefix, "faceswarm"))
        fprintf(f, "global options (before the command): -v, --verbose = --log-level debug; --log-level "
                   "debug|info|warning|error\n  (or FACESWARM_LOG=LEVEL); debug also prints where each error "
                   "was raised\n");
    fprintf(f, "\ncommands:\n");
    for (size_t i = 0; i < n; i++) fprintf(f, "  %-12s %s\n", table[i].name, table[i].help);
}

static int dispatch(const command *table, size_t n, const char *prefix, int argc, char **argv) {
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
        usage(argc < 1 ? stderr : stdout, table, n, prefix);
        return argc < 1 ? FS_EXIT_BADINPUT : FS_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[0], table[i].name) != 0) continue;
        return table[i].fn(argc, argv);
    }
    const char *best = NULL;
    int bestd = 3;
    for (size_t i = 0; i < n; i++) {
        int d = fs_edit_distance(argv[0], table[i].name);
        if (d < bestd) bestd = d, best = table[i].name;
    }
    fprintf(stderr, "error: unknown command '%s %s'\n", prefix, argv[0]);
    if (best) fprintf(stderr, "  hint: did you mean '%s %s'?\n", prefix, best);
    else fprintf(stderr, "  hint: '%s --help' lists the commands\n", prefix);
    return FS_EXIT_BADINPUT;
}

static int cmd_bench(int argc, char **argv) {
    return dispatch(benches, FS_ARRAY_LEN(benches), "faceswarm bench", argc - 1, argv + 1);
}

/* OpenBLAS chooses its kernels once, when it is loaded: on a CPU newer than the library it
 * falls back to generic ones several times slower. Start again, once, with the right
 * OPENBLAS_CORETYPE (same pid, so this is safe under mpirun and srun). A user's own
 * OPENBLAS_CORETYPE is always respected. */
static void ensure_fast_blas(char **argv) {
    if (getenv("OPENBLAS_CORETYPE") || getenv("FACESWARM_BLAS_CHECKED")) return;
    const char *better = fs_cpu_blas_better_core();
    setenv("FACESWARM_BLAS_CHECKED", "1", 1);
    if (!better) return;
    setenv("OPENBLAS_CORETYPE", better, 1);
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* exec failed: go on with the slow kernels (the backend warns) */
}

/* Options before the command: -v / --verbose (= debug) and --log-level LEVEL, which win over
 * FACESWARM_LOG. Returns how many arguments they took, or -1 after an error. */
static int global_options(int argc, char **argv) {
    if (fs_log_init_from_env() != 0) return -1;
    int i = 1;
    for (; i < argc; i++) {
        const char *level = NULL;
        if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) level = "debug";
        else if (!strncmp(argv[i], "--log-level=", 12)) level = argv[i] + 12;
        else if (!strcmp(argv[i], "--log-level") && i + 1 < argc) level = argv[++i];
        else if (!strcmp(argv[i], "--log-level")) level = "";
        else break;
        int lvl = fs_log_parse_level(level);
        if (lvl < 0) {
            fprintf(stderr,
                    "error: --log-level '%s': unknown level; expected debug, info, warning or error\n"
                    "  hint: faceswarm --log-level debug train ... (or -v) also prints where an error "
                    "was raised\n",
                    level);
            return -1;
        }
        fs_log_set_level((fs_log_level)lvl);
    }
    return i - 1;
}

int main(int argc, char **argv) {
    ensure_fast_blas(argv);
    int skip = global_options(argc, argv);
    if (skip < 0) return FS_EXIT_BADINPUT;
    argc -= skip, argv += skip; /* argv[0] stays the program's slot for the commands' getopt */
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
        printf("faceswarm %s (commit %s)\n", FS_VERSION, fs_git_commit());
        return FS_EXIT_OK;
    }
    return dispatch(commands, FS_ARRAY_LEN(commands), "faceswarm", argc - 1, argv + 1);
}
