/* fuzz_alignments.c — libFuzzer target for the alignments reader (FACESWARM_FUZZ=ON, clang):
 * the input is written to a file and read by fs_alignments_read as `convert --alignments`
 * does, for the corpus files' source video by path and by file name, with and without the
 * identity check. It must not crash; a refusal carries code 2 and a hint (fuzz_h5file.h); the
 * records read are in frame order, faces ranked within a frame, and fs_alignments_of_frame
 * finds each frame's run. The same entry point replays tests/fuzz/corpus/alignments in ctest
 * (provenance_fuzz_alignments). */
#include "data/alignments.h"
#include "tests/fuzz/fuzz_h5file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, long i) {
    fprintf(stderr, "fuzz alignments: %s (record %ld)\n", what, i);
    abort();
}

static void check(const fs_alignments *a) {
    if (a->n < 0 || (a->n && !a->rec) || !memchr(a->source, 0, sizeof a->source)) fail("a bad result", -1);
    for (long i = 0; i < a->n; i++) {
        const fs_align_rec *r = &a->rec[i];
        if (i && (r->frame < r[-1].frame || (r->frame == r[-1].frame && r->face <= r[-1].face)))
            fail("records out of frame order", i);
        long first = -1;
        int k = fs_alignments_of_frame(a, r->frame, &first);
        if (first < 0 || first > i || first + k <= i || a->rec[first].frame != r->frame) fail("a frame's run lost", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const videos[] = {"/footage/clip-a.mp4", "clip-b.mp4", "/elsewhere/clip-a.mp4"};
    const char *path = fuzz_file("alignments", data, size);
    for (size_t v = 0; v < sizeof videos / sizeof *videos; v++) {
        fs_alignments a;
        fs_error e = {0};
        int rc = fs_alignments_read(path, videos[v], v == 1 ? "alice" : NULL, "--identity", &a, &e);
        if (rc) {
            fuzz_check_refusal("alignments", rc, &e);
            if (a.rec || a.n) fail("a refusal left records", -1);
            continue;
        }
        check(&a);
        fs_alignments_free(&a);
    }
    unlink(path);
    return 0;
}
