/* extract_part.c — part files: the faces of one finished chunk, streamed to a temp file and
 * renamed whole into OUT.work/. Layout (native byte order; a part is read back by the same
 * build on the same cluster, never shipped):
 *   header  magic "FSXPART" + NUL, u32 version, u32 S, u64 work hash, i64 chunk
 *   records u32 tag 1 = face: xface_rec, S·S·3 face bytes, S·S mask bytes
 *               tag 2 = frame without a face: u32 source, i64 frame
 *   trailer u32 tag 3, i64 frames scanned, i64 faces, i64 frames without a face */
#include <stdlib.h>
#include <string.h>

#include "data/extract_int.h"

#define PART_MAGIC "FSXPART"
#define PART_VERSION 1u
enum { TAG_FACE = 1, TAG_NOFACE = 2, TAG_END = 3 };

typedef struct part_head {
    char magic[8];
    uint32_t version, S;
    uint64_t hash;
    int64_t chunk;
} part_head;

struct xpart_writer {
    char path[FS_PATH_LEN], tmp[FS_PATH_LEN + 64];
    FILE *f;
    int S;
    int64_t faces, noface;
};

void xpart_path(const char *workdir, long chunk, char *out, size_t len) {
    snprintf(out, len, "%s/chunk-%08ld.part", workdir, chunk);
}

static int put(xpart_writer *w, const void *data, size_t n, fs_error *e) {
    if (fwrite(data, 1, n, w->f) == n) return 0;
    return fs_errorf(e, FS_EXIT_FAIL, "%s: write failed (disk full?)\n  hint: free space next to the output", w->tmp);
}

int xpart_begin(xpart_writer **out, const char *path, int S, uint64_t hash, long chunk, fs_error *e) {
    xpart_writer *w = fs_calloc(1, sizeof *w);
    snprintf(w->path, sizeof w->path, "%s", path);
    fs_tmp_path(path, w->tmp, sizeof w->tmp);
    w->S = S;
    *out = NULL;
    if (!(w->f = fs_fopen(w->tmp, "wb", e))) {
        free(w);
        return e ? e->code : FS_EXIT_FAIL;
    }
    part_head h = {PART_MAGIC, PART_VERSION, (uint32_t)S, hash, chunk};
    if (put(w, &h, sizeof h, e)) {
        xpart_abort(w);
        return FS_EXIT_FAIL;
    }
    *out = w;
    return 0;
}

int xpart_face(xpart_writer *w, const xface_rec *r, const uint8_t *face, const uint8_t *mask, fs_error *e) {
    uint32_t tag = TAG_FACE;
    size_t px = (size_t)w->S * w->S;
    w->faces++;
    return put(w, &tag, sizeof tag, e) || put(w, r, sizeof *r, e) || put(w, face, px * 3, e) || put(w, mask, px, e)
               ? FS_EXIT_FAIL
               : 0;
}

int xpart_noface(xpart_writer *w, uint32_t source, int64_t frame, fs_error *e) {
    uint32_t tag = TAG_NOFACE;
    w->noface++;
    return put(w, &tag, sizeof tag, e) || put(w, &source, sizeof source, e) || put(w, &frame, sizeof frame, e)
               ? FS_EXIT_FAIL
               : 0;
}

int xpart_commit(xpart_writer *w, long scanned, fs_error *e) {
    uint32_t tag = TAG_END;
    int64_t tail[3] = {scanned, w->faces, w->noface};
    int rc = put(w, &tag, sizeof tag, e) || put(w, tail, sizeof tail, e) ? FS_EXIT_FAIL : 0;
    if (fclose(w->f) != 0 && rc == 0)
        rc = fs_errorf(e, FS_EXIT_FAIL, "%s: closing failed (disk full?)\n  hint: free space next to the output",
                       w->tmp);
    w->f = NULL;
    if (rc == 0) rc = fs_commit_file(w->tmp, w->path, e);
    else remove(w->tmp);
    free(w);
    return rc;
}

void xpart_abort(xpart_writer *w) {
    if (!w) return;
    if (w->f) fclose(w->f);
    remove(w->tmp);
    free(w);
}

/* ---------------------------------------------------------------- reading */
static int bad_part(fs_error *e, const char *path, const char *what) {
    return fs_errorf(e, FS_EXIT_BADINPUT, "%s: %s\n  hint: remove the work folder and run extract again", path, what);
}

static int read_records(FILE *f, const char *path, int S, xpart_sink *sink, uint8_t *face, fs_error *e) {
    size_t px = (size_t)S * S;
    int64_t faces = 0, noface = 0;
    for (;;) {
        uint32_t tag;
        if (fread(&tag, sizeof tag, 1, f) != 1) return bad_part(e, path, "ends before its trailer (not whole)");
        if (tag == TAG_FACE) {
            xface_rec r;
            if (fread(&r, sizeof r, 1, f) != 1 || fread(face, 1, px * 4, f) != px * 4)
                return bad_part(e, path, "a face record is cut short");
            faces++;
            if (sink->on_face && sink->on_face(sink->ctx, &r, face, face + px * 3, e))
                return e ? e->code : FS_EXIT_FAIL;
        } else if (tag == TAG_NOFACE) {
            uint32_t src;
            int64_t frame;
            if (fread(&src, sizeof src, 1, f) != 1 || fread(&frame, sizeof frame, 1, f) != 1)
                return bad_part(e, path, "a record is cut short");
            noface++;
            if (sink->on_noface && sink->on_noface(sink->ctx, src, frame, e)) return e ? e->code : FS_EXIT_FAIL;
        } else if (tag == TAG_END) {
            int64_t tail[3];
            if (fread(tail, sizeof tail, 1, f) != 1 || tail[1] != faces || tail[2] != noface)
                return bad_part(e, path, "its trailer does not match its records");
            sink->scanned = (long)tail[0];
            return 0;
        } else {
            return bad_part(e, path, "holds an unknown record tag");
        }
    }
}

int xpart_read(const char *path, int S, uint64_t hash, long chunk, xpart_sink *sink, fs_error *e) {
    FILE *f = fopen(path, "rb");
    if (!f) return bad_part(e, path, "cannot be opened");
    part_head h;
    int rc;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, PART_MAGIC, sizeof h.magic) != 0 || h.version != PART_VERSION)
        rc = bad_part(e, path, "is not a faceswarm extract part (magic or version)");
    else if (h.S != (uint32_t)S || h.hash != hash || h.chunk != chunk)
        rc = bad_part(e, path, "was written for other inputs or options");
    else {
        uint8_t *face = fs_malloc((size_t)S * S * 4);
        rc = read_records(f, path, S, sink, face, e);
        free(face);
    }
    fclose(f);
    return rc;
}
