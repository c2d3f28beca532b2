/* wm_code.c — see wm_code.h. Generators 3345, 3613, 3715 (octal, the top bit the newest input):
 * free distance 20 (computed: the least weight of a path that leaves state 0 and comes back).
 * Measured against the others tried (docs/provenance.md): K = 7 at rates 1/2 (version 2's),
 * 1/3 and 1/4, K = 9 at 1/2, 1/3 and 1/4, K = 11 and 13 at 1/2, and K = 11 at 1/3 punctured to
 * 2/5. */
#include "data/wm_code.h"

#include <pthread.h>
#include <string.h>

#define NS (1u << (FS_WM3_K - 1)) /* trellis states */
#define STEPS 64                  /* one per payload bit */
#define WRAP (5 * FS_WM3_K)       /* circular decoding: steps repeated before and after the block */

#define GEN0 03345u
#define GEN1 03613u
#define GEN2 03715u
static const unsigned GEN[FS_WM3_RATE] = {GEN0, GEN1, GEN2};

static int bit_of(uint64_t payload, int i) { return (int)(payload >> (63 - i)) & 1; }

void fs_wm3_encode(uint64_t payload, uint8_t coded[FS_WM3_CODED_BITS]) {
    unsigned state = 0;
    /* tail-biting: start in the state the last K - 1 payload bits leave */
    for (int i = STEPS - (FS_WM3_K - 1); i < STEPS; i++)
        state = ((unsigned)bit_of(payload, i) << (FS_WM3_K - 1) | state) >> 1;
    for (int i = 0; i < STEPS; i++) {
        unsigned reg = (unsigned)bit_of(payload, i) << (FS_WM3_K - 1) | state; /* input << (K - 1) | state */
        for (int r = 0; r < FS_WM3_RATE; r++) coded[FS_WM3_RATE * i + r] = (uint8_t)__builtin_parity(reg & GEN[r]);
        state = reg >> 1;
    }
}

/* Butterflies: states 2j and 2j + 1 lead to j (input 0) and j + NS / 2 (input 1). Every
 * generator has its first and last taps, so the four branches of a butterfly output c, ~c, ~c
 * and c (c = the code bits of register 2j): metrics +m, -m, -m, +m, with m the sum of the soft
 * values signed by c. c_[j] holds those bits (bit r: generator r's; register = input << (K - 1)
 * | state). */
static uint8_t c_[NS / 2];
static void outputs_init(void) {
    for (unsigned j = 0; j < NS / 2; j++)
        for (int r = 0; r < FS_WM3_RATE; r++) c_[j] |= (uint8_t)(__builtin_parity(2 * j & GEN[r]) << r);
}
static const uint8_t *outputs(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, outputs_init);
    return c_;
}

uint64_t fs_wm3_decode(const float soft[FS_WM3_CODED_BITS]) {
    enum { TOTAL = STEPS + 2 * WRAP, H = NS / 2 };
    _Static_assert((GEN0 & GEN1 & GEN2 & (1u | 1u << (FS_WM3_K - 1))) == (1u | 1u << (FS_WM3_K - 1)),
                   "every generator has its first and last taps (the butterflies' sign symmetry)");
    /* the surviving predecessor's low bit: 178 KB on the stack (as static TLS, every thread of
     * the process paid for it, OpenBLAS's too; on the heap, or packed to a bit a state, the
     * decode took 1.3-1.4x as long) */
    uint8_t choice[TOTAL][NS];
    float metric[NS], next[NS], bm[H];
    const uint8_t *c = outputs();
    memset(metric, 0, sizeof metric); /* circular: any start state */
    for (int t = 0; t < TOTAL; t++) {
        int i = ((t - WRAP) % STEPS + STEPS) % STEPS;
        const float *s = soft + FS_WM3_RATE * i;
        /* a branch's metric depends only on its FS_WM3_RATE output bits: 2^RATE values a step
         * (the complement's is the negation, exactly) */
        float pattern[1 << FS_WM3_RATE];
        for (unsigned o = 0; o < (1u << FS_WM3_RATE); o++) {
            float m = 0;
            for (int r = 0; r < FS_WM3_RATE; r++) m += o >> r & 1 ? -s[r] : s[r];
            pattern[o] = m;
        }
        for (unsigned j = 0; j < H; j++) bm[j] = pattern[c[j]];
        float best = -1e30f;
        for (unsigned j = 0; j < H; j++) {
            float a = metric[2 * j], b = metric[2 * j + 1], m = bm[j];
            float u0 = a + m, u1 = b - m, l0 = a - m, l1 = b + m; /* to j; to j + H */
            next[j] = u1 > u0 ? u1 : u0, choice[t][j] = u1 > u0;
            next[j + H] = l1 > l0 ? l1 : l0, choice[t][j + H] = l1 > l0;
        }
        for (unsigned k = 0; k < NS; k++) best = next[k] > best ? next[k] : best;
        for (unsigned k = 0; k < NS; k++) metric[k] = next[k] - best; /* keep the metrics bounded */
    }
    unsigned s = 0;
    for (unsigned k = 1; k < NS; k++)
        if (metric[k] > metric[s]) s = k;
    uint64_t payload = 0;
    for (int t = TOTAL - 1; t >= 0; t--) {
        int i = t - WRAP;
        if (i >= 0 && i < STEPS) payload |= (uint64_t)(s >> (FS_WM3_K - 2) & 1u) << (63 - i);
        s = ((s << 1) & (NS - 1)) | choice[t][s];
    }
    return payload;
}
