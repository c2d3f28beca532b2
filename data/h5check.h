/* h5check.h — the checked-call macro for HDF5, the one process-wide lock that serialises
 * HDF5 calls (the Debian parallel build is not thread-safe, and the loader reads from its
 * prefetch threads while the trainer reads previews or writes checkpoints): any code outside
 * data/ that calls HDF5 while a loader is open must hold fs_h5_lock(); and the attribute
 * readers that datasets and checkpoints share (text of any string or integer attribute, and
 * the canonical serialisation of all attributes that their checksums cover). */
#ifndef FACESWARM_DATA_H5CHECK_H
#define FACESWARM_DATA_H5CHECK_H

#include <hdf5.h>
#include <stddef.h>

#include "core/common.h"

/* Silences HDF5's own error printing (once per process). */
void fs_h5_init(void);
void fs_h5_lock(void);
void fs_h5_unlock(void);

/* HDF5's reason for the API call that just failed (any later HDF5 call clears it): the
 * innermost entry of its error stack, or "" when the stack is empty. Clears the stack.
 * fs_h5_why gives it as " (HDF5: reason)" for a message, or "". Both return out. */
const char *fs_h5_reason(char *out, size_t len);
const char *fs_h5_why(char *out, size_t len);

/* Fills e with "what (HDF5 call failed: HDF5's innermost reason)" and a hint (unless what
 * has one); the source location goes to the debug log only. Returns code. */
int fs_h5_fail(fs_error *e, int code, const char *call, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* H5_CHECK(call, e, code, fmt, ...): evaluates to nonzero (and fills e) when call < 0, so
 * `if (H5_CHECK(H5Dread(...), e, FS_EXIT_FAIL, "%s: reading /faces", path)) goto fail;` */
#define H5_CHECK(x, e, code, ...) ((x) < 0 ? (fs_h5_fail((e), (code), #x, __FILE__, __LINE__, __VA_ARGS__), 1) : 0)

/* The longest attribute value these readers take (a longer one is refused, not cut). */
#define FS_H5_ATTR_MAX (1 << 20)

/* One attribute of obj as text, malloc'd into *out: a string with one value (scalar or one
 * element; fixed or variable length; ASCII or UTF-8; any padding; the usual h5py
 * `attrs['x'] = 'text'` included), or an integer of one value as decimal. *kind receives 's'
 * or 'i' (may be NULL). Returns 1 read, 0 absent (*out NULL), <0 refused (e names file and
 * attribute, the type or shape found and what was expected; code FS_EXIT_BADINPUT). */
int fs_h5_attr_alloc(hid_t obj, const char *file, const char *name, char **out, char *kind, fs_error *e);
/* The same into out[outlen]: a value that does not fit is refused. */
int fs_h5_attr_text(hid_t obj, const char *file, const char *name, char *out, size_t outlen, fs_error *e);
/* An integer attribute: 1 read, 0 absent, <0 refused (a string, several values, ...). */
int fs_h5_attr_i64(hid_t obj, const char *file, const char *name, long long *v, fs_error *e);

/* A growing byte buffer for canonical texts. */
typedef struct fs_h5_canon {
    char *p;
    size_t len, cap;
} fs_h5_canon;
void fs_h5_canon_add(fs_h5_canon *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fs_h5_canon_bytes(fs_h5_canon *c, const void *data, size_t len);
void fs_h5_canon_free(fs_h5_canon *c);
/* Appends every attribute of obj except `skip` in byte order of their names, each as
 * "<name>=<kind>:<length>:<value>\n" (kind 's' string or 'i' integer, length of value in
 * bytes, value as fs_h5_attr_alloc reads it), so that no two attribute sets serialise the
 * same and the storage form of a string (fixed, variable, ASCII, UTF-8) does not matter.
 * An attribute of another type is refused. Returns 0 or <0 with e set. */
int fs_h5_canon_attrs(hid_t obj, const char *file, const char *skip, fs_h5_canon *c, fs_error *e);

#endif
