/* json.c — JSON output buffer, flat metric-object parser, line field lookup (core/json.h). */
#include "core/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

/* ---------------------------------------------------------------- output */
static void jbuf_reserve(fs_jbuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->p = fs_realloc(b->p, cap);
    b->cap = cap;
}

void fs_jbuf_printf(fs_jbuf *b, const char *fmt, ...) {
    jbuf_reserve(b, 128); /* most pieces fit: one formatting pass */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= b->cap - b->len) {
        jbuf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void fs_jbuf_str(fs_jbuf *b, const char *s) {
    jbuf_reserve(b, 2 + 6 * strlen(s));
    char *o = b->p + b->len;
    *o++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') *o++ = '\\', *o++ = (char)*c;
        else if (*c == '\n') *o++ = '\\', *o++ = 'n';
        else if (*c < 0x20 || *c >= 0x7f) o += sprintf(o, "\\u%04x", *c >= 0x7f ? 0xfffd : *c); /* ASCII only out */
        else *o++ = (char)*c;
    }
    *o++ = '"';
    *o = 0;
    b->len = (size_t)(o - b->p);
}

void fs_jbuf_num(fs_jbuf *b, double v) {
    if (!isfinite(v)) fs_jbuf_printf(b, "null");
    else if (v == (double)(long long)v && fabs(v) < 1e15) fs_jbuf_printf(b, "%lld", (long long)v);
    else fs_jbuf_printf(b, "%.9g", v);
}

void fs_jbuf_reset(fs_jbuf *b) {
    b->len = 0;
    if (b->p) b->p[0] = 0;
}
void fs_jbuf_free(fs_jbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---------------------------------------------------------------- flat object parser */
typedef struct jp {
    const char *s;
    size_t len, pos;
    char *why;
    size_t whylen;
} jp;

static void skip_ws(jp *p) {
    while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos]) p->pos++;
}
static int jfail(jp *p, const char *what) {
    snprintf(p->why, p->whylen, "metrics JSON at byte %zu: %s (expected a flat object like {\"loss\": 0.12})", p->pos,
             what);
    return -1;
}
static int expect(jp *p, char c) {
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != c) return -1;
    p->pos++;
    return 0;
}
static int key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '/' || c == '-';
}
static int parse_key(jp *p, char *out) {
    if (expect(p, '"')) return jfail(p, "expected a quoted key");
    size_t n = 0;
    while (p->pos < p->len && key_char(p->s[p->pos])) {
        if (n == 64) return jfail(p, "key longer than 64 characters");
        out[n++] = p->s[p->pos++];
    }
    out[n] = 0;
    if (n == 0 || p->pos >= p->len || p->s[p->pos] != '"') return jfail(p, "key must match [A-Za-z0-9_./-]{1,64}");
    p->pos++;
    return 0;
}
static int parse_number(jp *p, double *v) {
    skip_ws(p);
    char tmp[64];
    size_t n = 0;
    while (p->pos < p->len && strchr("0123456789+-.eE", p->s[p->pos]) && p->s[p->pos] && n < sizeof tmp - 1)
        tmp[n++] = p->s[p->pos++];
    tmp[n] = 0;
    char *end;
    *v = n ? strtod(tmp, &end) : 0;
    if (n == 0 || *end || !isfinite(*v)) return jfail(p, "value is not a finite number");
    return 0;
}

int fs_json_flat_parse(const char *s, size_t len, char (*keys)[65], double *vals, int max, int *n, char *why,
                       size_t whylen) {
    jp p = {s, len, 0, why, whylen};
    *n = 0;
    if (expect(&p, '{')) return jfail(&p, "expected '{'");
    skip_ws(&p);
    if (p.pos < p.len && s[p.pos] == '}') p.pos++;
    else
        for (;;) {
            if (*n == max) return jfail(&p, "too many keys");
            if (parse_key(&p, keys[*n])) return -1;
            if (expect(&p, ':')) return jfail(&p, "expected ':'");
            if (parse_number(&p, &vals[*n])) return -1;
            for (int i = 0; i < *n; i++)
                if (!strcmp(keys[i], keys[*n])) return jfail(&p, "duplicate key");
            (*n)++;
            if (!expect(&p, ',')) continue;
            if (expect(&p, '}')) return jfail(&p, "expected ',' or '}'");
            break;
        }
    skip_ws(&p);
    if (p.pos != p.len) return jfail(&p, "trailing characters after the object");
    return 0;
}

/* ---------------------------------------------------------------- line lookup */
static const char *find_value(const char *line, const char *key) {
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(line, pat);
    return at ? at + strlen(pat) : NULL;
}

int fs_json_get_i64(const char *line, const char *key, int64_t *v) {
    const char *at = find_value(line, key);
    if (!at) return -1;
    char *end;
    long long x = strtoll(at, &end, 10);
    if (end == at || (*end != ',' && *end != '}' && *end != '.')) return -1;
    *v = x;
    return 0;
}

int fs_json_get_u64_hex(const char *line, const char *key, uint64_t *v) {
    const char *at = find_value(line, key);
    if (!at || *at != '"') return -1;
    char *end;
    unsigned long long x = strtoull(at + 1, &end, 16);
    if (end == at + 1 || *end != '"') return -1;
    *v = x;
    return 0;
}

int fs_json_get_str(const char *line, const char *key, char *out, size_t cap) {
    const char *at = find_value(line, key);
    if (!at || *at != '"' || cap == 0) return -1;
    size_t n = 0;
    for (at++; *at && *at != '"'; at++) {
        char ch = *at;
        if (ch == '\\') {
            ch = *++at;
            if (ch == 'n') ch = '\n';
            else if (ch != '"' && ch != '\\' && ch != '/')
                return -1; /* the coordinator writes only these escapes in what it reads back */
        }
        if (n + 1 >= cap) return -1;
        out[n++] = ch;
    }
    out[n] = 0;
    return *at == '"' ? 0 : -1;
}

/* ---------------------------------------------------------------- text with lines */
void fs_text_escape(const char *in, char *out, size_t cap) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; cap && *p; p++) {
        char esc[8];
        if (*p == '\\') snprintf(esc, sizeof esc, "\\\\");
        else if (*p == '\n') snprintf(esc, sizeof esc, "\\n");
        else if (*p == '\t') snprintf(esc, sizeof esc, "\\t");
        else if (*p < 0x20 || *p > 0x7e) snprintf(esc, sizeof esc, "\\x%02x", *p);
        else esc[0] = (char)*p, esc[1] = 0;
        size_t len = strlen(esc);
        if (n + len >= cap) break;
        memcpy(out + n, esc, len);
        n += len;
    }
    if (cap) out[n] = 0;
}

static int hex_digit(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

void fs_text_unescape(const char *in, char *out, size_t cap) {
    size_t n = 0;
    for (const char *p = in; cap && *p && n + 1 < cap; p++) {
        char ch = *p;
        if (ch == '\\' && p[1] == 'n') ch = '\n', p++;
        else if (ch == '\\' && p[1] == 't') ch = '\t', p++;
        else if (ch == '\\' && p[1] == '\\') p++;
        else if (ch == '\\' && p[1] == 'x' && hex_digit(p[2]) >= 0 && hex_digit(p[3]) >= 0) {
            ch = (char)(hex_digit(p[2]) * 16 + hex_digit(p[3])), p += 3;
            if (!ch) continue; /* a NUL would cut the text */
        }
        out[n++] = ch;
    }
    if (cap) out[n] = 0;
}
