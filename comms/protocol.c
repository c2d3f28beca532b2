/* protocol.c — encoder and checked decoder of the coordinator protocol (see protocol.h). */
#include "comms/protocol.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/common.h"

/* ---------------------------------------------------------------- writer */
typedef struct wr {
    uint8_t *p;
    size_t len, cap;
    int bad; /* set when a field did not fit */
} wr;

static void put(wr *w, const void *src, size_t n) {
    if (w->bad || n > w->cap - w->len) {
        w->bad = 1;
        return;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}
static void put_u64(wr *w, uint64_t v, int bytes) {
    uint8_t b[8];
    for (int i = 0; i < bytes; i++) b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, (size_t)bytes);
}
static void put_str(wr *w, const char *s, size_t max) {
    size_t n = strlen(s);
    if (n > max) {
        w->bad = 1;
        return;
    }
    put_u64(w, n, 2);
    put(w, s, n);
}

/* ---------------------------------------------------------------- reader */
typedef struct rd {
    const uint8_t *p;
    size_t len, pos;
    char *why;
    size_t whylen;
    int bad;
} rd;

static int fail(rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(rd *r, const char *fmt, ...) {
    if (!r->bad) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, r->whylen, fmt, ap);
        va_end(ap);
    }
    r->bad = 1;
    return -1;
}
static uint64_t get_u64(rd *r, int bytes, const char *field) {
    if (r->bad) return 0;
    if ((size_t)bytes > r->len - r->pos) {
        fail(r, "field '%s' is cut off at byte %zu of %zu", field, r->pos, r->len);
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)r->p[r->pos + i] << (8 * i);
    r->pos += (size_t)bytes;
    return v;
}
static uint64_t get_range(rd *r, int bytes, const char *field, uint64_t lo, uint64_t hi) {
    uint64_t v = get_u64(r, bytes, field);
    if (!r->bad && (v < lo || v > hi))
        fail(r, "field '%s' = %llu is out of range [%llu, %llu]", field, (unsigned long long)v, (unsigned long long)lo,
             (unsigned long long)hi);
    return v;
}
static int64_t get_step(rd *r, const char *field, int64_t lo) {
    int64_t v = (int64_t)get_u64(r, 8, field);
    if (!r->bad && (v < lo || v > ((int64_t)1 << 52)))
        fail(r, "field '%s' = %lld is out of range [%lld, 2^52]", field, (long long)v, (long long)lo);
    return v;
}
/* Reads a u16-length string of printable ASCII into out (cap = max + 1). */
static size_t get_str(rd *r, char *out, size_t max, size_t min, const char *field) {
    size_t n = (size_t)get_u64(r, 2, field);
    out[0] = 0;
    if (r->bad) return 0;
    if (n < min || n > max) return fail(r, "field '%s' has length %zu; expected %zu..%zu", field, n, min, max), 0;
    if (n > r->len - r->pos) return fail(r, "field '%s' (%zu bytes) is cut off", field, n), 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = r->p[r->pos + i];
        if (c < 0x20 || c > 0x7e)
            return fail(r, "field '%s' has byte 0x%02x at %zu; expected printable ASCII", field, c, i), 0;
    }
    memcpy(out, r->p + r->pos, n);
    out[n] = 0;
    r->pos += n;
    return n;
}
static int name_ok(const char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("_.-/", *s)))
            return 0;
    return 1;
}
static int hex_ok(const char *s) {
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F'))) return 0;
    return 1;
}

int fs_proto_path_ok(const char *p, size_t len, char *why, size_t whylen) {
    if (len == 0 || len > FS_PROTO_MAX_PATH)
        return snprintf(why, whylen, "path length %zu; expected 1..%d", len, FS_PROTO_MAX_PATH), -1;
    if (p[0] == '/')
        return snprintf(why, whylen, "path '%.*s' is absolute; expected a path inside the run directory",
                        (int)FS_MIN(len, (size_t)200), p),
               -1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\')
            return snprintf(why, whylen, "path has byte 0x%02x at %zu; expected no NUL, control or backslash",
                            (unsigned char)p[i], i),
                   -1;
    for (size_t i = 0; i < len;) { /* every component: not "..", not empty-leading */
        size_t j = i;
        while (j < len && p[j] != '/') j++;
        if (j - i == 2 && p[i] == '.' && p[i + 1] == '.')
            return snprintf(why, whylen, "path '%.*s' has a '..' component; paths never leave the run directory",
                            (int)FS_MIN(len, (size_t)200), p),
                   -1;
        i = j + 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- bodies */
/* One encode_<name> / decode_<name> pair per row of FS_MSG_LIST (protocol.h); the decoder of
 * a body sees a header already checked against the row's flags. */
static void encode_register(const fs_msg *m, wr *w) {
    put_u64(w, m->u.reg.world, 4), put_u64(w, m->u.reg.pid, 8), put_u64(w, m->u.reg.config_hash, 8);
    put_str(w, m->u.reg.job_id, FS_PROTO_MAX_JOB), put_str(w, m->u.reg.host, FS_PROTO_MAX_HOST);
}
static void decode_register(rd *r, fs_msg *m) {
    m->u.reg.world = (uint32_t)get_range(r, 4, "register.world", 1, FS_PROTO_MAX_WORLD);
    if (!r->bad && m->rank >= m->u.reg.world) fail(r, "rank %u is not below world size %u", m->rank, m->u.reg.world);
    m->u.reg.pid = get_range(r, 8, "register.pid", 1, 0x7fffffff);
    m->u.reg.config_hash = get_u64(r, 8, "register.config_hash");
    get_str(r, m->u.reg.job_id, FS_PROTO_MAX_JOB, 1, "register.job_id");
    get_str(r, m->u.reg.host, FS_PROTO_MAX_HOST, 1, "register.host");
    if (!r->bad && !name_ok(m->u.reg.job_id))
        fail(r, "job id '%s' has characters outside [A-Za-z0-9_./-]", m->u.reg.job_id);
}

static void encode_heartbeat(const fs_msg *m, wr *w) {
    put_u64(w, (uint64_t)m->u.hb.step, 8), put_u64(w, m->u.hb.coll_seq, 8), put_u64(w, (uint32_t)m->u.hb.bucket, 4);
    put_u64(w, m->u.hb.coll_state, 1), put_u64(w, m->u.hb.t_ns, 8), put_u64(w, m->u.hb.dropped, 8);
}
static void decode_heartbeat(rd *r, fs_msg *m) {
    m->u.hb.step = get_step(r, "heartbeat.step", -1);
    m->u.hb.coll_seq = get_u64(r, 8, "heartbeat.coll_seq");
    m->u.hb.bucket = (int32_t)(uint32_t)get_u64(r, 4, "heartbeat.bucket");
    if (!r->bad && (m->u.hb.bucket < -1 || m->u.hb.bucket > 65535))
        fail(r, "field 'heartbeat.bucket' = %d is out of range [-1, 65535]", (int)m->u.hb.bucket);
    m->u.hb.coll_state = (uint8_t)get_range(r, 1, "heartbeat.coll_state", 0, 1);
    m->u.hb.t_ns = get_u64(r, 8, "heartbeat.t_ns");
    m->u.hb.dropped = get_range(r, 8, "heartbeat.dropped", 0, (uint64_t)1 << 52);
}

static void encode_metrics(const fs_msg *m, wr *w) {
    put_u64(w, (uint64_t)m->u.metrics.step, 8), put_u64(w, m->u.metrics.dropped, 8);
    put_str(w, m->u.metrics.json, FS_PROTO_MAX_JSON);
}
static void decode_metrics(rd *r, fs_msg *m) {
    m->u.metrics.step = get_step(r, "metrics.step", 0);
    m->u.metrics.dropped = get_range(r, 8, "metrics.dropped", 0, (uint64_t)1 << 52);
    size_t n = get_str(r, m->u.metrics.json, FS_PROTO_MAX_JSON, 2, "metrics.json");
    if (!r->bad && fs_json_flat_parse(m->u.metrics.json, n, m->u.metrics.keys, m->u.metrics.vals, FS_PROTO_MAX_METRICS,
                                      &m->u.metrics.n, r->why, r->whylen))
        r->bad = 1;
}

static void encode_checkpoint(const fs_msg *m, wr *w) {
    put_u64(w, (uint64_t)m->u.ckpt.step, 8), put_str(w, m->u.ckpt.path, FS_PROTO_MAX_PATH);
    put_u64(w, (uint64_t)m->u.ckpt.n, 1);
    for (int i = 0; i < m->u.ckpt.n && i < FS_PROTO_MAX_FILES; i++)
        put_str(w, m->u.ckpt.names[i], FS_PROTO_MAX_KEY), put_str(w, m->u.ckpt.hex[i], FS_PROTO_MAX_HEX);
}
static void decode_checkpoint(rd *r, fs_msg *m) {
    m->u.ckpt.step = get_step(r, "checkpoint.step", 0);
    size_t n = get_str(r, m->u.ckpt.path, FS_PROTO_MAX_PATH, 1, "checkpoint.path");
    if (!r->bad && fs_proto_path_ok(m->u.ckpt.path, n, r->why, r->whylen)) r->bad = 1;
    m->u.ckpt.n = (int)get_range(r, 1, "checkpoint.n_checksums", 1, FS_PROTO_MAX_FILES);
    for (int i = 0; i < m->u.ckpt.n && !r->bad; i++) {
        get_str(r, m->u.ckpt.names[i], FS_PROTO_MAX_KEY, 1, "checkpoint.checksum_name");
        get_str(r, m->u.ckpt.hex[i], FS_PROTO_MAX_HEX, 1, "checkpoint.checksum_hex");
        if (!r->bad && !name_ok(m->u.ckpt.names[i]))
            fail(r, "checksum name '%s' has characters outside [A-Za-z0-9_./-]", m->u.ckpt.names[i]);
        if (!r->bad && !hex_ok(m->u.ckpt.hex[i]))
            fail(r, "checksum '%s' of '%s' is not hexadecimal", m->u.ckpt.hex[i], m->u.ckpt.names[i]);
    }
}

static void encode_preview(const fs_msg *m, wr *w) {
    put_u64(w, (uint64_t)m->u.preview.step, 8), put_str(w, m->u.preview.path, FS_PROTO_MAX_PATH);
    put_str(w, m->u.preview.tag, FS_PROTO_MAX_KEY);
}
static void decode_preview(rd *r, fs_msg *m) {
    m->u.preview.step = get_step(r, "preview.step", 0);
    size_t n = get_str(r, m->u.preview.path, FS_PROTO_MAX_PATH, 1, "preview.path");
    if (!r->bad && fs_proto_path_ok(m->u.preview.path, n, r->why, r->whylen)) r->bad = 1;
    get_str(r, m->u.preview.tag, FS_PROTO_MAX_KEY, 1, "preview.tag");
    if (!r->bad && !name_ok(m->u.preview.tag))
        fail(r, "preview tag '%s' has characters outside [A-Za-z0-9_./-]", m->u.preview.tag);
}

static void encode_goodbye(const fs_msg *m, wr *w) {
    put_u64(w, m->u.bye.ok, 1), put_u64(w, m->u.bye.dropped, 8), put_str(w, m->u.bye.text, FS_PROTO_MAX_TEXT);
}
static void decode_goodbye(rd *r, fs_msg *m) {
    m->u.bye.ok = (uint8_t)get_range(r, 1, "goodbye.ok", 0, 1);
    m->u.bye.dropped = get_range(r, 8, "goodbye.dropped", 0, (uint64_t)1 << 52);
    get_str(r, m->u.bye.text, FS_PROTO_MAX_TEXT, 0, "goodbye.text");
}

static void encode_status_req(const fs_msg *m, wr *w) { put_u64(w, m->u.sreq.json, 1); }
static void decode_status_req(rd *r, fs_msg *m) { m->u.sreq.json = (uint8_t)get_range(r, 1, "status_req.json", 0, 1); }

static void encode_welcome(const fs_msg *m, wr *w) {
    put_u64(w, m->u.welcome.boot, 8), put_u64(w, m->u.welcome.acked, 8);
}
static void decode_welcome(rd *r, fs_msg *m) {
    m->u.welcome.boot = get_u64(r, 8, "welcome.boot"), m->u.welcome.acked = get_u64(r, 8, "welcome.acked");
}

static void encode_ack(const fs_msg *m, wr *w) { put_u64(w, m->u.ack.acked, 8), put_u64(w, m->u.ack.t_echo_ns, 8); }
static void decode_ack(rd *r, fs_msg *m) {
    m->u.ack.acked = get_u64(r, 8, "ack.acked"), m->u.ack.t_echo_ns = get_u64(r, 8, "ack.t_echo_ns");
}

static void encode_reregister(const fs_msg *m, wr *w) { (void)m, (void)w; } /* empty body */
static void decode_reregister(rd *r, fs_msg *m) { (void)r, (void)m; }

static void encode_status(const fs_msg *m, wr *w) {
    put_u64(w, m->u.status.len, 4), put(w, m->u.status.text, m->u.status.len);
}
static void decode_status(rd *r, fs_msg *m) {
    m->u.status.len = (uint32_t)get_u64(r, 4, "status.len");
    if (!r->bad && m->u.status.len > r->len - r->pos) fail(r, "status text of %u bytes is cut off", m->u.status.len);
    if (!r->bad) m->u.status.text = (const char *)r->p + r->pos, r->pos += m->u.status.len;
}

/* ---------------------------------------------------------------- the table */
typedef struct codec {
    const char *name; /* NULL: not a type */
    unsigned flags;   /* FS_MF_*, the direction included */
    void (*encode)(const fs_msg *m, wr *w);
    void (*decode)(rd *r, fs_msg *m);
} codec;

#define CODEC_ROW(num, name, NAME, from, flags)                                                                        \
    [num] = {#name, (flags) | FS_MSG_FROM_FLAG(from), encode_##name, decode_##name},
static const codec codecs[256] = {FS_MSG_LIST(CODEC_ROW)};
#undef CODEC_ROW

/* A switch over every row: two rows with one number are a duplicate case label, a build error. */
int fs_proto_type_known(int type) {
    switch (type) {
#define KNOWN_CASE(num, name, NAME, from, flags) case num:
        FS_MSG_LIST(KNOWN_CASE) return 1;
#undef KNOWN_CASE
    default: return 0;
    }
}

static const codec *codec_of(int type) { return fs_proto_type_known(type) ? &codecs[type] : NULL; }

unsigned fs_proto_type_flags(int type) {
    const codec *k = codec_of(type);
    return k ? k->flags : 0;
}

const char *fs_proto_type_name(int type) {
    const codec *k = codec_of(type);
    return k ? k->name : "unknown";
}

long fs_proto_encode(const fs_msg *m, uint8_t *buf, size_t cap, char *why, size_t whylen) {
    const codec *k = codec_of(m->type);
    if (!k) return snprintf(why, whylen, "unknown message type %d", m->type), -1;
    wr w = {buf, 0, cap, 0};
    put(&w, FS_PROTO_MAGIC, 4);
    put_u64(&w, FS_PROTO_VERSION, 1), put_u64(&w, (uint64_t)m->type, 1), put_u64(&w, 0, 2);
    put_u64(&w, m->rank, 4), put_u64(&w, m->inc, 8), put_u64(&w, m->seq, 8);
    k->encode(m, &w);
    if (w.bad)
        return snprintf(why, whylen, "%s message does not fit in %zu bytes or has an over-long field", k->name, cap),
               -1;
    return (long)w.len;
}

static void decode_header(rd *r, fs_msg *m) {
    if (r->len < FS_PROTO_HEADER) {
        fail(r, "message of %zu bytes is shorter than the %d-byte header", r->len, FS_PROTO_HEADER);
        return;
    }
    if (memcmp(r->p, FS_PROTO_MAGIC, 4) != 0) {
        fail(r, "bad magic %02x%02x%02x%02x; expected \"FSCP\" (not a faceswarm client?)", r->p[0], r->p[1], r->p[2],
             r->p[3]);
        return;
    }
    r->pos = 4;
    uint64_t version = get_u64(r, 1, "version");
    if (version != FS_PROTO_VERSION) {
        fail(r,
             "protocol version %llu; this daemon speaks version %d (hint: use the same faceswarm build on ranks and "
             "coordinator)",
             (unsigned long long)version, FS_PROTO_VERSION);
        return;
    }
    m->type = (int)get_u64(r, 1, "type");
    if (!fs_proto_type_known(m->type)) fail(r, "unknown message type %d", m->type);
    get_range(r, 2, "flags", 0, 0);
    m->rank = (uint32_t)get_u64(r, 4, "rank");
    m->inc = get_u64(r, 8, "incarnation");
    m->seq = get_u64(r, 8, "seq");
    if (r->bad) return;
    unsigned flags = codecs[m->type].flags;
    const char *name = codecs[m->type].name;
    if ((flags & FS_MF_FROM_RANK) && m->rank >= FS_PROTO_MAX_WORLD)
        fail(r, "rank %u is out of range [0, %d)", m->rank, FS_PROTO_MAX_WORLD);
    else if ((flags & FS_MF_SEQUENCED) && (m->seq == 0 || m->seq > ((uint64_t)1 << 52)))
        fail(r, "%s has seq %llu; expected 1..2^52", name, (unsigned long long)m->seq);
    else if ((flags & FS_MF_RESUME_SEQ) && m->seq > ((uint64_t)1 << 52))
        fail(r, "%s has seq %llu (the client's last acknowledged seq); expected 0..2^52", name,
             (unsigned long long)m->seq);
}

int fs_proto_decode(const void *buf, size_t len, fs_msg *m, char *why, size_t whylen) {
    rd r = {buf, len, 0, why, whylen, 0};
    memset(m, 0, offsetof(fs_msg, u));
    decode_header(&r, m);
    if (r.bad) return -1;
    codecs[m->type].decode(&r, m);
    if (!r.bad && r.pos != r.len)
        fail(&r, "%zu trailing bytes after a %s message", r.len - r.pos, fs_proto_type_name(m->type));
    return r.bad ? -2 : 0;
}
