/* rng.c — see core/rng.h. */
#include "core/rng.h"

#include <math.h>
#include <stdint.h>

/* ---------------------------------------------------------------- RNG */
uint64_t fs_mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
uint64_t fs_hash3(uint64_t a, uint64_t b, uint64_t c) { return fs_mix64(fs_mix64(fs_mix64(a) ^ b) ^ c); }
void fs_rng_init(fs_rng *r, uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t x = fs_hash3(seed, a, b);
    for (int i = 0; i < 4; i++) r->s[i] = x = fs_mix64(x + (uint64_t)i);
}
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
uint64_t fs_rng_u64(fs_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}
double fs_rng_uniform(fs_rng *r) { return (double)(fs_rng_u64(r) >> 11) * 0x1.0p-53; }
double fs_rng_range(fs_rng *r, double lo, double hi) { return lo + (hi - lo) * fs_rng_uniform(r); }
double fs_rng_normal(fs_rng *r) {
    double u1 = fs_rng_uniform(r), u2 = fs_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
uint32_t fs_rng_below(fs_rng *r, uint32_t n) {
    if (n <= 1) return 0;
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = fs_rng_u64(r);
    while (x >= lim);
    return (uint32_t)(x % n);
}
void fs_permutation(uint32_t *perm, uint32_t n, uint64_t seed, uint64_t a, uint64_t b) {
    fs_rng r;
    fs_rng_init(&r, seed, a, b);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = fs_rng_below(&r, i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
