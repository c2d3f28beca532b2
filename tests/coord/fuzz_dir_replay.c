/* fuzz_dir_replay.c — replays a fuzz corpus (tests/fuzz/corpus/NAME) through a fuzz target
 * linked in (LLVMFuzzerTestOneInput, which aborts on a finding), then 20,000 seeded mutations
 * of it (bit flips, cuts, byte insertions, wild u16 length fields, splices between seeds), so
 * that the gcc build keeps exercising what clang's libFuzzer explored. A target may define
 * fs_fuzz_seed_ok: then every seed must pass it (a corpus of valid inputs stays valid).
 * Usage: fuzz_dir_replay NAME MIN_FILES. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fs_fuzz_seed_ok(const uint8_t *data, size_t size) __attribute__((weak));

#define MAX_SEEDS 256
static uint8_t *seeds[MAX_SEEDS];
static size_t lens[MAX_SEEDS];
static int n_seeds;

static int load(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return fprintf(stderr, "FAIL: cannot open the corpus %s\n  hint: set FACESWARM_SOURCE_DIR\n", dir), -1;
    for (struct dirent *de; (de = readdir(d)) && n_seeds < MAX_SEEDS;) {
        if (de->d_name[0] == '.') continue;
        char path[1400];
        snprintf(path, sizeof path, "%.1000s/%.255s", dir, de->d_name);
        fs_error e = {0};
        if (!(seeds[n_seeds] = (uint8_t *)fs_read_file(path, &lens[n_seeds], &e)))
            return fprintf(stderr, "FAIL: %s\n", e.msg), closedir(d), -1;
        n_seeds++;
    }
    closedir(d);
    return 0;
}

static size_t mutate(fs_rng *r, uint8_t *buf, size_t len, size_t cap) {
    int kind = (int)fs_rng_below(r, 6);
    if (kind == 5 && len > 30) { /* a u16 length field of a protocol body gets a wild value */
        size_t at = 28 + fs_rng_below(r, (uint32_t)(len - 29));
        buf[at] = (uint8_t)fs_rng_u64(r), buf[at + 1] = (uint8_t)fs_rng_u64(r);
    }
    if (kind == 0 && len) buf[fs_rng_below(r, (uint32_t)len)] ^= (uint8_t)(1u << fs_rng_below(r, 8));
    if (kind == 1 && len) len = fs_rng_below(r, (uint32_t)len); /* cut */
    if (kind == 2 && len < cap) {                               /* insert a byte that matters to these parsers */
        static const char interesting[] = "\"\\:,{}\n=0 -#x";
        size_t at = fs_rng_below(r, (uint32_t)len + 1);
        memmove(buf + at + 1, buf + at, len - at);
        buf[at] = (uint8_t)interesting[fs_rng_below(r, sizeof interesting - 1)];
        len++;
    }
    if (kind == 3) { /* splice the tail of another seed */
        int s = (int)fs_rng_below(r, (uint32_t)n_seeds);
        size_t from = fs_rng_below(r, (uint32_t)lens[s] + 1), at = len ? fs_rng_below(r, (uint32_t)len) : 0;
        size_t n = FS_MIN(lens[s] - from, cap - at);
        memcpy(buf + at, seeds[s] + from, n);
        len = at + n;
    }
    if (kind == 4 && len) buf[fs_rng_below(r, (uint32_t)len)] = (uint8_t)fs_rng_u64(r);
    return len;
}

int main(int argc, char **argv) {
    if (argc < 3) return fprintf(stderr, "usage: %s CORPUS_NAME MIN_FILES\n", argv[0]), 2;
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", src ? src : "..", argv[1]);
    int min = atoi(argv[2]);
    if (load(dir) || n_seeds < min)
        return fprintf(stderr, "FAIL: expected at least %d files in %s, found %d\n", min, dir, n_seeds), 1;
    size_t cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    for (int i = 0; i < n_seeds; i++) {
        if (fs_fuzz_seed_ok && !fs_fuzz_seed_ok(seeds[i], lens[i]))
            return fprintf(stderr, "FAIL: seed %d of %s is not a valid input\n", i, dir), 1;
        LLVMFuzzerTestOneInput(seeds[i], lens[i]);
    }
    fs_rng r;
    fs_rng_init(&r, 2026, 12, 0);
    for (int i = 0; i < 20000; i++) {
        int s = (int)fs_rng_below(&r, (uint32_t)n_seeds);
        size_t len = FS_MIN(lens[s], cap);
        memcpy(buf, seeds[s], len);
        for (int k = 0, rounds = 1 + (int)fs_rng_below(&r, 4); k < rounds; k++) len = mutate(&r, buf, len, cap - 1);
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("%s: %d corpus inputs and 20000 mutations replayed without a finding\n", argv[1], n_seeds);
    for (int i = 0; i < n_seeds; i++) free(seeds[i]);
    free(buf);
    return 0;
}
