/* fuzz_corpus.c — replays every file of tests/fuzz/corpus/config through the fuzz target's
 * entry point (which aborts on a crash-worthy finding: a refusal without code 2 or message,
 * or a valid config whose dump does not load back). Run under ctest as config_fuzz_corpus. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/config", argc > 1 ? argv[1] : src ? src : "..");
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "FAIL: cannot open the corpus %s\n  hint: set FACESWARM_SOURCE_DIR\n", dir);
        return 1;
    }
    int n = 0;
    for (struct dirent *ent; (ent = readdir(d));) {
        if (ent->d_name[0] == '.') continue;
        char path[2048];
        size_t len;
        fs_error e = {0};
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        char *text = fs_read_file(path, &len, &e);
        if (!text) {
            fprintf(stderr, "FAIL: %s\n", e.msg);
            closedir(d);
            return 1;
        }
        LLVMFuzzerTestOneInput((const uint8_t *)text, len);
        free(text);
        n++;
    }
    closedir(d);
    if (n < 10) {
        fprintf(stderr, "FAIL: only %d corpus files in %s, expected at least 10\n", n, dir);
        return 1;
    }
    printf("%d corpus inputs replayed without a finding\n", n);
    return 0;
}
