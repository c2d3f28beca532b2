/* rng.h — the counter-based RNG (xoshiro256**) and hashes */
#ifndef FACESWARM_CORE_RNG_H
#define FACESWARM_CORE_RNG_H

#include <stdint.h>

/* ---------------------------------------------------------------- RNG
 * Counter-based: a stream is a pure function of its key words, so the augmentation of
 * sample i in epoch e is fs_rng_init(&r, seed, e, i) on any rank, in any order. */
typedef struct fs_rng {
    uint64_t s[4]; /* xoshiro256** state */
} fs_rng;
uint64_t fs_mix64(uint64_t x);                         /* splitmix64 finaliser */
uint64_t fs_hash3(uint64_t a, uint64_t b, uint64_t c); /* good 3-word hash */
void fs_rng_init(fs_rng *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t fs_rng_u64(fs_rng *r);
double fs_rng_uniform(fs_rng *r); /* [0, 1) */
double fs_rng_range(fs_rng *r, double lo, double hi);
double fs_rng_normal(fs_rng *r);              /* N(0, 1) */
uint32_t fs_rng_below(fs_rng *r, uint32_t n); /* uniform in [0, n), unbiased */
/* Fisher–Yates permutation of 0..n-1 drawn from (seed, a, b). */
void fs_permutation(uint32_t *perm, uint32_t n, uint64_t seed, uint64_t a, uint64_t b);

#endif
