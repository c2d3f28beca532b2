/* extract_out.c — the output of `extract`: the parts joined in chunk order into one schema v2
 * file through the dataset writer (faces, masks and /landmarks with their checksums), with
 * /frames, /sources and the frames that had no face (/noface), all sealed by the writer
 * (fs_faces_writer_cover). docs/data.md and docs/extract.md describe the layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/extract_int.h"
#include "data/h5check.h"

enum { BATCH = 64 }; /* faces appended per HDF5 write */

/* A growable dataset whose first dimension counts faces (or frames): rank dims, one row of
 * row_dims, chunks of BATCH rows. */
typedef struct rows {
    hid_t d, mem; /* dataset, memory type */
    int rank;
    hsize_t dims[4]; /* current extent */
    const char *name;
} rows;

static int rows_create(hid_t file, rows *r, const char *name, hid_t file_type, hid_t mem, int rank, const hsize_t *row,
                       fs_error *e) {
    hsize_t maxd[4], chunk[4];
    r->name = name, r->mem = mem, r->rank = rank;
    r->dims[0] = 0, maxd[0] = H5S_UNLIMITED, chunk[0] = BATCH;
    for (int i = 1; i < rank; i++) r->dims[i] = maxd[i] = chunk[i] = row[i - 1];
    hid_t sp = H5Screate_simple(rank, r->dims, maxd), pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(pl, rank, chunk);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1); /* /frames/... and /noface/... */
    r->d = H5Dcreate2(file, name, file_type, sp, lcpl, pl, H5P_DEFAULT);
    H5Pclose(lcpl);
    H5Pclose(pl);
    H5Sclose(sp);
    return H5_CHECK(r->d, e, FS_EXIT_FAIL, "extract: cannot create %s", name) ? -1 : 0;
}

static int rows_append(rows *r, const void *data, long count, fs_error *e) {
    if (count <= 0) return 0;
    hsize_t off[4] = {r->dims[0], 0, 0, 0}, cnt[4];
    memcpy(cnt, r->dims, sizeof cnt);
    cnt[0] = (hsize_t)count;
    r->dims[0] += (hsize_t)count;
    if (H5_CHECK(H5Dset_extent(r->d, r->dims), e, FS_EXIT_FAIL, "extract: cannot grow %s", r->name)) return -1;
    hid_t fsp = H5Dget_space(r->d), msp = H5Screate_simple(r->rank, cnt, NULL);
    int bad = H5_CHECK(H5Sselect_hyperslab(fsp, H5S_SELECT_SET, off, NULL, cnt, NULL), e, FS_EXIT_FAIL,
                       "extract: selecting %s", r->name) ||
              H5_CHECK(H5Dwrite(r->d, r->mem, msp, fsp, H5P_DEFAULT, data), e, FS_EXIT_FAIL,
                       "extract: writing %s (disk full?)", r->name);
    H5Sclose(msp);
    H5Sclose(fsp);
    return bad ? -1 : 0;
}

/* What the joining keeps between parts: a batch of faces and their records. */
typedef struct joiner {
    fs_faces_writer *w;
    int S;
    rows src, frame, face, time, matrix, nf_src, nf_frame;
    long n;                 /* faces in the batch */
    uint8_t *faces, *masks; /* [BATCH][S][S][3], [BATCH][S][S] */
    xface_rec recs[BATCH];
    long faces_total, noface_total, scanned;
    int32_t *nf_src_v; /* frames without a face, written at the end: [noface_total] */
    int64_t *nf_frame_v;
    long nf_cap;
} joiner;

static int create_rows(joiner *j, fs_error *e) {
    hid_t f = (hid_t)fs_faces_writer_file(j->w);
    const hsize_t mat[2] = {2, 3};
    return rows_create(f, &j->src, "/frames/source", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, NULL, e) ||
                   rows_create(f, &j->frame, "/frames/index", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, NULL, e) ||
                   rows_create(f, &j->face, "/frames/face", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, NULL, e) ||
                   rows_create(f, &j->time, "/frames/time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, NULL, e) ||
                   rows_create(f, &j->matrix, "/frames/matrix", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 3, mat, e) ||
                   rows_create(f, &j->nf_src, "/noface/source", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, NULL, e) ||
                   rows_create(f, &j->nf_frame, "/noface/index", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, NULL, e)
               ? -1
               : 0;
}

/* Every dataset extract adds besides the items: sealed with the file. */
static const char *const EXTRA_NAMES[] = {"/frames/source", "/frames/index",  "/frames/face",  "/frames/time",
                                          "/frames/matrix", "/noface/source", "/noface/index", "/sources"};

static int cover_extras(joiner *j, fs_error *e) {
    for (size_t i = 0; i < FS_ARRAY_LEN(EXTRA_NAMES); i++)
        if (fs_faces_writer_cover(j->w, EXTRA_NAMES[i], e)) return -1;
    return 0;
}

static int flush_batch(joiner *j, fs_error *e) {
    if (j->n == 0) return 0;
    _Static_assert(FS_ALIGN_POINTS == 68, "/landmarks rows are the writer's [68,2]");
    int32_t src[BATCH], face[BATCH];
    int64_t frame[BATCH];
    double time[BATCH], mat[BATCH][2][3];
    float lm[BATCH][FS_ALIGN_POINTS][2];
    for (long i = 0; i < j->n; i++) {
        const xface_rec *r = &j->recs[i];
        src[i] = (int32_t)r->source, face[i] = (int32_t)r->face, frame[i] = r->frame, time[i] = r->time;
        memcpy(mat[i], r->matrix, sizeof mat[i]);
        memcpy(lm[i], r->lm, sizeof lm[i]);
    }
    if (fs_faces_append_full(j->w, j->faces, j->masks, &lm[0][0][0], j->n, e)) return -1;
    fs_h5_lock();
    int bad = rows_append(&j->src, src, j->n, e) || rows_append(&j->frame, frame, j->n, e) ||
              rows_append(&j->face, face, j->n, e) || rows_append(&j->time, time, j->n, e) ||
              rows_append(&j->matrix, mat, j->n, e);
    fs_h5_unlock();
    j->n = 0;
    return bad ? -1 : 0;
}

static int on_face(void *ctx, const xface_rec *r, const uint8_t *face, const uint8_t *mask, fs_error *e) {
    joiner *j = ctx;
    size_t px = (size_t)j->S * j->S;
    memcpy(j->faces + px * 3 * (size_t)j->n, face, px * 3);
    memcpy(j->masks + px * (size_t)j->n, mask, px);
    j->recs[j->n++] = *r;
    j->faces_total++;
    return j->n == BATCH ? flush_batch(j, e) : 0;
}

static int on_noface(void *ctx, uint32_t source, int64_t frame, fs_error *e) {
    joiner *j = ctx;
    if (j->noface_total == j->nf_cap) {
        j->nf_cap = j->nf_cap ? 2 * j->nf_cap : 256;
        j->nf_src_v = fs_realloc(j->nf_src_v, sizeof *j->nf_src_v * (size_t)j->nf_cap);
        j->nf_frame_v = fs_realloc(j->nf_frame_v, sizeof *j->nf_frame_v * (size_t)j->nf_cap);
    }
    j->nf_src_v[j->noface_total] = (int32_t)source;
    j->nf_frame_v[j->noface_total++] = frame;
    return 0;
}

/* ---------------------------------------------------------------- attributes, /sources */
static int attr(hid_t file, const char *name, hid_t type, hid_t mem, const void *value, fs_error *e) {
    hid_t sp = H5Screate(H5S_SCALAR), a = H5Acreate2(file, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = H5_CHECK(a, e, FS_EXIT_FAIL, "extract: cannot create attribute '%s'", name) ||
              H5_CHECK(H5Awrite(a, mem, value), e, FS_EXIT_FAIL, "extract: cannot write attribute '%s'", name);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return bad ? -1 : 0;
}

static int attr_text(hid_t file, const char *name, const char *value, fs_error *e) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    int rc = attr(file, name, t, t, value, e);
    H5Tclose(t);
    return rc;
}

static int attr_long(hid_t file, const char *name, long v, fs_error *e) {
    int64_t x = v;
    return attr(file, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &x, e);
}

/* The shortest decimal that reads back as exactly v (strtod): a root attribute must be a
 * string or an integer for the seal, and this text loses nothing. */
static void exact_decimal(double v, char *out, size_t len) {
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(out, len, "%.*g", digits, v);
        if (strtod(out, NULL) == v) return;
    }
}

/* How the faces were made: enough to redo them, and what convert needs to know. */
static int write_attrs(hid_t f, const fs_extract_opts *o, const xplan *p, const joiner *j, fs_error *e) {
    char hex[17], cov[32];
    xplan_hex(p->out_hash, hex);
    const char *model = strrchr(o->landmarks, '/');
    exact_decimal(o->coverage, cov, sizeof cov);
    return attr_text(f, FS_EXTRACT_PARAMS_ATTR, hex, e) || attr_long(f, "frames_total", p->first[p->n], e) ||
                   attr_long(f, "frames_scanned", j->scanned, e) ||
                   attr_long(f, "frames_without_face", j->noface_total, e) ||
                   attr_long(f, "extract_every", o->every, e) || attr_long(f, "extract_min_face", o->min_face, e) ||
                   attr_text(f, "extract_faces", o->all_faces ? "all" : "largest", e) ||
                   attr_text(f, "extract_coverage", cov, e) ||
                   attr_text(f, "extract_alignment",
                             "umeyama similarity of landmarks 17..67 onto the mean face "
                             "(faceswap legacy centring); unit square onto [pad, S-pad], pad = S*(1-coverage)/2",
                             e) ||
                   attr_text(f, "extract_landmarks", model ? model + 1 : o->landmarks, e) ||
                   attr_text(f, "extract_detector", "dlib 19 HOG frontal_face_detector", e)
               ? -1
               : 0;
}

static int write_sources(hid_t f, const xplan *p, fs_error *e) {
    const char **v = fs_malloc(sizeof *v * (size_t)p->n);
    for (long i = 0; i < p->n; i++) v[i] = p->src[i].path;
    hsize_t n = (hsize_t)p->n;
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate_simple(1, &n, NULL);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t d = H5Dcreate2(f, "/sources", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = H5_CHECK(d, e, FS_EXIT_FAIL, "extract: cannot create /sources") ||
              H5_CHECK(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), e, FS_EXIT_FAIL, "extract: writing /sources");
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    H5Tclose(t);
    free(v);
    return bad ? -1 : 0;
}

/* ---------------------------------------------------------------- the join */
static void close_rows(joiner *j) {
    rows *all[] = {&j->src, &j->frame, &j->face, &j->time, &j->matrix, &j->nf_src, &j->nf_frame};
    for (size_t i = 0; i < FS_ARRAY_LEN(all); i++)
        if (all[i]->d > 0) H5Dclose(all[i]->d), all[i]->d = 0;
}

static int join_parts(joiner *j, const fs_extract_opts *o, const xplan *p, const char *workdir, fs_error *e) {
    xpart_sink sink = {.ctx = j, .on_face = on_face, .on_noface = on_noface};
    char part[FS_PATH_LEN + 64];
    for (long c = 0; c < p->chunks; c++) {
        xpart_path(workdir, c, part, sizeof part);
        if (xpart_read(part, o->size, p->work_hash, c, &sink, e)) return -1;
        j->scanned += sink.scanned;
    }
    if (flush_batch(j, e)) return -1;
    hid_t f = (hid_t)fs_faces_writer_file(j->w);
    fs_h5_lock();
    int bad = rows_append(&j->nf_src, j->nf_src_v, j->noface_total, e) ||
              rows_append(&j->nf_frame, j->nf_frame_v, j->noface_total, e) || write_sources(f, p, e) ||
              write_attrs(f, o, p, j, e);
    close_rows(j);
    fs_h5_unlock();
    return bad ? -1 : 0;
}

/* The first frames without a face, by source, on stdout (all of them are in /noface). */
static void list_noface(const xplan *p, const joiner *j) {
    char line[1024];
    size_t len = 0;
    long shown = FS_MIN(j->noface_total, 12);
    for (long i = 0; i < shown && len < sizeof line - 1; i++) {
        const char *path = p->src[j->nf_src_v[i]].path, *base = strrchr(path, '/');
        len += (size_t)snprintf(line + len, sizeof line - len, "%s%s:%lld", i ? ", " : "", base ? base + 1 : path,
                                (long long)j->nf_frame_v[i]);
    }
    fs_info("extract: %ld frames without a face: %s%s (all listed in /noface)", j->noface_total, line,
            shown < j->noface_total ? ", ..." : "");
}

static int no_face_anywhere(const fs_extract_opts *o, const joiner *j, fs_error *e) {
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s: no face found in any of the %ld frames searched; nothing was written\n"
                     "  hint: the detector finds frontal faces at least --min-face %d px wide (now); try a smaller "
                     "--min-face, or check that the footage shows a face",
                     o->out, j->scanned, o->min_face);
}

int xout_write(const fs_extract_opts *o, const xplan *p, const char *workdir, fs_extract_result *r, fs_error *e) {
    joiner j = {.S = o->size};
    fs_faces_meta m = {.identity = o->identity, .consent = o->consent, .source = o->source, .masks = 1, .landmarks = 1};
    if (fs_faces_create(&j.w, o->out, o->size, &m, e)) return e ? e->code : FS_EXIT_FAIL;
    j.faces = fs_malloc((size_t)BATCH * o->size * o->size * 3);
    j.masks = fs_malloc((size_t)BATCH * o->size * o->size);
    fs_h5_lock();
    int bad = create_rows(&j, e);
    fs_h5_unlock();
    bad = bad || cover_extras(&j, e);
    int rc = bad ? (e ? e->code : FS_EXIT_FAIL) : 0;
    if (!rc && join_parts(&j, o, p, workdir, e)) rc = e ? e->code : FS_EXIT_FAIL;
    if (!rc && j.faces_total == 0) rc = no_face_anywhere(o, &j, e);
    if (rc) {
        fs_h5_lock();
        close_rows(&j);
        fs_h5_unlock();
        fs_faces_abort(j.w);
    } else {
        rc = fs_faces_commit(j.w, e);
    }
    r->faces = j.faces_total, r->no_face = j.noface_total, r->scanned = j.scanned;
    if (rc == 0 && j.noface_total) list_noface(p, &j);
    free(j.faces);
    free(j.masks);
    free(j.nf_src_v);
    free(j.nf_frame_v);
    return rc;
}

int xout_done(const fs_extract_opts *o, const xplan *p, fs_error *e) {
    if (!fs_exists(o->out)) return 0;
    char want[17], have[17] = "";
    xplan_hex(p->out_hash, want);
    fs_h5_init();
    fs_h5_lock();
    hid_t f = H5Fopen(o->out, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0 && H5Aexists(f, FS_EXTRACT_PARAMS_ATTR) > 0) {
        hid_t a = H5Aopen(f, FS_EXTRACT_PARAMS_ATTR, H5P_DEFAULT), t = H5Aget_type(a);
        if (a >= 0 && t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tget_size(t) == sizeof have) H5Aread(a, t, have);
        if (t >= 0) H5Tclose(t);
        if (a >= 0) H5Aclose(a);
    }
    if (f >= 0) H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    fs_h5_unlock();
    have[16] = 0;
    if (!strcmp(have, want)) return 1;
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s: exists and was not extracted from these inputs with these options%s\n"
                     "  hint: remove it, or write to another -o (extract never overwrites a file it cannot redo)",
                     o->out, have[0] ? "" : " (it has no extract_params attribute)");
}
