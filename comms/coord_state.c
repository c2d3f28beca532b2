/* coord_state.c — what the coordinator does with messages: the rank table, metrics.jsonl,
 * the checkpoint registry, TensorBoard events, rebuild after a restart, timeouts and the
 * status snapshot. Nothing here trusts a message the decoder has not checked. */
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

/* ---------------------------------------------------------------- rank table */
static coord_rank *rank_get(coord *c, uint32_t r) {
    if (r >= FS_PROTO_MAX_WORLD) return NULL;
    if ((int)r >= c->cap_ranks) {
        int cap = c->cap_ranks ? c->cap_ranks : 64;
        while (cap <= (int)r) cap *= 2;
        c->ranks = fs_realloc(c->ranks, (size_t)cap * sizeof *c->ranks);
        memset(c->ranks + c->cap_ranks, 0, (size_t)(cap - c->cap_ranks) * sizeof *c->ranks);
        c->pending = fs_realloc(c->pending, (size_t)cap * sizeof *c->pending);
        for (int i = c->cap_ranks; i < cap; i++) c->ranks[i].step = -1;
        c->cap_ranks = cap;
    }
    return &c->ranks[r];
}

static coord_inc *inc_get(coord_rank *k, uint64_t inc) {
    for (int i = 0; i < k->n_incs; i++)
        if (k->incs[i].inc == inc) return &k->incs[i];
    k->incs = fs_realloc(k->incs, (size_t)(k->n_incs + 1) * sizeof *k->incs);
    k->incs[k->n_incs] = (coord_inc){inc, 0};
    return &k->incs[k->n_incs++];
}

static void send_ack(coord *c, uint32_t r, uint64_t echo_ns) {
    coord_rank *k = &c->ranks[r];
    fs_msg a = {.type = FS_MSG_ACK, .rank = r, .inc = k->inc};
    a.u.ack.acked = k->acked, a.u.ack.t_echo_ns = echo_ns;
    coord_send(c, k->rid, k->rid_len, &a);
}

static void queue_ack(coord *c, uint32_t r) {
    coord_rank *k = &c->ranks[r];
    if (!k->ack_pending) c->pending[c->n_pending++] = (int)r;
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
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot cut the torn last line: %s\n  hint: check permissions", path, strerror(errno));
    return 0;
}

static void rebuild_line(coord *c, const char *line, int is_registry) {
    int64_t rank, seq, step;
    uint64_t inc;
    if (fs_json_get_i64(line, "rank", &rank) || fs_json_get_u64_hex(line, "inc", &inc) || fs_json_get_i64(line, "seq", &seq) ||
        fs_json_get_i64(line, "step", &step) || rank < 0 || rank >= FS_PROTO_MAX_WORLD || seq < 1)
        return;
    coord_rank *k = rank_get(c, (uint32_t)rank);
    coord_inc *ci = inc_get(k, inc);
    if ((uint64_t)seq > ci->seq) ci->seq = (uint64_t)seq;
    k->seen = 1;
    if (!is_registry) {
        k->step = step;
        return;
    }
    char path[FS_PROTO_MAX_PATH + 1];
    if (!fs_json_get_str(line, "path", path, sizeof path)) {
        c->ckpt_step = step;
        snprintf(c->ckpt_path, sizeof c->ckpt_path, "%s", path);
        fs_json_get_str(line, "time", c->ckpt_time, sizeof c->ckpt_time);
    }
}

static int rebuild_file(coord *c, const char *name, int is_registry, FILE **out, fs_error *e) {
    char path[COORD_PATH + 128];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    long lines = 0;
    if (fs_exists(path)) {
        if (truncate_torn(path, e)) return -1;
        FILE *f = fs_fopen(path, "r", e);
        if (!f) return -1;
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) rebuild_line(c, line, is_registry), lines++;
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
    c->ckpt_step = -1;
    if (fs_mkdir_p(c->dir, e)) return -1;
    char tb[COORD_PATH + 32];
    snprintf(tb, sizeof tb, "%s/tensorboard", c->o.state_dir);
    if (rebuild_file(c, "metrics.jsonl", 0, &c->metrics, e) || rebuild_file(c, "registry.jsonl", 1, &c->registry, e) ||
        fs_tfevents_open(&c->tb, tb, e) || snapper_start(c, e))
        return -1;
    c->out = fs_malloc(FS_PROTO_MAX_MSG);
    return 0;
}

void coord_state_close(coord *c) {
    coord_snapper_stop(c);
    if (c->metrics) fclose(c->metrics);
    if (c->registry) fclose(c->registry);
    fs_tfevents_close(&c->tb);
    for (int i = 0; i < c->cap_ranks; i++) free(c->ranks[i].incs);
    free(c->ranks), free(c->pending), free(c->out);
    fs_jbuf_free(&c->line);
    c->ranks = NULL, c->pending = NULL, c->out = NULL, c->metrics = c->registry = NULL;
}

/* ---------------------------------------------------------------- bad messages */
void coord_bad(coord *c, const char *fmt, ...) {
    c->n_bad++;
    if (c->bad_logged >= 20) { /* rate limit: 20 lines per 10 s window, the rest counted */
        c->bad_suppressed++;
        return;
    }
    c->bad_logged++;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    coord_log(c, FS_LOG_WARN, "dropped a message: %s", text);
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

static void store_metrics(coord *c, coord_rank *k, const fs_msg *m) {
    fs_jbuf *b = &c->line;
    fs_jbuf_reset(b);
    fs_jbuf_printf(b, "{\"rank\":%u,\"inc\":\"%016llx\",\"seq\":%llu,\"step\":%lld,\"time\":%.3f,\"dropped\":%llu", m->rank,
                   (unsigned long long)m->inc, (unsigned long long)m->seq, (long long)m->u.metrics.step, fs_wall_time(),
                   (unsigned long long)m->u.metrics.dropped);
    for (int i = 0; i < m->u.metrics.n; i++) {
        const char *key = m->u.metrics.keys[i];
        if (is_reserved(key)) continue;
        fs_jbuf_printf(b, ",\"%s\":", key); /* keys are [A-Za-z0-9_./-]: nothing to escape */
        fs_jbuf_num(b, m->u.metrics.vals[i]);
        if (!strcmp(key, "step_ms")) k->step_ms = m->u.metrics.vals[i];
        if (!strcmp(key, "images_per_s")) k->images_per_s = m->u.metrics.vals[i];
    }
    fs_jbuf_printf(b, "}\n");
    if (fwrite(b->p, 1, b->len, c->metrics) != b->len) coord_log(c, FS_LOG_ERROR, "%s/metrics.jsonl: write failed: %s", c->dir, strerror(errno));
    k->step = m->u.metrics.step;
    tb_metrics(c, m->rank, m);
    c->dirty = 1;
}

static void store_checkpoint(coord *c, const fs_msg *m) {
    fs_jbuf *b = &c->line;
    char now[32];
    fs_iso_time(now);
    fs_jbuf_reset(b);
    fs_jbuf_printf(b, "{\"step\":%lld,\"path\":", (long long)m->u.ckpt.step);
    fs_jbuf_str(b, m->u.ckpt.path);
    fs_jbuf_printf(b, ",\"checksums\":{");
    for (int i = 0; i < m->u.ckpt.n; i++) {
        fs_jbuf_printf(b, "%s", i ? "," : "");
        fs_jbuf_str(b, m->u.ckpt.names[i]);
        fs_jbuf_printf(b, ":");
        fs_jbuf_str(b, m->u.ckpt.hex[i]);
    }
    fs_jbuf_printf(b, "},\"time\":\"%s\",\"rank\":%u,\"inc\":\"%016llx\",\"seq\":%llu}\n", now, m->rank, (unsigned long long)m->inc,
                   (unsigned long long)m->seq);
    /* Append-only and fsynced per line: --resume auto trusts what is here. */
    if (fwrite(b->p, 1, b->len, c->registry) != b->len || fflush(c->registry) || fsync(fileno(c->registry)))
        coord_log(c, FS_LOG_ERROR, "%s/registry.jsonl: write failed: %s", c->dir, strerror(errno));
    c->ckpt_step = m->u.ckpt.step;
    snprintf(c->ckpt_path, sizeof c->ckpt_path, "%s", m->u.ckpt.path);
    snprintf(c->ckpt_time, sizeof c->ckpt_time, "%s", now);
    coord_log(c, FS_LOG_INFO, "checkpoint at step %lld registered: %s (%d checksums)", (long long)m->u.ckpt.step, m->u.ckpt.path, m->u.ckpt.n);
}

/* Reads a preview PNG from inside the run directory (symlinks resolved and checked). */
static uint8_t *read_preview(coord *c, const char *rel, size_t *len, int *h, int *w) {
    char path[COORD_PATH * 2], real[PATH_MAX], root[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", c->o.state_dir, rel);
    if (!realpath(path, real) || !realpath(c->o.state_dir, root) || strncmp(real, root, strlen(root)) || real[strlen(root)] != '/') {
        coord_log(c, FS_LOG_WARN, "preview '%s' is missing or resolves outside the run directory %s; ignored", rel, c->o.state_dir);
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

static void store_preview(coord *c, const fs_msg *m) {
    size_t len;
    int h, w;
    uint8_t *png = read_preview(c, m->u.preview.path, &len, &h, &w);
    if (!png) return;
    if (fs_tfevents_image(&c->tb, m->u.preview.step, fs_wall_time(), m->u.preview.tag, h, w, png, len))
        coord_log(c, FS_LOG_WARN, "%s: cannot write an image event: %s", c->tb.path, strerror(errno));
    free(png);
    c->dirty = 1;
}

static void store_goodbye(coord *c, coord_rank *k, const fs_msg *m) {
    k->gone = 1;
    k->bye_ok = m->u.bye.ok;
    k->dropped = FS_MAX(k->dropped, m->u.bye.dropped);
    snprintf(k->bye_text, sizeof k->bye_text, "%s", m->u.bye.text);
    coord_log(c, m->u.bye.ok ? FS_LOG_INFO : FS_LOG_WARN, "rank %u on %s said goodbye: %s%s%s", m->rank, k->host,
              m->u.bye.ok ? "clean exit" : "error", m->u.bye.text[0] ? ": " : "", m->u.bye.text);
}

/* A sequenced message is stored once, in order: a duplicate (a resend after a lost ACK or a
 * daemon restart) is only acknowledged again, a gap is refused until the client goes back. */
static void handle_sequenced(coord *c, coord_rank *k, const fs_msg *m) {
    queue_ack(c, m->rank);
    if (m->seq != k->acked + 1) return;
    switch (m->type) {
    case FS_MSG_METRICS: store_metrics(c, k, m); break;
    case FS_MSG_CHECKPOINT: store_checkpoint(c, m); break;
    case FS_MSG_PREVIEW: store_preview(c, m); break;
    case FS_MSG_GOODBYE: store_goodbye(c, k, m); break;
    }
    k->acked = m->seq;
    k->unflushed = 1;
    inc_get(k, k->inc)->seq = m->seq;
    c->n_stored++;
    uint64_t dropped = m->type == FS_MSG_METRICS ? m->u.metrics.dropped : 0;
    if (dropped > k->dropped) {
        coord_log(c, FS_LOG_WARN, "rank %u on %s: its buffer overflowed, %llu messages lost so far", m->rank, k->host, (unsigned long long)dropped);
        k->dropped = dropped;
    }
}

static void handle_heartbeat(coord *c, coord_rank *k, const fs_msg *m) {
    if (m->u.hb.coll_seq != k->coll_seq || (m->u.hb.coll_state && !k->coll_state)) k->coll_since = fs_now();
    k->step = FS_MAX(k->step, m->u.hb.step);
    k->coll_seq = m->u.hb.coll_seq;
    k->bucket = m->u.hb.bucket;
    k->coll_state = m->u.hb.coll_state;
    if (m->u.hb.dropped > k->dropped) k->dropped = m->u.hb.dropped;
    /* Answered with the batch's ACK, not at once: ranks send a heartbeat and metrics together,
     * and two ACKs per rank cost more (measured at 512 ranks) than the wait for the batch. */
    k->ack_echo = m->u.hb.t_ns;
    queue_ack(c, m->rank);
}

static void handle_register(coord *c, const uint8_t *rid, size_t rid_len, const fs_msg *m) {
    if (c->job[0] && (strcmp(c->job, m->u.reg.job_id) || c->world != m->u.reg.world)) {
        coord_bad(c, "register from rank %u of job '%s' (world %u); this coordinator serves job '%s' (world %u)", m->rank, m->u.reg.job_id,
                  m->u.reg.world, c->job, c->world);
        return;
    }
    snprintf(c->job, sizeof c->job, "%s", m->u.reg.job_id);
    c->world = m->u.reg.world;
    coord_rank *k = rank_get(c, m->rank);
    int again = k->known && k->inc == m->inc;
    k->known = k->seen = 1, k->gone = 0, k->inc = m->inc;
    k->acked = inc_get(k, m->inc)->seq;
    k->pid = m->u.reg.pid, k->config_hash = m->u.reg.config_hash;
    snprintf(k->host, sizeof k->host, "%s", m->u.reg.host);
    k->last_hb = fs_now();
    if (!again)
        coord_log(c, FS_LOG_INFO, "rank %u/%u registered: host %s pid %llu config %016llx, resumes after seq %llu", m->rank, m->u.reg.world,
                  k->host, (unsigned long long)k->pid, (unsigned long long)k->config_hash, (unsigned long long)k->acked);
    if (k->unflushed) coord_end_batch(c); /* the welcome's acked must be on disk too */
    fs_msg w = {.type = FS_MSG_WELCOME, .rank = m->rank, .inc = m->inc};
    w.u.welcome.boot = c->boot, w.u.welcome.acked = k->acked;
    coord_send(c, rid, rid_len, &w);
}

static void handle_status_req(coord *c, const uint8_t *rid, size_t rid_len, const fs_msg *m) {
    fs_jbuf b = {0};
    coord_status_text(c, &b, m->u.sreq.json);
    fs_msg s = {.type = FS_MSG_STATUS, .rank = FS_PROTO_NO_RANK};
    s.u.status.text = b.p, s.u.status.len = (uint32_t)b.len;
    coord_send(c, rid, rid_len, &s);
    fs_jbuf_free(&b);
}

/* A sequenced message whose body is refused still consumes its sequence number (it is
 * counted, logged and acknowledged): the rank's later messages must not wait behind it. */
static void skip_refused(coord *c, const uint8_t *rid, size_t rid_len, const fs_msg *m, const char *why) {
    coord_bad(c, "rank %u: %s (seq %llu skipped)", m->rank, why, (unsigned long long)m->seq);
    coord_rank *k = (int)m->rank < c->cap_ranks ? &c->ranks[m->rank] : NULL;
    if (!k || !k->known || k->inc != m->inc) return;
    memcpy(k->rid, rid, rid_len);
    k->rid_len = rid_len;
    if (m->seq == k->acked + 1) k->acked = m->seq, inc_get(k, k->inc)->seq = m->seq;
    queue_ack(c, m->rank);
}

void coord_handle(coord *c, const uint8_t *rid, size_t rid_len, const void *buf, size_t len) {
    char why[512];
    fs_msg *m = &c->msg;
    c->n_msgs++;
    int rc = fs_proto_decode(buf, len, m, why, sizeof why);
    if (rc == -2 && m->type >= FS_MSG_METRICS && m->type <= FS_MSG_GOODBYE) return skip_refused(c, rid, rid_len, m, why);
    if (rc) return coord_bad(c, "%s", why);
    if (m->type >= FS_MSG_WELCOME) return coord_bad(c, "a %s message is a reply; ranks do not send it", fs_proto_type_name(m->type));
    if (m->type == FS_MSG_STATUS_REQ) return handle_status_req(c, rid, rid_len, m);
    if (m->type == FS_MSG_REGISTER) return handle_register(c, rid, rid_len, m);
    coord_rank *k = (int)m->rank < c->cap_ranks ? &c->ranks[m->rank] : NULL;
    if (!k || !k->known || k->inc != m->inc) { /* e.g. this daemon restarted: ask it to register again */
        fs_msg r = {.type = FS_MSG_REREGISTER, .rank = m->rank, .inc = m->inc};
        return coord_send(c, rid, rid_len, &r);
    }
    memcpy(k->rid, rid, rid_len); /* a reconnect gets a new routing id */
    k->rid_len = rid_len;
    k->last_hb = fs_now();
    if (m->type == FS_MSG_HEARTBEAT) handle_heartbeat(c, k, m);
    else handle_sequenced(c, k, m);
}

void coord_end_batch(coord *c) {
    if (c->dirty) { /* the data reach the kernel before the ACK: a killed daemon loses nothing it acknowledged */
        if (fflush(c->metrics)) coord_log(c, FS_LOG_ERROR, "%s/metrics.jsonl: write failed: %s", c->dir, strerror(errno));
        fs_error e = {0};
        if (fs_tfevents_flush(&c->tb, &e)) coord_log(c, FS_LOG_ERROR, "%s", e.msg);
        c->dirty = 0;
    }
    for (int i = 0; i < c->n_pending; i++) {
        coord_rank *k = &c->ranks[c->pending[i]];
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
    double *v = fs_malloc((size_t)(c->cap_ranks + 1) * sizeof *v);
    int n = 0;
    for (int i = 0; i < c->cap_ranks; i++)
        if (c->ranks[i].known && !c->ranks[i].gone && c->ranks[i].step_ms > 0) v[n++] = c->ranks[i].step_ms;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double med = n >= 3 ? v[n / 2] : 0; /* fewer than 3 ranks: no meaningful median */
    free(v);
    return med;
}

static void rank_warnings(coord *c, int r, double now, uint64_t max_coll, double med, char *w, size_t cap) {
    coord_rank *k = &c->ranks[r];
    size_t n = 0;
    w[0] = 0;
#define ADD(...) (n += (size_t)snprintf(w + n, n < cap ? cap - n : 0, __VA_ARGS__), n = FS_MIN(n, cap - 1))
    if (k->gone && !k->bye_ok) ADD("rank %d on %s: exited with an error: %s", r, k->host, k->bye_text);
    if (!k->gone && now - k->last_hb > c->o.timeout_s) {
        ADD("%srank %d on %s: no heartbeat for %.0f s; last step %lld", n ? "; " : "", r, k->host, now - k->last_hb, (long long)k->step);
        if (k->coll_state) ADD("; in all-reduce bucket %d, seq %llu", k->bucket, (unsigned long long)k->coll_seq);
    } else if (!k->gone && k->coll_state && k->coll_seq < max_coll && now - k->coll_since > c->o.timeout_s)
        ADD("%srank %d on %s: in all-reduce bucket %d, seq %llu for %.0f s while other ranks reached seq %llu", n ? "; " : "", r, k->host,
            k->bucket, (unsigned long long)k->coll_seq, now - k->coll_since, (unsigned long long)max_coll);
    if (!k->gone && med > 0 && k->step_ms > c->o.straggler_k * med)
        ADD("%srank %d on %s: straggler: step time %.0f ms is %.1fx the median %.0f ms", n ? "; " : "", r, k->host, k->step_ms, k->step_ms / med, med);
    if (k->dropped) ADD("%srank %d on %s: lost %llu messages to a full client buffer", n ? "; " : "", r, k->host, (unsigned long long)k->dropped);
#undef ADD
}

void coord_cron(coord *c) {
    double now = fs_now();
    uint64_t max_coll = 0;
    for (int i = 0; i < c->cap_ranks; i++)
        if (c->ranks[i].known && !c->ranks[i].gone) max_coll = FS_MAX(max_coll, c->ranks[i].coll_seq);
    double med = median_step_ms(c);
    for (int i = 0; i < c->cap_ranks; i++) {
        coord_rank *k = &c->ranks[i];
        if (!k->known) continue;
        char w[sizeof k->warn];
        rank_warnings(c, i, now, max_coll, med, w, sizeof w);
        if (w[0] && strcmp(w, k->warn)) coord_log(c, FS_LOG_WARN, "%s", w); /* logged when it first appears or changes */
        memcpy(k->warn, w, sizeof w);
        if (!k->gone && now - k->last_hb <= c->o.timeout_s) c->last_alive = now;
    }
    if (c->o.idle_exit_s > 0 && now - c->last_alive > c->o.idle_exit_s) {
        coord_log(c, FS_LOG_INFO, "no rank alive for %.0f s: exiting (--idle-exit)", c->o.idle_exit_s);
        c->idle_exit = 1;
    }
    if (now - c->bad_window > 10) {
        if (c->bad_suppressed) coord_log(c, FS_LOG_WARN, "%llu more bad messages dropped (not logged one by one)", (unsigned long long)c->bad_suppressed);
        if (c->refused_suppressed) coord_log(c, FS_LOG_WARN, "%llu more connections refused (not logged one by one)", (unsigned long long)c->refused_suppressed);
        c->bad_logged = 0, c->bad_suppressed = 0, c->bad_window = now;
        memset(c->refused_logged, 0, sizeof c->refused_logged), c->refused_suppressed = 0;
    }
    if (now - c->last_snapshot >= 1.0) coord_snapshot_async(c), c->last_snapshot = now;
}

/* ---------------------------------------------------------------- status */
static const char *rank_state_name(const coord_rank *k, double now, double timeout) {
    if (k->gone) return k->bye_ok ? "exited" : "failed";
    if (!k->known) return "unseen";
    return now - k->last_hb > timeout ? "silent" : "alive";
}

static void status_json_ranks(coord *c, fs_jbuf *b, double now) {
    fs_jbuf_printf(b, ",\"ranks\":[");
    int first = 1;
    for (int i = 0; i < c->cap_ranks; i++) {
        coord_rank *k = &c->ranks[i];
        if (!k->known) continue;
        fs_jbuf_printf(b, "%s{\"rank\":%d,\"host\":", first ? "" : ",", i);
        fs_jbuf_str(b, k->host);
        fs_jbuf_printf(b, ",\"pid\":%llu,\"state\":\"%s\",\"step\":%lld,\"heartbeat_age_s\":%.1f,\"images_per_s\":", (unsigned long long)k->pid,
                       rank_state_name(k, now, c->o.timeout_s), (long long)k->step, now - k->last_hb);
        fs_jbuf_num(b, k->images_per_s);
        fs_jbuf_printf(b, ",\"step_ms\":");
        fs_jbuf_num(b, k->step_ms);
        fs_jbuf_printf(b, ",\"coll_seq\":%llu,\"bucket\":%d,\"in_collective\":%s,\"dropped\":%llu}", (unsigned long long)k->coll_seq, k->bucket,
                       k->coll_state ? "true" : "false", (unsigned long long)k->dropped);
        first = 0;
    }
}

static void status_json(coord *c, fs_jbuf *b, double now) {
    char t[32];
    fs_iso_time(t);
    fs_jbuf_printf(b, "{\"format\":\"faceswarm.status\",\"version\":1,\"time\":\"%s\",\"job\":", t);
    fs_jbuf_str(b, c->job);
    fs_jbuf_printf(b, ",\"world\":%u,\"coordinator\":{\"pid\":%ld,\"endpoint\":", c->world, (long)getpid());
    fs_jbuf_str(b, c->endpoint);
    fs_jbuf_printf(b, ",\"uptime_s\":%.1f,\"messages\":%llu,\"bad\":%llu,\"oversize\":%llu,\"refused\":%llu},\"last_checkpoint\":", now - c->t_start,
                   (unsigned long long)c->n_msgs, (unsigned long long)c->n_bad, (unsigned long long)c->n_oversize, (unsigned long long)c->n_refused);
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
    for (int i = 0; i < c->cap_ranks; i++) {
        if (!c->ranks[i].known || !c->ranks[i].warn[0]) continue;
        fs_jbuf_printf(b, "%s", first ? "" : ",");
        fs_jbuf_str(b, c->ranks[i].warn);
        first = 0;
    }
    if (c->n_bad || c->n_oversize)
        fs_jbuf_printf(b, "%s\"dropped %llu malformed and %llu oversize messages\"", first ? "" : ",", (unsigned long long)c->n_bad, (unsigned long long)c->n_oversize);
    fs_jbuf_printf(b, "]}\n");
}

static void status_table(coord *c, fs_jbuf *b, double now) {
    fs_jbuf_printf(b, "job %s  world %u  coordinator pid %ld at %s  up %.0f s  messages %llu (bad %llu, oversize %llu, refused %llu)\n",
                   c->job[0] ? c->job : "-", c->world, (long)getpid(), c->endpoint, now - c->t_start, (unsigned long long)c->n_msgs,
                   (unsigned long long)c->n_bad, (unsigned long long)c->n_oversize, (unsigned long long)c->n_refused);
    if (c->ckpt_step >= 0) fs_jbuf_printf(b, "last checkpoint: step %lld  %s  (%s)\n", (long long)c->ckpt_step, c->ckpt_path, c->ckpt_time);
    else fs_jbuf_printf(b, "last checkpoint: none\n");
    fs_jbuf_printf(b, "%6s  %-20s %8s  %-7s %10s %9s %10s %9s\n", "rank", "host", "pid", "state", "step", "hb_age", "images/s", "step");
    fs_jbuf_printf(b, "%6s  %-20s %8s  %-7s %10s %9s %10s %9s\n", "", "", "", "", "", "s", "img/s", "ms");
    for (int i = 0; i < c->cap_ranks; i++) {
        coord_rank *k = &c->ranks[i];
        if (!k->known) continue;
        fs_jbuf_printf(b, "%6d  %-20.20s %8llu  %-7s %10lld %9.1f %10.1f %9.1f\n", i, k->host, (unsigned long long)k->pid,
                       rank_state_name(k, now, c->o.timeout_s), (long long)k->step, now - k->last_hb, k->images_per_s, k->step_ms);
    }
    int any = 0;
    for (int i = 0; i < c->cap_ranks; i++)
        if (c->ranks[i].known && c->ranks[i].warn[0]) fs_jbuf_printf(b, "%s  %s\n", any++ ? "" : "warnings:\n", c->ranks[i].warn);
    if (c->n_bad || c->n_oversize)
        fs_jbuf_printf(b, "%s  dropped %llu malformed and %llu oversize messages\n", any++ ? "" : "warnings:\n", (unsigned long long)c->n_bad,
                       (unsigned long long)c->n_oversize);
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
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot write the status snapshot: %s\n  hint: check free space", path, strerror(errno));
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
    int busy;            /* view holds a copy not yet written; the poll thread leaves it alone */
    int stop;            /* the thread exits once nothing is busy */
    coord view;          /* the daemon state at the hand-over; only status fields are read */
    coord_rank *ranks;   /* view's rank table, [cap] */
    int cap;
    fs_error err;        /* the last write error, msg "" = none; logged by the poll thread */
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
        return fs_errorf(e, FS_EXIT_FAIL, "cannot start the status snapshot thread: %s\n  hint: too many threads or too little memory?", strerror(rc));
    }
    c->snap = s;
    return 0;
}

/* The copy is a memcpy of the rank table (about 1.5 MB at 512 ranks): far cheaper than
 * formatting it twice and writing two files, which is what the thread does. */
void coord_snapshot_async(coord *c) {
    coord_snapper *s = c->snap;
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    if (s->err.msg[0]) coord_log(c, FS_LOG_ERROR, "%s", s->err.msg), s->err.msg[0] = 0;
    if (!s->busy) {
        if (s->cap < c->cap_ranks) s->ranks = fs_realloc(s->ranks, (size_t)c->cap_ranks * sizeof *s->ranks), s->cap = c->cap_ranks;
        if (c->cap_ranks) memcpy(s->ranks, c->ranks, (size_t)c->cap_ranks * sizeof *s->ranks);
        s->view = *c;
        s->view.ranks = s->ranks, s->view.snap = NULL;
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
    free(s->ranks), free(s);
    c->snap = NULL;
}
