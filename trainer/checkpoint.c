/* checkpoint.c — see checkpoint.h. */
#include "trainer/checkpoint.h"

#include "data/h5check.h" /* fs_h5_lock: HDF5 here is not thread-safe and the loader reads too */

#include <dirent.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every HDF5 call is checked; a failure names the file and what was being done. */
#define H5_TRY(call, what)                                                                                   \
    do {                                                                                                     \
        if ((call) < 0) {                                                                                    \
            rc = fs_errorf(e, FS_EXIT_FAIL, "%s: HDF5 failed to %s\n  hint: check free disk space and that " \
                           "the file is a faceswarm checkpoint", path, what);                                \
            goto done;                                                                                       \
        }                                                                                                    \
    } while (0)


/* ---------------------------------------------------------------- attributes */
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
/* Reads a string attribute (fixed or variable length) into out; -1 if absent or not a string. */
static int attr_read_str(hid_t loc, const char *name, char *out, size_t outlen) {
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t ft = H5Aget_type(a);
    int rc = -1;
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING) {
        if (H5Tis_variable_str(ft) > 0) {
            char *v = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            if (H5Aread(a, mt, &v) >= 0 && v) {
                snprintf(out, outlen, "%s", v);
                H5free_memory(v);
                rc = 0;
            }
            H5Tclose(mt);
        } else {
            size_t sz = H5Tget_size(ft);
            char *buf = fs_calloc(sz + 1, 1);
            if (H5Aread(a, ft, buf) >= 0) {
                snprintf(out, outlen, "%s", buf);
                rc = 0;
            }
            free(buf);
        }
    }
    if (ft >= 0) H5Tclose(ft);
    H5Aclose(a);
    return rc;
}
static int attr_read_i64(hid_t loc, const char *name, long long *v) {
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t ft = H5Aget_type(a);
    int rc = (ft >= 0 && H5Tget_class(ft) == H5T_INTEGER && H5Aread(a, H5T_NATIVE_LLONG, v) >= 0) ? 0 : -1;
    if (ft >= 0) H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

/* ---------------------------------------------------------------- datasets */
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
static int write_text(hid_t f, const char *name, const char *text, char sum_out[17]) {
    hsize_t dims[1] = {(hsize_t)strlen(text) + 1};
    hid_t s = H5Screate_simple(1, dims, NULL), d = -1;
    int ok = s >= 0;
    if (ok) d = H5Dcreate2(f, name, H5T_STD_U8LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ok = ok && d >= 0 && H5Dwrite(d, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) >= 0;
    if (sum_out) {
        fs_checksum_hex(fs_checksum64(text, dims[0]), sum_out);
        ok = ok && attr_write_str(d, "checksum", sum_out) == 0;
    }
    if (d >= 0) H5Dclose(d);
    if (s >= 0) H5Sclose(s);
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
    return bad ? -1 : 0;
}

static int ckpt_write(const char *path, const fs_ckpt_meta *meta, const float *params, const float *adam_m,
                  const float *adam_v, fs_ckpt_sums *sums, fs_error *e) {
    char tmp[FS_PATH_LEN + 64];
    fs_tmp_path(path, tmp, sizeof tmp);
    fs_ckpt_sums local;
    if (!sums) sums = &local;
    int rc = 0;
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot create checkpoint temp file\n  hint: check that the run "
                         "directory exists and is writable", tmp);
    }
    H5_TRY(write_meta(f, meta), "write the checkpoint attributes");
    H5_TRY(write_floats(f, "params", params, meta->n_params, sums->params), "write /params");
    H5_TRY(write_floats(f, "adam_m", adam_m, meta->n_params, sums->adam_m), "write /adam_m");
    H5_TRY(write_floats(f, "adam_v", adam_v, meta->n_params, sums->adam_v), "write /adam_v");
    H5_TRY(write_text(f, "config", meta->config_text ? meta->config_text : "", sums->config), "write /config");
    H5_TRY(write_text(f, "model", meta->model_text ? meta->model_text : "", NULL), "write /model");
done:
    if (H5Fclose(f) < 0 && rc == 0) rc = fs_errorf(e, FS_EXIT_FAIL, "%s: HDF5 failed to close", tmp);
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    return fs_commit_file(tmp, path, e);
}

/* ---------------------------------------------------------------- reading */
static int read_checked(hid_t f, const char *path, const char *name, hid_t memtype, size_t elem, long n,
                        void *out, char sum_out[17], fs_error *e) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: dataset /%s is missing\n  hint: the file is not a complete "
                         "faceswarm checkpoint", path, name);
    hid_t s = H5Dget_space(d);
    hssize_t got = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    int rc = 0;
    char want[17] = "";
    void *buf = NULL;
    if (got != n) {
        rc = fs_errorf(e, FS_EXIT_BADINPUT, "%s: /%s has %lld elements, expected %ld\n  hint: the checkpoint "
                       "belongs to another model", path, name, (long long)got, n);
    } else if (attr_read_str(d, "checksum", want, sizeof want) != 0) {
        rc = fs_errorf(e, FS_EXIT_BADINPUT, "%s: /%s has no checksum attribute", path, name);
    } else {
        buf = out ? out : fs_malloc((size_t)n * elem);
        if (H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            rc = fs_errorf(e, FS_EXIT_BADINPUT, "%s: cannot read /%s (the file is damaged)\n  hint: resume "
                           "from an older checkpoint", path, name);
        } else {
            fs_checksum_hex(fs_checksum64(buf, (size_t)n * elem), sum_out);
            if (strcmp(sum_out, want) != 0)
                rc = fs_errorf(e, FS_EXIT_BADINPUT, "%s: checksum mismatch in /%s: stored %s, computed %s\n"
                               "  hint: the file was corrupted after it was written; resume from an "
                               "older checkpoint", path, name, want, sum_out);
        }
    }
    if (buf && buf != out) free(buf);
    if (s >= 0) H5Sclose(s);
    H5Dclose(d);
    return rc;
}

static long text_len(hid_t f, const char *name) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t s = H5Dget_space(d);
    long n = s >= 0 ? (long)H5Sget_simple_extent_npoints(s) : -1;
    if (s >= 0) H5Sclose(s);
    H5Dclose(d);
    return n;
}

static int read_meta(hid_t f, const char *path, fs_ckpt_meta *m, fs_error *e) {
    char fmt[64] = "", hash[32] = "";
    long long v = 0, x;
    if (attr_read_str(f, "format", fmt, sizeof fmt) != 0 || strcmp(fmt, FS_CKPT_FORMAT) != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: attribute format is '%s', expected '%s'\n  hint: this is "
                         "not a faceswarm checkpoint", path, fmt, FS_CKPT_FORMAT);
    if (attr_read_i64(f, "version", &v) != 0 || v != FS_CKPT_VERSION)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: checkpoint version %lld, this faceswarm reads version %d\n"
                         "  hint: use the faceswarm release that wrote it", path, v, FS_CKPT_VERSION);
    static const char *need[] = {"step", "epoch", "seed", "world_size", "global_batch", "n_params"};
    long long vals[6];
    for (int i = 0; i < 6; i++)
        if (attr_read_i64(f, need[i], &vals[i]) != 0)
            return fs_errorf(e, FS_EXIT_BADINPUT, "%s: attribute %s is missing\n  hint: the checkpoint is "
                             "incomplete", path, need[i]);
    m->step = (long)vals[0], m->epoch = (long)vals[1], m->seed = (uint64_t)vals[2];
    m->world_size = (int)vals[3], m->global_batch = (int)vals[4], m->n_params = (long)vals[5];
    m->nonfinite_skipped = attr_read_i64(f, "nonfinite_skipped", &x) == 0 ? (long)x : 0;
    m->restart_count = attr_read_i64(f, "restart_count", &x) == 0 ? (long)x : 0;
    if (attr_read_str(f, "model_hash", hash, sizeof hash) != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: attribute model_hash is missing", path);
    m->model_hash = strtoull(hash, NULL, 16);
    if (attr_read_str(f, "created", m->created, sizeof m->created) != 0) m->created[0] = 0;
    if (m->n_params <= 0 || m->step < 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: n_params %ld / step %ld out of range", path, m->n_params,
                         m->step);
    return 0;
}

static int read_texts(hid_t f, const char *path, fs_ckpt_meta *m, fs_ckpt_sums *sums, fs_error *e) {
    long n = text_len(f, "config");
    if (n < 1 || n > (64L << 20))
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: /config is missing or has a bad size (%ld)", path, n);
    m->config_text = fs_calloc((size_t)n + 1, 1);
    int rc = read_checked(f, path, "config", H5T_NATIVE_UCHAR, 1, n, m->config_text, sums->config, e);
    if (rc) return rc;
    long k = text_len(f, "model");
    m->model_text = fs_calloc(k > 0 ? (size_t)k + 1 : 1, 1);
    if (k > 0 && k < (16L << 20)) {
        hid_t d = H5Dopen2(f, "model", H5P_DEFAULT);
        if (d >= 0) {
            if (H5Dread(d, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->model_text) < 0)
                m->model_text[0] = 0;
            H5Dclose(d);
        }
    }
    return 0;
}

static int ckpt_read(const char *path, long n_params_expected, fs_ckpt_meta *meta, float *params, float *adam_m,
                 float *adam_v, fs_ckpt_sums *sums, fs_error *e) {
    memset(meta, 0, sizeof *meta);
    fs_ckpt_sums local;
    if (!sums) sums = &local;
    if (!fs_exists(path))
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: no such checkpoint\n  hint: list a run's checkpoints with "
                         "ls RUN/checkpoints", path);
    if (fs_is_dir(path))
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: is a directory, expected a checkpoint file", path);
    if (H5Fis_hdf5(path) <= 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: not an HDF5 file (truncated or damaged)\n  hint: resume "
                         "from an older checkpoint", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: HDF5 cannot open it (damaged)\n  hint: resume from an older "
                         "checkpoint", path);
    int rc = read_meta(f, path, meta, e);
    if (!rc && n_params_expected > 0 && meta->n_params != n_params_expected)
        rc = fs_errorf(e, FS_EXIT_BADINPUT, "%s: checkpoint has %ld parameters, the configured model has %ld\n"
                       "  hint: resume with the config the checkpoint was trained with (faceswarm checkpoint "
                       "inspect shows it)", path, meta->n_params, n_params_expected);
    if (!rc) rc = read_checked(f, path, "params", H5T_NATIVE_FLOAT, 4, meta->n_params, params, sums->params, e);
    if (!rc) rc = read_checked(f, path, "adam_m", H5T_NATIVE_FLOAT, 4, meta->n_params, adam_m, sums->adam_m, e);
    if (!rc) rc = read_checked(f, path, "adam_v", H5T_NATIVE_FLOAT, 4, meta->n_params, adam_v, sums->adam_v, e);
    if (!rc) rc = read_texts(f, path, meta, sums, e);
    H5Fclose(f);
    if (rc) fs_ckpt_meta_free(meta);
    return rc;
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
    meta->config_text = meta->model_text = NULL;
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

int fs_ckpt_find_latest(const char *run_dir, char **registry, int n_registry, char *out, size_t outlen,
                        fs_error *e) {
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
