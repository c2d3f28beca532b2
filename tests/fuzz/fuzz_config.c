/* fuzz_config.c — libFuzzer target for the config loader (FACESWARM_FUZZ=ON, clang):
 * fs_config_load_string, then fs_config_validate, then for a config that passes, the dump
 * must load back to the same dump. Every refusal must carry code 2 and a message. The same
 * entry point replays the corpus in ctest (config_fuzz_corpus, tests/config/fuzz_corpus.c). */
#include <stdlib.h>
#include <string.h>

#include "trainer/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const fs_error *e, const char *text) {
    fprintf(stderr, "fuzz_config: %s\n  code %d, message \"%s\"\n  input: %s\n", what, e->code, e->msg, text);
    abort();
}

static void check_refusal(int rc, const fs_error *e, const char *text) {
    if (rc != FS_EXIT_BADINPUT || e->code != FS_EXIT_BADINPUT) fail("refusal without code 2", e, text);
    if (!e->msg[0] || !strstr(e->msg, "hint:")) fail("refusal without a message and a hint", e, text);
}

/* A config that passed validation dumps to YAML that loads back to the same dump. */
static void check_round_trip(const fs_config *c, const char *text) {
    static fs_config back;
    fs_error e = {0};
    char *dump = fs_config_dump(c);
    if (fs_config_load_string(&back, dump, "dump", &e) || fs_config_validate(&back, &e))
        fail("the dump of a valid config does not load", &e, dump);
    char *again = fs_config_dump(&back);
    if (strcmp(strchr(dump, '\n'), strchr(again, '\n')) != 0) fail("dump -> load -> dump changed", &e, text);
    free(dump);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fs_config c; /* large: keep it off the fuzzer's stack */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    fs_error e = {0};
    int rc = fs_config_load_string(&c, text, "fuzz.yaml", &e);
    if (!rc) rc = fs_config_validate(&c, &e);
    if (rc) check_refusal(rc, &e, text);
    else check_round_trip(&c, text);
    free(text);
    return 0;
}
