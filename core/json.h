/* json.h — the JSON writer (a growable output buffer with string escaping and round-trip
 * numbers), a strict parser for flat metric objects ({"loss": 0.1, ...}), and field lookup
 * in the JSON lines faceswarm itself wrote (the coordinator's metrics.jsonl, registry.jsonl).
 * It was comms/coord_json.h; any folder may use it. */
#ifndef FACESWARM_CORE_JSON_H
#define FACESWARM_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef struct fs_jbuf {
    char *p;    /* NUL-terminated text */
    size_t len; /* bytes, without the NUL */
    size_t cap; /* bytes allocated */
} fs_jbuf;

void fs_jbuf_printf(fs_jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fs_jbuf_str(fs_jbuf *b, const char *s); /* appends s as a quoted, escaped JSON string */
void fs_jbuf_num(fs_jbuf *b, double v);      /* shortest round-trip number; null if not finite */
void fs_jbuf_reset(fs_jbuf *b);
void fs_jbuf_free(fs_jbuf *b);

/* Parses a flat JSON object whose values are all finite numbers and whose keys match
 * [A-Za-z0-9_./-]{1,key_max}. Returns 0, or -1 with the offset and reason in why. */
int fs_json_flat_parse(const char *s, size_t len, char (*keys)[65], double *vals, int max, int *n, char *why,
                       size_t whylen);

/* Field lookup in a line written by the coordinator ("key":value, first occurrence).
 * Return 0 when found and well-formed. */
int fs_json_get_i64(const char *line, const char *key, int64_t *v);
int fs_json_get_u64_hex(const char *line, const char *key, uint64_t *v);       /* "key":"hex" */
int fs_json_get_str(const char *line, const char *key, char *out, size_t cap); /* simple escapes */

/* Text with lines for a protocol string (printable ASCII only): backslash -> \\, newline ->
 * \n, tab -> \t, any other byte outside 0x20..0x7e -> \xHH. Writes at most cap - 1 bytes and
 * a NUL, never a partial escape. fs_text_unescape reverses it (out holds at most cap - 1). */
void fs_text_escape(const char *in, char *out, size_t cap);
void fs_text_unescape(const char *in, char *out, size_t cap);

#endif
