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

static const unsigned GEN[FS_WM3_RATE] = {03345, 03613, 03715};

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

/* The code bits of register reg (input << (K - 1) | state), bit r of the entry = generator r's. */
static uint8_t out_[2 * NS];
static void outputs_init(void) {
    for (unsigned reg = 0; reg < 2 * NS; reg++)
        for (int r = 0; r < FS_WM3_RATE; r++) out_[reg] |= (uint8_t)(__builtin_parity(reg & GEN[r]) << r);
}
static const uint8_t *outputs(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, outputs_init);
    return out_;
}

uint64_t fs_wm3_decode(const float soft[FS_WM3_CODED_BITS]) {
    enum { TOTAL = STEPS + 2 * WRAP };
    static _Thread_local uint8_t choice[TOTAL][NS]; /* the surviving predecessor's low bit */
    float metric[NS], next[NS];
    const uint8_t *out = outputs();
    memset(metric, 0, sizeof metric); /* circular: any start state */
    for (int t = 0; t < TOTAL; t++) {
        int i = ((t - WRAP) % STEPS + STEPS) % STEPS;
        const float *s = soft + FS_WM3_RATE * i;
        /* a branch's metric depends only on its FS_WM3_RATE output bits: 2^RATE values a step,
         * summed in the order r = 0, 1, ... as the per-register sum would be */
        float pattern[1 << FS_WM3_RATE];
        for (unsigned o = 0; o < (1u << FS_WM3_RATE); o++) {
            float m = 0;
            for (int r = 0; r < FS_WM3_RATE; r++) m += o >> r & 1 ? -s[r] : s[r];
            pattern[o] = m;
        }
        /* state ns = reg >> 1 is reached from p0 = (ns << 1) mod NS and p1 = p0 | 1 with input
         * bit ns >> (K - 2) */
        float best = -1e30f;
        for (unsigned ns = 0; ns < NS; ns++) {
            unsigned b = ns >> (FS_WM3_K - 2), p0 = (ns << 1) & (NS - 1), p1 = p0 | 1u;
            float m0 = metric[p0] + pattern[out[b << (FS_WM3_K - 1) | p0]],
                  m1 = metric[p1] + pattern[out[b << (FS_WM3_K - 1) | p1]];
            next[ns] = m1 > m0 ? m1 : m0;
            choice[t][ns] = m1 > m0;
            if (next[ns] > best) best = next[ns];
        }
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
