/* replay.c — replays a fuzz corpus (tests/fuzz/corpus/NAME) through a fuzz target's
 * LLVMFuzzerTestOneInput, then seeded mutations of it (bit flips, zeroed runs, cuts, copied
 * runs): whatever the target checks (it aborts on a finding) holds on the seeds and near them
 * without clang. Usage: replay NAME MIN_SEEDS MUTATIONS [SOURCE_DIR]. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_SEEDS = 256 };
static uint8_t *g_seed[MAX_SEEDS];
static size_t g_len[MAX_SEEDS];

static int load_corpus(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *de; (de = readdir(d)) && n < MAX_SEEDS;) {
        char path[2048];
        fs_error e = {0};
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%.1500s/%.255s", dir, de->d_name);
        if (!(g_seed[n] = (uint8_t *)fs_read_file(path, &g_len[n], &e))) {
            fprintf(stderr, "FAIL: %s\n", e.msg);
            n = -1;
            break;
        }
        n++;
    }
    closedir(d);
    return n;
}

/* One edit of buf (len bytes of cap) drawn from r; returns the new length. */
static size_t edit(fs_rng *r, uint8_t *buf, size_t len, size_t cap) {
    if (len == 0) return 0;
    size_t at = fs_rng_below(r, (uint32_t)len), run = 1 + fs_rng_below(r, 16);
    switch (fs_rng_below(r, 5)) {
    case 0: buf[at] ^= (uint8_t)(1u << fs_rng_below(r, 8)); return len;
    case 1: memset(buf + at, 0, FS_MIN(run, len - at)); return len;
    case 2: return at;                                    /* truncated */
    case 3: buf[at] = (uint8_t)fs_rng_u64(r); return len; /* a length or size field gets a wild byte */
    default: {                                            /* a run of the buffer copied elsewhere in it */
        size_t from = fs_rng_below(r, (uint32_t)len), n = FS_MIN(run, FS_MIN(len - from, cap - at));
        memmove(buf + at, buf + from, n);
        return FS_MAX(len, at + n);
    }
    }
}

int main(int argc, char **argv) {
    if (argc < 4) return fprintf(stderr, "usage: replay NAME MIN_SEEDS MUTATIONS [SOURCE_DIR]\n"), 2;
    const char *src = argc > 4 ? argv[4] : getenv("FACESWARM_SOURCE_DIR");
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%.100s", src ? src : ".", argv[1]);
    int n = load_corpus(dir), want = atoi(argv[2]), mutations = atoi(argv[3]);
    if (n < want)
        return fprintf(stderr,
                       "FAIL: %d seeds in %s, expected at least %d\n  hint: set "
                       "FACESWARM_SOURCE_DIR\n",
                       n, dir, want),
               1;
    size_t cap = 0;
    for (int i = 0; i < n; i++) LLVMFuzzerTestOneInput(g_seed[i], g_len[i]), cap = FS_MAX(cap, g_len[i]);
    uint8_t *buf = fs_malloc(cap);
    fs_rng r;
    fs_rng_init(&r, 2026, 12, 0);
    for (int m = 0; m < mutations; m++) {
        int s = (int)fs_rng_below(&r, (uint32_t)n);
        size_t len = g_len[s];
        memcpy(buf, g_seed[s], len);
        for (int k = 1 + (int)fs_rng_below(&r, 3); k > 0; k--) len = edit(&r, buf, len, cap);
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("replay %s: %d seeds and %d mutations without a finding\n", argv[1], n, mutations);
    free(buf);
    for (int i = 0; i < n; i++) free(g_seed[i]);
    return 0;
}
