/* world.h — the MPI world of a faceswarm job: bootstrap, who is who (rank, local rank,
 * host), and the collective checks that keep ranks in step: same config, same parameters,
 * a barrier that names the ranks that did not arrive instead of hanging.
 *
 * Every function here is collective over the world unless it says otherwise, and returns 0
 * or an FS_EXIT_* code with e filled (library code: the caller reports and aborts). After a
 * timeout the world is in an undefined state (a rank is missing): report and abort. */
#ifndef FACESWARM_WORLD_H
#define FACESWARM_WORLD_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

typedef struct fs_world {
    int rank, size;             /* in MPI_COMM_WORLD */
    int local_rank, local_size; /* on this node: MPI_Comm_split_type(SHARED), cross-checked with
                                   OMPI_COMM_WORLD_LOCAL_RANK / SLURM_LOCALID when present */
    char host[256];             /* short host name */
    MPI_Comm comm;              /* duplicate of MPI_COMM_WORLD for collectives, ERRORS_RETURN */
    MPI_Comm ctl;               /* second duplicate, only for timeout probes (point-to-point),
                                   so their messages never match a collective's */
    uint32_t probe_seq;         /* probes issued so far; tags of a probe derive from it */
    int owns_mpi;               /* 1 if fs_world_init called MPI_Init_thread */
    double timeout_s;           /* > 0: gather_doubles and sum_doubles give up after this long,
                                   naming the missing ranks (0 after init: they wait) */
} fs_world;

/* Initialises MPI with MPI_THREAD_FUNNELED: only the training loop's main thread calls MPI
 * (the data loader's threads, OpenMP and the coordinator client's ZeroMQ thread never do),
 * and FUNNELED spares Open MPI the locking that MULTIPLE puts on every call. Sets the log
 * rank prefix; MPI errors return codes instead of aborting. If MPI is already initialised,
 * the world is built on it and finalize leaves MPI running. */
int fs_world_init(fs_world *w, int *argc, char ***argv, fs_error *e);
void fs_world_finalize(fs_world *w);
/* Stops every rank of the job with code (MPI_Abort); for use after an error was printed. */
_Noreturn void fs_world_abort(fs_world *w, int code);

/* Every rank passes its value; on mismatch e names which ranks hold which value, taking
 * rank 0's as the reference. what: "config hash", "model hash", ... */
int fs_world_check_same_u64(fs_world *w, uint64_t value, const char *what, fs_error *e);
/* Global batch split over ranks: *local = global / size, or a clear error naming key and
 * the nearest batch sizes that divide (code FS_EXIT_BADINPUT). Not collective. */
int fs_world_split_batch(const fs_world *w, int global, const char *key, int *local, fs_error *e);
/* Gathers n doubles from every rank into all_on_root[rank * n + i] on rank 0 (all_on_root
 * may be NULL on other ranks). */
int fs_world_gather_doubles(fs_world *w, const double *mine, int n, double *all_on_root, fs_error *e);
/* In-place sum of n doubles over all ranks (every rank gets the sums). With w->timeout_s > 0
 * (gather_doubles too) it gives up after that long, naming the missing ranks. */
int fs_world_sum_doubles(fs_world *w, double *vals, int n, fs_error *e);
/* Parameter divergence guard: a 64-bit checksum of the n floats is compared across ranks;
 * on mismatch e names the ranks that differ from rank 0 (code FS_EXIT_FAIL). */
int fs_world_check_params(fs_world *w, const float *params, size_t n, fs_error *e);
/* Broadcast of any size (sent in chunks below 2 GB). */
int fs_world_bcast(fs_world *w, void *buf, size_t bytes, int root, fs_error *e);
/* A barrier that gives up after timeout_s. Ranks send rank 0 an arrival notice; rank 0
 * answers every rank with the verdict (all arrived, or the list of missing ranks). On a
 * timeout rank 0 and every rank that arrived fail naming the missing ranks; a rank that
 * hears nothing from rank 0 says so. */
int fs_world_barrier_timeout(fs_world *w, double timeout_s, const char *what, fs_error *e);
/* Host names of all ranks, rank 0 only: "nodeA x2, nodeB x2" (other ranks get ""). */
int fs_world_hosts(fs_world *w, char *out, size_t outlen, fs_error *e);

/* Formats "1, 3, 7" (at most a dozen ranks, then "... (N ranks)"); used in messages. */
void fs_world_format_ranks(const int *ranks, int n, char *out, size_t outlen);
/* Fills e from an MPI return code: the call, file:line, MPI's error string and a hint. */
int fs_mpi_error(fs_error *e, int rc, const char *call, const char *file, int line);
#define FS_MPI_TRY(e, call)                                                                                            \
    do {                                                                                                               \
        int fs_mpi_rc_ = (call);                                                                                       \
        if (fs_mpi_rc_ != MPI_SUCCESS) return fs_mpi_error((e), fs_mpi_rc_, #call, __FILE__, __LINE__);                \
    } while (0)

#endif
