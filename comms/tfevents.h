/* tfevents.h — TensorBoard event files, written without TensorFlow.
 *
 * A file is a sequence of records: uint64 length (little-endian), uint32 masked CRC32C of
 * the length bytes, the data, uint32 masked CRC32C of the data. Each record's data is an
 * Event protobuf: wall_time (1, double), step (2, int64), file_version (3, "brain.Event:2",
 * first record only) or summary (5): repeated Value (1) { tag (1), simple_value (2, float),
 * image (4) { height (1), width (2), colorspace (3), encoded_image_string (4, PNG) } }. */
#ifndef FACESWARM_TFEVENTS_H
#define FACESWARM_TFEVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/common.h"

typedef struct fs_tfevents {
    FILE *f;
    char path[4096];
} fs_tfevents;

/* Creates dir (mkdir -p) and dir/events.out.tfevents.<unix time>.<host>[.<n>] (a fresh
 * name, never appended to), and writes the file_version record. */
int fs_tfevents_open(fs_tfevents *w, const char *dir, fs_error *e);
/* One event at step with n scalar values (tags[i], vals[i]). */
int fs_tfevents_scalars(fs_tfevents *w, int64_t step, double wall_time, const char *const *tags, const float *vals,
                        int n);
/* One event with a PNG image summary (height, width in pixels; colorspace 3 = RGB). */
int fs_tfevents_image(fs_tfevents *w, int64_t step, double wall_time, const char *tag, int height, int width,
                      const void *png, size_t png_len);
int fs_tfevents_flush(fs_tfevents *w, fs_error *e); /* fflush: the data reach the kernel */
void fs_tfevents_close(fs_tfevents *w);

uint32_t fs_tfevents_masked_crc(const void *data, size_t len);
/* Reads one record: 1 = a record in *data (caller frees), 0 = clean end of file,
 * -1 = torn or corrupt record (why says which CRC or length). */
int fs_tfevents_read_record(FILE *f, uint8_t **data, size_t *len, char *why, size_t whylen);

#endif
