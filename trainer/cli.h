/* cli.h — the faceswarm subcommands. Each lives in the folder of its concern and takes
 * (argc, argv) with argv[0] = the subcommand's name; it returns an FS_EXIT_* code.
 * Subcommands parse their options with getopt_long and answer --help. */
#ifndef FACESWARM_CLI_H
#define FACESWARM_CLI_H

int cmd_train(int argc, char **argv);       /* trainer/train_cmd.c */
int cmd_model(int argc, char **argv);       /* trainer/model_cmd.c */
int cmd_checkpoint(int argc, char **argv);  /* trainer/checkpoint.c */
int cmd_swap(int argc, char **argv);        /* trainer/swap.c */
int cmd_convert(int argc, char **argv);     /* trainer/convert.c */
int cmd_data(int argc, char **argv);        /* data/data_cmd.c */
int cmd_extract(int argc, char **argv);     /* data/extract_cmd.c */
int cmd_coordinator(int argc, char **argv); /* comms/coordinator.c */
int cmd_status(int argc, char **argv);      /* comms/status.c */
int cmd_keys(int argc, char **argv);        /* comms/keys.c */
int cmd_submit(int argc, char **argv);      /* slurm/submit.c */
int cmd_detect(int argc, char **argv);      /* data/detect_cmd.c */

/* faceswarm bench <what>: each benchmark prints through the one harness (trainer/bench.h,
 * docs/bench.md): '#' header lines, then fixed-width rows under a units row (or JSON lines of
 * one schema with --json), checks its own results and exits 1 when any is wrong. */
int bench_kernels(int argc, char **argv);     /* kernels/bench.c */
int bench_loader(int argc, char **argv);      /* data/bench_loader.c */
int bench_extract(int argc, char **argv);     /* data/bench_extract.c */
int bench_convert(int argc, char **argv);     /* trainer/bench_convert.c */
int bench_train(int argc, char **argv);       /* trainer/bench_train.c */
int bench_allreduce(int argc, char **argv);   /* comms/bench_allreduce.c */
int bench_coordinator(int argc, char **argv); /* comms/bench_coordinator.c */
int bench_watermark(int argc, char **argv);   /* data/bench_watermark.c */

#endif
