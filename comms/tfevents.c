/* tfevents.c — TensorBoard event-file writer and record reader (format in tfevents.h). */
#include "comms/tfevents.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- protobuf encoding */
typedef struct pb {
    uint8_t *p;
    size_t len, cap;
} pb;

static void pb_bytes(pb *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        b->p = fs_realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void pb_varint(pb *b, uint64_t v) {
    uint8_t t[10];
    int n = 0;
    do {
        t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    pb_bytes(b, t, (size_t)n);
}
static void pb_key(pb *b, int field, int wire) { pb_varint(b, (uint64_t)(field << 3 | wire)); }
static void pb_fixed(pb *b, int field, int wire, const void *v, size_t n) { /* little-endian host */
    pb_key(b, field, wire);
    pb_bytes(b, v, n);
}
static void pb_len(pb *b, int field, const void *data, size_t n) {
    pb_key(b, field, 2);
    pb_varint(b, n);
    pb_bytes(b, data, n);
}

/* ---------------------------------------------------------------- records */
uint32_t fs_tfevents_masked_crc(const void *data, size_t len) {
    uint32_t c = fs_crc32c(0, data, len);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static int write_record(fs_tfevents *w, const pb *ev) {
    uint8_t head[12];
    uint64_t n = ev->len;
    for (int i = 0; i < 8; i++) head[i] = (uint8_t)(n >> (8 * i));
    uint32_t hc = fs_tfevents_masked_crc(head, 8), dc = fs_tfevents_masked_crc(ev->p, ev->len);
    memcpy(head + 8, &hc, 4);
    if (fwrite(head, 1, 12, w->f) != 12 || fwrite(ev->p, 1, ev->len, w->f) != ev->len || fwrite(&dc, 1, 4, w->f) != 4)
        return -1;
    return 0;
}

static void event_head(pb *ev, int64_t step, double wall_time) {
    pb_fixed(ev, 1, 1, &wall_time, 8);
    pb_key(ev, 2, 0);
    pb_varint(ev, (uint64_t)step);
}

int fs_tfevents_open(fs_tfevents *w, const char *dir, fs_error *e) {
    memset(w, 0, sizeof *w);
    if (fs_mkdir_p(dir, e)) return -1;
    long t = (long)fs_wall_time();
    snprintf(w->path, sizeof w->path, "%s/events.out.tfevents.%ld.%s", dir, t, fs_hostname());
    for (int i = 1; fs_exists(w->path); i++) /* a restart within the same second gets a fresh name */
        snprintf(w->path, sizeof w->path, "%s/events.out.tfevents.%ld.%s.%d", dir, t, fs_hostname(), i);
    w->f = fs_fopen(w->path, "wb", e);
    if (!w->f) return -1;
    pb ev = {0};
    event_head(&ev, 0, fs_wall_time());
    pb_len(&ev, 3, "brain.Event:2", 13);
    int rc = write_record(w, &ev);
    free(ev.p);
    if (rc || fflush(w->f)) {
        fs_tfevents_close(w);
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot write the first event: %s\n  hint: check free space", w->path,
                         strerror(errno));
    }
    return 0;
}

int fs_tfevents_scalars(fs_tfevents *w, int64_t step, double wall_time, const char *const *tags, const float *vals,
                        int n) {
    pb ev = {0}, sum = {0}, val = {0};
    event_head(&ev, step, wall_time);
    for (int i = 0; i < n; i++) {
        val.len = 0;
        pb_len(&val, 1, tags[i], strlen(tags[i]));
        pb_fixed(&val, 2, 5, &vals[i], 4);
        pb_len(&sum, 1, val.p, val.len);
    }
    pb_len(&ev, 5, sum.p, sum.len);
    int rc = write_record(w, &ev);
    free(ev.p), free(sum.p), free(val.p);
    return rc;
}

int fs_tfevents_image(fs_tfevents *w, int64_t step, double wall_time, const char *tag, int height, int width,
                      const void *png, size_t png_len) {
    pb ev = {0}, sum = {0}, val = {0}, img = {0};
    event_head(&ev, step, wall_time);
    pb_key(&img, 1, 0), pb_varint(&img, (uint64_t)height);
    pb_key(&img, 2, 0), pb_varint(&img, (uint64_t)width);
    pb_key(&img, 3, 0), pb_varint(&img, 3);
    pb_len(&img, 4, png, png_len);
    pb_len(&val, 1, tag, strlen(tag));
    pb_len(&val, 4, img.p, img.len);
    pb_len(&sum, 1, val.p, val.len);
    pb_len(&ev, 5, sum.p, sum.len);
    int rc = write_record(w, &ev);
    free(ev.p), free(sum.p), free(val.p), free(img.p);
    return rc;
}

int fs_tfevents_flush(fs_tfevents *w, fs_error *e) {
    if (w->f && fflush(w->f))
        return fs_errorf(e, FS_EXIT_FAIL, "%s: write failed: %s\n  hint: check free space", w->path, strerror(errno));
    return 0;
}

void fs_tfevents_close(fs_tfevents *w) {
    if (w->f) fclose(w->f);
    w->f = NULL;
}

int fs_tfevents_read_record(FILE *f, uint8_t **data, size_t *len, char *why, size_t whylen) {
    uint8_t head[12];
    size_t got = fread(head, 1, 12, f);
    *data = NULL;
    if (got == 0) return 0;
    if (got != 12) return snprintf(why, whylen, "record header cut off after %zu of 12 bytes", got), -1;
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)head[i] << (8 * i);
    uint32_t hc;
    memcpy(&hc, head + 8, 4);
    if (hc != fs_tfevents_masked_crc(head, 8))
        return snprintf(why, whylen, "length CRC mismatch (length field %llu)", (unsigned long long)n), -1;
    if (n > ((uint64_t)1 << 30))
        return snprintf(why, whylen, "record length %llu exceeds 1 GiB", (unsigned long long)n), -1;
    uint8_t *d = fs_malloc(n + 1);
    uint32_t dc;
    if (fread(d, 1, n, f) != n || fread(&dc, 1, 4, f) != 4)
        return free(d), snprintf(why, whylen, "record of %llu bytes cut off", (unsigned long long)n), -1;
    if (dc != fs_tfevents_masked_crc(d, n))
        return free(d), snprintf(why, whylen, "data CRC mismatch in a record of %llu bytes", (unsigned long long)n), -1;
    *data = d;
    *len = n;
    return 1;
}
