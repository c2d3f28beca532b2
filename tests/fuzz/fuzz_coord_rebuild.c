/* fuzz_coord_rebuild.c — fuzz target for the coordinator's rebuild from its own files
 * (coordinator/metrics.jsonl, registry.jsonl, events.jsonl: coord_rebuild_line), which a
 * restarted daemon trusts to know what it acknowledged.
 *
 * Input: byte 0 picks the file kind (% 3) and byte 1 the world size (1..256); the rest is the
 * file, split into lines as getline() does. Invariants checked after every input: the rank
 * table holds only ranks < world, each with at most COORD_INCS incarnations and sequence
 * numbers <= 2^52; a rebuilt checkpoint path is one the protocol accepts; the status (text
 * and JSON) formats without a fault. Built as a libFuzzer target with -DFACESWARM_FUZZ=ON
 * (clang) and, always, into the corpus replay test coord_rebuild_fuzz_corpus. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "comms/coord_daemon.h"

static void check_state(coord *c) {
    int present = 0;
    for (uint32_t r = 0; r < c->world; r++) {
        coord_rank *k = c->ranks[r];
        if (!k) continue;
        present++;
        if (k->rank != r || k->n_incs < 1 || k->n_incs > COORD_INCS) abort();
        for (int i = 0; i < k->n_incs; i++)
            if (k->incs[i].seq > ((uint64_t)1 << 52)) abort();
    }
    if (present != c->n_present) abort();
    char why[256];
    if (c->ckpt_step >= 0 && fs_proto_path_ok(c->ckpt_path, strlen(c->ckpt_path), why, sizeof why)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    static coord c;
    memset(&c, 0, sizeof c);
    c.world = 1 + data[1], c.ckpt_step = -1, c.target_step = -1, c.loss = NAN, c.o.timeout_s = 30;
    coord_file kind = (coord_file)(data[0] % 3);
    coord_ranks_alloc(&c);
    char *line = malloc(size + 1);
    for (size_t at = 2; at < size;) { /* as getline: up to and with the newline */
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) + 1 : size - at;
        memcpy(line, data + at, len);
        line[len] = 0;
        coord_rebuild_line(&c, line, kind);
        at += len;
    }
    free(line);
    check_state(&c);
    fs_jbuf b = {0};
    coord_status_text(&c, &b, 0);
    coord_status_text(&c, &b, 1);
    fs_jbuf_free(&b);
    for (uint32_t r = 0; r < c.world; r++) free(c.ranks[r]);
    free(c.ranks), free(c.pending);
    return 0;
}
