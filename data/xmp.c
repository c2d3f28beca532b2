/* xmp.c — see xmp.h. */
#include "data/xmp.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/image.h"
#include "data/watermark.h"
#include "core/limits.h"

/* ---------------------------------------------------------------- building */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = fs_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_put(b, tmp, (size_t)FS_MIN(n, (int)sizeof tmp - 1));
}

/* XML character data / attribute value: the five reserved characters escaped. */
static void sb_xml(sbuf *b, const char *s) {
    for (; *s; s++) {
        const char *rep = *s == '&'    ? "&amp;"
                          : *s == '<'  ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\'' ? "&apos;"
                                       : NULL;
        if (rep) sb_put(b, rep, strlen(rep));
        else if ((unsigned char)*s >= 0x20 || *s == '\t') sb_put(b, s, 1); /* control characters dropped */
    }
}

static void sb_attr(sbuf *b, const char *name, const char *value) {
    if (!value) return;
    sb_printf(b, "\n    %s=\"", name);
    sb_xml(b, value);
    sb_put(b, "\"", 1);
}

static void identities_xml(sbuf *b, const fs_provenance *p) {
    if (p->n_identities <= 0) return;
    sb_printf(b, "   <fsw:Identities>\n    <rdf:Seq>\n");
    for (int i = 0; i < p->n_identities && i < FS_XMP_MAX_IDS; i++) {
        sb_printf(b, "     <rdf:li rdf:parseType=\"Resource\">\n      <fsw:Name>");
        sb_xml(b, p->identity[i] ? p->identity[i] : "");
        sb_printf(b, "</fsw:Name>\n      <fsw:Consent>");
        sb_xml(b, p->consent[i] && p->consent[i][0] ? p->consent[i] : "consent not recorded");
        sb_printf(b, "</fsw:Consent>\n     </rdf:li>\n");
    }
    sb_printf(b, "    </rdf:Seq>\n   </fsw:Identities>\n");
}

static void regions_xml(sbuf *b, const fs_provenance *p) {
    sb_printf(b, "   <fsw:SyntheticRegions>\n    <rdf:Bag>\n");
    int composite = p->source_type && !strcmp(p->source_type, FS_IPTC_COMPOSITE);
    if (p->n_regions == 0) sb_printf(b, "     <rdf:li>%s</rdf:li>\n", composite ? "faces" : "all");
    for (int i = 0; i < p->n_regions; i++)
        sb_printf(b, "     <rdf:li>%d,%d,%d,%d</rdf:li>\n", p->region[i].x, p->region[i].y, p->region[i].w,
                  p->region[i].h);
    sb_printf(b, "    </rdf:Bag>\n   </fsw:SyntheticRegions>\n");
}

char *fs_xmp_build(const fs_provenance *p, const char *description, uint64_t payload, int payload_valid) {
    sbuf b = {0};
    char hex[32];
    sb_printf(&b, "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
                  "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
                  " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
                  "  <rdf:Description rdf:about=\"\"\n"
                  "    xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\"\n"
                  "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
                  "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
                  "    xmlns:fsw=\"" FS_XMP_NS "\"");
    sb_attr(&b, "Iptc4xmpExt:DigitalSourceType", p->source_type ? p->source_type : FS_IPTC_TRAINED);
    sb_attr(&b, "xmp:CreatorTool", "faceswarm " FS_VERSION);
    sb_attr(&b, "fsw:Version", FS_XMP_VERSION);
    sb_attr(&b, "fsw:Run", p->run);
    if (p->run) {
        snprintf(hex, sizeof hex, "%012llx", (unsigned long long)fs_wm_run_tag(p->run));
        sb_attr(&b, "fsw:RunTag", hex);
    }
    sb_attr(&b, "fsw:Checkpoint", p->checkpoint);
    sb_attr(&b, "fsw:CheckpointChecksum", p->checkpoint_checksum);
    if (payload_valid) {
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)payload);
        sb_attr(&b, "fsw:Watermark", hex);
    }
    sb_printf(&b, ">\n");
    if (description) {
        sb_printf(&b, "   <dc:description>\n    <rdf:Alt>\n     <rdf:li xml:lang=\"x-default\">");
        sb_xml(&b, description);
        sb_printf(&b, "</rdf:li>\n    </rdf:Alt>\n   </dc:description>\n");
    }
    identities_xml(&b, p);
    regions_xml(&b, p);
    sb_printf(&b, "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"r\"?>");
    return b.p;
}

/* ---------------------------------------------------------------- PNG chunks */
static const uint8_t PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

int fs_png_insert_itxt(const uint8_t *png, size_t len, const char *keyword, const char *text, uint8_t **out,
                       size_t *out_len, fs_error *e) {
    /* IHDR is always first: signature (8) + length, type, 13 bytes, CRC = 33 bytes. */
    if (len < 33 || memcmp(png, PNG_SIG, 8) || memcmp(png + 12, "IHDR", 4) || be32(png + 8) != 13)
        return fs_errorf(e, FS_EXIT_BADINPUT, "PNG bytes (%zu) do not start with a signature and IHDR", len);
    size_t klen = strlen(keyword), tlen = strlen(text), data = klen + 5 + tlen; /* key\0 flag method lang\0 tkey\0 */
    size_t chunk = 12 + data, at = 33;
    uint8_t *o = fs_malloc(len + chunk);
    memcpy(o, png, at);
    uint8_t *c = o + at;
    put32(c, (uint32_t)data);
    memcpy(c + 4, "iTXt", 4);
    memcpy(c + 8, keyword, klen);
    memset(c + 8 + klen, 0, 5); /* NUL, not compressed, method 0, empty language, empty translation */
    memcpy(c + 8 + klen + 5, text, tlen);
    put32(c + 8 + data, (uint32_t)crc32(0, c + 4, (uInt)(data + 4)));
    memcpy(o + at + chunk, png + at, len - at);
    *out = o;
    *out_len = len + chunk;
    return 0;
}

/* Marks the whole image, or each region big enough to carry a mark; *marked counts them. */
static int mark_regions(uint8_t *rgb, int w, int h, const fs_provenance *p, uint64_t payload, int *marked,
                        fs_error *e) {
    *marked = 0;
    if (p->n_regions == 0 || p->mark_whole) return fs_wm_embed(rgb, w, w, h, payload, e) ? e->code : (*marked = 1, 0);
    for (int i = 0; i < p->n_regions; i++) {
        const fs_region *r = &p->region[i];
        if (r->x < 0 || r->y < 0 || r->w <= 0 || r->h <= 0 || r->x + r->w > w || r->y + r->h > h)
            return fs_errorf(e, FS_EXIT_FAIL, "synthetic region %d (%d,%d %dx%d) lies outside the %dx%d image", i, r->x,
                             r->y, r->w, r->h, w, h);
        if (r->w < FS_WM_MIN_SIDE || r->h < FS_WM_MIN_SIDE) continue; /* too small to carry it: labelled only */
        if (fs_wm_embed(rgb + ((size_t)r->y * w + r->x) * 3, w, r->w, r->h, payload, e)) return e->code;
        (*marked)++;
    }
    return 0;
}

int fs_png_write_labelled(const char *path, const uint8_t *rgb, int w, int h, const char *const *text_kv,
                          const fs_provenance *p, fs_error *e) {
    size_t bytes = (size_t)w * h * 3, len = 0, out_len = 0;
    uint8_t *px = fs_malloc(bytes ? bytes : 1), *out = NULL;
    char stage[FS_PATH_LEN + 64];
    snprintf(stage, sizeof stage, "%s.unlabelled.%d", path, (int)getpid());
    uint64_t payload = fs_wm_payload(fs_wm_run_tag(p->run ? p->run : ""));
    memcpy(px, rgb, bytes);
    int marked = 0, rc = p->watermark ? mark_regions(px, w, h, p, payload, &marked, e) : 0;
    /* fs_png_write encodes (and is atomic); the chunk goes in between, and only the labelled
     * file ever appears under path. */
    if (!rc) rc = fs_png_write(stage, px, w, h, text_kv, e);
    char *png = rc ? NULL : fs_read_file(stage, &len, e);
    char *xmp = NULL;
    if (!rc && !png) rc = e->code ? e->code : FS_EXIT_FAIL;
    if (!rc) {
        xmp = fs_xmp_build(p, "SYNTHETIC MEDIA: generated by a face-swap model (faceswarm)", payload, marked > 0);
        rc = fs_png_insert_itxt((const uint8_t *)png, len, FS_XMP_KEYWORD, xmp, &out, &out_len, e);
    }
    if (!rc) rc = fs_write_file_atomic(path, out, out_len, e);
    remove(stage);
    free(png), free(xmp), free(out), free(px);
    return rc;
}

/* ---------------------------------------------------------------- reading */
/* Bytes in the well-formed UTF-8 sequence at p (RFC 3629: no overlong form, no surrogate,
 * nothing past U+10FFFF), 0 when it is not one. */
static int utf8_len(const unsigned char *p) {
    if (p[0] < 0x80) return 1;
    int n = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3 : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    for (int k = 1; k < n; k++)
        if ((p[k] & 0xC0) != 0x80) return 0; /* (a NUL ends the check too) */
    if (n && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] > 0x9F) || (p[0] == 0xF0 && p[1] < 0x90) ||
              (p[0] == 0xF4 && p[1] > 0x8F)))
        return 0;
    return n;
}

void fs_labels_clean(char *s) {
    for (unsigned char *p = (unsigned char *)s; *p;) {
        int n = utf8_len(p);
        if (!n) *p++ = '?';
        else if (n == 1) *p = *p < 0x20 || *p == 0x7F ? ' ' : *p, p++;
        else p += n;
    }
}

static void copy_field(char *dst, size_t cap, const char *src, size_t n) {
    n = FS_MIN(n, cap - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
    fs_labels_clean(dst);
}

static void text_chunk(fs_labels *L, const char *key, const char *val, size_t vlen) {
    if (!strcmp(key, "faceswarm:synthetic"))
        L->has_text = 1, copy_field(L->text_synthetic, sizeof L->text_synthetic, val, vlen);
    else if (!strcmp(key, "Disclaimer")) copy_field(L->text_disclaimer, sizeof L->text_disclaimer, val, vlen);
    else if (!strcmp(key, FS_XMP_KEYWORD)) L->has_xmp = 1, fs_xmp_parse(val, vlen, L);
}

/* zTXt / compressed iTXt: inflates into a NUL-terminated buffer (NULL when it will not). */
static char *inflate_text(const uint8_t *z, size_t n, size_t *out_n) {
    for (uLongf cap = (uLongf)FS_MAX(n * 4, 4096); cap <= (64u << 20); cap *= 4) {
        char *buf = fs_malloc(cap + 1);
        uLongf got = cap;
        int zrc = uncompress((Bytef *)buf, &got, z, (uLong)n);
        if (zrc == Z_OK) return buf[got] = 0, *out_n = got, buf;
        free(buf);
        if (zrc != Z_BUF_ERROR) return NULL;
    }
    return NULL;
}

static void png_text(fs_labels *L, const uint8_t *d, size_t n, int itxt, int ztxt) {
    const uint8_t *nul = memchr(d, 0, n);
    if (!nul) return;
    const char *key = (const char *)d;
    const uint8_t *v = nul + 1, *end = d + n;
    int compressed = ztxt;
    if (itxt) { /* flag, method, language\0, translated keyword\0 */
        if (end - v < 2) return;
        compressed = v[0];
        const uint8_t *lang_end = memchr(v + 2, 0, (size_t)(end - v - 2));
        const uint8_t *tkey_end = lang_end ? memchr(lang_end + 1, 0, (size_t)(end - lang_end - 1)) : NULL;
        if (!tkey_end) return;
        v = tkey_end + 1;
    } else if (ztxt) {        /* compression method */
        if (v == end) return; /* (v past the end would make end - v a size of 2^64 - 1) */
        v++;
    }
    if (!compressed) return text_chunk(L, key, (const char *)v, (size_t)(end - v));
    size_t tn = 0;
    char *t = inflate_text(v, (size_t)(end - v), &tn);
    if (t) text_chunk(L, key, t, tn);
    free(t);
}

static int png_labels(const uint8_t *b, size_t len, fs_labels *L, const char *path, fs_error *e) {
    for (size_t at = 8; at + 12 <= len;) {
        uint32_t n = be32(b + at);
        const char *type = (const char *)b + at + 4;
        if (n > len - at - 12) {
            char name[5];
            for (int k = 0; k < 4; k++) name[k] = type[k] >= 0x21 && type[k] <= 0x7E ? type[k] : '?';
            name[4] = 0;
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: PNG chunk '%s' at byte %zu claims %u bytes, the file has %zu\n"
                             "  hint: the file is truncated",
                             path, name, at, n, len - at - 12);
        }
        int itxt = !memcmp(type, "iTXt", 4), ztxt = !memcmp(type, "zTXt", 4);
        if (itxt || ztxt || !memcmp(type, "tEXt", 4)) {
            char *copy = fs_malloc(n + 1); /* NUL-terminated for the text helpers */
            memcpy(copy, b + at + 8, n);
            copy[n] = 0;
            png_text(L, (const uint8_t *)copy, n, itxt, ztxt);
            free(copy);
        }
        if (!memcmp(type, "IEND", 4)) return 0;
        at += 12 + (size_t)n;
    }
    return fs_errorf(e, FS_EXIT_BADINPUT, "%s: PNG without IEND\n  hint: the file is truncated", path);
}

static int jpeg_labels(const uint8_t *b, size_t len, fs_labels *L) {
    static const char XMP_ID[] = "http://ns.adobe.com/xap/1.0/"; /* + NUL, then the packet */
    for (size_t at = 2; at + 4 <= len && b[at] == 0xFF;) {
        uint8_t m = b[at + 1];
        if (m == 0xD9 || m == 0xDA) break; /* end of image, start of scan: no more metadata */
        size_t n = (size_t)b[at + 2] << 8 | b[at + 3];
        if (n < 2 || at + 2 + n > len) break;
        const uint8_t *d = b + at + 4;
        size_t dn = n - 2;
        if (m == 0xE1 && dn > sizeof XMP_ID && !memcmp(d, XMP_ID, sizeof XMP_ID)) {
            L->has_xmp = 1;
            fs_xmp_parse((const char *)d + sizeof XMP_ID, dn - sizeof XMP_ID, L);
        }
        at += 2 + n;
    }
    return 0;
}

int fs_labels_read(const char *path, fs_labels *L, fs_error *e) {
    memset(L, 0, sizeof *L);
    size_t len = 0;
    char *b = fs_read_file(path, &len, e);
    if (!b) return e->code ? e->code : FS_EXIT_BADINPUT;
    const uint8_t *u = (const uint8_t *)b;
    int rc;
    if (len >= 8 && !memcmp(u, PNG_SIG, 8)) rc = png_labels(u, len, L, path, e);
    else if (len >= 3 && u[0] == 0xFF && u[1] == 0xD8 && u[2] == 0xFF) rc = jpeg_labels(u, len, L);
    else
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: neither PNG nor JPEG\n  hint: faceswarm detect reads .png and .jpg "
                       "images",
                       path);
    free(b);
    return rc;
}

/* ---------------------------------------------------------------- parsing XMP */
/* Bounded strstr: the packet need not be NUL-terminated. */
static const char *find(const char *s, const char *end, const char *needle) {
    size_t n = strlen(needle);
    for (; s && s + n <= end; s++)
        if (*s == *needle && !memcmp(s, needle, n)) return s;
    return NULL;
}

/* Un-escapes the five XML entities while copying [s, end) into dst. */
static void copy_xml(char *dst, size_t cap, const char *s, const char *end) {
    static const char *const ENT[][2] = {{"&amp;", "&"},
                                         {"&lt;", "<"},
                                         {"&gt;", ">"},
                                         {"&quot;", "\""},
                                         {"&apos;", "'"}};
    size_t n = 0;
    while (s < end && n + 1 < cap) {
        size_t k = 0;
        for (; k < FS_ARRAY_LEN(ENT); k++)
            if ((size_t)(end - s) >= strlen(ENT[k][0]) && !memcmp(s, ENT[k][0], strlen(ENT[k][0]))) break;
        if (k < FS_ARRAY_LEN(ENT)) dst[n++] = ENT[k][1][0], s += strlen(ENT[k][0]);
        else dst[n++] = *s++;
    }
    dst[n] = 0;
    fs_labels_clean(dst);
}

/* A simple property, written either as an attribute (name="v") or an element (<name>v</name>). */
static int property(const char *x, const char *end, const char *name, char *dst, size_t cap) {
    char pat[128];
    snprintf(pat, sizeof pat, "%s=\"", name);
    const char *a = find(x, end, pat);
    if (a) {
        a += strlen(pat);
        const char *q = memchr(a, '"', (size_t)(end - a));
        if (q) return copy_xml(dst, cap, a, q), 1;
    }
    snprintf(pat, sizeof pat, "<%s>", name);
    a = find(x, end, pat);
    if (!a) return 0;
    a += strlen(pat);
    snprintf(pat, sizeof pat, "</%s>", name);
    const char *q = find(a, end, pat);
    return q ? (copy_xml(dst, cap, a, q), 1) : 0;
}

static void parse_identities(const char *x, const char *end, fs_labels *L) {
    size_t n = 0;
    for (const char *li = find(x, end, "<fsw:Name>"); li; li = find(li + 1, end, "<fsw:Name>")) {
        char name[256] = "", consent[512] = "";
        property(li, end, "fsw:Name", name, sizeof name);
        property(li, end, "fsw:Consent", consent, sizeof consent);
        n += (size_t)snprintf(L->identities + n, sizeof L->identities - n, "%s%s (consent: %s)", n ? "; " : "", name,
                              consent);
        if (n >= sizeof L->identities) break;
    }
    fs_labels_clean(L->identities); /* the last entry may have been cut inside a character */
}

/* An int of [*s, end) as sscanf's %d reads one (spaces, a sign, digits), 0 when there is none
 * or it is past int; *s moves past it. */
static int parse_int(const char **s, const char *end, int *v) {
    const char *p = *s;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    int neg = p < end && (*p == '-' || *p == '+') ? *p++ == '-' : 0;
    long long x = 0;
    const char *digits = p;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        if ((x = x * 10 + (*p - '0')) > (long long)INT_MAX + neg) return 0;
    if (p == digits) return 0;
    *v = (int)(neg ? -x : x), *s = p;
    return 1;
}

/* "x,y,w,h" at li (inside the bag, which ends at end); regions whose far edge is past int
 * are left out: detect adds x + w. */
static int parse_region(const char *li, const char *end, fs_region *r) {
    int *v[4] = {&r->x, &r->y, &r->w, &r->h};
    for (int k = 0; k < 4; k++)
        if ((k && (li >= end || *li++ != ',')) || !parse_int(&li, end, v[k])) return 0;
    return r->w > 0 && r->h > 0 && (long long)r->x + r->w <= INT_MAX && (long long)r->y + r->h <= INT_MAX;
}

static void parse_regions(const char *x, const char *end, fs_labels *L) {
    const char *bag = find(x, end, "<fsw:SyntheticRegions>");
    const char *bag_end = bag ? find(bag, end, "</fsw:SyntheticRegions>") : NULL;
    for (const char *li = bag ? find(bag, bag_end, "<rdf:li>") : NULL; li && L->n_regions < FS_XMP_MAX_REGIONS;
         li = find(li + 1, bag_end, "<rdf:li>")) {
        fs_region r;
        if (parse_region(li + 8, bag_end, &r)) L->region[L->n_regions++] = r;
    }
}

void fs_xmp_parse(const char *xmp, size_t len, fs_labels *L) {
    const char *end = xmp + len;
    property(xmp, end, "Iptc4xmpExt:DigitalSourceType", L->source_type, sizeof L->source_type);
    property(xmp, end, "xmp:CreatorTool", L->tool, sizeof L->tool);
    property(xmp, end, "fsw:Version", L->version, sizeof L->version);
    property(xmp, end, "fsw:Run", L->run, sizeof L->run);
    property(xmp, end, "fsw:RunTag", L->run_tag, sizeof L->run_tag);
    property(xmp, end, "fsw:Checkpoint", L->checkpoint, sizeof L->checkpoint);
    property(xmp, end, "fsw:CheckpointChecksum", L->checkpoint_checksum, sizeof L->checkpoint_checksum);
    property(xmp, end, "fsw:Watermark", L->watermark, sizeof L->watermark);
    parse_identities(xmp, end, L);
    parse_regions(xmp, end, L);
}
