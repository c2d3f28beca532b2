/* cli.h — the subcommands fs_data defines (trainer/main.c's command table calls them).
 * Each takes (argc, argv) with argv[0] = its name and returns an FS_EXIT_* code. */
#ifndef FACESWARM_DATA_CLI_H
#define FACESWARM_DATA_CLI_H

int cmd_data(int argc, char **argv);    /* data/data_cmd.c */
int cmd_extract(int argc, char **argv); /* data/extract_cmd.c */
int cmd_detect(int argc, char **argv);  /* data/detect_cmd.c */

/* faceswarm bench <what> (core/bench.h, docs/bench.md) */
int bench_extract(int argc, char **argv);   /* data/bench_extract.c */
int bench_watermark(int argc, char **argv); /* data/bench_watermark.c */

#endif
