/* fuzz_keys.c — fuzz target for the CURVE key-file parser (fs_coord_keys_parse, the parser
 * of fs_coord_keys_load). Invariants: a refusal is exit code 2 with a message; an accepted
 * file has all four keys, each 40 characters that decode as Z85 into 32 bytes. Built as a
 * libFuzzer target with -DFACESWARM_FUZZ=ON (clang) and, always, into the corpus replay test
 * coord_keys_fuzz_corpus. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "comms/coord_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (memchr(data, 0, size)) return 0; /* fs_coord_keys_load refuses a file with a NUL first */
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    fs_coord_keys k;
    fs_error e = {0};
    int rc = fs_coord_keys_parse("fuzz.keys", text, &k, &e);
    free(text);
    if (rc) {
        if (rc != FS_EXIT_BADINPUT || !e.msg[0] || e.code != FS_EXIT_BADINPUT) abort();
        return 0;
    }
    const char *keys[4] = {k.server_public, k.server_secret, k.client_public, k.client_secret};
    for (int i = 0; i < 4; i++) {
        uint8_t bin[32];
        if (strlen(keys[i]) != 40 || !zmq_z85_decode(bin, keys[i])) abort();
    }
    return 0;
}
