/* cli.h — the faceswarm subcommands. Each lives in the folder of its concern and takes
 * (argc, argv) with argv[0] = the subcommand's name; it returns an FS_EXIT_* code.
 * Subcommands parse their options with getopt_long and answer --help. Each library declares
 * its own in its cli.h (data/cli.h, comms/cli.h); this header adds the trainer's and is what
 * main.c's command table includes. */
#ifndef FACESWARM_CLI_H
#define FACESWARM_CLI_H

#include "comms/cli.h"
#include "data/cli.h"

int cmd_train(int argc, char **argv);      /* trainer/train_cmd.c */
int cmd_model(int argc, char **argv);      /* trainer/model_cmd.c */
int cmd_checkpoint(int argc, char **argv); /* trainer/checkpoint.c */
int cmd_swap(int argc, char **argv);       /* trainer/swap.c */
int cmd_convert(int argc, char **argv);    /* trainer/convert.c */
int cmd_submit(int argc, char **argv);     /* slurm/submit.c (linked into fs_trainer) */

/* faceswarm bench <what>: each benchmark prints through the one harness (core/bench.h,
 * docs/bench.md): '#' header lines, then fixed-width rows under a units row (or JSON lines of
 * one schema with --json), checks its own results and exits 1 when any is wrong. The
 * benchmarks that need the config and the model live here, in the trainer. */
int bench_kernels(int argc, char **argv); /* trainer/bench_kernels.c */
int bench_loader(int argc, char **argv);  /* trainer/bench_loader.c */
int bench_convert(int argc, char **argv); /* trainer/bench_convert.c */
int bench_train(int argc, char **argv);   /* trainer/bench_train.c */

#endif
