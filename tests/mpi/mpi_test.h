/* mpi_test.h — checks for the MPI tests: a failed check prints the rank, the location, the
 * condition and the values, then aborts the whole job (mpirun exits non-zero). */
#ifndef FACESWARM_TESTS_MPI_TEST_H
#define FACESWARM_TESTS_MPI_TEST_H

#include <mpi.h>
#include <stdio.h>
#include <string.h>

static inline int t_rank(void) {
    int r = -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

#define T_CHECK(cond, ...)                                                                                             \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "[rank %d] %s:%d: check failed: %s: ", t_rank(), __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
            fflush(stderr);                                                                                            \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                                              \
        }                                                                                                              \
    } while (0)

/* An fs_error-returning call that must succeed. */
#define T_OK(call, e) T_CHECK((call) == 0, "returned an error: %s", (e)->msg)
/* An error message that must contain a fragment. */
#define T_HAS(e, frag) T_CHECK(strstr((e)->msg, (frag)) != NULL, "message lacks \"%s\":\n%s", (frag), (e)->msg)

#endif
