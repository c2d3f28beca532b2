/* fuzz_replay.c — replays the protocol fuzz corpus (tests/fuzz/corpus/protocol) through the
 * fuzz target, then 20,000 seeded mutations of it (bit flips, cuts, splices, length-field
 * edits): the decoder must never crash, and what it accepts must re-encode identically. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comms/protocol.h"
#include "trainer/common.h"

int fs_fuzz_protocol_one(const uint8_t *data, size_t size);

static uint8_t *seeds[64];
static size_t lens[64];
static int n_seeds;

static int load(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return fprintf(stderr, "FAIL: cannot open corpus %s\n", dir), -1;
    for (struct dirent *de; (de = readdir(d)) && n_seeds < 64;) {
        if (de->d_name[0] == '.') continue;
        char path[1400];
        snprintf(path, sizeof path, "%.1000s/%.255s", dir, de->d_name);
        fs_error e = {0};
        seeds[n_seeds] = (uint8_t *)fs_read_file(path, &lens[n_seeds], &e);
        if (!seeds[n_seeds]) return fprintf(stderr, "FAIL: %s\n", e.msg), closedir(d), -1;
        n_seeds++;
    }
    closedir(d);
    return 0;
}

static size_t mutate(fs_rng *r, uint8_t *buf, size_t len, size_t cap) {
    int kind = (int)fs_rng_below(r, 5);
    if (kind == 0 && len) buf[fs_rng_below(r, (uint32_t)len)] ^= (uint8_t)(1u << fs_rng_below(r, 8));
    if (kind == 1 && len) len = fs_rng_below(r, (uint32_t)len); /* cut */
    if (kind == 2 && len > 30) { /* a u16 length field somewhere in the body gets a wild value */
        size_t at = 28 + fs_rng_below(r, (uint32_t)(len - 29));
        buf[at] = (uint8_t)fs_rng_u64(r), buf[at + 1] = (uint8_t)fs_rng_u64(r);
    }
    if (kind == 3) { /* splice the tail of another seed */
        int s = (int)fs_rng_below(r, (uint32_t)n_seeds);
        size_t from = fs_rng_below(r, (uint32_t)lens[s] + 1), at = len ? fs_rng_below(r, (uint32_t)len) : 0;
        size_t n = FS_MIN(lens[s] - from, cap - at);
        memcpy(buf + at, seeds[s] + from, n);
        len = at + n;
    }
    if (kind == 4 && len < cap) buf[len++] = (uint8_t)fs_rng_u64(r);
    return len;
}

int main(int argc, char **argv) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/protocol", argc > 1 ? argv[1] : src ? src : ".");
    if (load(dir) || n_seeds < 11) return fprintf(stderr, "FAIL: expected at least 11 seeds in %s, found %d\n", dir, n_seeds), 1;
    int accepted = 0;
    for (int i = 0; i < n_seeds; i++) {
        fs_msg m;
        char why[256];
        accepted += fs_proto_decode(seeds[i], lens[i], &m, why, sizeof why) == 0;
        fs_fuzz_protocol_one(seeds[i], lens[i]);
    }
    if (accepted != n_seeds) return fprintf(stderr, "FAIL: only %d of %d corpus seeds decode\n", accepted, n_seeds), 1;
    static uint8_t buf[4096];
    fs_rng r;
    fs_rng_init(&r, 2026, 0, 0);
    for (int i = 0; i < 20000; i++) {
        int s = (int)fs_rng_below(&r, (uint32_t)n_seeds);
        size_t len = lens[s];
        memcpy(buf, seeds[s], len);
        for (int k = 0, rounds = 1 + (int)fs_rng_below(&r, 4); k < rounds; k++) len = mutate(&r, buf, len, sizeof buf);
        fs_fuzz_protocol_one(buf, len);
    }
    printf("fuzz replay: %d seeds and 20000 mutations, no crash, every accepted message re-encodes identically\n", n_seeds);
    for (int i = 0; i < n_seeds; i++) free(seeds[i]);
    return 0;
}
