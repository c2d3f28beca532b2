/* checkpoint.c — see checkpoint.h and docs/checkpoint.md. */
#include "trainer/checkpoint.h"

#include "core/seal.h"
#include "data/h5check.h" /* fs_h5_lock: HDF5 here is not thread-safe and the loader reads too */

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_MAX (64L << 20) /* bytes of /config a reader takes */
#define MODEL_MAX (16L << 20)  /* bytes of /model */

/* ---------------------------------------------------------------- write errors */
/* The errno behind a failed HDF5 write: the file driver records it on the error stack
 * ("..., errno = 28, error message = 'No space left on device', ..."); else errno itself. */
static herr_t find_errno(unsigned n, const H5E_error2_t *err, void *data) {
    (void)n;
    const char *p = err->desc ? strstr(err->desc, "errno = ") : NULL;
    if (p && *(int *)data == 0) *(int *)data = (int)strtol(p + 8, NULL, 10);
    return 0;
}

static const char *write_hint(int err) {
    switch (err) {
    case ENOSPC:
    case EDQUOT: return "free space on the run directory's file system, or keep fewer checkpoints (checkpoint.keep)";
    case EACCES:
    case EPERM:
    case EROFS: return "make the run directory writable (or choose another run.dir)";
    case ENOENT:
    case ENOTDIR: return "check that the run directory exists";
    case EIO: return "the storage reported an I/O error: check the disk";
    default: return "check the run directory's file system";
    }
}

/* "PATH: cannot WHAT: strerror\n  hint: ..." for a failed write (e set, returns FS_EXIT_FAIL). */
static int write_fail(fs_error *e, const char *path, const char *what, long n_params) {
    int err = 0, saved = errno;
    char why[256];
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, find_errno, &err);
    fs_h5_reason(why, sizeof why); /* HDF5's own words, when there is no errno */
    if (err == 0) err = saved;
    return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot %s: %s%s (the checkpoint needs about %.1f MB)\n  hint: %s", path,
                     what,
                     err      ? strerror(err)
                     : why[0] ? "HDF5: "
                              : "HDF5 gave no reason",
                     err ? "" : why, 12.0 * (double)n_params / 1e6, write_hint(err));
}

/* Every write is checked; a failure names the file, what was being written and why. */
#define W_TRY(call, what)                                                                                              \
    do {                                                                                                               \
        errno = 0;                                                                                                     \
        if ((call) < 0) {                                                                                              \
            rc = write_fail(e, path, what, meta->n_params);                                                            \
            goto done;                                                                                                 \
        }                                                                                                              \
    } while (0)

/* ---------------------------------------------------------------- writing */
static int attr_write_str(hid_t loc, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR), a = -1;
    int ok = t >= 0 && s >= 0 && H5Tset_size(t, strlen(value) + 1) >= 0;
    if (ok) a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    ok = ok && a >= 0 && H5Awrite(a, t, value) >= 0;
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    return ok ? 0 : -1;
}
static int attr_write_i64(hid_t loc, const char *name, long long v) {
    hid_t s = H5Screate(H5S_SCALAR), a = -1;
    int ok = s >= 0;
    if (ok) a = H5Acreate2(loc, name, H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT);
    ok = ok && a >= 0 && H5Awrite(a, H5T_NATIVE_LLONG, &v) >= 0;
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    return ok ? 0 : -1;
}

static int write_floats(hid_t f, const char *name, const float *x, long n, char sum_out[17]) {
    hsize_t dims[1] = {(hsize_t)n};
    hid_t s = H5Screate_simple(1, dims, NULL), d = -1;
    int ok = s >= 0;
    if (ok) d = H5Dcreate2(f, name, H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ok = ok && d >= 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0;
    fs_checksum_hex(fs_checksum64(x, (size_t)n * sizeof(float)), sum_out);
    ok = ok && attr_write_str(d, "checksum", sum_out) == 0;
    if (d >= 0) H5Dclose(d);
    if (s >= 0) H5Sclose(s);
    return ok ? 0 : -1;
}

/* Text as one UTF-8 string (scalar, fixed length, NUL-terminated): h5dump and h5py show it
 * as text. Its checksum covers the text and its terminating NUL. */
static int write_text(hid_t f, const char *name, const char *text, char sum_out[17]) {
    size_t len = strlen(text) + 1;
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR), d = -1;
    int ok = t >= 0 && s >= 0 && H5Tset_size(t, len) >= 0 && H5Tset_cset(t, H5T_CSET_UTF8) >= 0 &&
             H5Tset_strpad(t, H5T_STR_NULLTERM) >= 0;
    if (ok) d = H5Dcreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ok = ok && d >= 0 && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) >= 0;
    fs_checksum_hex(fs_checksum64(text, len), sum_out);
    ok = ok && attr_write_str(d, "checksum", sum_out) == 0;
    if (d >= 0) H5Dclose(d);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    return ok ? 0 : -1;
}

static int write_meta(hid_t f, const fs_ckpt_meta *m) {
    char hash[17], ver[128];
    fs_checksum_hex(m->model_hash, hash);
    snprintf(ver, sizeof ver, "faceswarm %s (commit %s)", FS_VERSION, fs_git_commit());
    int bad = attr_write_str(f, "format", FS_CKPT_FORMAT) | attr_write_i64(f, "version", FS_CKPT_VERSION) |
              attr_write_i64(f, "step", m->step) | attr_write_i64(f, "epoch", m->epoch) |
              attr_write_i64(f, "seed", (long long)m->seed) | attr_write_i64(f, "world_size", m->world_size) |
              attr_write_i64(f, "global_batch", m->global_batch) | attr_write_str(f, "model_hash", hash) |
              attr_write_i64(f, "n_params", m->n_params) |
              attr_write_i64(f, "nonfinite_skipped", m->nonfinite_skipped) |
              attr_write_i64(f, "restart_count", m->restart_count) | attr_write_str(f, "faceswarm", ver);
    char now[32];
    fs_iso_time(now);
    bad |= attr_write_str(f, "created", m->created[0] ? m->created : now);
    if (m->consent_text && m->consent_text[0]) bad |= attr_write_str(f, "consent_chain", m->consent_text);
    if (m->kernels[0]) bad |= attr_write_str(f, "kernels", m->kernels);
    return bad ? -1 : 0;
}

/* Opens /name or says it is missing (e set, -1). */
static hid_t open_named(hid_t f, const char *path, const char *name, fs_error *e) {
    hid_t d = H5Lexists(f, name, H5P_DEFAULT) > 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    if (d >= 0) return d;
    char why[300];
    fs_h5_why(why, sizeof why);
    fs_errorf(e, FS_EXIT_BADINPUT,
              "%s: dataset /%s is missing or unreadable%s\n  hint: the file is not a complete "
              "faceswarm checkpoint; resume from an older one",
              path, name, why);
    return -1;
}

/* ---------------------------------------------------------------- the metadata checksum */
static const char *const DATASETS[] = {"params", "adam_m", "adam_v", "config", "model"};

/* One dataset's part of the canonical text: "/<name> <class letter><type size> <elements>\n"
 * and its attributes (its own checksum among them), so that its shape, its type and the
 * checksum that covers its content are all covered. */
static int canon_dataset(hid_t f, const char *path, const char *name, fs_h5_canon *c, fs_error *e) {
    hid_t d = open_named(f, path, name, e);
    if (d < 0) return FS_EXIT_BADINPUT;
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    hssize_t n = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    int rc = 0;
    char why[300];
    if (cls == H5T_NO_CLASS || n < 0)
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: /%s has an unreadable type or shape%s\n  hint: the file is "
                       "damaged; resume from an older checkpoint",
                       path, name, fs_h5_why(why, sizeof why));
    else
        fs_h5_canon_add(c, "/%s %c%zu %lld\n", name,
                        cls == H5T_FLOAT    ? 'f'
                        : cls == H5T_STRING ? 's'
                                            : 'o',
                        H5Tis_variable_str(t) > 0 ? (size_t)0 : H5Tget_size(t), (long long)n);
    if (!rc && fs_h5_canon_attrs(d, path, NULL, c, e)) rc = FS_EXIT_BADINPUT;
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
    H5Dclose(d);
    return rc;
}

/* fs_checksum64 of the canonical text of every root attribute but meta_checksum and of
 * every dataset's type, shape and attributes (docs/checkpoint.md). */
static int meta_checksum(hid_t f, const char *path, char out[17], fs_error *e) {
    fs_h5_canon c = {0};
    fs_h5_canon_add(&c, "%s meta\n", FS_CKPT_FORMAT);
    int rc = fs_h5_canon_attrs(f, path, "meta_checksum", &c, e) ? FS_EXIT_BADINPUT : 0;
    for (size_t i = 0; i < FS_ARRAY_LEN(DATASETS) && !rc; i++) rc = canon_dataset(f, path, DATASETS[i], &c, e);
    if (!rc) fs_checksum_hex(fs_checksum64(c.p, c.len), out);
    fs_h5_canon_free(&c);
    return rc;
}

static void seal_text(const fs_seal *s, char *out, size_t n) {
    if (s->sealed) snprintf(out, n, "crc32c %08x of bytes %d-%llu", s->crc, FS_SEAL_BYTES, (unsigned long long)s->end);
    else snprintf(out, n, "%s", "");
}

static int ckpt_write(const char *path, const fs_ckpt_meta *meta, const float *params, const float *adam_m,
                      const float *adam_v, fs_ckpt_sums *sums, fs_error *e) {
    char tmp[FS_PATH_LEN + 64], msum[17];
    fs_tmp_path(path, tmp, sizeof tmp);
    fs_ckpt_sums local;
    if (!sums) sums = &local;
    int rc = 0;
    errno = 0;
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE); /* the user block the seal goes into */
    hid_t f =
        fcpl >= 0 && H5Pset_userblock(fcpl, FS_SEAL_BYTES) >= 0 ? H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT) : -1;
    if (fcpl >= 0) H5Pclose(fcpl);
    if (f < 0) {
        rc = write_fail(e, path, "create the checkpoint's temp file", meta->n_params);
        unlink(tmp); /* H5Fcreate may have made it before it failed */
        return rc;
    }
    W_TRY(write_meta(f, meta), "write the checkpoint's attributes");
    W_TRY(write_floats(f, "params", params, meta->n_params, sums->params), "write /params");
    W_TRY(write_floats(f, "adam_m", adam_m, meta->n_params, sums->adam_m), "write /adam_m");
    W_TRY(write_floats(f, "adam_v", adam_v, meta->n_params, sums->adam_v), "write /adam_v");
    W_TRY(write_text(f, "config", meta->config_text ? meta->config_text : "", sums->config), "write /config");
    W_TRY(write_text(f, "model", meta->model_text ? meta->model_text : "", sums->model), "write /model");
    if (meta_checksum(f, tmp, msum, e)) {
        rc = FS_EXIT_FAIL;
        goto done;
    }
    snprintf(sums->meta, sizeof sums->meta, "%s", msum);
    W_TRY(attr_write_str(f, "meta_checksum", msum), "write the metadata checksum");
done:
    errno = 0;
    if (H5Fclose(f) < 0 && rc == 0) rc = write_fail(e, path, "finish writing (close) the checkpoint", meta->n_params);
    fs_seal seal;
    if (rc == 0 && fs_seal_file(tmp, &seal, e)) rc = e ? e->code : FS_EXIT_FAIL;
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    seal_text(&seal, sums->seal, sizeof sums->seal);
    return fs_commit_file(tmp, path, e);
}

/* ---------------------------------------------------------------- reading */
/* "PATH: WHAT (the file is damaged) (HDF5: its reason)": HDF5's error stack, if a call of it
 * failed, says why (read and cleared here). */
static int damaged(fs_error *e, const char *path, const char *what) {
    char why[300];
    fs_h5_why(why, sizeof why);
    return fs_errorf(e, FS_EXIT_BADINPUT, "%s: %s (the file is damaged)%s\n  hint: resume from an older checkpoint",
                     path, what, why);
}

/* Opens /name and checks that its n elements of elem bytes can be in the file at all (a
 * damaged header must not make a reader allocate more than the file holds). */
static hid_t open_sized(hid_t f, const char *path, const char *name, long n, size_t elem, fs_error *e) {
    hid_t d = open_named(f, path, name, e);
    if (d < 0) return -1;
    hsize_t fsize = 0;
    hid_t s = H5Dget_space(d);
    hssize_t got = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    if (s >= 0) H5Sclose(s);
    /* Contiguous data (what the writer makes) must lie inside the file: HDF5 1.10 reads a
     * damaged layout's address without checking it. */
    hid_t p = H5Dget_create_plist(d);
    H5D_layout_t layout = p >= 0 ? H5Pget_layout(p) : H5D_LAYOUT_ERROR;
    int contiguous = layout == H5D_CONTIGUOUS;
    if (p >= 0) H5Pclose(p);
    haddr_t at = contiguous ? H5Dget_offset(d) : 0;
    /* compact data (not what the writer makes) is copied out of its header whatever it stores */
    int outside = (contiguous && at == HADDR_UNDEF) ||
                  ((contiguous || layout == H5D_COMPACT) && H5Dget_storage_size(d) != (hsize_t)n * elem);
    H5Eclear2(H5E_DEFAULT);
    if (H5Fget_filesize(f, &fsize) < 0 || got != n || (double)n * (double)elem > (double)fsize || outside ||
        (contiguous && (double)at + (double)n * (double)elem > (double)fsize)) {
        if (got != n)
            fs_errorf(e, FS_EXIT_BADINPUT,
                      "%s: /%s has %lld elements, expected %ld\n  hint: the checkpoint "
                      "belongs to another model, or is damaged",
                      path, name, (long long)got, n);
        else damaged(e, path, "a dataset claims more bytes than the whole file holds");
        H5Dclose(d);
        return -1;
    }
    return d;
}

/* Reads n elements of /name into out (or a scratch buffer) and checks them against the
 * dataset's checksum attribute; sum_out receives the checksum computed. */
static int read_checked(hid_t f, const char *path, const char *name, hid_t memtype, size_t elem, long n, void *out,
                        char sum_out[17], fs_error *e) {
    hid_t d = open_sized(f, path, name, n, elem, e);
    if (d < 0) return FS_EXIT_BADINPUT;
    int rc = 0;
    char want[17] = "";
    void *buf = NULL;
    if (fs_h5_attr_text(d, path, "checksum", want, sizeof want, e) != 1) {
        if (!e || !e->code)
            fs_errorf(e, FS_EXIT_BADINPUT,
                      "%s: /%s has no checksum attribute\n  hint: the file is "
                      "not a complete faceswarm checkpoint",
                      path, name);
        rc = FS_EXIT_BADINPUT;
    } else {
        buf = out ? out : fs_malloc((size_t)n * elem);
        char what[64];
        snprintf(what, sizeof what, "cannot read /%s", name);
        if (H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            rc = damaged(e, path, what);
        } else {
            fs_checksum_hex(fs_checksum64(buf, (size_t)n * elem), sum_out);
            if (strcmp(sum_out, want) != 0)
                rc = fs_errorf(e, FS_EXIT_BADINPUT,
                               "%s: checksum mismatch in /%s: stored %s, computed %s\n"
                               "  hint: the file was corrupted after it was written; resume from an "
                               "older checkpoint",
                               path, name, want, sum_out);
        }
    }
    if (buf && buf != out) free(buf);
    H5Dclose(d);
    return rc;
}

/* Stored size of a text dataset in bytes, and its form: a string with one value (fixed
 * length, *vlen 0, or variable, *vlen 1, size unknown: 0) or uint8 [len + 1] (format v1). */
static long text_bytes(hid_t d, hid_t t, int *vlen) {
    hid_t s = H5Dget_space(d);
    hssize_t n = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    if (s >= 0) H5Sclose(s);
    H5T_class_t cls = H5Tget_class(t);
    *vlen = cls == H5T_STRING && H5Tis_variable_str(t) > 0;
    if (cls == H5T_STRING) return n == 1 ? (*vlen ? 0 : (long)H5Tget_size(t)) : -1;
    return cls == H5T_INTEGER && H5Tget_size(t) == 1 ? (long)n : -1;
}

/* Reads the text of open dataset d (type t, form as text_bytes found) into a new buffer;
 * *bytes receives the count its checksum covers (the stored bytes; for a variable-length
 * string another tool wrote, the text and its NUL). NULL when HDF5 cannot read it. */
static char *text_read(hid_t d, hid_t t, int vlen, long *bytes) {
    hid_t mt = H5Tget_class(t) == H5T_STRING ? H5Tcopy(t) : H5Tcopy(H5T_NATIVE_UCHAR);
    char *buf = fs_calloc(vlen ? sizeof(char *) : (size_t)*bytes + 1, 1);
    if (mt < 0 || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        H5Eclear2(H5E_DEFAULT);
        free(buf), buf = NULL;
    } else if (vlen) {
        char *v = *(char **)buf, *copy = fs_strdup(v ? v : "");
        hid_t s = H5Dget_space(d);
        H5Dvlen_reclaim(mt, s, H5P_DEFAULT, buf);
        H5Sclose(s);
        free(buf);
        buf = copy;
        *bytes = (long)strlen(buf) + 1;
    }
    if (mt >= 0) H5Tclose(mt);
    return buf;
}

/* /config or /model as text (docs/checkpoint.md): checked against the dataset's checksum
 * attribute when need_sum (all but format v1's /model, which had none). */
static int read_text(hid_t f, const char *path, const char *name, long max, int need_sum, char **text, char sum_out[17],
                     fs_error *e) {
    *text = NULL;
    hid_t d = open_named(f, path, name, e);
    if (d < 0) return FS_EXIT_BADINPUT;
    hid_t t = H5Dget_type(d);
    int vlen = 0, rc = 0;
    long bytes = t >= 0 ? text_bytes(d, t, &vlen) : -1;
    hsize_t fsize = 0;
    H5Fget_filesize(f, &fsize);
    char want[17] = "", *buf = NULL, what[80];
    snprintf(what, sizeof what, "/%s is not text of 1..%ld bytes", name, max);
    if (bytes < 0 || (!vlen && (bytes < 1 || bytes > max || (hsize_t)bytes > fsize))) rc = damaged(e, path, what);
    if (!rc && need_sum && fs_h5_attr_text(d, path, "checksum", want, sizeof want, e) != 1) {
        if (!e || !e->code) fs_errorf(e, FS_EXIT_BADINPUT, "%s: /%s has no checksum attribute", path, name);
        rc = FS_EXIT_BADINPUT;
    }
    snprintf(what, sizeof what, "cannot read /%s", name);
    if (!rc && !(buf = text_read(d, t, vlen, &bytes))) rc = damaged(e, path, what);
    if (!rc) fs_checksum_hex(fs_checksum64(buf, (size_t)bytes), sum_out);
    if (!rc && need_sum && strcmp(sum_out, want) != 0)
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: checksum mismatch in /%s: stored %s, computed %s\n  hint: the file "
                       "was corrupted after it was written; resume from an older checkpoint",
                       path, name, want, sum_out);
    if (t >= 0) H5Tclose(t);
    H5Dclose(d);
    if (rc) free(buf);
    else *text = buf;
    return rc;
}

/* The root attributes a reader trusts, each checked for presence, type and range. */
static int read_values(hid_t f, const char *path, fs_ckpt_meta *m, fs_error *e) {
    static const struct {
        const char *name;
        int required;
        long long lo, hi;
    } tab[] = {
        {"step", 1, 0, LLONG_MAX},
        {"epoch", 1, 0, LLONG_MAX},
        {"seed", 1, LLONG_MIN, LLONG_MAX},
        {"world_size", 1, 1, 1 << 24},
        {"global_batch", 1, 1, 1 << 30},
        {"n_params", 1, 1, 1LL << 40},
        {"nonfinite_skipped", 0, 0, LLONG_MAX},
        {"restart_count", 0, 0, LLONG_MAX},
    };
    long long v[FS_ARRAY_LEN(tab)];
    for (size_t i = 0; i < FS_ARRAY_LEN(tab); i++) {
        v[i] = 0;
        int got = fs_h5_attr_i64(f, path, tab[i].name, &v[i], e);
        if (got < 0) return FS_EXIT_BADINPUT;
        if (got == 0 && tab[i].required)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: attribute %s is missing\n  hint: the checkpoint is "
                             "incomplete; resume from an older one",
                             path, tab[i].name);
        if (v[i] < tab[i].lo || v[i] > tab[i].hi)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: attribute %s is %lld; expected %lld..%lld\n  hint: the "
                             "checkpoint is damaged; resume from an older one",
                             path, tab[i].name, v[i], tab[i].lo, tab[i].hi);
    }
    m->step = (long)v[0], m->epoch = (long)v[1], m->seed = (uint64_t)v[2], m->world_size = (int)v[3];
    m->global_batch = (int)v[4], m->n_params = (long)v[5], m->nonfinite_skipped = (long)v[6];
    m->restart_count = (long)v[7];
    char hash[32];
    char *end = NULL;
    if (fs_h5_attr_text(f, path, "model_hash", hash, sizeof hash, e) != 1 || strlen(hash) != 16 ||
        (m->model_hash = strtoull(hash, &end, 16), *end))
        return (e && e->code) ? e->code
                              : fs_errorf(e, FS_EXIT_BADINPUT,
                                          "%s: attribute model_hash is missing or "
                                          "not 16 hex digits\n  hint: the checkpoint is damaged",
                                          path);
    if (fs_h5_attr_text(f, path, "created", m->created, sizeof m->created, e) < 0) return FS_EXIT_BADINPUT;
    if (fs_h5_attr_text(f, path, "kernels", m->kernels, sizeof m->kernels, e) < 0) return FS_EXIT_BADINPUT;
    return 0;
}

/* Format and version; for version 2, the metadata checksum over everything a reader trusts
 * (before any of it is used). */
static int read_header(hid_t f, const char *path, fs_ckpt_meta *m, fs_ckpt_sums *sums, fs_error *e) {
    char fmt[64] = "";
    long long v = 0;
    if (fs_h5_attr_text(f, path, "format", fmt, sizeof fmt, e) < 0) return FS_EXIT_BADINPUT;
    if (strcmp(fmt, FS_CKPT_FORMAT) != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: attribute format is '%s', expected '%s'\n  hint: this is "
                         "not a faceswarm checkpoint",
                         path, fmt, FS_CKPT_FORMAT);
    if (fs_h5_attr_i64(f, path, "version", &v, e) != 1 || v < 1 || v > FS_CKPT_VERSION)
        return (e && e->code)
                   ? e->code
                   : fs_errorf(e, FS_EXIT_BADINPUT,
                               "%s: checkpoint version %lld, this "
                               "faceswarm reads versions 1..%d\n  hint: use the faceswarm release that wrote it",
                               path, v, FS_CKPT_VERSION);
    m->version = (int)v;
    if (v < 2) return 0;
    char want[32] = "";
    if (fs_h5_attr_text(f, path, "meta_checksum", want, sizeof want, e) != 1)
        return (e && e->code) ? e->code
                              : fs_errorf(e, FS_EXIT_BADINPUT,
                                          "%s: attribute meta_checksum is missing "
                                          "(format version %lld requires it)\n  hint: the checkpoint is damaged; "
                                          "resume from an older "
                                          "one",
                                          path, v);
    if (meta_checksum(f, path, sums->meta, e)) return FS_EXIT_BADINPUT;
    if (strcmp(want, sums->meta) != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: metadata checksum mismatch: stored %s, computed %s (an attribute "
                         "such as step, epoch or seed, or a dataset's shape or checksum, changed after writing)\n"
                         "  hint: the file was corrupted after it was written; resume from an older checkpoint",
                         path, want, sums->meta);
    return 0;
}

static int read_all(hid_t f, const char *path, long n_params_expected, fs_ckpt_meta *meta, float *params, float *adam_m,
                    float *adam_v, fs_ckpt_sums *sums, fs_error *e) {
    int rc = read_header(f, path, meta, sums, e);
    if (!rc) rc = read_values(f, path, meta, e);
    if (!rc && n_params_expected > 0 && meta->n_params != n_params_expected)
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: checkpoint has %ld parameters, the configured model has %ld\n"
                       "  hint: resume with the config the checkpoint was trained with (faceswarm checkpoint "
                       "inspect shows it)",
                       path, meta->n_params, n_params_expected);
    if (!rc) rc = read_checked(f, path, "params", H5T_NATIVE_FLOAT, 4, meta->n_params, params, sums->params, e);
    if (!rc) rc = read_checked(f, path, "adam_m", H5T_NATIVE_FLOAT, 4, meta->n_params, adam_m, sums->adam_m, e);
    if (!rc) rc = read_checked(f, path, "adam_v", H5T_NATIVE_FLOAT, 4, meta->n_params, adam_v, sums->adam_v, e);
    if (!rc) rc = read_text(f, path, "config", CONFIG_MAX, 1, &meta->config_text, sums->config, e);
    if (!rc) rc = read_text(f, path, "model", MODEL_MAX, meta->version >= 2, &meta->model_text, sums->model, e);
    if (!rc && fs_h5_attr_alloc(f, path, "consent_chain", &meta->consent_text, NULL, e) < 0) rc = FS_EXIT_BADINPUT;
    return rc;
}

static int ckpt_read(const char *path, long n_params_expected, fs_ckpt_meta *meta, float *params, float *adam_m,
                     float *adam_v, fs_ckpt_sums *sums, fs_error *e) {
    memset(meta, 0, sizeof *meta);
    fs_ckpt_sums local;
    if (!sums) sums = &local;
    memset(sums, 0, sizeof *sums);
    if (!fs_exists(path))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: no such checkpoint\n  hint: list a run's checkpoints with "
                         "ls RUN/checkpoints",
                         path);
    if (fs_is_dir(path))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: is a directory, expected a checkpoint file\n  hint: name a file "
                         "such as RUN/checkpoints/ckpt-0000001000.h5",
                         path);
    fs_seal seal;
    if (fs_seal_check(path,
                      "resume from an older checkpoint (train --resume auto falls back to the newest that "
                      "verifies); a checkpoint rewritten by another tool (h5repack, h5py in r+ mode) is "
                      "refused too",
                      &seal, e))
        return FS_EXIT_BADINPUT;
    seal_text(&seal, sums->seal, sizeof sums->seal);
    char why[300];
    if (H5Fis_hdf5(path) <= 0) {
        fs_h5_why(why, sizeof why);
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: not an HDF5 file (truncated or damaged)%s\n  hint: resume "
                         "from an older checkpoint",
                         path, why);
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        fs_h5_why(why, sizeof why);
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: HDF5 cannot open it (damaged)%s\n  hint: resume from an older "
                         "checkpoint",
                         path, why);
    }
    int rc = read_all(f, path, n_params_expected, meta, params, adam_m, adam_v, sums, e);
    if (rc && !(e && e->code)) fs_errorf(e, FS_EXIT_BADINPUT, "%s: cannot be read (damaged)", path);
    if (H5Fclose(f) < 0) H5Eclear2(H5E_DEFAULT);
    if (rc) fs_ckpt_meta_free(meta);
    return rc ? FS_EXIT_BADINPUT : 0;
}

const char *fs_ckpt_notice(const fs_ckpt_meta *meta) {
    return meta->version < 2 ? "checkpoint format v1 (older faceswarm): its datasets were verified, but its "
                               "attributes (step, epoch, seed, ...) and /model are covered by no checksum; the "
                               "checkpoints written from now on (v2) cover them"
                             : NULL;
}

int fs_ckpt_write(const char *path, const fs_ckpt_meta *meta, const float *params, const float *adam_m,
                  const float *adam_v, fs_ckpt_sums *sums, fs_error *e) {
    fs_h5_init();
    fs_h5_lock();
    int rc = ckpt_write(path, meta, params, adam_m, adam_v, sums, e);
    fs_h5_unlock();
    return rc;
}

int fs_ckpt_read(const char *path, long n_params_expected, fs_ckpt_meta *meta, float *params, float *adam_m,
                 float *adam_v, fs_ckpt_sums *sums, fs_error *e) {
    fs_h5_init();
    fs_h5_lock();
    int rc = ckpt_read(path, n_params_expected, meta, params, adam_m, adam_v, sums, e);
    fs_h5_unlock();
    return rc;
}

void fs_ckpt_meta_free(fs_ckpt_meta *meta) {
    free(meta->config_text);
    free(meta->model_text);
    free(meta->consent_text);
    meta->config_text = meta->model_text = meta->consent_text = NULL;
}

int fs_ckpt_consent_of(const char *chain, const char *identity, char *out, size_t n) {
    out[0] = 0;
    size_t idlen = strlen(identity);
    for (const char *p = chain; p && *p;) {
        size_t len = strcspn(p, "\n");
        if (!strncmp(p, "identity=", 9) && !strncmp(p + 9, identity, idlen) && p[9 + idlen] == '\t') {
            const char *c = strstr(p, "\tconsent=");
            if (c && c < p + len) {
                c += 9;
                size_t clen = strcspn(c, "\t\n");
                snprintf(out, n, "%.*s", (int)clen, c);
                return 1;
            }
        }
        p += len + (p[len] == '\n');
    }
    return 0;
}

/* ---------------------------------------------------------------- run directory */
void fs_ckpt_path(const char *run_dir, long step, char *out, size_t outlen) {
    snprintf(out, outlen, "%s/checkpoints/ckpt-%010ld.h5", run_dir, step);
}

static int is_ckpt_name(const char *name) {
    size_t n = strlen(name);
    return n == 18 && strncmp(name, "ckpt-", 5) == 0 && strcmp(name + 15, ".h5") == 0 &&
           strspn(name + 5, "0123456789") == 10;
}
static int cmp_desc(const void *a, const void *b) { return strcmp(*(char *const *)b, *(char *const *)a); }

int fs_ckpt_list(const char *run_dir, char ***paths, fs_error *e) {
    char dir[FS_PATH_LEN + 32];
    snprintf(dir, sizeof dir, "%s/checkpoints", run_dir);
    *paths = NULL;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0, cap = 0;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (!is_ckpt_name(ent->d_name)) continue;
        if (n == cap) *paths = fs_realloc(*paths, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 16));
        size_t len = strlen(dir) + strlen(ent->d_name) + 2;
        (*paths)[n] = fs_malloc(len);
        snprintf((*paths)[n++], len, "%s/%s", dir, ent->d_name);
    }
    closedir(d);
    if (n) qsort(*paths, (size_t)n, sizeof(char *), cmp_desc);
    (void)e;
    return n;
}

void fs_ckpt_prune(const char *run_dir, int keep) {
    char dir[FS_PATH_LEN + 32];
    snprintf(dir, sizeof dir, "%s/checkpoints", run_dir);
    DIR *d = opendir(dir);
    if (d) { /* temp files of a writer that died (only one trainer owns a run directory) */
        struct dirent *ent;
        char path[FS_PATH_LEN + 300];
        while ((ent = readdir(d)))
            if (strncmp(ent->d_name, "ckpt-", 5) == 0 && strstr(ent->d_name, ".h5.tmp.")) {
                snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
                unlink(path);
            }
        closedir(d);
    }
    char **paths;
    int n = fs_ckpt_list(run_dir, &paths, NULL);
    for (int i = 0; i < n; i++) {
        if (keep > 0 && i >= keep) unlink(paths[i]);
        free(paths[i]);
    }
    free(paths);
}

static int try_verify(const char *path) {
    fs_ckpt_meta m;
    fs_error err = {0};
    if (fs_ckpt_read(path, 0, &m, NULL, NULL, NULL, NULL, &err) != 0) {
        fs_warn("skipping checkpoint that does not verify: %s", err.msg);
        return 0;
    }
    fs_ckpt_meta_free(&m);
    return 1;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}
static int cmp_base_desc(const void *a, const void *b) {
    return strcmp(base_name(*(char *const *)b), base_name(*(char *const *)a));
}

int fs_ckpt_find_latest(const char *run_dir, char **registry, int n_registry, char *out, size_t outlen, fs_error *e) {
    /* Candidates: the registry's entries (relative to the run directory) and the directory
     * listing, which also has checkpoints written while no coordinator was reachable.
     * Newest step first; the first that verifies wins. */
    char **dirlist;
    int n_dir = fs_ckpt_list(run_dir, &dirlist, e), n = 0;
    char **cand = fs_malloc(sizeof(char *) * (size_t)(n_dir + n_registry + 1));
    for (int i = 0; i < n_registry; i++) {
        size_t len = strlen(run_dir) + strlen(registry[i]) + 2;
        cand[n] = fs_malloc(len);
        if (registry[i][0] == '/') snprintf(cand[n], len, "%s", registry[i]);
        else snprintf(cand[n], len, "%s/%s", run_dir, registry[i]);
        if (is_ckpt_name(base_name(cand[n])) && fs_exists(cand[n])) n++;
        else free(cand[n]);
    }
    for (int i = 0; i < n_dir; i++) cand[n++] = dirlist[i];
    free(dirlist);
    qsort(cand, (size_t)n, sizeof(char *), cmp_base_desc);
    int found = 0;
    for (int i = 0; i < n; i++) {
        int dup = i > 0 && strcmp(base_name(cand[i]), base_name(cand[i - 1])) == 0;
        if (!found && !dup && try_verify(cand[i])) {
            snprintf(out, outlen, "%s", cand[i]);
            found = 1;
        }
    }
    for (int i = 0; i < n; i++) free(cand[i]);
    free(cand);
    return found;
}
