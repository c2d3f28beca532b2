/* fuzz_protocol.c — fuzz target for the coordinator message decoder.
 *
 * Invariant checked on every input: the decoder either refuses it, or accepts a message
 * that re-encodes to exactly the same bytes (nothing accepted is misread). Built as a
 * libFuzzer target with -DFACESWARM_FUZZ=ON (clang), and, always, into the corpus replay
 * test coord_fuzz_corpus (tests/coord/fuzz_dir_replay.c), which runs the corpus and mutations
 * of it, and checks with fs_fuzz_seed_ok that every seed is a message the decoder accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "comms/protocol.h"

int fs_fuzz_protocol_one(const uint8_t *data, size_t size);

int fs_fuzz_protocol_one(const uint8_t *data, size_t size) {
    static fs_msg m;
    static uint8_t again[2 * FS_PROTO_MAX_MSG];
    char why[512];
    if (size > FS_PROTO_MAX_MSG) return 0; /* the daemon drops these unread */
    if (fs_proto_decode(data, size, &m, why, sizeof why)) {
        if (!why[0]) abort(); /* a refusal always says why */
        return 0;
    }
    long n = fs_proto_encode(&m, again, sizeof again, why, sizeof why);
    if (n != (long)size || memcmp(again, data, size)) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fs_fuzz_protocol_one(data, size); }

int fs_fuzz_seed_ok(const uint8_t *data, size_t size);
int fs_fuzz_seed_ok(const uint8_t *data, size_t size) {
    static fs_msg m;
    char why[256];
    return fs_proto_decode(data, size, &m, why, sizeof why) == 0;
}
