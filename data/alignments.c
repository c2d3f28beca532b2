/* alignments.c — see alignments.h. */
#include "data/alignments.h"

#include <hdf5.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/h5check.h"

#define MAX_SOURCES (1 << 20) /* videos one extract file names (/sources): calloc'd, so bounded */

/* Dataset name of f with n rows of item bytes each (the row shape checked by the caller
 * through item): malloc'd, or NULL with e set. */
static void *read_rows(hid_t f, const char *path, const char *name, hid_t type, size_t item, long n, fs_error *e) {
    if (!H5Lexists(f, name, H5P_DEFAULT)) {
        fs_errorf(e, FS_EXIT_BADINPUT,
                  "%s: has no %s, so it holds no alignments\n  hint: --alignments takes a "
                  "file written by faceswarm extract (data import and data synth do not record frames)",
                  path, name);
        return NULL;
    }
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), sp = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t dims[4] = {0};
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (rank >= 1 && rank <= 4) H5Sget_simple_extent_dims(sp, dims, NULL);
    size_t row = 1;
    for (int i = 1; i < rank; i++) row *= dims[i];
    void *buf = NULL;
    if (rank < 1 || rank > 4 || (long)dims[0] != n || row * H5Tget_size(type) != item)
        fs_errorf(e, FS_EXIT_BADINPUT,
                  "%s: %s has %lld rows of %zu values; expected %ld rows of %zu (one per face)\n"
                  "  hint: the file is damaged; extract it again",
                  path, name, (long long)dims[0], row, n, item / H5Tget_size(type));
    else {
        buf = fs_malloc(item * (size_t)(n ? n : 1));
        if (H5_CHECK(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), e, FS_EXIT_BADINPUT, "%s: reading %s", path,
                     name))
            free(buf), buf = NULL;
    }
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return buf;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Index of the source that names video (alignments.h's rule), or -1 with e set. */
static int find_source(const char *path, char **src, long n, const char *video, fs_error *e) {
    char want[PATH_MAX], have[PATH_MAX];
    for (long i = 0; i < n; i++)
        if (!strcmp(src[i], video)) return (int)i;
    if (realpath(video, want))
        for (long i = 0; i < n; i++)
            if (realpath(src[i], have) && !strcmp(have, want)) return (int)i;
    int found = -1, same = 0;
    for (long i = 0; i < n; i++)
        if (!strcmp(base_name(src[i]), base_name(video))) found = (int)i, same++;
    if (same == 1) return found;
    char list[1024] = "";
    for (long i = 0; i < n && strlen(list) < 900; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", src[i]);
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s: no alignments for %s: %s; its sources are: %s\n  hint: give the "
                     "video the file was extracted from, or leave --alignments out to detect the faces again",
                     path, video, same ? "several sources have that file name" : "no source of that name", list),
           -1;
}

/* /sources: one variable-length string per source, [n]; read in the file's own character set
 * (extract writes UTF-8, and HDF5 converts no string between character sets). */
static int read_sources(hid_t f, const char *path, const char *video, fs_alignments *a, int *which, fs_error *e) {
    if (!H5Lexists(f, "/sources", H5P_DEFAULT))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: has no /sources, so it holds no alignments\n  hint: --alignments "
                         "takes a file written by faceswarm extract",
                         path);
    hid_t d = H5Dopen2(f, "/sources", H5P_DEFAULT), sp = d >= 0 ? H5Dget_space(d) : -1;
    hid_t ft = d >= 0 ? H5Dget_type(d) : -1, t = H5Tcopy(H5T_C_S1);
    hsize_t n = 0;
    int ok = sp >= 0 && ft >= 0 && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0 &&
             H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, &n, NULL) == 1 && n >= 1 &&
             n <= MAX_SOURCES && H5Tset_size(t, H5T_VARIABLE) >= 0 && H5Tset_cset(t, H5Tget_cset(ft)) >= 0;
    char **src = ok ? fs_calloc(n, sizeof *src) : NULL;
    int rc = ok ? 0
                : fs_errorf(e, FS_EXIT_BADINPUT,
                            "%s: /sources is not a list of 1..%d variable-length strings\n  hint: the file "
                            "is damaged, or not written by faceswarm extract; extract it again",
                            path, MAX_SOURCES);
    if (!rc &&
        H5_CHECK(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, src), e, FS_EXIT_BADINPUT, "%s: reading /sources", path))
        rc = FS_EXIT_BADINPUT;
    for (hsize_t i = 0; !rc && i < n; i++)
        if (!src[i])
            rc = fs_errorf(e, FS_EXIT_BADINPUT,
                           "%s: /sources entry %llu was never written\n  hint: the file is damaged; extract "
                           "it again",
                           path, (unsigned long long)i);
    if (!rc) {
        if ((*which = find_source(path, src, (long)n, video, e)) < 0) rc = FS_EXIT_BADINPUT;
        else snprintf(a->source, sizeof a->source, "%s", src[*which]);
    }
    if (src) H5Dvlen_reclaim(t, sp, H5P_DEFAULT, src);
    free(src);
    H5Tclose(t);
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return rc;
}

/* The records of source `which` out of the /frames and /landmarks of n faces. */
static int read_records(hid_t f, const char *path, int which, long n, fs_alignments *a, fs_error *e) {
    int32_t *src = read_rows(f, path, "/frames/source", H5T_NATIVE_INT32, 4, n, e);
    int64_t *idx = src ? read_rows(f, path, "/frames/index", H5T_NATIVE_INT64, 8, n, e) : NULL;
    int32_t *face = idx ? read_rows(f, path, "/frames/face", H5T_NATIVE_INT32, 4, n, e) : NULL;
    double *mat = face ? read_rows(f, path, "/frames/matrix", H5T_NATIVE_DOUBLE, 6 * 8, n, e) : NULL;
    float *lm = mat ? read_rows(f, path, "/landmarks", H5T_NATIVE_FLOAT, FS_ALIGN_POINTS * 2 * 4, n, e) : NULL;
    int rc = lm ? 0 : FS_EXIT_BADINPUT;
    a->rec = fs_calloc((size_t)(n ? n : 1), sizeof *a->rec);
    for (long i = 0; !rc && i < n; i++) {
        if (src[i] != which) continue;
        fs_align_rec *r = &a->rec[a->n];
        if (a->n > 0 && (idx[i] < r[-1].frame || (idx[i] == r[-1].frame && face[i] <= r[-1].face)))
            rc = fs_errorf(e, FS_EXIT_BADINPUT,
                           "%s: /frames is not in frame order at face %ld (frame %lld after %lld)"
                           "\n  hint: the file is damaged; extract it again",
                           path, i, (long long)idx[i], (long long)r[-1].frame);
        r->frame = idx[i], r->face = face[i];
        memcpy(r->matrix, mat + 6 * i, sizeof r->matrix);
        memcpy(r->lm, lm + (size_t)FS_ALIGN_POINTS * 2 * i, sizeof r->lm);
        a->n++;
    }
    free(src), free(idx), free(face), free(mat), free(lm);
    return rc;
}

int fs_alignments_read(const char *path, const char *video, const char *identity, const char *opt, fs_alignments *a,
                       fs_error *e) {
    memset(a, 0, sizeof *a);
    fs_faces *ff;
    int rc = fs_faces_open(&ff, path, NULL, e);
    if (rc) return rc;
    a->size = fs_faces_size(ff);
    snprintf(a->identity, sizeof a->identity, "%s", fs_faces_attr(ff, "identity"));
    long n = fs_faces_count(ff);
    if (identity && strcmp(a->identity, identity))
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: faces of identity '%s', but %s is '%s'\n  hint: the alignments "
                       "are the extract file of the person in the video",
                       path, a->identity, opt, identity);
    if (!rc) rc = fs_faces_check_extras(ff, e); /* the sealed /frames and /sources match their checksums */
    fs_faces_close(ff);
    if (rc) return rc;
    fs_h5_init();
    fs_h5_lock();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int which = -1;
    if (H5_CHECK(f, e, FS_EXIT_BADINPUT, "%s: cannot open", path)) rc = FS_EXIT_BADINPUT;
    if (!rc) rc = read_sources(f, path, video, a, &which, e);
    if (!rc) rc = read_records(f, path, which, n, a, e);
    if (f >= 0) H5Fclose(f);
    fs_h5_unlock();
    if (rc) fs_alignments_free(a);
    return rc;
}

int fs_alignments_of_frame(const fs_alignments *a, int64_t f, long *first) {
    long lo = 0, hi = a->n; /* first record with frame >= f */
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (a->rec[mid].frame < f) lo = mid + 1;
        else hi = mid;
    }
    *first = lo;
    long k = lo;
    while (k < a->n && a->rec[k].frame == f) k++;
    return (int)(k - lo);
}

void fs_alignments_free(fs_alignments *a) {
    free(a->rec);
    a->rec = NULL, a->n = 0;
}
