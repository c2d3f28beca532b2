/* replay_files.c — replays every file of tests/fuzz/corpus/<argv[1]> through the fuzz
 * target linked with it (fuzz_dataset.c or fuzz_checkpoint.c), which aborts on a finding.
 * Runs under ctest (data_fuzz_corpus, ckpt_fuzz_corpus), built with gcc. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    if (argc < 2 || !src) {
        fprintf(stderr, "FAIL: usage: replay_files CORPUS (with FACESWARM_SOURCE_DIR set)\n");
        return 1;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", src, argv[1]);
    DIR *d = opendir(dir);
    if (!d) return fprintf(stderr, "FAIL: cannot open the corpus %s\n", dir), 1;
    int n = 0;
    for (struct dirent *ent; (ent = readdir(d));) {
        if (ent->d_name[0] == '.') continue;
        char path[1400];
        size_t len;
        fs_error e = {0};
        snprintf(path, sizeof path, "%s/%.255s", dir, ent->d_name);
        uint8_t *data = (uint8_t *)fs_read_file(path, &len, &e);
        if (!data) return fprintf(stderr, "FAIL: %s\n", e.msg), closedir(d), 1;
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        n++;
    }
    closedir(d);
    if (n < 4) return fprintf(stderr, "FAIL: only %d corpus files in %s, expected at least 4\n", n, dir), 1;
    printf("%d %s corpus inputs replayed without a finding\n", n, argv[1]);
    return 0;
}
