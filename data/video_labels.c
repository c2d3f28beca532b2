/* video_labels.c — see video_labels.h. */
#define _FILE_OFFSET_BITS 64
#include "data/video_labels.h"

#include <errno.h>
#include <libavutil/opt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/video.h"
#include "data/watermark.h"
#include "core/limits.h"

/* XMP specification part 3, 1.2.7: the MP4 uuid box of XMP. */
static const uint8_t XMP_UUID[16] = {0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8,
                                     0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC};
#define XMP_MAX (16u << 20) /* a packet read back from a file; ours are a few kB */
#define MAX_BOXES 4096      /* top-level boxes walked (a fragmented MP4 has two per fragment) */

/* ---------------------------------------------------------------- container keys */
static void identities_text(const fs_provenance *p, char *out, size_t cap, int *all_consent) {
    size_t n = 0;
    out[0] = 0;
    *all_consent = 1;
    for (int i = 0; i < p->n_identities && i < FS_XMP_MAX_IDS && n < cap; i++) {
        const char *c = p->consent[i] && p->consent[i][0] ? p->consent[i] : "consent not recorded";
        *all_consent &= strcmp(c, "consent not recorded") != 0;
        n += (size_t)snprintf(out + n, cap - n, "%s%s (consent: %s)", n ? "; " : "",
                              p->identity[i] ? p->identity[i] : "", c);
    }
}

static int set_key(AVFormatContext *oc, const char *key, const char *value, fs_error *e) {
    if (!value) return 0;
    int rc = av_dict_set(&oc->metadata, key, value, 0);
    if (rc < 0) return fs_errorf(e, FS_EXIT_FAIL, "video labels: FFmpeg refused metadata key '%s' (error %d)", key, rc);
    return 0;
}

int fs_video_labels_set(AVFormatContext *oc, const fs_provenance *p, fs_error *e) {
    if (!oc || !oc->oformat)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "video labels: no output format chosen\n  hint: call after "
                         "avformat_alloc_output_context2 and before avformat_write_header");
    /* MP4/MOV keep arbitrary keys only as mdta keys; Matroska and others keep them anyway. */
    if (oc->priv_data && av_opt_find(oc->priv_data, "movflags", NULL, 0, 0) &&
        av_opt_set(oc->priv_data, "movflags", "+use_metadata_tags", 0) < 0)
        return fs_errorf(e, FS_EXIT_FAIL, "video labels: %s muxer refused movflags +use_metadata_tags",
                         oc->oformat->name);
    char ids[2048], hex[32], comment[512];
    int all_consent;
    identities_text(p, ids, sizeof ids, &all_consent);
    snprintf(comment, sizeof comment, "%s%s", FS_VIDEO_DISCLAIMER,
             p->n_identities > 0 && all_consent
                 ? "; the consent reference of each person shown is in " FS_VIDEO_KEY_PREFIX "identities"
                 : "; consent not recorded for every person shown");
    int rc = set_key(oc, "comment", comment, e);
    if (!rc)
        rc = set_key(oc, FS_VIDEO_KEY_PREFIX "digital_source_type", p->source_type ? p->source_type : FS_IPTC_COMPOSITE,
                     e);
    if (!rc) rc = set_key(oc, FS_VIDEO_KEY_PREFIX "creator_tool", "faceswarm " FS_VERSION, e);
    if (!rc) rc = set_key(oc, FS_VIDEO_KEY_PREFIX "version", FS_XMP_VERSION, e);
    if (!rc) rc = set_key(oc, FS_VIDEO_KEY_PREFIX "run", p->run, e);
    if (!rc && p->run) {
        snprintf(hex, sizeof hex, "%012llx", (unsigned long long)fs_wm_run_tag(p->run));
        rc = set_key(oc, FS_VIDEO_KEY_PREFIX "run_tag", hex, e);
    }
    if (!rc) rc = set_key(oc, FS_VIDEO_KEY_PREFIX "checkpoint", p->checkpoint, e);
    if (!rc) rc = set_key(oc, FS_VIDEO_KEY_PREFIX "checkpoint_checksum", p->checkpoint_checksum, e);
    if (!rc && p->n_identities > 0) rc = set_key(oc, FS_VIDEO_KEY_PREFIX "identities", ids, e);
    if (!rc && p->watermark) {
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)fs_wm_payload(fs_wm_run_tag(p->run ? p->run : "")));
        rc = set_key(oc, FS_VIDEO_KEY_PREFIX "watermark", hex, e);
    }
    return rc;
}

/* ---------------------------------------------------------------- ISO BMFF boxes */
typedef struct box {
    uint64_t at, size; /* offset of its header; whole size (header included) */
    int hdr;           /* header bytes: 8, 16 (64-bit size), + 16 for a uuid's extended type */
    int to_end;        /* size field 0: "up to the end of the file" */
    char type[5];
    int xmp; /* a uuid box with the XMP UUID */
} box;

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* The box at `at` of a container ending at `end`; 0, or -1 with why in e. */
static int box_read(FILE *f, uint64_t at, uint64_t end, box *b, const char *path, fs_error *e) {
    uint8_t h[32];
    memset(b, 0, sizeof *b);
    b->at = at;
    size_t got =
        end - at >= 8 && fseeko(f, (off_t)at, SEEK_SET) == 0 ? fread(h, 1, (size_t)FS_MIN(end - at, 32), f) : 0;
    if (got < 8)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: box header at byte %llu is cut off (%llu bytes left)\n  hint: the "
                         "file is truncated",
                         path, (unsigned long long)at, (unsigned long long)(end - at)),
               -1;
    for (int k = 0; k < 4; k++) b->type[k] = h[4 + k] >= 0x20 && h[4 + k] < 0x7F ? (char)h[4 + k] : '?';
    uint64_t size = be32(h);
    b->hdr = 8;
    if (size == 1) {
        if (got < 16)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: box '%s' at byte %llu: its 64-bit size is cut off\n  hint: the file is "
                             "truncated",
                             path, b->type, (unsigned long long)at),
                   -1;
        size = be64(h + 8), b->hdr = 16;
    } else if (size == 0) size = end - at, b->to_end = 1;
    if (!memcmp(b->type, "uuid", 4)) {
        if (got < (size_t)b->hdr + 16)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: uuid box at byte %llu: its UUID is cut off\n  hint: the file is truncated", path,
                             (unsigned long long)at),
                   -1;
        b->xmp = !memcmp(h + b->hdr, XMP_UUID, 16);
        b->hdr += 16;
    }
    if (size < (uint64_t)b->hdr || size > end - at)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: box '%s' at byte %llu claims %llu bytes; %llu are left\n  hint: the "
                         "file is truncated or not an MP4/MOV",
                         path, b->type, (unsigned long long)at, (unsigned long long)size,
                         (unsigned long long)(end - at)),
               -1;
    b->size = size;
    return 0;
}

/* The top-level boxes of an ISO base media file (malloc'd into *out); they must tile the
 * file, and there must be a moov. */
static int boxes_list(FILE *f, uint64_t file_size, const char *path, box **out, int *n, fs_error *e) {
    box *B = fs_malloc(sizeof(box) * MAX_BOXES);
    int k = 0, moov = 0;
    for (uint64_t at = 0; at < file_size; at += B[k - 1].size) {
        if (k == MAX_BOXES) {
            free(B);
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: more than %d top-level boxes\n  hint: remux it (ffmpeg -i IN "
                             "-c copy OUT.mp4)",
                             path, MAX_BOXES);
        }
        if (box_read(f, at, file_size, &B[k], path, e) < 0) return free(B), e->code;
        moov |= !memcmp(B[k].type, "moov", 4);
        k++;
    }
    if (!k || (memcmp(B[0].type, "ftyp", 4) && !moov) || !moov) {
        free(B);
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: not an MP4/MOV file (no %s box)\n  hint: XMP boxes go into ISO base "
                         "media files (.mp4, .mov, .m4v); write the video as MP4",
                         path, k ? "moov" : "ftyp");
    }
    *out = B, *n = k;
    return 0;
}

static int copy_range(FILE *in, FILE *out, uint64_t from, uint64_t to) {
    uint8_t buf[1 << 16];
    if (fseeko(in, (off_t)from, SEEK_SET)) return -1;
    for (uint64_t left = to - from; left > 0;) {
        size_t want = (size_t)FS_MIN(left, (uint64_t)sizeof buf);
        if (fread(buf, 1, want, in) != want || fwrite(buf, 1, want, out) != want) return -1;
        left -= want;
    }
    return 0;
}

/* Writes tmp: [0, cut) of in, the XMP box, [tail, size) of in; patches a size-0 last box. */
static int write_labelled(FILE *in, const char *tmp, uint64_t cut, uint64_t tail, uint64_t size, const box *open_end,
                          const char *xmp, fs_error *e) {
    FILE *out = fs_fopen(tmp, "wb", e);
    if (!out) return e->code;
    size_t xn = strlen(xmp);
    uint8_t hdr[24];
    put32(hdr, (uint32_t)(24 + xn));
    memcpy(hdr + 4, "uuid", 4);
    memcpy(hdr + 8, XMP_UUID, 16);
    int bad = copy_range(in, out, 0, cut) || fwrite(hdr, 1, 24, out) != 24 || fwrite(xmp, 1, xn, out) != xn ||
              copy_range(in, out, tail, size);
    if (!bad && open_end) { /* the box that ran to the end of the file now ends before ours */
        uint8_t s[4];
        put32(s, (uint32_t)(cut - open_end->at));
        bad = fseeko(out, (off_t)open_end->at, SEEK_SET) || fwrite(s, 1, 4, out) != 4;
    }
    bad |= fflush(out) != 0;
    int err = errno;
    bad |= fclose(out) != 0;
    if (bad) {
        remove(tmp);
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot write: %s\n  hint: check the free space of its folder", tmp,
                         strerror(err ? err : EIO));
    }
    return 0;
}

/* Where the new box goes: *cut (what of the file is kept before it) and *tail (what follows
 * it: an mfra box, which readers find from the end, stays last). */
static int plan_insert(const box *B, int n, uint64_t size, const char *path, uint64_t *cut, uint64_t *tail,
                       const box **open_end, fs_error *e) {
    int last = n - 1;
    *tail = size;
    if (!memcmp(B[last].type, "mfra", 4) && last > 0) *tail = B[last].at, last--;
    *cut = *tail;
    if (B[last].xmp && last > 0) *cut = B[last].at, last--; /* ours (or another XMP box) again: replaced */
    for (int i = 0; i <= last; i++)
        if (B[i].xmp)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: holds an XMP box at byte %llu that is not its last box; "
                             "a second packet would contradict it\n  hint: remux the file without it (ffmpeg -i IN "
                             "-c copy OUT.mp4) and label that",
                             path, (unsigned long long)B[i].at);
    *open_end = NULL;
    if (B[last].to_end && *cut == *tail) {
        if (B[last].size > UINT32_MAX)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: its last box '%s' runs to the end of the file and is over 4 GiB; "
                             "giving it a size would move its data\n  hint: remux the file (ffmpeg -i IN -c copy "
                             "OUT.mp4)",
                             path, B[last].type);
        *open_end = &B[last];
    }
    return 0;
}

int fs_video_xmp_insert(const char *path, const fs_provenance *p, fs_error *e) {
    struct stat st;
    int st_rc = stat(path, &st);
    if (st_rc || !S_ISREG(st.st_mode))
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: %s\n  hint: label the video after its muxer has closed it", path,
                         st_rc ? strerror(errno) : "not a regular file");
    FILE *in = fs_fopen(path, "rb", e);
    if (!in) return e->code;
    box *B = NULL;
    int n = 0;
    uint64_t cut, tail, size = (uint64_t)st.st_size;
    const box *open_end = NULL;
    int rc = boxes_list(in, size, path, &B, &n, e);
    if (!rc) rc = plan_insert(B, n, size, path, &cut, &tail, &open_end, e);
    char tmp[FS_PATH_LEN + 64];
    fs_tmp_path(path, tmp, sizeof tmp);
    if (!rc) {
        uint64_t payload = fs_wm_payload(fs_wm_run_tag(p->run ? p->run : ""));
        char *xmp =
            fs_xmp_build(p, "SYNTHETIC MEDIA: faces replaced by a face-swap model (faceswarm)", payload, p->watermark);
        rc = write_labelled(in, tmp, cut, tail, size, open_end, xmp, e);
        free(xmp);
    }
    fclose(in);
    free(B);
    if (!rc) {
        chmod(tmp, st.st_mode & 07777);
        rc = fs_commit_file(tmp, path, e);
    }
    return rc;
}

/* ---------------------------------------------------------------- reading */
/* The payload of box b (malloc'd, NUL-terminated); NULL when too large or unreadable. */
static char *box_payload(FILE *f, const box *b, size_t *len) {
    uint64_t n = b->size - (uint64_t)b->hdr;
    if (n > XMP_MAX || fseeko(f, (off_t)(b->at + (uint64_t)b->hdr), SEEK_SET)) return NULL;
    char *s = fs_malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != n) return free(s), NULL;
    s[n] = 0, *len = (size_t)n;
    return s;
}

/* The box of type `type` among the children of box parent (version/flags not skipped). */
static int child(FILE *f, const box *parent, const char *type, box *out) {
    fs_error ignore = {0};
    uint64_t end = parent->at + parent->size;
    for (uint64_t at = parent->at + (uint64_t)parent->hdr; at < end; at += out->size)
        if (box_read(f, at, end, out, "", &ignore) < 0) return 0;
        else if (!memcmp(out->type, type, 4)) return 1;
    return 0;
}

/* XMP from the top-level uuid box, else moov/udta/XMP_; silently none for other containers. */
static void xmp_from_boxes(const char *path, fs_labels *L) {
    FILE *f = fopen(path, "rb");
    if (!f) return;
    struct stat st;
    box *B = NULL, udta, xmp_box;
    int n = 0;
    fs_error ignore = {0};
    const box *found = NULL;
    if (!fstat(fileno(f), &st) && !boxes_list(f, (uint64_t)st.st_size, path, &B, &n, &ignore)) {
        for (int i = n - 1; i >= 0 && !found; i--)
            if (B[i].xmp) found = &B[i];
        for (int i = 0; i < n && !found; i++)
            if (!memcmp(B[i].type, "moov", 4) && child(f, &B[i], "udta", &udta) && child(f, &udta, "XMP_", &xmp_box))
                found = &xmp_box;
    }
    size_t len = 0;
    char *x = found ? box_payload(f, found, &len) : NULL;
    if (x) L->has_xmp = 1, fs_xmp_parse(x, len, L);
    free(x), free(B);
    fclose(f);
}

static void key_into(const AVDictionary *m, const char *key, char *dst, size_t cap, int *seen) {
    const AVDictionaryEntry *t = av_dict_get(m, key, NULL, 0);
    if (!t) return;
    if (seen) *seen = 1;
    if (dst[0]) return; /* the XMP's value stands */
    snprintf(dst, cap, "%s", t->value);
    fs_labels_clean(dst);
}

int fs_video_labels_read(const char *path, fs_labels *L, fs_error *e) {
    memset(L, 0, sizeof *L);
    AVFormatContext *fmt = NULL;
    av_log_set_level(AV_LOG_QUIET); /* FFmpeg's own chatter; errors are reported here */
    fs_av_limits();
    int rc = avformat_open_input(&fmt, path, NULL, NULL);
    if (rc < 0) {
        char text[AV_ERROR_MAX_STRING_SIZE] = "";
        av_strerror(rc, text, sizeof text);
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: cannot read as a video: %s\n  hint: %s", path, text,
                         fs_av_hint(rc, "the file is not a video FFmpeg knows, or it is truncated; check it with "
                                        "ffprobe"));
    }
    xmp_from_boxes(path, L);
    const AVDictionary *m = fmt->metadata;
    int seen = 0;
    key_into(m, FS_VIDEO_KEY_PREFIX "digital_source_type", L->source_type, sizeof L->source_type, &seen);
    key_into(m, FS_VIDEO_KEY_PREFIX "creator_tool", L->tool, sizeof L->tool, &seen);
    key_into(m, FS_VIDEO_KEY_PREFIX "version", L->version, sizeof L->version, &seen);
    key_into(m, FS_VIDEO_KEY_PREFIX "run", L->run, sizeof L->run, &seen);
    key_into(m, FS_VIDEO_KEY_PREFIX "run_tag", L->run_tag, sizeof L->run_tag, &seen);
    key_into(m, FS_VIDEO_KEY_PREFIX "checkpoint", L->checkpoint, sizeof L->checkpoint, &seen);
    key_into(m, FS_VIDEO_KEY_PREFIX "checkpoint_checksum", L->checkpoint_checksum, sizeof L->checkpoint_checksum,
             &seen);
    key_into(m, FS_VIDEO_KEY_PREFIX "identities", L->identities, sizeof L->identities, &seen);
    key_into(m, FS_VIDEO_KEY_PREFIX "watermark", L->watermark, sizeof L->watermark, &seen);
    key_into(m, "comment", L->text_disclaimer, sizeof L->text_disclaimer, NULL);
    L->has_container = seen;
    avformat_close_input(&fmt);
    return 0;
}
