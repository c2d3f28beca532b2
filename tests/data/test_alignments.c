/* test_alignments.c — fs_alignments_read on the seeds of its fuzz corpus
 * (tests/fuzz/corpus/alignments, written by make_prov_corpus): an unsealed file whose UTF-8
 * /sources is read first in the process (before any sealed file has HDF5 read a UTF-8 string),
 * a sealed extract file, each source found by path and by file name with its records in frame
 * order; a /sources of rank 2, one with an unwritten entry and /frames out of order refused
 * with code 2, the reason and a hint. */
#include <stdlib.h>
#include <string.h>

#include "data/alignments.h"
#include "tests/check.h"

static char g_dir[1200];

static const char *seed(const char *name) {
    static char path[1400];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    return path;
}

static void reads(const char *file, const char *video, const char *identity, long n, int64_t last_frame) {
    fs_alignments a;
    fs_error e = {0};
    int rc = fs_alignments_read(seed(file), video, identity, "--identity", &a, &e);
    CHECK(rc == 0, "%s for %s: %s", file, video, e.msg);
    if (rc) return;
    CHECK(a.n == n && a.size == 8, "%s for %s: %ld records of %d px; expected %ld of 8", file, video, a.n, a.size, n);
    CHECK(a.n > 0 && a.rec[a.n - 1].frame == last_frame, "%s for %s: last frame %lld", file, video,
          a.n ? (long long)a.rec[a.n - 1].frame : -1LL);
    long first = -1;
    CHECK(fs_alignments_of_frame(&a, 0, &first) == (n == 3 ? 2 : 1) && first == 0, "%s: frame 0's faces", file);
    fs_alignments_free(&a);
}

static void refused(const char *file, const char *video, const char *why) {
    fs_alignments a;
    fs_error e = {0};
    int rc = fs_alignments_read(seed(file), video, NULL, "--identity", &a, &e);
    CHECK(rc == FS_EXIT_BADINPUT && e.code == FS_EXIT_BADINPUT && strstr(e.msg, why) && strstr(e.msg, "hint:"),
          "%s: rc %d, \"%s\"; expected code 2 saying '%s'", file, rc, e.msg, why);
    CHECK(!a.rec && a.n == 0, "%s: a refusal left records", file);
}

int main(void) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    snprintf(g_dir, sizeof g_dir, "%s/tests/fuzz/corpus/alignments", src ? src : ".");
    reads("extract-foreign.h5", "/footage/clip-a.mp4", NULL, 3, 7); /* first: no UTF-8 string read yet */
    reads("extract-foreign.h5", "clip-b.mp4", NULL, 1, 0);
    reads("extract-sealed.h5", "/elsewhere/clip-a.mp4", "alice", 3, 7);
    reads("extract-sealed.h5", "/footage/clip-b.mp4", "alice", 1, 0);
    refused("sources-rank2.h5", "/footage/clip-a.mp4", "/sources is not a list");
    refused("sources-null.h5", "clip-b.mp4", "/sources entry 1 was never written");
    refused("frames-out-of-order.h5", "/footage/clip-a.mp4", "not in frame order");
    refused("extract-foreign.h5", "other.mp4", "no source of that name");
    if (!failures) printf("alignments: foreign and sealed files read, damaged ones refused\n");
    return failures ? 1 : 0;
}
