/* ktest.h — helpers shared by the kernels_* tests: random tensors from fs_rng, comparisons
 * with a stated relative tolerance, and a failure count that becomes the exit status. */
#ifndef FACESWARM_KTEST_H
#define FACESWARM_KTEST_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/op_cases.h"

extern int kt_failures; /* checks failed so far; main returns kt_failures != 0 */

/* n floats uniform in [lo, hi) from stream (seed, stream, 0); free with free(). */
float *kt_rand(size_t n, uint64_t seed, uint64_t stream, double lo, double hi);
double *kt_to_double(const float *a, size_t n);
float *kt_copy(const float *a, size_t n);
/* max |got - want| <= rtol * max |want| (or atol if larger): counts and prints a failure
 * naming `what`, the worst index and both values. Returns 1 if it failed. */
int kt_check(const char *what, const float *got, const float *want, size_t n, double rtol, double atol);
int kt_check_d(const char *what, const float *got, const double *want, size_t n, double rtol, double atol);
/* A scalar check: |got - want| <= rtol * |want| + atol. */
int kt_check_scalar(const char *what, double got, double want, double rtol, double atol);
/* kt_check_scalar with a tolerance of the op case table. */
int kt_check_scalar_tol(const char *what, double got, double want, fs_tol tol);
/* kt_check with a tolerance of the op case table; {0, 0} means bit-identical. */
int kt_check_tol(const char *what, const float *got, const float *want, size_t n, fs_tol tol);
/* Bit-identical buffers. */
int kt_check_bits(const char *what, const float *a, const float *b, size_t n);
/* Prints the summary line and returns the exit status. */
int kt_finish(const char *test);

#endif
