/* h5check.c — see h5check.h. */
#include "data/h5check.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t g_h5_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_h5_once = PTHREAD_ONCE_INIT;

static void h5_init_once(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
void fs_h5_init(void) { pthread_once(&g_h5_once, h5_init_once); }
void fs_h5_lock(void) {
    fs_h5_init();
    pthread_mutex_lock(&g_h5_mutex);
}
void fs_h5_unlock(void) { pthread_mutex_unlock(&g_h5_mutex); }

/* The innermost (first pushed) entry of HDF5's error stack says what actually went wrong. */
static herr_t first_error(unsigned n, const H5E_error2_t *err, void *data) {
    char *out = data;
    if (n == 0 && err->desc) snprintf(out, 256, "%s", err->desc);
    return 0;
}

const char *fs_h5_reason(char *out, size_t len) {
    char why[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, why);
    H5Eclear2(H5E_DEFAULT);
    snprintf(out, len, "%s", why);
    return out;
}

const char *fs_h5_why(char *out, size_t len) {
    char why[256];
    if (fs_h5_reason(why, sizeof why)[0]) snprintf(out, len, " (HDF5: %s)", why);
    else if (len) out[0] = 0;
    return out;
}

int fs_h5_fail(fs_error *e, int code, const char *call, const char *file, int line, const char *fmt, ...) {
    char what[1024], why[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, why);
    H5Eclear2(H5E_DEFAULT);
    const char *call_name = strchr(call, '(') ? call : "HDF5 call";
    int len = (int)(strchr(call_name, '(') ? strchr(call_name, '(') - call_name : (long)strlen(call_name));
    fs_debug("%s:%d: %.*s failed", file, line, len, call_name); /* where, for developers only */
    return fs_errorf(e, code, "%s (%.*s failed: %s)%s", what, len, call_name, why[0] ? why : "no detail from HDF5",
                     strstr(what, "hint:") ? "" : "\n  hint: check that the file is a whole, readable HDF5 file");
}

/* ---------------------------------------------------------------- attributes */
/* Fills e (code FS_EXIT_BADINPUT) and evaluates to -1, the readers' "refused". */
#define REFUSE(...) (fs_errorf(e, FS_EXIT_BADINPUT, __VA_ARGS__), -1)

/* A value an attribute reader can take: one element (scalar or [1]). */
static int one_value(hid_t a, const char *file, const char *name, fs_error *e) {
    hid_t sp = H5Aget_space(a);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    if (n == 1) return 0;
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s: attribute '%s' holds %lld values; expected one\n"
                     "  hint: write it as a single string or integer (h5py: f.attrs['%s'] = 'text')",
                     file, name, (long long)n, name);
}

static int read_string(hid_t a, hid_t ft, const char *file, const char *name, char **out, fs_error *e) {
    hid_t mt = H5Tcopy(H5T_C_S1);
    int rc = -1;
    /* HDF5 converts no string between character sets: read in the file's own (h5py writes UTF-8). */
    if (mt < 0 || H5Tset_cset(mt, H5Tget_cset(ft)) < 0) {
        char why[300];
        rc = REFUSE("%s: attribute '%s' has a character set this HDF5 cannot read%s\n"
                    "  hint: store it as an ASCII or UTF-8 string",
                    file, name, fs_h5_why(why, sizeof why));
    } else if (H5Tis_variable_str(ft) > 0) {
        char *v = NULL;
        if (H5Tset_size(mt, H5T_VARIABLE) >= 0 && H5Aread(a, mt, &v) >= 0) {
            size_t n = v ? strlen(v) : 0;
            if (n < FS_H5_ATTR_MAX) *out = fs_strdup(v ? v : ""), rc = 1;
            else
                rc = REFUSE("%s: attribute '%s' is %zu bytes long; at most %d are read\n"
                            "  hint: shorten it",
                            file, name, n, FS_H5_ATTR_MAX);
            if (v) H5free_memory(v);
        }
    } else {
        size_t sz = H5Tget_size(ft);
        if (sz == 0 || sz >= FS_H5_ATTR_MAX) {
            rc = REFUSE("%s: attribute '%s' is a string of %zu bytes; expected 1..%d\n"
                        "  hint: the file is damaged, or the value is too long",
                        file, name, sz, FS_H5_ATTR_MAX - 1);
        } else {
            char *v = fs_calloc(sz + 1, 1);
            if (H5Tset_size(mt, sz + 1) >= 0 && H5Tset_strpad(mt, H5T_STR_NULLTERM) >= 0 && H5Aread(a, mt, v) >= 0)
                *out = v, rc = 1;
            else free(v);
        }
    }
    if (rc == -1 && !(e && e->code))
        fs_h5_fail(e, FS_EXIT_BADINPUT, "H5Aread()", __FILE__, __LINE__,
                   "%s: attribute '%s' (a string) cannot "
                   "be read\n  hint: the file is damaged, or the string is in a form HDF5 cannot convert",
                   file, name);
    if (mt >= 0) H5Tclose(mt);
    return rc;
}

static int read_integer(hid_t a, hid_t ft, const char *file, const char *name, char **out, fs_error *e) {
    /* HDF5 1.10 converts an integer by its precision and bit offset without checking them
     * against its size (a damaged type made H5T__bit_find read outside the value), and reads
     * as many bytes as the type says whatever the attribute message holds */
    size_t size = H5Tget_size(ft), prec = H5Tget_precision(ft);
    int off = H5Tget_offset(ft);
    hsize_t stored = H5Aget_storage_size(a);
    if (size < 1 || size > 8 || prec < 1 || off < 0 || (size_t)off + prec > 8 * size || stored != size) {
        H5Eclear2(H5E_DEFAULT);
        return REFUSE("%s: attribute '%s' is an integer of %zu bytes with %zu bits at bit %d, %llu bytes stored; "
                      "expected 1..8 bytes, its bits inside them, all stored\n  hint: the file is damaged",
                      file, name, size, prec, off, (unsigned long long)stored);
    }
    long long v = 0;
    if (H5_CHECK(H5Aread(a, H5T_NATIVE_LLONG, &v), e, FS_EXIT_BADINPUT,
                 "%s: attribute '%s' (an integer) cannot "
                 "be read\n  hint: the file is damaged",
                 file, name))
        return -1;
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    *out = fs_strdup(buf);
    return 1;
}

int fs_h5_attr_alloc(hid_t obj, const char *file, const char *name, char **out, char *kind, fs_error *e) {
    *out = NULL;
    htri_t has = H5Aexists(obj, name);
    if (has == 0) return 0;
    if (H5_CHECK(has, e, FS_EXIT_BADINPUT, "%s: cannot look up attribute '%s'\n  hint: the file is damaged", file,
                 name))
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (H5_CHECK(a, e, FS_EXIT_BADINPUT, "%s: attribute '%s' cannot be opened\n  hint: the file is damaged", file,
                 name))
        return -1;
    hid_t ft = H5Aget_type(a);
    H5T_class_t cls = ft >= 0 ? H5Tget_class(ft) : H5T_NO_CLASS;
    int rc = one_value(a, file, name, e) ? -1 : 0;
    if (rc == 0 && cls == H5T_STRING) rc = read_string(a, ft, file, name, out, e);
    else if (rc == 0 && cls == H5T_INTEGER) rc = read_integer(a, ft, file, name, out, e);
    else if (rc == 0)
        rc = REFUSE("%s: attribute '%s' has HDF5 type class %d; expected a string or an "
                    "integer\n  hint: faceswarm's attributes are strings, and version is an integer",
                    file, name, (int)cls);
    if (kind) *kind = cls == H5T_STRING ? 's' : 'i';
    if (ft >= 0) H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

int fs_h5_attr_text(hid_t obj, const char *file, const char *name, char *out, size_t outlen, fs_error *e) {
    char *v;
    out[0] = 0;
    int rc = fs_h5_attr_alloc(obj, file, name, &v, NULL, e);
    if (rc <= 0) return rc;
    if (strlen(v) >= outlen)
        rc = REFUSE("%s: attribute '%s' is %zu bytes long; expected under %zu\n"
                    "  hint: shorten it",
                    file, name, strlen(v), outlen);
    else memcpy(out, v, strlen(v) + 1);
    free(v);
    return rc;
}

int fs_h5_attr_i64(hid_t obj, const char *file, const char *name, long long *v, fs_error *e) {
    char *t, kind;
    int rc = fs_h5_attr_alloc(obj, file, name, &t, &kind, e);
    if (rc <= 0) return rc;
    if (kind != 'i')
        rc = REFUSE("%s: attribute '%s' is the string \"%.64s\"; expected an integer\n"
                    "  hint: write it as an integer (h5py: f.attrs['%s'] = 1)",
                    file, name, t, name);
    else *v = strtoll(t, NULL, 10);
    free(t);
    return rc;
}

/* ---------------------------------------------------------------- canonical text */
static void canon_reserve(fs_h5_canon *c, size_t more) {
    if (c->len + more + 1 <= c->cap) return;
    while (c->len + more + 1 > c->cap) c->cap = c->cap ? 2 * c->cap : 1024;
    c->p = fs_realloc(c->p, c->cap);
}

void fs_h5_canon_add(fs_h5_canon *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    canon_reserve(c, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(c->p + c->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    c->len += (size_t)n;
}

void fs_h5_canon_bytes(fs_h5_canon *c, const void *data, size_t len) {
    canon_reserve(c, len);
    memcpy(c->p + c->len, data, len);
    c->len += len;
    c->p[c->len] = 0;
}

void fs_h5_canon_free(fs_h5_canon *c) {
    free(c->p);
    c->p = NULL;
    c->len = c->cap = 0;
}

typedef struct name_list {
    char **v;
    int n, over; /* over: more attributes than a faceswarm file has any reason to hold */
} name_list;
enum { MAX_ATTRS = 256 };

static herr_t collect_name(hid_t obj, const char *name, const H5A_info_t *info, void *data) {
    (void)obj, (void)info;
    name_list *l = data;
    if (l->n == MAX_ATTRS) {
        l->over = 1;
        return 1; /* stop */
    }
    l->v[l->n++] = fs_strdup(name);
    return 0;
}

int fs_h5_canon_attrs(hid_t obj, const char *file, const char *skip, fs_h5_canon *c, fs_error *e) {
    name_list l = {fs_calloc(MAX_ATTRS, sizeof(char *)), 0, 0};
    hsize_t idx = 0;
    int rc = H5_CHECK(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &l), e, FS_EXIT_BADINPUT,
                      "%s: cannot list the attributes\n  hint: the file is damaged", file)
                 ? -1
                 : 0;
    if (!rc && l.over)
        rc = REFUSE("%s: more than %d attributes\n  hint: the file is not one faceswarm "
                    "wrote",
                    file, MAX_ATTRS);
    for (int i = 0; i < l.n && !rc; i++) {
        if (skip && !strcmp(l.v[i], skip)) continue;
        char *v, kind;
        if (fs_h5_attr_alloc(obj, file, l.v[i], &v, &kind, e) <= 0) {
            if (!(e && e->code)) fs_errorf(e, FS_EXIT_BADINPUT, "%s: attribute '%s' vanished", file, l.v[i]);
            rc = -1;
            break;
        }
        fs_h5_canon_add(c, "%zu:%s=%c:%zu:", strlen(l.v[i]), l.v[i], kind, strlen(v));
        fs_h5_canon_bytes(c, v, strlen(v));
        fs_h5_canon_add(c, "\n");
        free(v);
    }
    for (int i = 0; i < l.n; i++) free(l.v[i]);
    free(l.v);
    return rc;
}
