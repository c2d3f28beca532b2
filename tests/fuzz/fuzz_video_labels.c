/* fuzz_video_labels.c — libFuzzer target for the video provenance labels (FACESWARM_FUZZ=ON,
 * clang): any bytes as a video file through fs_video_labels_read (FFmpeg's demuxers, then the
 * ISO BMFF boxes for the XMP packet), and through fs_video_xmp_insert, which rewrites the file:
 * the target's own temp copy of the input, never a corpus file. Neither may crash; labels keep
 * xmp.h's promises (fuzz_labels.h); a refusal carries code 2, the file's name and a hint. A
 * file that takes the box takes it again to the same bytes (the last XMP box is replaced), and
 * when FFmpeg reads it, the packet is read back. The same entry point replays
 * tests/fuzz/corpus/video_labels in ctest (provenance_fuzz_video_labels, tests/fuzz/replay.c). */
#include "data/video_labels.h"
#include "tests/fuzz/fuzz_labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char RUN[] = "runs/fuzz";

static void fail(const char *what, const fs_error *e) {
    fprintf(stderr, "fuzz video_labels: %s (code %d, \"%s\")\n", what, e->code, e->msg);
    abort();
}

/* Labels path twice; the second time must change nothing. */
static void insert_twice(const char *path, fs_labels *L) {
    fs_provenance p = {.source_type = FS_IPTC_COMPOSITE, .run = RUN, .watermark = 1};
    fs_error e = {0};
    int rc = fs_video_xmp_insert(path, &p, &e);
    if (rc) return fuzz_check_label_refusal("video_labels (insert)", rc, &e, path);
    size_t n1 = 0, n2 = 0;
    char *once = fs_read_file(path, &n1, &e);
    if (!once) fail("cannot read the labelled copy", &e);
    if ((rc = fs_video_xmp_insert(path, &p, &e)) != 0) fail("a labelled file refused a second label", &e);
    char *twice = fs_read_file(path, &n2, &e);
    if (!twice || n1 != n2 || memcmp(once, twice, n1)) fail("a second label changed the file", &e);
    free(once), free(twice);
    if (fs_video_labels_read(path, L, &e) == 0) {
        fuzz_check_labels("video_labels (labelled)", L, 1);
        if (!L->has_xmp || strcmp(L->run, RUN)) fail("the inserted packet does not read back", &e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fs_labels L; /* 20 kB: not on the stack */
    const char *path = fuzz_label_file("video", ".mp4", data, size);
    fs_error e = {0};
    int rc = fs_video_labels_read(path, &L, &e);
    if (rc) fuzz_check_label_refusal("video_labels (read)", rc, &e, path);
    else fuzz_check_labels("video_labels (read)", &L, 1);
    insert_twice(path, &L);
    unlink(path);
    return 0;
}
