/* fuzz_labels.h — shared by the provenance label fuzz targets (fuzz_labels.c,
 * fuzz_video_labels.c): what a reader promises of the fs_labels it fills (xmp.h), whatever the
 * file held, and what a refusal must be. */
#ifndef FACESWARM_TESTS_FUZZ_LABELS_H
#define FACESWARM_TESTS_FUZZ_LABELS_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/xmp.h"

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF), 0 when there is none. */
static inline int fuzz_utf8_len(const unsigned char *s) {
    if (s[0] < 0x80) return 1;
    int n = s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    for (int k = 1; k < n; k++)
        if ((s[k] & 0xC0) != 0x80) return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) || (s[0] == 0xF0 && s[1] < 0x90) ||
        (s[0] == 0xF4 && s[1] > 0x8F))
        return 0;
    return n;
}

static inline void fuzz_labels_fail(const char *who, const char *what, const char *field) {
    fprintf(stderr, "fuzz %s: %s (%s)\n", who, what, field);
    abort();
}

/* A field read from the file: NUL-terminated inside its array, safe for terminals and JSON
 * (fs_labels_clean: no control characters, well-formed UTF-8). */
static inline void fuzz_check_field(const char *who, const char *name, const char *s, size_t cap) {
    if (!memchr(s, 0, cap)) fuzz_labels_fail(who, "a field without its NUL", name);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = fuzz_utf8_len(p);
        if (!n) fuzz_labels_fail(who, "a field that is not well-formed UTF-8", name);
        if (*p < 0x20 || *p == 0x7F) fuzz_labels_fail(who, "a field with a control character", name);
        p += n;
    }
}

static inline void fuzz_check_labels(const char *who, const fs_labels *L, int video) {
#define FIELD(f) fuzz_check_field(who, #f, L->f, sizeof L->f)
    FIELD(version), FIELD(source_type), FIELD(tool), FIELD(run), FIELD(run_tag), FIELD(checkpoint);
    FIELD(checkpoint_checksum), FIELD(watermark), FIELD(identities), FIELD(text_synthetic), FIELD(text_disclaimer);
#undef FIELD
    if ((L->has_xmp | L->has_text | L->has_container) & ~1) fuzz_labels_fail(who, "a flag other than 0 or 1", "has_*");
    if (L->has_container && !video) fuzz_labels_fail(who, "container keys in an image", "has_container");
    if (L->n_regions < 0 || L->n_regions > FS_XMP_MAX_REGIONS)
        fuzz_labels_fail(who, "a region count out of range", "n_regions");
    for (int i = 0; i < L->n_regions; i++) {
        const fs_region *r = &L->region[i]; /* detect_cmd.c adds them: x + w must not overflow */
        if (r->w <= 0 || r->h <= 0 || (long long)r->x + r->w > INT_MAX || (long long)r->y + r->h > INT_MAX)
            fuzz_labels_fail(who, "a region detect cannot use safely", "region");
    }
}

/* A refusal (an API that returns an fs_error): exit code 2, a message naming the input, a
 * hint, no source file of faceswarm's in it. */
static inline void fuzz_check_label_refusal(const char *who, int rc, const fs_error *e, const char *path) {
    static const char *const sources[] = {"xmp.c:", "video_labels.c:", "common.c:", "image.c:"};
    int source = 0;
    for (size_t i = 0; i < sizeof sources / sizeof *sources; i++) source |= strstr(e->msg, sources[i]) != NULL;
    if (rc == FS_EXIT_BADINPUT && e->code == FS_EXIT_BADINPUT && strstr(e->msg, path) && strstr(e->msg, "hint:") &&
        !source)
        return;
    fprintf(stderr, "fuzz %s: a bad refusal: rc %d, code %d, message \"%s\"\n", who, rc, e->code, e->msg);
    abort();
}

/* The input as a file of its own (one per process, so parallel fuzz jobs do not collide). */
static inline const char *fuzz_label_file(const char *kind, const char *ext, const uint8_t *data, size_t size) {
    static char path[128];
    snprintf(path, sizeof path, "/tmp/fs-fuzz-%s-%ld%s", kind, (long)getpid(), ext);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
    return path;
}

#endif
