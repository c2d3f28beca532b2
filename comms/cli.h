/* cli.h — the subcommands fs_comms and fs_nccl define (trainer/main.c's command table calls
 * them). Each takes (argc, argv) with argv[0] = its name and returns an FS_EXIT_* code. */
#ifndef FACESWARM_COMMS_CLI_H
#define FACESWARM_COMMS_CLI_H

int cmd_coordinator(int argc, char **argv); /* comms/coordinator.c */
int cmd_status(int argc, char **argv);      /* comms/status.c */
int cmd_keys(int argc, char **argv);        /* comms/keys.c */

/* faceswarm bench <what> (core/bench.h, docs/bench.md) */
int bench_coordinator(int argc, char **argv); /* comms/bench_coordinator.c */
int bench_allreduce(int argc, char **argv);   /* comms/nccl/bench_allreduce.c (fs_nccl: MPI and NCCL paths) */

#endif
