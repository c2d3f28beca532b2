/* coord_state.c — what the coordinator does with messages: the rank table, metrics.jsonl,
 * the checkpoint registry, TensorBoard events, rebuild after a restart, timeouts and the
 * status snapshot, and the daemon's log. Nothing here trusts a message the decoder has not
 * checked. Nothing here knows a socket: replies go into c->outbox, which the loop
 * (coordinator.c) sends; each message type's handler is its row's on_<name> (FS_MSG_LIST). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comms/coord_daemon.h"

static int snapper_start(coord *c, fs_error *e); /* the snapshot writer thread, at the end */

static const char *reserved_keys[] = {"rank", "inc", "seq", "step", "time", "dropped"};

/* A message handed to its handler (the daemon's column of FS_MSG_LIST). */
typedef struct coord_in {
    coord_rank *k;      /* the sender's entry: set for FS_MF_SESSION messages, else NULL */
    const uint8_t *rid; /* the sender's routing id, for a reply */
    size_t rid_len;
    const fs_msg *m; /* decoded and checked */
} coord_in;
typedef void coord_handler(coord *c, const coord_in *in);

/* ---------------------------------------------------------------- logging */
void coord_log(coord *c, fs_log_level lvl, const char *fmt, ...) {
    static const char *names[] = {"debug", "info", "warning", "error"};
    char t[32], text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fs_iso_time(t);
    if (c->log) {
        fprintf(c->log, "%s %s: %s\n", t, names[lvl], text);
        fflush(c->log);
    }
    if (lvl >= FS_LOG_WARN || c->o.verbose) fprintf(stderr, "coordinator %s: %s\n", names[lvl], text);
}

/* The window and the lines per kind it logs one by one: what a client can make the daemon
 * repeat (a reconnect loop, a flood of registers) costs a few lines per 10 s, not one each. */
static const struct {
    const char *what;
    int max;
} limit_kinds[CL_N_KINDS] = {
    [CL_BAD] = {"dropped messages", 20},
    [CL_ZAP] = {"refused client keys", 5},
    [CL_NO_CURVE] = {"refused clients without CURVE", 5},
    [CL_WRONG_KEYS] = {"refused handshakes with other keys", 5},
    [CL_HANDSHAKE] = {"refused handshakes", 5},
    [CL_REGISTER] = {"re-registrations", 20},
    [CL_OTHER_JOB] = {"refused registrations and ranks of another job", 5},
};
#define LOG_WINDOW_S 10.0

void coord_log_limited(coord *c, coord_log_kind kind, fs_log_level lvl, const char *fmt, ...) {
    coord_limit *l = &c->limits[kind];
    if (l->logged >= limit_kinds[kind].max) {
        l->suppressed++;
        return;
    }
    l->logged++;
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    coord_log(c, lvl, "%s", text);
}

void coord_log_window(coord *c, double now, int force) {
    if (now - c->log_window < LOG_WINDOW_S && !force) return;
    for (int k = 0; k < CL_N_KINDS; k++) {
        coord_limit *l = &c->limits[k];
        if (l->suppressed)
            coord_log(c, FS_LOG_WARN, "%llu similar lines suppressed in the last %.0f s (%s)",
                      (unsigned long long)l->suppressed, now - c->log_window, limit_kinds[k].what);
        l->logged = 0, l->suppressed = 0;
    }
    c->log_window = now;
}

/* ---------------------------------------------------------------- outbox */
static void *grow(void *p, size_t need, size_t *cap, size_t elem) {
    if (need <= *cap) return p;
    size_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    *cap = n;
    return fs_realloc(p, n * elem);
}

void coord_outbox_clear(coord_outbox *o) { o->n = 0, o->used = 0; }

void coord_outbox_free(coord_outbox *o) {
    free(o->q), free(o->bytes);
    *o = (coord_outbox){0};
}

/* Encodes m for the peer rid into the outbox; the loop sends it (coordinator.c). */
static void reply(coord *c, const uint8_t *rid, size_t rid_len, const fs_msg *m) {
    coord_outbox *o = &c->outbox;
    char why[256];
    size_t cap =
        (fs_proto_type_flags(m->type) & FS_MF_UNCAPPED) ? FS_PROTO_HEADER + 8 + m->u.status.len : FS_PROTO_MAX_MSG;
    size_t qcap = (size_t)o->cap;
    o->bytes = grow(o->bytes, o->used + cap, &o->bytes_cap, 1);
    o->q = grow(o->q, (size_t)o->n + 1, &qcap, sizeof *o->q);
    o->cap = (int)qcap;
    long n = fs_proto_encode(m, o->bytes + o->used, cap, why, sizeof why);
    if (n < 0) return coord_log(c, FS_LOG_ERROR, "cannot encode a %s reply: %s", fs_proto_type_name(m->type), why);
    coord_reply *r = &o->q[o->n++];
    memcpy(r->rid, rid, FS_MIN(rid_len, sizeof r->rid));
    r->rid_len = FS_MIN(rid_len, sizeof r->rid), r->off = o->used, r->len = (size_t)n;
    o->used += (size_t)n;
}

/* ---------------------------------------------------------------- rank table */
/* Memory follows what is present: a pointer per rank of the world (the world comes from the
 * command line, never from a message), an entry per rank that registered or is in the files. */
void coord_ranks_alloc(coord *c) {
    c->ranks = fs_calloc(c->world ? c->world : 1, sizeof *c->ranks);
    c->pending = fs_malloc((c->world ? c->world : 1) * sizeof *c->pending);
}

static coord_rank *rank_find(coord *c, uint32_t r) { return r < c->world ? c->ranks[r] : NULL; }

static coord_rank *rank_add(coord *c, uint32_t r) {
    if (r >= c->world) return NULL;
    if (!c->ranks[r]) {
        coord_rank *k = fs_calloc(1, sizeof *k);
        k->rank = r, k->step = -1, k->metrics_step = -1;
        c->ranks[r] = k;
        c->n_present++;
    }
    return c->ranks[r];
}

/* O(1): at most COORD_INCS incarnations per rank; a new one replaces the least recently used.
 * An incarnation that comes back after being replaced says at registration what it had
 * acknowledged (docs/protocol.md, "Delivery"), so forgetting it never duplicates a line. */
static coord_inc *inc_get(coord *c, coord_rank *k, uint64_t inc) {
    coord_inc *lru = &k->incs[0];
    for (int i = 0; i < k->n_incs; i++) {
        if (k->incs[i].inc == inc) return k->incs[i].used = ++c->inc_clock, &k->incs[i];
        if (k->incs[i].used < lru->used) lru = &k->incs[i];
    }
    coord_inc *ci = k->n_incs < COORD_INCS ? &k->incs[k->n_incs++] : lru;
    *ci = (coord_inc){inc, 0, ++c->inc_clock};
    return ci;
}

static void send_ack(coord *c, uint32_t r, uint64_t echo_ns) {
    coord_rank *k = c->ranks[r];
    fs_msg a = {.type = FS_MSG_ACK, .rank = r, .inc = k->inc};
    a.u.ack.acked = k->acked, a.u.ack.t_echo_ns = echo_ns;
    reply(c, k->rid, k->rid_len, &a);
}

static void queue_ack(coord *c, coord_rank *k) {
    if (!k->ack_pending) c->pending[c->n_pending++] = (int)k->rank;
    k->ack_pending = 1;
}

/* ---------------------------------------------------------------- rebuild from files */
/* Cuts a torn last line (a kill during a write) so that the file is whole lines again. */
static int truncate_torn(const char *path, fs_error *e) {
    size_t len;
    char *text = fs_read_file(path, &len, e);
    if (!text) return -1;
    size_t keep = len;
    while (keep > 0 && text[keep - 1] != '\n') keep--;
    free(text);
    if (keep != len && truncate(path, (off_t)keep))
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot cut the torn last line: %s\n  hint: check permissions", path,
                         strerror(errno));
    return 0;
}

/* A registry line is the run's last checkpoint only when it is whole: a path that stays in the
 * run directory and its checksums (what fs_coord_registry_read accepts for --resume auto). */
static void rebuild_checkpoint(coord *c, const char *line) {
    int64_t step;
    char path[FS_PROTO_MAX_PATH + 1], why[256], when[32];
    if (fs_json_get_i64(line, "step", &step) || step < 0 || fs_json_get_str(line, "path", path, sizeof path) ||
        fs_proto_path_ok(path, strlen(path), why, sizeof why) || !strstr(line, "\"checksums\":{\""))
        return;
    c->ckpt_step = step;
    snprintf(c->ckpt_path, sizeof c->ckpt_path, "%s", path);
    if (fs_json_get_str(line, "time", when, sizeof when)) when[0] = 0;
    snprintf(c->ckpt_time, sizeof c->ckpt_time, "%s", when);
}

void coord_rebuild_line(coord *c, const char *line, coord_file kind) {
    int64_t rank, seq, step = -1;
    uint64_t inc;
    if (kind == COORD_FILE_REGISTRY) rebuild_checkpoint(c, line); /* of any rank: the run's, at any world size */
    if (fs_json_get_i64(line, "rank", &rank) || fs_json_get_u64_hex(line, "inc", &inc) ||
        fs_json_get_i64(line, "seq", &seq) || rank < 0 || rank >= (int64_t)c->world || seq < 1 ||
        seq > ((int64_t)1 << 52))
        return;
    if (kind == COORD_FILE_METRICS && fs_json_get_i64(line, "step", &step)) return;
    coord_rank *k = rank_add(c, (uint32_t)rank);
    coord_inc *ci = inc_get(c, k, inc);
    if ((uint64_t)seq > ci->seq) ci->seq = (uint64_t)seq;
    k->seen = 1;
    if (kind == COORD_FILE_METRICS) {
        k->step = step;
        k->metrics_step = FS_MAX(k->metrics_step, step), k->metrics_inc = inc;
    }
}

static const char *file_names[] = {"metrics.jsonl", "registry.jsonl", "events.jsonl"};

static int rebuild_file(coord *c, coord_file kind, FILE **out, fs_error *e) {
    char path[COORD_PATH + 128];
    snprintf(path, sizeof path, "%s/%s", c->dir, file_names[kind]);
    long lines = 0;
    if (fs_exists(path)) {
        if (truncate_torn(path, e)) return -1;
        FILE *f = fs_fopen(path, "r", e);
        if (!f) return -1;
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) coord_rebuild_line(c, line, kind), lines++;
        free(line);
        fclose(f);
    }
    *out = fs_fopen(path, "a", e);
    if (!*out) return -1;
    if (lines) coord_log(c, FS_LOG_INFO, "rebuilt state from %s (%ld lines)", path, lines);
    return 0;
}

int coord_state_open(coord *c, fs_error *e) {
    snprintf(c->dir, sizeof c->dir, "%s/coordinator", c->o.state_dir);
    c->ckpt_step = -1, c->target_step = -1, c->loss = NAN;
    if (fs_mkdir_p(c->dir, e)) return -1;
    coord_ranks_alloc(c);
    char tb[COORD_PATH + 32];
    snprintf(tb, sizeof tb, "%s/tensorboard", c->o.state_dir);
    if (rebuild_file(c, COORD_FILE_METRICS, &c->metrics, e) || rebuild_file(c, COORD_FILE_REGISTRY, &c->registry, e) ||
        rebuild_file(c, COORD_FILE_EVENTS, &c->events, e) || fs_tfevents_open(&c->tb, tb, e) || snapper_start(c, e))
        return -1;
    return 0;
}

void coord_state_close(coord *c) {
    coord_snapper_stop(c);
    if (c->metrics) fclose(c->metrics);
    if (c->registry) fclose(c->registry);
    if (c->events) fclose(c->events);
    fs_tfevents_close(&c->tb);
    for (uint32_t i = 0; c->ranks && i < c->world; i++) free(c->ranks[i]);
    free(c->ranks), free(c->pending);
    fs_jbuf_free(&c->line);
    coord_outbox_free(&c->outbox);
    c->ranks = NULL, c->pending = NULL, c->metrics = c->registry = c->events = NULL;
}

/* ---------------------------------------------------------------- bad messages */
void coord_bad(coord *c, const char *fmt, ...) {
    c->n_bad++;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    coord_log_limited(c, CL_BAD, FS_LOG_WARN, "dropped a message: %s", text);
}

/* ---------------------------------------------------------------- storing */
static int is_reserved(const char *key) {
    for (size_t i = 0; i < FS_ARRAY_LEN(reserved_keys); i++)
        if (!strcmp(key, reserved_keys[i])) return 1;
    return 0;
}

static void tb_metrics(coord *c, uint32_t r, const fs_msg *m) {
    const char *tags[FS_PROTO_MAX_METRICS + 1];
    float vals[FS_PROTO_MAX_METRICS + 1];
    char own[32];
    int n = 0;
    for (int i = 0; i < m->u.metrics.n; i++) {
        if (is_reserved(m->u.metrics.keys[i])) continue;
        if (r == 0) tags[n] = m->u.metrics.keys[i], vals[n++] = (float)m->u.metrics.vals[i];
        if (!strcmp(m->u.metrics.keys[i], "step_ms")) {
            snprintf(own, sizeof own, "rank%u/step_ms", r);
            tags[n] = own, vals[n++] = (float)m->u.metrics.vals[i];
        }
    }
    if (n && fs_tfevents_scalars(&c->tb, m->u.metrics.step, fs_wall_time(), tags, vals, n))
        coord_log(c, FS_LOG_WARN, "%s: cannot write an event: %s", c->tb.path, strerror(errno));
}

/* Writes the lines of path that keep() accepts to a temp file and renames it over path. */
static long rewrite_lines(const char *path, int (*keep)(const char *, const void *), const void *arg, fs_error *e) {
    char *text = fs_read_file(path, NULL, e);
    if (!text) return -1;
    char tmp[COORD_PATH + 160];
    fs_tmp_path(path, tmp, sizeof tmp);
    FILE *f = fs_fopen(tmp, "w", e);
    long dropped = 0;
    int bad = !f;
    for (char *line = text, *nl; f && *line; line = nl + 1) {
        if (!(nl = strchr(line, '\n'))) break; /* whole lines only: the file was flushed */
        *nl = 0;
        if (keep(line, arg)) bad |= fprintf(f, "%s\n", line) < 0;
        else dropped++;
    }
    free(text);
    if (f) bad |= fflush(f) != 0 || fsync(fileno(f)) != 0, bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        if (f) unlink(tmp);
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot rewrite: %s\n  hint: check free space", path, strerror(errno)),
               -1;
    }
    return dropped;
}

typedef struct trim_arg {
    uint32_t rank;
    int64_t from_step;
} trim_arg;

static int keep_line(const char *line, const void *arg) {
    const trim_arg *t = arg;
    int64_t rank, step;
    return fs_json_get_i64(line, "rank", &rank) || fs_json_get_i64(line, "step", &step) || rank != t->rank ||
           step < t->from_step;
}

/* A rank that restarted (a new incarnation) resumes from its checkpoint and sends again the
 * steps after it: its previous incarnation's lines of those steps are replaced, so that
 * metrics.jsonl holds every rank's every step exactly once, as the run's metrics.jsonl does. */
static void supersede_metrics(coord *c, coord_rank *k, int64_t from_step) {
    char path[COORD_PATH + 64];
    snprintf(path, sizeof path, "%s/metrics.jsonl", c->dir);
    fs_error e = {0};
    trim_arg t = {k->rank, from_step};
    if (fflush(c->metrics)) coord_log(c, FS_LOG_ERROR, "%s: write failed: %s", path, strerror(errno));
    long n = rewrite_lines(path, keep_line, &t, &e);
    FILE *f = fs_fopen(path, "a", &e);
    if (n < 0 || !f) {
        coord_log(c, FS_LOG_ERROR, "%s; rank %u's steps from %lld may appear twice", e.msg, k->rank,
                  (long long)from_step);
        if (f) fclose(c->metrics), c->metrics = f;
        return;
    }
    fclose(c->metrics), c->metrics = f;
    if (n)
        coord_log(c, FS_LOG_INFO,
                  "rank %u restarted at step %lld: %ld lines of its previous incarnation from that step replaced",
                  k->rank, (long long)from_step, n);
}

static void on_metrics(coord *c, const coord_in *in) {
    coord_rank *k = in->k;
    const fs_msg *m = in->m;
    int64_t step = m->u.metrics.step;
    if (k->metrics_step >= step && k->metrics_inc != m->inc) supersede_metrics(c, k, step);
    fs_jbuf *b = &c->line;
    fs_jbuf_reset(b);
    fs_jbuf_printf(b, "{\"rank\":%u,\"inc\":\"%016llx\",\"seq\":%llu,\"step\":%lld,\"time\":%.3f,\"dropped\":%llu",
                   m->rank, (unsigned long long)m->inc, (unsigned long long)m->seq, (long long)step, fs_wall_time(),
                   (unsigned long long)m->u.metrics.dropped);
    for (int i = 0; i < m->u.metrics.n; i++) {
        const char *key = m->u.metrics.keys[i];
        double v = m->u.metrics.vals[i];
        if (is_reserved(key)) continue;
        fs_jbuf_printf(b, ",\"%s\":", key); /* keys are [A-Za-z0-9_./-]: nothing to escape */
        fs_jbuf_num(b, v);
        if (!strcmp(key, "step_ms")) k->step_ms = v;
        if (!strcmp(key, "images_per_s")) k->images_per_s = v;
        if (m->rank == 0 && !strcmp(key, "loss")) c->loss = v;
        if (m->rank == 0 && !strcmp(key, "step_ms")) c->step_ms = v;
        if (m->rank == 0 && !strcmp(key, "target_step") && v >= 0 && v < 4.5e15) c->target_step = (int64_t)v;
    }
    fs_jbuf_printf(b, "}\n");
    if (fwrite(b->p, 1, b->len, c->metrics) != b->len)
        coord_log(c, FS_LOG_ERROR, "%s/metrics.jsonl: write failed: %s", c->dir, strerror(errno));
    k->step = step;
    k->metrics_step = step, k->metrics_inc = m->inc;
    tb_metrics(c, m->rank, m);
    c->dirty = 1;
    if (m->u.metrics.dropped > k->dropped) {
        coord_log(c, FS_LOG_WARN, "rank %u on %s: its buffer overflowed, %llu messages lost so far", m->rank, k->host,
                  (unsigned long long)m->u.metrics.dropped);
        k->dropped = m->u.metrics.dropped;
    }
}

/* events.jsonl: a line for every sequenced message that is not a metrics line or a checkpoint
 * (previews, goodbyes, skipped bodies, acknowledged messages an earlier daemon lost), so that
 * every sequence number the daemon acknowledged is in its files and a restart rebuilds it. */
static fs_jbuf *event_begin(coord *c, uint32_t rank, uint64_t inc, uint64_t seq, const char *type) {
    fs_jbuf *b = &c->line;
    fs_jbuf_reset(b);
    fs_jbuf_printf(b, "{\"rank\":%u,\"inc\":\"%016llx\",\"seq\":%llu,\"type\":\"%s\",\"time\":%.3f", rank,
                   (unsigned long long)inc, (unsigned long long)seq, type, fs_wall_time());
    return b;
}

static void event_end(coord *c, fs_jbuf *b) {
    fs_jbuf_printf(b, "}\n");
    if (fwrite(b->p, 1, b->len, c->events) != b->len)
        coord_log(c, FS_LOG_ERROR, "%s/events.jsonl: write failed: %s", c->dir, strerror(errno));
    c->dirty = 1;
}

static void on_checkpoint(coord *c, const coord_in *in) {
    const fs_msg *m = in->m;
    fs_jbuf *b = &c->line;
    char now[32];
    fs_iso_time(now);
    fs_jbuf_reset(b);
    /* rank, inc, seq before the checksums: a lookup takes a key's first occurrence, and a
     * checksum may be named "seq" (what a restart rebuilds must not read a checksum for it). */
    fs_jbuf_printf(b,
                   "{\"step\":%lld,\"rank\":%u,\"inc\":\"%016llx\",\"seq\":%llu,\"path\":", (long long)m->u.ckpt.step,
                   m->rank, (unsigned long long)m->inc, (unsigned long long)m->seq);
    fs_jbuf_str(b, m->u.ckpt.path);
    fs_jbuf_printf(b, ",\"checksums\":{");
    for (int i = 0; i < m->u.ckpt.n; i++) {
        fs_jbuf_printf(b, "%s", i ? "," : "");
        fs_jbuf_str(b, m->u.ckpt.names[i]);
        fs_jbuf_printf(b, ":");
        fs_jbuf_str(b, m->u.ckpt.hex[i]);
    }
    fs_jbuf_printf(b, "},\"time\":\"%s\"}\n", now);
    /* Append-only and fsynced per line: --resume auto trusts what is here. */
    if (fwrite(b->p, 1, b->len, c->registry) != b->len || fflush(c->registry) || fsync(fileno(c->registry)))
        coord_log(c, FS_LOG_ERROR, "%s/registry.jsonl: write failed: %s", c->dir, strerror(errno));
    c->ckpt_step = m->u.ckpt.step;
    snprintf(c->ckpt_path, sizeof c->ckpt_path, "%s", m->u.ckpt.path);
    snprintf(c->ckpt_time, sizeof c->ckpt_time, "%s", now);
    coord_log(c, FS_LOG_INFO, "checkpoint at step %lld registered: %s (%d checksums)", (long long)m->u.ckpt.step,
              m->u.ckpt.path, m->u.ckpt.n);
}

/* Reads a preview PNG from inside the run directory (symlinks resolved and checked). */
static uint8_t *read_preview(coord *c, const char *rel, size_t *len, int *h, int *w) {
    char path[COORD_PATH * 2], real[PATH_MAX], root[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", c->o.state_dir, rel);
    if (!realpath(path, real) || !realpath(c->o.state_dir, root) || strncmp(real, root, strlen(root)) ||
        real[strlen(root)] != '/') {
        coord_log(c, FS_LOG_WARN, "preview '%s' is missing or resolves outside the run directory %s; ignored", rel,
                  c->o.state_dir);
        return NULL;
    }
    struct stat st;
    if (stat(real, &st) || st.st_size < 33 || st.st_size > (16 << 20)) {
        coord_log(c, FS_LOG_WARN, "preview %s: size not in 33 B..16 MiB; ignored", real);
        return NULL;
    }
    fs_error e = {0};
    uint8_t *png = (uint8_t *)fs_read_file(real, len, &e);
    if (!png || memcmp(png, "\x89PNG\r\n\x1a\n", 8) || memcmp(png + 12, "IHDR", 4)) {
        coord_log(c, FS_LOG_WARN, "preview %s: not a PNG file; ignored", real);
        free(png);
        return NULL;
    }
    *w = (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19];
    *h = (png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23];
    return png;
}

static void on_preview(coord *c, const coord_in *in) {
    const fs_msg *m = in->m;
    size_t len;
    int h, w;
    uint8_t *png = read_preview(c, m->u.preview.path, &len, &h, &w);
    fs_jbuf *b = event_begin(c, m->rank, m->inc, m->seq, "preview");
    fs_jbuf_printf(b, ",\"step\":%lld,\"path\":", (long long)m->u.preview.step);
    fs_jbuf_str(b, m->u.preview.path);
    fs_jbuf_printf(b, ",\"tag\":");
    fs_jbuf_str(b, m->u.preview.tag);
    fs_jbuf_printf(b, ",\"image\":%s", png ? "true" : "false");
    event_end(c, b);
    if (!png) return;
    if (fs_tfevents_image(&c->tb, m->u.preview.step, fs_wall_time(), m->u.preview.tag, h, w, png, len))
        coord_log(c, FS_LOG_WARN, "%s: cannot write an image event: %s", c->tb.path, strerror(errno));
    free(png);
}

static void on_goodbye(coord *c, const coord_in *in) {
    coord_rank *k = in->k;
    const fs_msg *m = in->m;
    k->gone = 1;
    k->bye_ok = m->u.bye.ok;
    k->dropped = FS_MAX(k->dropped, m->u.bye.dropped);
    fs_text_unescape(m->u.bye.text, k->bye_text,
                     sizeof k->bye_text); /* the client escaped its lines (fs_text_escape) */
    fs_jbuf *b = event_begin(c, m->rank, m->inc, m->seq, "goodbye");
    fs_jbuf_printf(b, ",\"ok\":%d,\"dropped\":%llu,\"text\":", m->u.bye.ok, (unsigned long long)m->u.bye.dropped);
    fs_jbuf_str(b, k->bye_text);
    event_end(c, b);
    coord_log(c, m->u.bye.ok ? FS_LOG_INFO : FS_LOG_WARN, "rank %u on %s said goodbye: %s%s%s", m->rank, k->host,
              m->u.bye.ok ? "clean exit" : "error", k->bye_text[0] ? ": " : "", k->bye_text);
}

static void on_heartbeat(coord *c, const coord_in *in) {
    coord_rank *k = in->k;
    const fs_msg *m = in->m;
    if (m->u.hb.coll_seq != k->coll_seq || (m->u.hb.coll_state && !k->coll_state)) k->coll_since = fs_now();
    k->step = FS_MAX(k->step, m->u.hb.step);
    k->coll_seq = m->u.hb.coll_seq;
    k->bucket = m->u.hb.bucket;
    k->coll_state = m->u.hb.coll_state;
    if (m->u.hb.dropped > k->dropped) k->dropped = m->u.hb.dropped;
    /* Answered with the batch's ACK, not at once: ranks send a heartbeat and metrics together,
     * and two ACKs per rank cost more (measured at 512 ranks) than the wait for the batch. */
    k->ack_echo = m->u.hb.t_ns;
}

/* The register's seq is the highest sequence number the client has had acknowledged. Above
 * what this daemon's files hold, an earlier daemon acknowledged messages it did not keep (a
 * crash of the machine before they reached the disk, or files written before every sequenced
 * message had a line): the client no longer has them, so they are recorded as lost, counted
 * and logged, and the rank goes on after them instead of waiting for them forever. */
static void settle_lost(coord *c, coord_rank *k, const fs_msg *m, coord_inc *ci) {
    if (m->seq <= ci->seq) return;
    uint64_t first = ci->seq + 1, n = m->seq - ci->seq;
    fs_jbuf *b = event_begin(c, m->rank, m->inc, m->seq, "lost");
    fs_jbuf_printf(b, ",\"first\":%llu", (unsigned long long)first);
    event_end(c, b);
    c->n_lost += n;
    ci->seq = m->seq;
    coord_log_limited(c, CL_REGISTER, FS_LOG_WARN,
                      "rank %u: %llu messages (seq %llu..%llu) were acknowledged by an earlier coordinator but are not "
                      "in %s; "
                      "recorded as lost",
                      m->rank, (unsigned long long)n, (unsigned long long)first, (unsigned long long)m->seq, c->dir);
}

static void on_register(coord *c, const coord_in *in) {
    const fs_msg *m = in->m;
    if (strcmp(c->job, m->u.reg.job_id) || c->world != m->u.reg.world) {
        c->n_bad++;
        coord_log_limited(c, CL_OTHER_JOB, FS_LOG_WARN,
                          "refused a register from rank %u of job '%s' (world %u, host %s): this coordinator serves "
                          "job '%s' of %u ranks\n"
                          "  hint: a rank of another job has this coordinator's address; check coordinator.address",
                          m->rank, m->u.reg.job_id, m->u.reg.world, m->u.reg.host, c->job, c->world);
        return;
    }
    coord_rank *k = rank_add(c, m->rank); /* the decoder checked rank < world */
    int first = !k->known, again = k->known && k->inc == m->inc;
    k->known = k->seen = 1, k->gone = 0, k->inc = m->inc;
    coord_inc *ci = inc_get(c, k, m->inc);
    settle_lost(c, k, m, ci);
    k->acked = ci->seq;
    k->pid = m->u.reg.pid, k->config_hash = m->u.reg.config_hash;
    snprintf(k->host, sizeof k->host, "%s", m->u.reg.host);
    k->last_hb = fs_now();
    if (first) /* once per rank and daemon start: bounded by the world */
        coord_log(c, FS_LOG_INFO, "rank %u/%u registered: host %s pid %llu config %016llx, resumes after seq %llu",
                  m->rank, c->world, k->host, (unsigned long long)k->pid, (unsigned long long)k->config_hash,
                  (unsigned long long)k->acked);
    else if (!again)
        coord_log_limited(c, CL_REGISTER, FS_LOG_INFO,
                          "rank %u registered again: a new incarnation on host %s pid %llu, resumes after seq %llu",
                          m->rank, k->host, (unsigned long long)k->pid, (unsigned long long)k->acked);
    if (k->unflushed || c->dirty) coord_end_batch(c); /* the welcome's acked must be on disk too */
    fs_msg w = {.type = FS_MSG_WELCOME, .rank = m->rank, .inc = m->inc};
    w.u.welcome.boot = c->boot, w.u.welcome.acked = k->acked;
    reply(c, in->rid, in->rid_len, &w);
}

static void on_status_req(coord *c, const coord_in *in) {
    fs_jbuf b = {0};
    coord_status_text(c, &b, in->m->u.sreq.json);
    fs_msg s = {.type = FS_MSG_STATUS, .rank = FS_PROTO_NO_RANK};
    s.u.status.text = b.p, s.u.status.len = (uint32_t)b.len;
    reply(c, in->rid, in->rid_len, &s);
    fs_jbuf_free(&b);
}

/* A sequenced message whose body is refused still consumes its sequence number (it is
 * counted, logged, recorded and acknowledged): the rank's later messages must not wait behind it. */
static void skip_refused(coord *c, const uint8_t *rid, size_t rid_len, const fs_msg *m, const char *why) {
    coord_bad(c, "rank %u: %s (seq %llu skipped)", m->rank, why, (unsigned long long)m->seq);
    coord_rank *k = rank_find(c, m->rank);
    if (!k || !k->known || k->inc != m->inc) return;
    memcpy(k->rid, rid, rid_len);
    k->rid_len = rid_len;
    if (m->seq == k->acked + 1) {
        fs_jbuf *b = event_begin(c, m->rank, m->inc, m->seq, "skipped");
        fs_jbuf_printf(b, ",\"why\":");
        fs_jbuf_str(b, why);
        event_end(c, b);
        k->acked = m->seq, k->unflushed = 1, inc_get(c, k, k->inc)->seq = m->seq;
    }
    queue_ack(c, k);
}

/* Any message from a rank is a sign of life; one that ends a silence says so in the log. */
static void rank_alive(coord *c, coord_rank *k) {
    double now = fs_now();
    if (k->warn_kinds & CW_SILENT) {
        coord_log(c, FS_LOG_INFO, "rank %u on %s heartbeats again after %.0f s", k->rank, k->host,
                  now - k->silent_from);
        k->warn_kinds &= ~(unsigned)CW_SILENT;
    }
    k->last_hb = now;
}

/* A sequenced message is stored once, in order: a duplicate (a resend after a lost ACK or a
 * daemon restart) is only acknowledged again; a gap is refused until the client goes back to
 * its last ACK and resends (it still holds everything after it). A gap the client cannot fill
 * (what an earlier daemon acknowledged and lost) is settled at registration instead. */
static void handle_sequenced(coord *c, coord_handler *store, const coord_in *in) {
    coord_rank *k = in->k;
    const fs_msg *m = in->m;
    if (m->seq != k->acked + 1) return;
    store(c, in);
    k->acked = m->seq;
    k->unflushed = 1;
    inc_get(c, k, k->inc)->seq = m->seq;
    c->n_stored++;
}

/* The daemon's column of the message table: each row's handler, on_<name>, for what ranks
 * and tools send; a reply has none (a client that sends one is refused by its flag). */
#define HANDLER_RANK(name) on_##name
#define HANDLER_TOOL(name) on_##name
#define HANDLER_DAEMON(name) NULL
#define HANDLER_ROW(num, name, NAME, from, flags) [num] = HANDLER_##from(name),
static coord_handler *const handlers[256] = {FS_MSG_LIST(HANDLER_ROW)};
#undef HANDLER_ROW

/* What every message goes through before its handler, by its row's flags: decoding; a
 * refused body of a sequenced message skips its seq; a reply from a client is refused; a
 * session message needs the rank of this job registered with this incarnation (else the
 * client is asked to register again); a sequenced one is stored once, in order; an
 * acknowledged one queues the batch's ACK. */
void coord_handle(coord *c, const uint8_t *rid, size_t rid_len, const void *buf, size_t len) {
    char why[512];
    fs_msg *m = &c->msg;
    c->n_msgs++;
    int rc = fs_proto_decode(buf, len, m, why, sizeof why);
    unsigned flags = fs_proto_type_flags(m->type);
    if (rc == -2 && (flags & FS_MF_SEQUENCED)) return skip_refused(c, rid, rid_len, m, why);
    if (rc) return coord_bad(c, "%s", why);
    if (flags & FS_MF_FROM_DAEMON)
        return coord_bad(c, "a %s message is a reply; ranks do not send it", fs_proto_type_name(m->type));
    coord_in in = {NULL, rid, rid_len, m};
    if (!(flags & FS_MF_SESSION)) return handlers[m->type](c, &in);
    if (m->rank >= c->world) {
        c->n_bad++;
        return coord_log_limited(c, CL_OTHER_JOB, FS_LOG_WARN,
                                 "dropped a %s message from rank %u: this job has %u ranks",
                                 fs_proto_type_name(m->type), m->rank, c->world);
    }
    coord_rank *k = rank_find(c, m->rank);
    if (!k || !k->known || k->inc != m->inc) { /* e.g. this daemon restarted: ask it to register again */
        fs_msg r = {.type = FS_MSG_REREGISTER, .rank = m->rank, .inc = m->inc};
        return reply(c, rid, rid_len, &r);
    }
    memcpy(k->rid, rid, rid_len); /* a reconnect gets a new routing id */
    k->rid_len = rid_len;
    rank_alive(c, k);
    in.k = k;
    if (flags & FS_MF_SEQUENCED) handle_sequenced(c, handlers[m->type], &in);
    else handlers[m->type](c, &in);
    if (flags & FS_MF_ACKED) queue_ack(c, k);
}

void coord_end_batch(coord *c) {
    if (c->dirty) { /* the data reach the kernel before the ACK: a killed daemon loses nothing it acknowledged */
        if (fflush(c->metrics))
            coord_log(c, FS_LOG_ERROR, "%s/metrics.jsonl: write failed: %s", c->dir, strerror(errno));
        if (fflush(c->events)) coord_log(c, FS_LOG_ERROR, "%s/events.jsonl: write failed: %s", c->dir, strerror(errno));
        fs_error e = {0};
        if (fs_tfevents_flush(&c->tb, &e)) coord_log(c, FS_LOG_ERROR, "%s", e.msg);
        c->dirty = 0;
    }
    for (int i = 0; i < c->n_pending; i++) {
        coord_rank *k = c->ranks[c->pending[i]];
        send_ack(c, (uint32_t)c->pending[i], k->ack_echo);
        k->ack_pending = 0, k->ack_echo = 0, k->unflushed = 0;
    }
    c->n_pending = 0;
}

/* ---------------------------------------------------------------- cron: timeouts, stragglers */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_step_ms(coord *c) {
    double *v = fs_malloc((size_t)(c->n_present + 1) * sizeof *v);
    int n = 0;
    for (uint32_t i = 0; i < c->world; i++) {
        coord_rank *k = c->ranks[i];
        if (k && k->known && !k->gone && k->step_ms > 0) v[n++] = k->step_ms;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double med = n >= 3 ? v[n / 2] : 0; /* fewer than 3 ranks: no meaningful median */
    free(v);
    return med;
}

#define WARN_PART 1400
/* Fills one text per warning kind that holds now (part[i] for bit i) and returns the kinds. */
static unsigned rank_warnings(coord *c, coord_rank *k, double now, uint64_t max_coll, double med,
                              char part[5][WARN_PART]) {
    unsigned kinds = 0;
    uint32_t r = k->rank;
    if (k->gone && !k->bye_ok)
        kinds |= CW_FAILED,
            snprintf(part[0], WARN_PART, "rank %u on %s: exited with an error: %s", r, k->host, k->bye_text);
    if (!k->gone && now - k->last_hb > c->o.timeout_s) {
        double quiet = now - k->last_hb;
        int n = snprintf(part[1], WARN_PART, "rank %u on %s: no heartbeat for %.*f s; last step %lld", r, k->host,
                         quiet < 10 ? 1 : 0, quiet, (long long)k->step);
        if (k->coll_state)
            snprintf(part[1] + n, WARN_PART - (size_t)n, "; in all-reduce bucket %d, seq %llu", k->bucket,
                     (unsigned long long)k->coll_seq);
        kinds |= CW_SILENT;
    } else if (!k->gone && k->coll_state && k->coll_seq < max_coll && now - k->coll_since > c->o.timeout_s) {
        kinds |= CW_COLLECTIVE;
        snprintf(part[2], WARN_PART,
                 "rank %u on %s: in all-reduce bucket %d, seq %llu for %.0f s while other ranks reached seq %llu", r,
                 k->host, k->bucket, (unsigned long long)k->coll_seq, now - k->coll_since,
                 (unsigned long long)max_coll);
    }
    if (!k->gone && med > 0 && k->step_ms > c->o.straggler_k * med)
        kinds |= CW_STRAGGLER,
            snprintf(part[3], WARN_PART, "rank %u on %s: straggler: step time %.0f ms is %.1fx the median %.0f ms", r,
                     k->host, k->step_ms, k->step_ms / med, med);
    if (k->dropped)
        kinds |= CW_DROPPED, snprintf(part[4], WARN_PART, "rank %u on %s: lost %llu messages to a full client buffer",
                                      r, k->host, (unsigned long long)k->dropped);
    return kinds;
}

/* A warning is logged when it begins and when it ends, not while it holds (its text, with
 * the seconds counting up, is in the status). */
static void rank_cron(coord *c, coord_rank *k, double now, uint64_t max_coll, double med) {
    char part[5][WARN_PART];
    unsigned kinds = rank_warnings(c, k, now, max_coll, med, part), began = kinds & ~k->warn_kinds,
             ended = k->warn_kinds & ~kinds;
    size_t n = 0;
    k->warn[0] = 0;
    for (int i = 0; i < 5; i++) {
        if (!(kinds & (1u << i))) continue;
        if (began & (1u << i)) coord_log(c, FS_LOG_WARN, "%s", part[i]);
        n += (size_t)snprintf(k->warn + n, sizeof k->warn - n, "%s%s", n ? "; " : "", part[i]);
        n = FS_MIN(n, sizeof k->warn - 1);
    }
    if (began & CW_SILENT) k->silent_from = k->last_hb;
    if (ended & CW_SILENT) /* ended without a message: it said goodbye meanwhile, or the clock moved */
        coord_log(c, FS_LOG_INFO, "rank %u on %s is no longer silent", k->rank, k->host);
    if (ended & CW_COLLECTIVE)
        coord_log(c, FS_LOG_INFO, "rank %u on %s left all-reduce seq %llu", k->rank, k->host,
                  (unsigned long long)k->coll_seq);
    if (ended & CW_STRAGGLER)
        coord_log(c, FS_LOG_INFO, "rank %u on %s is no longer a straggler: step time %.0f ms", k->rank, k->host,
                  k->step_ms);
    k->warn_kinds = kinds;
    if (!k->gone && now - k->last_hb <= c->o.timeout_s) c->last_alive = now;
}

/* Ranks a, b, ... of host h (known ones), runs of three or more as first-last: "ranks 2, 3". */
static void host_ranks(coord *c, const char *h, char *out, size_t n) {
    size_t used = 0;
    int count = 0;
    out[0] = 0;
    for (uint32_t i = 0; i < c->world; i++) {
        coord_rank *k = c->ranks[i];
        if (!k || !k->known || strcmp(k->host, h)) continue;
        uint32_t j = i;
        while (j + 1 < c->world && c->ranks[j + 1] && c->ranks[j + 1]->known && !strcmp(c->ranks[j + 1]->host, h)) j++;
        if (j >= i + 2) used += (size_t)snprintf(out + used, n - used, "%s%u-%u", count ? ", " : "", i, j), i = j;
        else used += (size_t)snprintf(out + used, n - used, "%s%u", count ? ", " : "", i);
        used = FS_MIN(used, n - 1);
        count++;
    }
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s %s", count > 1 || strchr(out, '-') ? "ranks" : "rank", out);
    snprintf(out, n, "%s", tmp);
}

/* A host is lost when every known rank on it is silent (no message past the timeout, no
 * goodbye: killed, or its link cut). One line names it and its ranks when that begins (the
 * ranks' own lines stay), one when it ends; while it holds the status lists it. A rank that
 * exited with an error said goodbye: its host is not lost. The scan runs only while some rank
 * is silent or some host is marked lost. */
static void hosts_cron(coord *c, double now) {
    int any = 0;
    for (uint32_t i = 0; i < c->world && !any; i++)
        any = c->ranks[i] && c->ranks[i]->known && ((c->ranks[i]->warn_kinds & CW_SILENT) || c->ranks[i]->host_lost);
    c->hosts_lost[0] = 0;
    if (!any) return;
    size_t used = 0;
    for (uint32_t i = 0; i < c->world; i++) {
        coord_rank *k = c->ranks[i];
        if (!k || !k->known) continue;
        int first = 1, lost = 1, was = 0;
        double quiet = INFINITY;
        int64_t step = -1;
        for (uint32_t j = 0; j < c->world && first; j++) {
            coord_rank *o = c->ranks[j];
            if (!o || !o->known || strcmp(o->host, k->host)) continue;
            if (j < i) first = 0;
            lost &= (o->warn_kinds & CW_SILENT) != 0;
            was |= o->host_lost;
            quiet = FS_MIN(quiet, now - o->last_hb), step = FS_MAX(step, o->step);
        }
        if (!first) continue;
        char ranks[1024], line[1400];
        host_ranks(c, k->host, ranks, sizeof ranks);
        if (lost) {
            snprintf(line, sizeof line, "host %s lost: %s (every rank on it) silent for %.*f s; last step %lld",
                     k->host, ranks, quiet < 10 ? 1 : 0, quiet, (long long)step);
            if (!was) coord_log(c, FS_LOG_WARN, "%s", line);
            size_t len = strlen(line);
            if (used + len + 1 < sizeof c->hosts_lost) /* whole lines only: each ends in '\n' */
                memcpy(c->hosts_lost + used, line, len), used += len, c->hosts_lost[used++] = '\n',
                                                                      c->hosts_lost[used] = 0;
        } else if (was)
            coord_log(c, FS_LOG_INFO, "host %s is no longer lost: not every rank on it is silent (%s)", k->host, ranks);
        for (uint32_t j = i; j < c->world; j++)
            if (c->ranks[j] && c->ranks[j]->known && !strcmp(c->ranks[j]->host, k->host)) c->ranks[j]->host_lost = lost;
    }
}

void coord_cron(coord *c) {
    double now = fs_now();
    uint64_t max_coll = 0;
    for (uint32_t i = 0; i < c->world; i++)
        if (c->ranks[i] && c->ranks[i]->known && !c->ranks[i]->gone) max_coll = FS_MAX(max_coll, c->ranks[i]->coll_seq);
    double med = median_step_ms(c);
    for (uint32_t i = 0; i < c->world; i++)
        if (c->ranks[i] && c->ranks[i]->known) rank_cron(c, c->ranks[i], now, max_coll, med);
    hosts_cron(c, now);
    if (c->o.idle_exit_s > 0 && now - c->last_alive > c->o.idle_exit_s) {
        coord_log(c, FS_LOG_INFO, "no rank alive for %.0f s: exiting (--idle-exit)", c->o.idle_exit_s);
        c->idle_exit = 1;
    }
    coord_log_window(c, now, 0);
    if (now - c->last_snapshot >= 1.0) coord_snapshot_async(c), c->last_snapshot = now;
}

/* ---------------------------------------------------------------- status */
static const char *rank_state_name(const coord_rank *k, double now, double timeout) {
    if (k->gone) return k->bye_ok ? "exited" : "failed";
    if (!k->known) return "unseen";
    return now - k->last_hb > timeout ? "silent" : "alive";
}

/* The job's progress: rank 0's step (every rank steps together), else the furthest. */
static int64_t job_step(coord *c) {
    if (c->world && c->ranks[0] && c->ranks[0]->known) return c->ranks[0]->step;
    int64_t s = -1;
    for (uint32_t i = 0; i < c->world; i++)
        if (c->ranks[i] && c->ranks[i]->known) s = FS_MAX(s, c->ranks[i]->step);
    return s;
}

/* Seconds to the target step at rank 0's last step time; < 0 = unknown. */
static double job_eta_s(coord *c, int64_t step) {
    if (c->target_step < 0 || step < 0 || !(c->step_ms > 0)) return -1;
    return (double)FS_MAX(c->target_step - step, 0) * c->step_ms / 1e3;
}

static void fmt_duration(double s, char *out, size_t n) {
    if (s < 0) snprintf(out, n, "-");
    else {
        long x = (long)(s + 0.5);
        if (x >= 3600) snprintf(out, n, "%ldh%02ldm%02lds", x / 3600, x / 60 % 60, x % 60);
        else if (x >= 60) snprintf(out, n, "%ldm%02lds", x / 60, x % 60);
        else snprintf(out, n, "%lds", x);
    }
}

static void status_json_ranks(coord *c, fs_jbuf *b, double now) {
    fs_jbuf_printf(b, ",\"ranks\":[");
    int first = 1;
    for (uint32_t i = 0; i < c->world; i++) {
        coord_rank *k = c->ranks[i];
        if (!k || !k->known) continue;
        fs_jbuf_printf(b, "%s{\"rank\":%u,\"host\":", first ? "" : ",", i);
        fs_jbuf_str(b, k->host);
        fs_jbuf_printf(b, ",\"pid\":%llu,\"state\":\"%s\",\"step\":%lld,\"heartbeat_age_s\":%.1f,\"images_per_s\":",
                       (unsigned long long)k->pid, rank_state_name(k, now, c->o.timeout_s), (long long)k->step,
                       now - k->last_hb);
        fs_jbuf_num(b, k->images_per_s);
        fs_jbuf_printf(b, ",\"step_ms\":");
        fs_jbuf_num(b, k->step_ms);
        fs_jbuf_printf(b, ",\"coll_seq\":%llu,\"bucket\":%d,\"in_collective\":%s,\"dropped\":%llu}",
                       (unsigned long long)k->coll_seq, k->bucket, k->coll_state ? "true" : "false",
                       (unsigned long long)k->dropped);
        first = 0;
    }
}

static void status_json(coord *c, fs_jbuf *b, double now) {
    char t[32];
    fs_iso_time(t);
    int64_t step = job_step(c);
    double eta = job_eta_s(c, step);
    fs_jbuf_printf(b, "{\"format\":\"faceswarm.status\",\"version\":1,\"time\":\"%s\",\"job\":", t);
    fs_jbuf_str(b, c->job);
    fs_jbuf_printf(b, ",\"world\":%u,\"step\":%lld,\"target_step\":", c->world, (long long)step);
    if (c->target_step >= 0) fs_jbuf_printf(b, "%lld", (long long)c->target_step);
    else fs_jbuf_printf(b, "null");
    fs_jbuf_printf(b, ",\"loss\":");
    fs_jbuf_num(b, c->loss); /* null until rank 0's first metrics */
    fs_jbuf_printf(b, ",\"eta_s\":");
    fs_jbuf_num(b, eta >= 0 ? eta : NAN);
    fs_jbuf_printf(b, ",\"coordinator\":{\"pid\":%ld,\"endpoint\":", (long)getpid());
    fs_jbuf_str(b, c->endpoint);
    fs_jbuf_printf(b,
                   ",\"uptime_s\":%.1f,\"messages\":%llu,\"bad\":%llu,\"oversize\":%llu,\"refused\":%llu,\"lost\":%llu}"
                   ",\"last_checkpoint\":",
                   now - c->t_start, (unsigned long long)c->n_msgs, (unsigned long long)c->n_bad,
                   (unsigned long long)c->n_oversize, (unsigned long long)c->n_refused, (unsigned long long)c->n_lost);
    if (c->ckpt_step >= 0) {
        fs_jbuf_printf(b, "{\"step\":%lld,\"path\":", (long long)c->ckpt_step);
        fs_jbuf_str(b, c->ckpt_path);
        fs_jbuf_printf(b, ",\"time\":");
        fs_jbuf_str(b, c->ckpt_time);
        fs_jbuf_printf(b, "}");
    } else fs_jbuf_printf(b, "null");
    status_json_ranks(c, b, now);
    fs_jbuf_printf(b, "],\"warnings\":[");
    int first = 1;
    for (const char *p = c->hosts_lost; *p;) { /* a line per lost host, before the ranks' */
        const char *nl = strchr(p, '\n');
        char line[1400];
        snprintf(line, sizeof line, "%.*s", (int)(nl - p), p);
        fs_jbuf_printf(b, "%s", first ? "" : ",");
        fs_jbuf_str(b, line);
        first = 0, p = nl + 1;
    }
    for (uint32_t i = 0; i < c->world; i++) {
        if (!c->ranks[i] || !c->ranks[i]->known || !c->ranks[i]->warn[0]) continue;
        fs_jbuf_printf(b, "%s", first ? "" : ",");
        fs_jbuf_str(b, c->ranks[i]->warn);
        first = 0;
    }
    if (c->n_bad || c->n_oversize)
        fs_jbuf_printf(b, "%s\"dropped %llu malformed and %llu oversize messages\"", first ? "" : ",",
                       (unsigned long long)c->n_bad, (unsigned long long)c->n_oversize);
    fs_jbuf_printf(b, "]}\n");
}

static void status_table(coord *c, fs_jbuf *b, double now) {
    int64_t step = job_step(c);
    char eta[32], target[32], loss[32];
    fmt_duration(job_eta_s(c, step), eta, sizeof eta);
    if (c->target_step >= 0) snprintf(target, sizeof target, "%lld", (long long)c->target_step);
    else snprintf(target, sizeof target, "?");
    if (isfinite(c->loss)) snprintf(loss, sizeof loss, "%.4f", c->loss);
    else snprintf(loss, sizeof loss, "-");
    fs_jbuf_printf(b,
                   "job %s  world %u  coordinator pid %ld at %s  up %.0f s  messages %llu (bad %llu, oversize %llu, "
                   "refused %llu, lost %llu)\n",
                   c->job[0] ? c->job : "-", c->world, (long)getpid(), c->endpoint, now - c->t_start,
                   (unsigned long long)c->n_msgs, (unsigned long long)c->n_bad, (unsigned long long)c->n_oversize,
                   (unsigned long long)c->n_refused, (unsigned long long)c->n_lost);
    char at[32];
    if (step >= 0) snprintf(at, sizeof at, "%lld", (long long)step);
    else snprintf(at, sizeof at, "-");
    fs_jbuf_printf(b, "step %s of %s  loss %s  ETA %s\n", at, target, loss, eta);
    if (c->ckpt_step >= 0)
        fs_jbuf_printf(b, "last checkpoint: step %lld  %s  (%s)\n", (long long)c->ckpt_step, c->ckpt_path,
                       c->ckpt_time);
    else fs_jbuf_printf(b, "last checkpoint: none\n");
    fs_jbuf_printf(b, "%6s  %-20s %8s  %-7s %10s %9s %10s %9s\n", "rank", "host", "pid", "state", "step", "hb_age",
                   "images/s", "step");
    fs_jbuf_printf(b, "%6s  %-20s %8s  %-7s %10s %9s %10s %9s\n", "", "", "", "", "", "s", "img/s", "ms");
    for (uint32_t i = 0; i < c->world; i++) {
        coord_rank *k = c->ranks[i];
        if (!k || !k->known) continue;
        fs_jbuf_printf(b, "%6u  %-20.20s %8llu  %-7s %10lld %9.1f %10.1f %9.1f\n", i, k->host,
                       (unsigned long long)k->pid, rank_state_name(k, now, c->o.timeout_s), (long long)k->step,
                       now - k->last_hb, k->images_per_s, k->step_ms);
    }
    int any = 0;
    for (const char *p = c->hosts_lost; *p;) { /* a line per lost host, before the ranks' */
        const char *nl = strchr(p, '\n');
        fs_jbuf_printf(b, "%s  %.*s\n", any++ ? "" : "warnings:\n", (int)(nl - p), p);
        p = nl + 1;
    }
    for (uint32_t i = 0; i < c->world; i++)
        if (c->ranks[i] && c->ranks[i]->known && c->ranks[i]->warn[0])
            fs_jbuf_printf(b, "%s  %s\n", any++ ? "" : "warnings:\n", c->ranks[i]->warn);
    if (c->n_bad || c->n_oversize)
        fs_jbuf_printf(b, "%s  dropped %llu malformed and %llu oversize messages\n", any++ ? "" : "warnings:\n",
                       (unsigned long long)c->n_bad, (unsigned long long)c->n_oversize);
    if (!any) fs_jbuf_printf(b, "warnings: none\n");
}

void coord_status_text(coord *c, fs_jbuf *b, int json) {
    if (json) status_json(c, b, fs_now());
    else status_table(c, b, fs_now());
}

/* Written by rename, without fsync: a snapshot rewritten every second needs to be whole,
 * not durable. The cron's snapshots are written by their own thread (below), so neither the
 * formatting of every rank nor the file I/O delays the poll loop (heartbeat latency). */
static int write_snapshot(const char *path, const fs_jbuf *b, fs_error *e) {
    char tmp[COORD_PATH + 128];
    fs_tmp_path(path, tmp, sizeof tmp);
    FILE *f = fs_fopen(tmp, "w", e);
    if (!f) return -1;
    int bad = fwrite(b->p, 1, b->len, f) != b->len;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        unlink(tmp);
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot write the status snapshot: %s\n  hint: check free space", path,
                         strerror(errno));
    }
    return 0;
}

int coord_snapshot(coord *c, fs_error *e) {
    char path[COORD_PATH + 64];
    fs_jbuf b = {0};
    int rc = 0;
    for (int json = 0; json <= 1 && !rc; json++) {
        fs_jbuf_reset(&b);
        coord_status_text(c, &b, json);
        snprintf(path, sizeof path, "%s/%s", c->dir, json ? "status.json" : "status.txt");
        rc = write_snapshot(path, &b, e);
    }
    fs_jbuf_free(&b);
    return rc;
}

/* ---------------------------------------------------------------- snapshot writer thread */
typedef struct coord_snapper {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int busy;          /* view holds a copy not yet written; the poll thread leaves it alone */
    int stop;          /* the thread exits once nothing is busy */
    coord view;        /* the daemon state at the hand-over; only status fields are read */
    coord_rank **ptrs; /* view's rank table, [cap_ptrs] */
    coord_rank *ranks; /* the present entries it points to, [cap] */
    uint32_t cap_ptrs;
    int cap;
    fs_error err; /* the last write error, msg "" = none; logged by the poll thread */
} coord_snapper;

static void *snapper_main(void *arg) {
    coord_snapper *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->busy && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
        if (!s->busy) break;
        pthread_mutex_unlock(&s->mu);
        fs_error e = {0};
        int rc = coord_snapshot(&s->view, &e);
        pthread_mutex_lock(&s->mu);
        if (rc) s->err = e;
        s->busy = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int snapper_start(coord *c, fs_error *e) {
    coord_snapper *s = fs_calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    int rc = pthread_create(&s->th, NULL, snapper_main, s);
    if (rc) {
        pthread_cond_destroy(&s->cv), pthread_mutex_destroy(&s->mu), free(s);
        return fs_errorf(e, FS_EXIT_FAIL,
                         "cannot start the status snapshot thread: %s\n  hint: too many threads or too little memory?",
                         strerror(rc));
    }
    c->snap = s;
    return 0;
}

/* The copy holds the present ranks only (about 1.4 MB at 512 ranks), whatever the world:
 * far cheaper than formatting them twice and writing two files, which is what the thread does. */
void coord_snapshot_async(coord *c) {
    coord_snapper *s = c->snap;
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    if (s->err.msg[0]) coord_log(c, FS_LOG_ERROR, "%s", s->err.msg), s->err.msg[0] = 0;
    if (!s->busy) {
        if (s->cap_ptrs < c->world)
            s->ptrs = fs_realloc(s->ptrs, (size_t)c->world * sizeof *s->ptrs), s->cap_ptrs = c->world;
        if (s->cap < c->n_present)
            s->ranks = fs_realloc(s->ranks, (size_t)c->n_present * sizeof *s->ranks), s->cap = c->n_present;
        for (uint32_t i = 0, j = 0; i < c->world; i++) {
            s->ptrs[i] = c->ranks[i] ? &s->ranks[j] : NULL;
            if (c->ranks[i]) s->ranks[j++] = *c->ranks[i];
        }
        s->view = *c;
        s->view.ranks = s->ptrs, s->view.snap = NULL;
        s->busy = 1;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

void coord_snapper_stop(coord *c) {
    coord_snapper *s = c->snap;
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    if (s->err.msg[0]) coord_log(c, FS_LOG_ERROR, "%s", s->err.msg);
    pthread_cond_destroy(&s->cv), pthread_mutex_destroy(&s->mu);
    free(s->ranks), free(s->ptrs), free(s);
    c->snap = NULL;
}
