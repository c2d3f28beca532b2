/* bench.c — the benchmark output harness (bench.h): one header, one column table shape,
 * one JSON schema and one `wrong` exit status for every `faceswarm bench`. */
#include "core/bench.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

enum { PHASE_HEADER, PHASE_ROWS, PHASE_DONE };

/* ---------------------------------------------------------------- growing strings */
static void sb_add(char **s, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sb_add(char **s, size_t *len, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    *s = fs_realloc(*s, *len + (size_t)n + 1);
    vsnprintf(*s + *len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    *len += (size_t)n;
}

/* s as a JSON string (quotes included): control characters, quotes and backslashes escaped. */
static void sb_json_str(char **out, size_t *len, const char *s) {
    sb_add(out, len, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') sb_add(out, len, "\\%c", *p);
        else if (*p == '\n') sb_add(out, len, "\\n");
        else if (*p < 0x20) sb_add(out, len, "\\u%04x", *p);
        else sb_add(out, len, "%c", *p);
    }
    sb_add(out, len, "\"");
}

/* A JSON number with prec decimals; null for inf and NaN, which JSON cannot hold. */
static void sb_json_num(char **out, size_t *len, double v, int prec) {
    if (isfinite(v)) sb_add(out, len, "%.*f", prec, v);
    else sb_add(out, len, "null");
}

/* Every JSON line begins {"kind":KIND,"bench":NAME; returns the line so far (caller frees). */
static char *line_start(const fs_bench *b, const char *kind, size_t *len) {
    char *line = NULL;
    *len = 0;
    sb_add(&line, len, "{\"kind\":\"%s\",\"bench\":", kind);
    sb_json_str(&line, len, b->name);
    return line;
}

/* ---------------------------------------------------------------- set up */
void fs_bench_init(fs_bench *b, const char *name, int argc, char *const *argv) {
    *b = (fs_bench){.name = name};
    size_t len = 0;
    sb_add(&b->command, &len, "faceswarm bench");
    for (int i = 0; i < argc; i++) sb_add(&b->command, &len, " %s", argv[i]);
}

void fs_bench_free(fs_bench *b) {
    free(b->command), free(b->hdr), free(b->notes), free(b->sum);
    b->command = b->hdr = b->notes = b->sum = NULL;
    b->phase = PHASE_DONE;
}

/* The standard facts, first in every header. */
static void start_header(fs_bench *b) {
    if (b->hdr || b->quiet) return;
    if (b->json) {
        b->hdr = line_start(b, "header", &b->hdr_len);
        sb_add(&b->hdr, &b->hdr_len, ",\"version\":\"%s\",\"commit\":", FS_VERSION);
        sb_json_str(&b->hdr, &b->hdr_len, fs_git_commit());
        sb_add(&b->hdr, &b->hdr_len, ",\"command\":");
        sb_json_str(&b->hdr, &b->hdr_len, b->command);
        return;
    }
    b->hdr = fs_strdup(""); /* marks the lines as printed */
    printf("# faceswarm %s (commit %s) bench %s\n# command: %s\n", FS_VERSION, fs_git_commit(), b->name, b->command);
}

/* Ends the header phase, once: in JSON mode the header line goes out, before anything else. */
static void flush_header(fs_bench *b) {
    start_header(b);
    if (b->quiet || b->phase != PHASE_HEADER) return;
    b->phase = PHASE_ROWS;
    if (!b->json) return;
    printf("%s,\"notes\":[%s]}\n", b->hdr, b->notes ? b->notes : "");
    fflush(stdout);
}

/* ---------------------------------------------------------------- facts and notes */
/* Where a fact goes: the header's buffer, or the summary's after the first table. */
static int fact_key(fs_bench *b, const char *key, char ***buf, size_t **len) {
    static const char *const own[] = {"kind", "bench", "table", "version", "commit", "command", "notes", "wrong"};
    for (size_t i = 0; i < FS_ARRAY_LEN(own); i++)
        if (!strcmp(key, own[i]))
            fs_die(FS_EXIT_FAIL, "bench %s: fact '%s' takes a key the harness uses", b->name, key);
    if (b->quiet) return 0;
    start_header(b);
    *buf = b->phase == PHASE_HEADER ? &b->hdr : &b->sum;
    *len = b->phase == PHASE_HEADER ? &b->hdr_len : &b->sum_len;
    if (b->json) {
        sb_add(*buf, *len, ",");
        sb_json_str(*buf, *len, key);
        sb_add(*buf, *len, ":");
    } else printf("# %s: ", key);
    return 1;
}

void fs_bench_fact_str(fs_bench *b, const char *key, const char *value) {
    char **buf;
    size_t *len;
    if (!fact_key(b, key, &buf, &len)) return;
    if (b->json) sb_json_str(buf, len, value);
    else printf("%s\n", value);
}

void fs_bench_fact_int(fs_bench *b, const char *key, long long value) {
    char **buf;
    size_t *len;
    if (!fact_key(b, key, &buf, &len)) return;
    if (b->json) sb_add(buf, len, "%lld", value);
    else printf("%lld\n", value);
}

void fs_bench_fact_num(fs_bench *b, const char *key, double value, int prec, const char *unit) {
    char **buf;
    size_t *len;
    if (!fact_key(b, key, &buf, &len)) return;
    if (b->json) sb_json_num(buf, len, value, prec);
    else printf("%.*f%s%s\n", prec, value, unit && *unit ? " " : "", unit && *unit ? unit : "");
}

void fs_bench_note(fs_bench *b, const char *fmt, ...) {
    if (b->quiet) return;
    start_header(b);
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (!b->json) { /* every line of a remark is a '#' line */
        for (const char *p = text;; p++) {
            const char *nl = strchr(p, '\n');
            printf("# %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
            if (!nl) break;
            p = nl;
        }
        return;
    }
    if (b->phase == PHASE_HEADER) {
        if (b->notes) sb_add(&b->notes, &b->notes_len, ",");
        sb_json_str(&b->notes, &b->notes_len, text);
        return;
    }
    size_t len;
    char *line = line_start(b, "note", &len);
    sb_add(&line, &len, ",\"text\":");
    sb_json_str(&line, &len, text);
    printf("%s}\n", line);
    free(line);
}

/* ---------------------------------------------------------------- tables */
static void check_cols(const fs_bench_col *cols, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(cols[i].key, "kind") || !strcmp(cols[i].key, "bench") || !strcmp(cols[i].key, "table"))
            fs_die(FS_EXIT_FAIL, "bench: column '%s' takes a key the harness uses for itself", cols[i].key);
}

/* A column's width in the table: as declared, widened to hold its heading and its unit, so
 * that the units row always lines up; the sign (left-aligned) is kept. */
static int col_width(const fs_bench_col *c) {
    int w = abs(c->width), head = (int)strlen(c->head ? c->head : c->key);
    int unit = c->unit && *c->unit ? (int)strlen(c->unit) + 2 : 0;
    w = FS_MAX(w, FS_MAX(head, unit));
    return c->width < 0 ? -w : w;
}

static void print_table_heads(const fs_bench_col *cols, int n) {
    printf("#");
    for (int i = 0; i < n; i++) printf(" %*s", col_width(&cols[i]), cols[i].head ? cols[i].head : cols[i].key);
    printf("\n#");
    for (int i = 0; i < n; i++) {
        char unit[64] = "";
        if (cols[i].unit && *cols[i].unit) snprintf(unit, sizeof unit, "(%s)", cols[i].unit);
        printf(" %*s", col_width(&cols[i]), unit);
    }
    printf("\n");
}

void fs_bench_columns(fs_bench *b, const char *table, const fs_bench_col *cols, int n_cols) {
    check_cols(cols, n_cols);
    b->cols = cols, b->n_cols = n_cols, b->table = table;
    if (b->quiet) return;
    flush_header(b);
    if (!b->json) {
        print_table_heads(cols, n_cols);
        return;
    }
    size_t len;
    char *line = line_start(b, "table", &len);
    sb_add(&line, &len, ",\"table\":");
    sb_json_str(&line, &len, table);
    sb_add(&line, &len, ",\"columns\":[");
    for (int i = 0; i < n_cols; i++) {
        sb_add(&line, &len, "%s{\"key\":", i ? "," : "");
        sb_json_str(&line, &len, cols[i].key);
        sb_add(&line, &len, ",\"unit\":");
        sb_json_str(&line, &len, cols[i].pct ? "fraction" : cols[i].unit);
        sb_add(&line, &len, "}");
    }
    printf("%s]}\n", line);
    free(line);
}

/* One cell of the table, in its column's width. */
static void table_cell(const fs_bench_col *c, const fs_bench_val *v) {
    char cell[256];
    if (!v->set) snprintf(cell, sizeof cell, "-");
    else if (c->type == FS_COL_INT) snprintf(cell, sizeof cell, "%lld", v->i);
    else if (c->type == FS_COL_STR) snprintf(cell, sizeof cell, "%s", v->s ? v->s : "");
    else if (c->pct) snprintf(cell, sizeof cell, "%.*f%%", c->prec, 100 * v->d);
    else snprintf(cell, sizeof cell, "%.*f", c->prec, v->d);
    printf(" %*s", col_width(c), cell);
}

static void json_cell(char **line, size_t *len, const fs_bench_col *c, const fs_bench_val *v) {
    sb_add(line, len, ",");
    sb_json_str(line, len, c->key);
    sb_add(line, len, ":");
    if (!v->set) sb_add(line, len, "null");
    else if (c->type == FS_COL_INT) sb_add(line, len, "%lld", v->i);
    else if (c->type == FS_COL_STR) sb_json_str(line, len, v->s);
    else sb_json_num(line, len, v->d, c->jprec);
}

void fs_bench_row(fs_bench *b, const fs_bench_val *vals) {
    if (!b->cols) fs_die(FS_EXIT_FAIL, "bench %s: a row before fs_bench_columns", b->name);
    for (int i = 0; i < b->n_cols; i++)
        if (vals[i].set && vals[i].type != b->cols[i].type)
            fs_die(FS_EXIT_FAIL, "bench %s: column '%s' given a cell of another type", b->name, b->cols[i].key);
    if (b->quiet) return;
    if (!b->json) {
        printf(" ");
        for (int i = 0; i < b->n_cols; i++) table_cell(&b->cols[i], &vals[i]);
        printf("\n");
        fflush(stdout);
        return;
    }
    size_t len;
    char *line = line_start(b, "row", &len);
    sb_add(&line, &len, ",\"table\":");
    sb_json_str(&line, &len, b->table);
    for (int i = 0; i < b->n_cols; i++) json_cell(&line, &len, &b->cols[i], &vals[i]);
    printf("%s}\n", line);
    free(line);
    fflush(stdout);
}

static const fs_bench_col STAGE_COLS[] = {
    FS_COL_S("stage", NULL, NULL, -10),
    FS_COL_N("seconds", NULL, "s", 10, 3, 4),
    FS_COL_N("ms_per_frame", "ms/frame", "ms", 12, 3, 3),
    FS_COL_P("share", "share", 8, 1, 4),
};

void fs_bench_stages(fs_bench *b, const char *const *names, const double *seconds, int n, long frames) {
    double total = 0;
    for (int i = 0; i < n; i++) total += seconds[i];
    fs_bench_columns(b, "stages", STAGE_COLS, (int)FS_ARRAY_LEN(STAGE_COLS));
    for (int i = 0; i < n; i++)
        fs_bench_row(b, (fs_bench_val[]){FS_STR(names[i]), FS_NUM(seconds[i]),
                                         FS_NUM(frames ? 1e3 * seconds[i] / frames : 0.0),
                                         FS_NUM(total > 0 ? seconds[i] / total : 0.0)});
}

void fs_bench_wrong(fs_bench *b, long long n) { b->wrong += n; }

int fs_bench_end(fs_bench *b, const char *what) {
    if (!b->quiet) {
        flush_header(b);
        if (b->json) {
            size_t len;
            char *line = line_start(b, "summary", &len);
            printf("%s%s,\"wrong\":%lld}\n", line, b->sum ? b->sum : "", b->wrong);
            free(line);
        } else if (what && *what) printf("# wrong %lld (%s)\n", b->wrong, what);
        else printf("# wrong %lld\n", b->wrong);
        fflush(stdout);
    }
    long long wrong = b->wrong;
    fs_bench_free(b);
    return wrong ? FS_EXIT_FAIL : FS_EXIT_OK;
}
