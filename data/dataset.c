/* dataset.c — HDF5 face datasets: validated reader (schema v1 or mapped foreign files) and
 * the schema v1 writer. See dataset.h. */
#include "data/dataset.h"

#include <link.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/h5check.h"
#include "core/limits.h"

#define ATTR_LEN 512

struct fs_faces {
    char path[FS_PATH_LEN];
    char dset_name[256];
    hid_t file, dset;
    hid_t mdset;   /* /masks uint8 [N,S,S] (checked at open), -1 when the file has none */
    hid_t ldset;   /* /landmarks float32 [N,68,2] (checked at open), -1 when the file has none */
    long n;        /* faces */
    int S;         /* face side, px */
    int nchw, f32; /* stored layout and dtype (from the map, checked against the file) */
    char identity[ATTR_LEN], consent[ATTR_LEN], source[ATTR_LEN], format[ATTR_LEN], synthetic[ATTR_LEN], version[32],
        checksum[32];
    void *scratch; /* conversion buffer for NCHW / float32 reads */
    size_t scratch_bytes;
    uint64_t *sums[FS_FACES_N_ITEMS]; /* /checksums/<item> [n] (schema v2), NULL when the file has none */
    char notice[400];                 /* what readers should say about the file ("" = nothing) */
};

/* ---------------------------------------------------------------- attributes */
/* The items a schema file holds per face, and their checksum datasets (/checksums/<name>). */
static const struct item_kind {
    const char *name, *sums; /* dataset, its per-item checksums */
} ITEMS[FS_FACES_N_ITEMS] = {{"/faces", "/checksums/faces"},
                             {"/masks", "/checksums/masks"},
                             {"/landmarks", "/checksums/landmarks"}};

static int read_attrs(fs_faces *f, fs_error *e) {
    struct {
        const char *name;
        char *dst;
        size_t len;
    } tab[] = {
        {"format", f->format, sizeof f->format},       {"version", f->version, sizeof f->version},
        {"identity", f->identity, sizeof f->identity}, {"consent", f->consent, sizeof f->consent},
        {"source", f->source, sizeof f->source},       {"synthetic", f->synthetic, sizeof f->synthetic},
        {"checksum", f->checksum, sizeof f->checksum},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(tab); i++)
        if (fs_h5_attr_text(f->file, f->path, tab[i].name, tab[i].dst, tab[i].len, e) < 0) return -1;
    return 0;
}

int fs_faces_is_schema(const char *format) { return format && format[0]; }

/* One rule for every reader (fs_faces_is_schema): a file that has a format attribute is
 * checked as a faceswarm schema file (v1 or v2), attributes included; a file without one is
 * a foreign file, read through the mapping (whose defaults are /faces, nhwc, uint8). */
static int check_schema_attrs(fs_faces *f, fs_error *e) {
    if (!fs_faces_is_schema(f->format)) {
        snprintf(f->notice, sizeof f->notice,
                 "no format attribute: read as a foreign file (%.200s %s %s); it has no "
                 "checksums",
                 f->dset_name, f->nchw ? "nchw" : "nhwc", f->f32 ? "float32" : "uint8");
        return 0;
    }
    if (strcmp(f->format, FS_FACES_FORMAT) != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: root attribute format=\"%s\"; expected \"%s\"\n"
                         "  hint: this file is not a faceswarm face dataset",
                         f->path, f->format, FS_FACES_FORMAT);
    if (strcmp(f->version, "1") != 0 && strcmp(f->version, "2") != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: root attribute version=%s; expected 1 or %d\n"
                         "  hint: %s",
                         f->path, f->version[0] ? f->version : "(missing)", FS_FACES_VERSION,
                         f->version[0] ? "the file was written by a newer faceswarm; upgrade" : "add version=2");
    const char *need[] = {"identity", "consent", "source"};
    const char *have[] = {f->identity, f->consent, f->source};
    for (int i = 0; i < 3; i++)
        if (!have[i][0])
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: missing or empty root attribute '%s' (the schema requires "
                             "identity, consent and source)\n  hint: re-import with faceswarm data import "
                             "--identity NAME --consent REF --source TEXT",
                             f->path, need[i]);
    if (!strcmp(f->version, "1"))
        snprintf(f->notice, sizeof f->notice,
                 "schema v1 (older faceswarm): the file has no checksums, so damage "
                 "to its faces or attributes cannot be detected; re-create it to add them");
    return 0;
}

/* ---------------------------------------------------------------- dataset checks */
static herr_t list_one(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    char *out = data;
    size_t len = strlen(out);
    if (len < 200) snprintf(out + len, 256 - len, "%s/%s", len ? ", " : "", name);
    return 0;
}

static int index_sane(fs_faces *f, hid_t d, const char *name, fs_error *e); /* below, with chunks_sane */
static long rows_of(hid_t sp);

static int open_dataset(fs_faces *f, fs_error *e) {
    /* H5Lexists fails (not just says no) when an intermediate group is missing. */
    if (H5Lexists(f->file, f->dset_name, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        char names[256] = "";
        H5Literate(f->file, H5_INDEX_NAME, H5_ITER_INC, NULL, list_one, names);
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: no dataset '%s'; the root holds: %s\n"
                         "  hint: set data.dataset to the faces dataset's path",
                         f->path, f->dset_name, names[0] ? names : "(nothing)");
    }
    f->dset = H5Dopen2(f->file, f->dset_name, H5P_DEFAULT);
    if (H5_CHECK(f->dset, e, FS_EXIT_BADINPUT, "%s: '%s' is not a readable dataset", f->path, f->dset_name)) return -1;
    return index_sane(f, f->dset, f->dset_name, e);
}

static void describe_type(hid_t t, char *out, size_t len) {
    H5T_class_t c = H5Tget_class(t);
    size_t bits = 8 * H5Tget_size(t);
    if (c == H5T_INTEGER) snprintf(out, len, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", bits);
    else if (c == H5T_FLOAT) snprintf(out, len, "float%zu", bits);
    else if (c == H5T_STRING) snprintf(out, len, "string");
    else snprintf(out, len, "HDF5 type class %d", (int)c);
}

static int check_dtype(fs_faces *f, fs_error *e) {
    hid_t t = H5Dget_type(f->dset);
    if (H5_CHECK(t, e, FS_EXIT_BADINPUT, "%s: %s: cannot read the datatype", f->path, f->dset_name)) return -1;
    char found[64];
    describe_type(t, found, sizeof found);
    H5Tclose(t);
    const char *want = f->f32 ? "float32" : "uint8";
    if (strcmp(found, want) != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: %s has dtype %s; expected %s\n  hint: %s", f->path, f->dset_name,
                         found, want,
                         !strcmp(found, "float32") || !strcmp(found, "uint8")
                             ? "set data.dtype to the stored type (float32 must hold values in [0,1])"
                             : "convert the faces to uint8 RGB (0..255) or float32 in [0,1]");
    return 0;
}

static int check_shape(fs_faces *f, fs_error *e) {
    hid_t sp = H5Dget_space(f->dset);
    if (H5_CHECK(sp, e, FS_EXIT_BADINPUT, "%s: %s: cannot read the dataspace", f->path, f->dset_name)) return -1;
    hsize_t d[8] = {0};
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank > 0 && rank <= 8) H5Sget_simple_extent_dims(sp, d, NULL);
    H5Sclose(sp);
    const char *want = f->nchw ? "[N,3,S,S]" : "[N,S,S,3]";
    if (rank != 4)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: %s has rank %d; expected 4, %s\n"
                         "  hint: faces are a 4-d array of RGB images",
                         f->path, f->dset_name, rank, want);
    hsize_t c = f->nchw ? d[1] : d[3], h = f->nchw ? d[2] : d[1], w = f->nchw ? d[3] : d[2];
    if (c != 3 || h != w || h < 8 || h > 4096) {
        int other_fits = f->nchw ? (d[3] == 3 && d[1] == d[2]) : (d[1] == 3 && d[2] == d[3]);
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: %s has shape [%llu,%llu,%llu,%llu]; expected %s with 3 channels "
                         "and square faces of 8..4096 px (layout %s)\n  hint: %s",
                         f->path, f->dset_name, (unsigned long long)d[0], (unsigned long long)d[1],
                         (unsigned long long)d[2], (unsigned long long)d[3], want, f->nchw ? "nchw" : "nhwc",
                         other_fits ? (f->nchw ? "it looks like NHWC: set data.layout: nhwc"
                                               : "it looks like NCHW: set data.layout: nchw")
                                    : "store aligned square RGB faces");
    }
    if (d[0] == 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: %s holds zero faces\n  hint: import faces into it first "
                         "(faceswarm data import)",
                         f->path, f->dset_name);
    f->n = (long)d[0];
    f->S = (int)h;
    return 0;
}

/* A filter missing from this HDF5 build would fail on the first read; say so at open. */
static int check_filters(fs_faces *f, fs_error *e) {
    hid_t p = H5Dget_create_plist(f->dset);
    if (H5_CHECK(p, e, FS_EXIT_BADINPUT, "%s: %s: cannot read the storage properties", f->path, f->dset_name))
        return -1;
    int n = H5Pget_nfilters(p), rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        char name[64] = "";
        H5Z_filter_t id = H5Pget_filter2(p, (unsigned)i, &flags, &ncd, cd, sizeof name, name, NULL);
        if (id < 0 || H5Zfilter_avail(id) <= 0)
            rc = fs_errorf(e, FS_EXIT_BADINPUT,
                           "%s: %s is compressed with filter %d (%s), which this HDF5 "
                           "build does not have\n  hint: rewrite the file with gzip or no compression",
                           f->path, f->dset_name, (int)id, name[0] ? name : "unnamed");
    }
    H5Pclose(p);
    return rc;
}

/* ---------------------------------------------------------------- open / close */
static int check_path(const char *path, fs_error *e) {
    if (fs_is_dir(path))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: is a directory, expected an HDF5 face file\n"
                         "  hint: name the .h5 file inside it (data.dir holds <identity>.h5)",
                         path);
    if (!fs_exists(path))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: no such file\n  hint: make one with faceswarm data synth "
                         "or faceswarm data import",
                         path);
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0) {
        char why[300];
        fs_h5_why(why, sizeof why);
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: not an HDF5 file (no HDF5 signature found)%s\n"
                         "  hint: the file is truncated, corrupted or of another format",
                         path, why);
    }
    return 0;
}

static int parse_map(fs_faces *f, const fs_faces_map *map, fs_error *e) {
    const char *ds = map && map->dataset && map->dataset[0] ? map->dataset : "/faces";
    const char *lay = map && map->layout && map->layout[0] ? map->layout : "nhwc";
    const char *dt = map && map->dtype && map->dtype[0] ? map->dtype : "uint8";
    snprintf(f->dset_name, sizeof f->dset_name, "%s", ds);
    if (strcmp(lay, "nhwc") && strcmp(lay, "nchw"))
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: data.layout '%s' is not supported; expected nhwc or nchw", f->path,
                         lay);
    if (strcmp(dt, "uint8") && strcmp(dt, "float32"))
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: data.dtype '%s' is not supported; expected uint8 or float32",
                         f->path, dt);
    f->nchw = !strcmp(lay, "nchw");
    f->f32 = !strcmp(dt, "float32");
    return 0;
}

static int check_extra(fs_faces *f, const char *name, H5T_class_t cls, const char *exact, int rank, const hsize_t *want,
                       const char *shape, fs_error *e);

/* The optional /masks: when present it must be uint8 [N,S,S]; it is kept open for reads. */
static int open_masks(fs_faces *f, fs_error *e) {
    hsize_t want[3] = {(hsize_t)f->n, (hsize_t)f->S, (hsize_t)f->S};
    if (check_extra(f, "/masks", H5T_INTEGER, "uint8", 3, want, "uint8 [N,S,S]", e)) return -1;
    if (H5Lexists(f->file, "/masks", H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    f->mdset = H5Dopen2(f->file, "/masks", H5P_DEFAULT);
    return H5_CHECK(f->mdset, e, FS_EXIT_BADINPUT, "%s: /masks is not a readable dataset", f->path) ||
                   index_sane(f, f->mdset, "/masks", e)
               ? -1
               : 0;
}

/* The optional /landmarks: when present it must be float32 [N,68,2]; kept open for reads. */
static int open_landmarks(fs_faces *f, fs_error *e) {
    hsize_t want[3] = {(hsize_t)f->n, 68, 2};
    if (check_extra(f, "/landmarks", H5T_FLOAT, "float32", 3, want, "float32 [N,68,2]", e)) return -1;
    if (H5Lexists(f->file, "/landmarks", H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    f->ldset = H5Dopen2(f->file, "/landmarks", H5P_DEFAULT);
    return H5_CHECK(f->ldset, e, FS_EXIT_BADINPUT, "%s: /landmarks is not a readable dataset", f->path) ||
                   index_sane(f, f->ldset, "/landmarks", e)
               ? -1
               : 0;
}

/* HDF5 1.10 trusts a damaged file's storage records: it copies a whole chunk out of an
 * unfiltered chunk whatever size the chunk index records for it (a chunk of 8 bytes overruns
 * its heap), copies a compact dataset's extent out of however few bytes its header stores, and
 * reads contiguous data at whatever address the layout says. So before a read, contiguous
 * data must lie inside the file, compact data must be all stored, and every stored chunk that the rows [start,
 * start+count) touch must hold exactly a chunk's bytes (or none: never written, read as
 * fill). Filtered chunks are sized by their filter. */
static int chunks_sane_count(const char *path, hid_t d, const char *name, long start, long count, long *found,
                             fs_error *e) {
    hid_t p = H5Dget_create_plist(d), t = H5Dget_type(d), sp = H5Dget_space(d);
    hsize_t chunk[8] = {0}, dims[8] = {0};
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1, rc = 0;
    if (p >= 0 && t >= 0 && H5Pget_layout(p) == H5D_CONTIGUOUS) { /* must lie inside the file */
        hsize_t fsize = 0, stored = H5Dget_storage_size(d), want = H5Tget_size(t);
        hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
        haddr_t at = H5Dget_offset(d);
        hid_t file = H5Iget_file_id(d);
        H5Fget_filesize(file, &fsize);
        H5Fclose(file);
        H5Eclear2(H5E_DEFAULT);
        if (stored != 0 && (n < 0 || at == HADDR_UNDEF || stored != (hsize_t)n * want || at + stored > fsize))
            rc = fs_errorf(e, FS_EXIT_BADINPUT,
                           "%s: %s: its data (%llu bytes at %llu) does not lie inside the file "
                           "(%llu bytes)\n  hint: the file is truncated or damaged; re-create it or restore a copy",
                           path, name, (unsigned long long)stored, (unsigned long long)at, (unsigned long long)fsize);
    }
    if (!rc && p >= 0 && t >= 0 && H5Pget_layout(p) == H5D_COMPACT) { /* its bytes are in the header */
        hsize_t stored = H5Dget_storage_size(d), want = H5Tget_size(t);
        hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
        H5Eclear2(H5E_DEFAULT);
        if (n < 0 || stored != (hsize_t)n * want) /* HDF5 1.10 copies the extent's bytes out of what is stored */
            rc = fs_errorf(e, FS_EXIT_BADINPUT,
                           "%s: %s: its header stores %llu bytes of data, its extent needs %llu\n  hint: the file is "
                           "damaged; re-create it or restore a copy",
                           path, name, (unsigned long long)stored, (unsigned long long)(n < 0 ? 0 : n) * want);
    }
    int chunked = !rc && p >= 0 && t >= 0 && rank > 0 && rank <= 8 && H5Pget_layout(p) == H5D_CHUNKED &&
                  H5Pget_chunk(p, rank, chunk) == rank;
    hsize_t maxd[8] = {0};
    if (chunked) H5Sget_simple_extent_dims(sp, dims, maxd);
    double chunk_bytes = chunked ? (double)H5Tget_size(t) : 0; /* a chunk past a fixed extent reads out of bounds */
    for (int i = 0; chunked && !rc && i < rank; i++) {
        chunk_bytes *= (double)chunk[i];
        if (chunk[i] < 1 || (maxd[i] != H5S_UNLIMITED && chunk[i] > maxd[i]) || chunk_bytes > 4294967295.0)
            rc = fs_errorf(e, FS_EXIT_BADINPUT,
                           "%s: %s: chunk dimension %d is %llu, the dataset's is at most %llu\n"
                           "  hint: the file is damaged; re-create it or restore a copy",
                           path, name, i, (unsigned long long)chunk[i], (unsigned long long)maxd[i]);
    }
    int check = chunked && !rc, unfiltered = check && H5Pget_nfilters(p) == 0;
    hsize_t want = check ? H5Tget_size(t) : 0;
    for (int i = 0; check && i < rank; i++) want *= chunk[i] ? chunk[i] : 1;
    hsize_t at[8] = {0}, lo0 = check ? (hsize_t)start / chunk[0] * chunk[0] : 0;
    at[0] = lo0;
    while (check && !rc && at[0] < (hsize_t)(start + count)) {
        hsize_t bytes = 0;
        /* a chunk the index does not find (the call fails) was never written and reads as fill;
         * one it finds holds all its bytes, or some when filtered. (H5Dget_chunk_info_by_coord
         * would also give the address, but HDF5 1.10 finds it by walking every chunk: 150 us a
         * call on 20,000 chunks; this lookup is a B-tree search.) */
        int stored = H5Dget_chunk_storage_size(d, at, &bytes) >= 0;
        if (!stored) H5Eclear2(H5E_DEFAULT), bytes = 0;
        if (found) *found += stored;
        if (stored && (unfiltered ? bytes != want : bytes == 0))
            rc = fs_errorf(e, FS_EXIT_BADINPUT,
                           "%s: %s: the chunk at row %llu stores %llu bytes, expected %s%llu\n  hint: the file is "
                           "damaged; re-create it or restore a copy",
                           path, name, (unsigned long long)at[0], (unsigned long long)bytes,
                           unfiltered ? "(no filter) " : "some bytes, at most ", (unsigned long long)want);
        int k = rank - 1; /* next chunk: odometer over the chunk grid, row dimension last */
        while (k > 0 && (at[k] += chunk[k]) >= dims[k]) at[k--] = 0;
        if (k == 0) at[0] += chunk[0];
    }
    if (p >= 0) H5Pclose(p);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    return rc ? -1 : 0;
}
static int chunks_sane(const char *path, hid_t d, const char *name, long start, long count, fs_error *e) {
    return chunks_sane_count(path, d, name, start, count, NULL, e);
}

/* At open: a chunked dataset's index must agree with itself. HDF5 1.10 reads through damaged
 * index records (zeroed keys: chunks that a lookup by position does not find) out of an 8-byte
 * buffer, so the chunks found by position over the whole extent (each with its bytes,
 * chunks_sane) must be every chunk the index holds (H5Dget_num_chunks, one walk). Every
 * writer of face datasets writes every row, so an extent of many more chunk positions than
 * the index holds is refused before the walk (a damaged extent would make it endless). */
static int index_sane(fs_faces *f, hid_t d, const char *name, fs_error *e) {
    hid_t p = H5Dget_create_plist(d), sp = H5Dget_space(d);
    hsize_t chunk[8] = {0}, dims[8] = {0}, n = 0;
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1, rc = 0;
    int chunked =
        p >= 0 && rank > 0 && rank <= 8 && H5Pget_layout(p) == H5D_CHUNKED && H5Pget_chunk(p, rank, chunk) == rank;
    int unfiltered = chunked && H5Pget_nfilters(p) == 0;
    if (p >= 0) H5Pclose(p);
    hid_t t = H5Dget_type(d);
    hsize_t chunk_bytes = t >= 0 ? H5Tget_size(t) : 0; /* chunks_sane_count bounds it under 4 GiB */
    if (t >= 0) H5Tclose(t);
    for (int i = 0; chunked && i < rank; i++) chunk_bytes *= chunk[i];
    double positions = 1;
    if (chunked) H5Sget_simple_extent_dims(sp, dims, NULL);
    for (int i = 0; chunked && i < rank; i++) positions *= chunk[i] ? ceil((double)dims[i] / (double)chunk[i]) : 1e30;
    long found = 0;
    if (chunked && H5Dget_num_chunks(d, sp, &n) < 0) {
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: %s: its chunk index cannot be walked (the file is damaged)\n  hint: re-create the file "
                       "or restore a copy",
                       f->path, name);
    } else if (chunked && positions > (double)n + 1024) {
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: %s: its extent spans %.0f chunks but its index holds %llu: most of it was never written, "
                       "or the file is damaged\n  hint: re-create the file or restore a copy",
                       f->path, name, positions, (unsigned long long)n);
    } else if (chunked && chunks_sane_count(f->path, d, name, 0, rows_of(sp), &found, e)) {
        rc = -1;
    } else if (chunked && n != (hsize_t)found) {
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: %s: its chunk index holds %llu chunks, %ld of them where they belong (the index is "
                       "damaged)\n  hint: re-create the file or restore a copy",
                       f->path, name, (unsigned long long)n, found);
    } else if (chunked && unfiltered && H5Dget_storage_size(d) != n * chunk_bytes) {
        /* The sizes the index records, summed in one walk. A lookup by position reports an
         * unfiltered chunk's nominal size, but HDF5 1.10's read sizes its chunk buffer by the
         * record and copies a whole chunk out of it: a record damaged to 0 bytes overran an
         * 8-byte buffer (ckpt_mutation's dataset case 121 under ASan). */
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: %s: its chunk index records %llu bytes for %llu chunks of %llu bytes (the index is "
                       "damaged)\n  hint: re-create the file or restore a copy",
                       f->path, name, (unsigned long long)H5Dget_storage_size(d), (unsigned long long)n,
                       (unsigned long long)chunk_bytes);
    }
    H5Eclear2(H5E_DEFAULT);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

/* ---------------------------------------------------------------- checksums (schema v2) */
/* H5Lexists fails (not just says no) when an intermediate group is missing. */
static int exists(hid_t file, const char *name) {
    const char *slash = strchr(name + 1, '/');
    if (slash) {
        char group[64];
        snprintf(group, sizeof group, "%.*s", (int)(slash - name), name);
        if (H5Lexists(file, group, H5P_DEFAULT) <= 0) return H5Eclear2(H5E_DEFAULT), 0;
    }
    htri_t r = H5Lexists(file, name, H5P_DEFAULT);
    if (r < 0) H5Eclear2(H5E_DEFAULT);
    return r > 0;
}

/* "<name> <class><size> [d0,d1,...]" of dataset name (class u = integer, f = float, o = other). */
static int canon_shape(hid_t file, const char *path, const char *name, fs_h5_canon *c, fs_error *e) {
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (H5_CHECK(d, e, FS_EXIT_BADINPUT, "%s: %s is not a readable dataset", path, name)) return -1;
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hsize_t dims[8] = {0};
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (rank > 0 && rank <= 8) H5Sget_simple_extent_dims(sp, dims, NULL);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    fs_h5_canon_add(c, "%s %c%zu [", name,
                    cls == H5T_INTEGER ? 'u'
                    : cls == H5T_FLOAT ? 'f'
                                       : 'o',
                    t >= 0 ? H5Tget_size(t) : 0);
    for (int k = 0; k < rank && k < 8; k++) fs_h5_canon_add(c, "%s%llu", k ? "," : "", (unsigned long long)dims[k]);
    fs_h5_canon_add(c, "]");
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    return 0;
}

/* The shape line and the checksum of its per-item checksums, for each item dataset present:
 * what the attribute checksum covers besides the attributes. */
static int canon_items(hid_t file, const char *path, uint64_t *const sums[], long n, fs_h5_canon *c, fs_error *e) {
    for (int i = 0; i < FS_FACES_N_ITEMS; i++) {
        if (!exists(file, ITEMS[i].name)) continue;
        if (canon_shape(file, path, ITEMS[i].name, c, e)) return -1;
        if (sums[i]) fs_h5_canon_add(c, " sums %016llx\n", (unsigned long long)fs_checksum64(sums[i], (size_t)n * 8));
        else fs_h5_canon_add(c, " sums none\n");
    }
    return 0;
}

/* ---------------------------------------------------------------- extra datasets (sealed) */
/* Datasets a writer added besides the items (extract's /frames/..., /sources, /noface/...)
 * and told the writer about (fs_faces_writer_cover) are sealed too: the root attribute
 * `extras` lists them, one "<name> <fs_checksum64 of their bytes, 16 hex>\n" per dataset in
 * byte order of the names, so the attribute checksum covers their checksums; the canonical
 * text adds each one's type and shape; `data verify` reads them back against the list. A
 * dataset's bytes: its elements in row-major order as stored (numbers little-endian, fixed
 * strings their bytes); a variable-length string dataset, "<length>:<value>\n" per string. */
#define EXTRAS_ATTR "extras"
#define EXTRAS_MAX 16

static long rows_of(hid_t sp) {
    hsize_t d[8] = {0};
    int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (r < 1 || r > 8) return 1;
    H5Sget_simple_extent_dims(sp, d, NULL);
    return (long)d[0];
}

static int extra_sum(hid_t file, const char *path, const char *name, uint64_t *out, fs_error *e) {
    if (!exists(file, name))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: %s is listed in attribute '%s' but does not exist\n  hint: the "
                         "file was damaged or edited after it was written; re-create it",
                         path, name, EXTRAS_ATTR);
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (H5_CHECK(d, e, FS_EXIT_BADINPUT, "%s: %s is not a readable dataset", path, name)) return -1;
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    size_t size = t >= 0 ? H5Tget_size(t) : 0;
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    int vlen = cls == H5T_STRING && H5Tis_variable_str(t) > 0, rc = 0;
    if (n < 0 || size == 0 || (cls != H5T_INTEGER && cls != H5T_FLOAT && cls != H5T_STRING) ||
        (double)n * (double)size > 4294967296.0)
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: %s: type class %d, %lld elements of %zu bytes; expected numbers or "
                       "strings under 4 GiB\n  hint: the file is damaged; re-create it",
                       path, name, (int)cls, (long long)n, size);
    /* (chunks_sane sizes elements by H5Tget_size, which for a variable-length string is the
     * memory pointer, not the 16-byte heap reference stored) */
    if (!rc && !vlen && chunks_sane(path, d, name, 0, rows_of(sp), e)) rc = -1;
    void *buf = rc ? NULL : fs_malloc(FS_MAX((size_t)n * size, 1));
    if (!rc && H5_CHECK(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), e, FS_EXIT_BADINPUT,
                        "%s: %s cannot be read (damaged)\n  hint: re-create the file", path, name))
        rc = -1;
    if (!rc && vlen) {
        fs_h5_canon c = {0};
        char **v = buf;
        for (hssize_t k = 0; k < n; k++) {
            size_t len = v[k] ? strlen(v[k]) : 0;
            fs_h5_canon_add(&c, "%zu:", len);
            fs_h5_canon_bytes(&c, v[k] ? v[k] : "", len);
            fs_h5_canon_add(&c, "\n");
        }
        *out = fs_checksum64(c.p, c.len);
        fs_h5_canon_free(&c);
        H5Dvlen_reclaim(t, sp, H5P_DEFAULT, buf);
    } else if (!rc) {
        *out = fs_checksum64(buf, (size_t)n * size);
    }
    free(buf);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    return rc;
}

/* The `extras` attribute's entries: names[k] and their recorded checksums; 0 entries when the
 * file has no such attribute. A malformed list is refused. */
static int extras_read(hid_t file, const char *path, char names[][128], uint64_t *sums, int *count, fs_error *e) {
    *count = 0;
    if (H5Aexists(file, EXTRAS_ATTR) <= 0) return H5Eclear2(H5E_DEFAULT), 0;
    char *v = NULL, kind;
    if (fs_h5_attr_alloc(file, path, EXTRAS_ATTR, &v, &kind, e) <= 0) return -1;
    int rc = 0;
    for (char *line = v, *next; line && *line && !rc; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *sp = strrchr(line, ' '), *end = NULL;
        unsigned long long sum = sp ? strtoull(sp + 1, &end, 16) : 0;
        if (kind != 's' || !sp || sp == line || line[0] != '/' || (size_t)(sp - line) >= 128 || strlen(sp + 1) != 16 ||
            *end || *count == EXTRAS_MAX) {
            rc = fs_errorf(e, FS_EXIT_BADINPUT,
                           "%s: attribute '%s' entry '%.80s' is not '/<dataset> <16 hex>' (at "
                           "most %d entries)\n  hint: the file was damaged or edited after it was written; "
                           "re-create it",
                           path, EXTRAS_ATTR, line, EXTRAS_MAX);
            break;
        }
        snprintf(names[*count], 128, "%.*s", (int)(sp - line), line);
        sums[(*count)++] = sum;
    }
    free(v);
    return rc;
}

/* The canonical lines of the extras ("<shape line> extra\n"); with verify, each one's bytes
 * against the checksum the list records. */
static int extras_check(hid_t file, const char *path, fs_h5_canon *c, int verify, fs_error *e) {
    char names[EXTRAS_MAX][128];
    uint64_t want[EXTRAS_MAX];
    int n = 0;
    if (extras_read(file, path, names, want, &n, e)) return -1;
    for (int k = 0; k < n; k++) {
        uint64_t got = 0;
        if (!exists(file, names[k])) return extra_sum(file, path, names[k], &got, e); /* names it */
        if (c && canon_shape(file, path, names[k], c, e)) return -1;
        if (c) fs_h5_canon_add(c, " extra\n");
        if (!verify) continue;
        if (extra_sum(file, path, names[k], &got, e)) return -1;
        if (got != want[k])
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: %s does not match its checksum (stored %016llx, computed "
                             "%016llx)\n  hint: the file was damaged after it was written; re-create it or restore "
                             "a copy",
                             path, names[k], (unsigned long long)want[k], (unsigned long long)got);
    }
    return 0;
}

/* The attribute checksum (root attribute `checksum`): fs_checksum64 of "faceswarm.faces
 * attributes\n", every other root attribute (fs_h5_canon_attrs) and canon_items. */
static int faces_checksum(hid_t file, const char *path, uint64_t *const sums[], long n, char out[17], fs_error *e) {
    fs_h5_canon c = {0};
    fs_h5_canon_add(&c, "%s attributes\n", FS_FACES_FORMAT);
    int rc = fs_h5_canon_attrs(file, path, "checksum", &c, e) || canon_items(file, path, sums, n, &c, e) ||
                     extras_check(file, path, &c, 0, e)
                 ? -1
                 : 0;
    if (!rc) fs_checksum_hex(fs_checksum64(c.p, c.len), out);
    fs_h5_canon_free(&c);
    return rc;
}

/* /checksums/<item>: uint64 [N], one fs_checksum64 per item's bytes as stored. */
static int read_sums(fs_faces *f, int i, fs_error *e) {
    hid_t d = H5Dopen2(f->file, ITEMS[i].sums, H5P_DEFAULT);
    if (H5_CHECK(d, e, FS_EXIT_BADINPUT, "%s: %s is not a readable dataset", f->path, ITEMS[i].sums)) return -1;
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hsize_t dims[2] = {0};
    int ok = t >= 0 && H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 8 && sp >= 0 &&
             H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, dims, NULL) == 1 &&
             dims[0] == (hsize_t)f->n;
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    int rc = 0;
    if (!ok) {
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: %s is not uint64 [%ld] (one checksum per item of %s)\n  hint: the "
                       "file is damaged; re-create it (data synth / data import)",
                       f->path, ITEMS[i].sums, f->n, ITEMS[i].name);
    } else {
        f->sums[i] = fs_malloc((size_t)f->n * 8);
        if (chunks_sane(f->path, d, ITEMS[i].sums, 0, f->n, e) ||
            H5_CHECK(H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, f->sums[i]), e, FS_EXIT_BADINPUT,
                     "%s: %s cannot be read (damaged)\n  hint: re-create the file", f->path, ITEMS[i].sums))
            rc = -1;
    }
    H5Dclose(d);
    return rc;
}

/* Schema v2: every item dataset has its checksums, and the attribute checksum matches. */
static int load_checksums(fs_faces *f, fs_error *e) {
    for (int i = 0; i < FS_FACES_N_ITEMS; i++) {
        int item = exists(f->file, ITEMS[i].name), sums = exists(f->file, ITEMS[i].sums);
        if (item != sums)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: %s %s, but %s %s (schema v2 keeps one checksum per item)\n"
                             "  hint: the file was damaged or edited after it was written; re-create it",
                             f->path, ITEMS[i].name, item ? "exists" : "is missing", ITEMS[i].sums,
                             sums ? "exists" : "does not");
        if (item && read_sums(f, i, e)) return -1;
    }
    char want[32] = "", got[17];
    int has = fs_h5_attr_text(f->file, f->path, "checksum", want, sizeof want, e);
    if (has < 0) return -1;
    if (has == 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: root attribute 'checksum' is missing (schema v2 requires it)\n"
                         "  hint: the file was damaged or edited after it was written; re-create it",
                         f->path);
    if (faces_checksum(f->file, f->path, f->sums, f->n, got, e)) return -1;
    if (strcmp(want, got) != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: attribute checksum mismatch: stored %s, computed %s (an attribute "
                         "such as identity, consent, source or synthetic, a dataset's shape, or the per-face "
                         "checksums changed after writing)\n  hint: the file was damaged or edited after it was "
                         "written; re-create it (data synth / data import) or restore a copy",
                         f->path, want, got);
    return 0;
}

/* Items [start, start+count) of kind i, as read (item bytes each), against their checksums. */
static int check_items(const fs_faces *f, int i, long start, long count, const void *data, size_t item, fs_error *e) {
    if (!f->sums[i]) return 0;
    for (long k = 0; k < count; k++) {
        uint64_t got = fs_checksum64((const uint8_t *)data + (size_t)k * item, item);
        if (got != f->sums[i][start + k])
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: %s item %ld does not match its checksum (stored %016llx, "
                             "computed %016llx)\n  hint: the file was damaged after it was written; re-create it "
                             "(data synth / data import) or restore a copy",
                             f->path, ITEMS[i].name, start + k, (unsigned long long)f->sums[i][start + k],
                             (unsigned long long)got);
    }
    return 0;
}

static int open_locked(fs_faces *f, const fs_faces_map *map, fs_error *e) {
    if (parse_map(f, map, e) || check_path(f->path, e)) return -1;
    f->file = H5Fopen(f->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (H5_CHECK(f->file, e, FS_EXIT_BADINPUT, "%s: cannot open as HDF5 (truncated or corrupted?)", f->path)) return -1;
    if (read_attrs(f, e) || check_schema_attrs(f, e)) return -1;
    if (open_dataset(f, e) || check_dtype(f, e) || check_shape(f, e) || check_filters(f, e)) return -1;
    if (open_masks(f, e) || open_landmarks(f, e)) return -1;
    /* Checksums are checked whenever a part of them is there, whatever the version or format
     * say: a damaged version (2 -> 1) or format name must not turn a sealed file into an
     * unchecked one. (A foreign file counts as sealed only with faceswarm's /checksums/faces.) */
    int sealed = fs_faces_is_schema(f->format)
                     ? !strcmp(f->version, "2") || H5Aexists(f->file, "checksum") > 0 || exists(f->file, "/checksums")
                     : exists(f->file, ITEMS[0].sums);
    H5Eclear2(H5E_DEFAULT);
    if (sealed) {
        f->notice[0] = 0;
        return load_checksums(f, e);
    }
    return 0;
}

static void close_locked(fs_faces *f) {
    for (int i = 0; i < FS_FACES_N_ITEMS; i++) free(f->sums[i]);
    if (f->mdset > 0) H5Dclose(f->mdset);
    if (f->ldset > 0) H5Dclose(f->ldset);
    if (f->dset > 0) H5Dclose(f->dset);
    if (f->file > 0) H5Fclose(f->file);
    free(f->scratch);
    free(f);
}

int fs_faces_open(fs_faces **out, const char *path, const fs_faces_map *map, fs_error *e) {
    *out = NULL;
    fs_faces *f = fs_calloc(1, sizeof *f);
    f->file = f->dset = f->mdset = f->ldset = -1;
    snprintf(f->path, sizeof f->path, "%s", path);
    fs_h5_lock();
    int rc = open_locked(f, map, e);
    if (rc) {
        if (e && !e->code)
            fs_errorf(e, FS_EXIT_BADINPUT,
                      "%s: cannot open\n  hint: check that the file is a whole, readable HDF5 "
                      "file",
                      path);
        close_locked(f);
    }
    fs_h5_unlock();
    if (rc) return e ? e->code : FS_EXIT_BADINPUT;
    *out = f;
    return 0;
}

void fs_faces_close(fs_faces *f) {
    if (!f) return;
    fs_h5_lock();
    close_locked(f);
    fs_h5_unlock();
}

long fs_faces_count(const fs_faces *f) { return f->n; }
int fs_faces_has_masks(const fs_faces *f) { return f->mdset >= 0; }
int fs_faces_has_landmarks(const fs_faces *f) { return f->ldset >= 0; }
int fs_faces_size(const fs_faces *f) { return f->S; }
const char *fs_faces_path(const fs_faces *f) { return f->path; }
const char *fs_faces_notice(const fs_faces *f) { return f->notice[0] ? f->notice : NULL; }
int fs_faces_has_checksums(const fs_faces *f) { return f->sums[0] != NULL; }
const char *fs_faces_attr(const fs_faces *f, const char *name) {
    if (!strcmp(name, "identity")) return f->identity;
    if (!strcmp(name, "consent")) return f->consent;
    if (!strcmp(name, "source")) return f->source;
    if (!strcmp(name, "format")) return f->format;
    if (!strcmp(name, "synthetic")) return f->synthetic;
    if (!strcmp(name, "version")) return f->version;
    if (!strcmp(name, "checksum")) return f->checksum;
    return "";
}

/* ---------------------------------------------------------------- use for training */
int fs_faces_check_use(const fs_faces *f, const char *identity, int require_consent, long global_batch, int speak,
                       fs_error *e) {
    const char *missing = !f->identity[0] ? "identity" : !f->consent[0] ? "consent" : !f->source[0] ? "source" : NULL;
    if (missing && require_consent)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: no consent record (attribute '%s' is %s)\n  hint: train only on "
                         "faces of people who consented: import them with faceswarm data import --identity NAME "
                         "--consent REF --source TEXT; to train on this file anyway, set data.require_consent: "
                         "false (recorded in the checkpoints; outputs say \"consent not recorded\")",
                         f->path, missing,
                         f->format[0] || f->identity[0] || f->consent[0] ? "empty or missing" : "missing");
    if (!speak) return 0;
    if (f->notice[0]) fs_info("notice: %s: %s", f->path, f->notice);
    if (missing)
        fs_warn("%s: no consent record (attribute '%s' is empty or missing); training on it because "
                "data.require_consent is false: outputs are labelled \"consent not recorded\"",
                f->path, missing);
    if (identity && f->identity[0] && strcmp(identity, f->identity) != 0)
        fs_warn("%s: its identity attribute says '%s', but it trains as identity '%s' (model.identities)\n"
                "  hint: check that this is the right person's file",
                f->path, f->identity, identity);
    if (f->n < global_batch)
        fs_warn("%s: %ld face(s), fewer than the batch of %ld per identity: every batch repeats faces\n"
                "  hint: import more faces of this identity, or lower train.batch_per_identity",
                f->path, f->n, global_batch);
    return 0;
}

/* ---------------------------------------------------------------- reading */
static void *scratch(fs_faces *f, size_t bytes) {
    if (bytes > f->scratch_bytes) {
        free(f->scratch);
        f->scratch = fs_aligned_alloc(bytes);
        f->scratch_bytes = bytes;
    }
    return f->scratch;
}

/* Element (face k, channel c, pixel p) of the stored array, as a value in 0..255 or an error. */
static int convert_to_nhwc(fs_faces *f, long start, long count, const void *src, uint8_t *out, fs_error *e) {
    const size_t hw = (size_t)f->S * f->S;
    for (long k = 0; k < count; k++)
        for (size_t p = 0; p < hw; p++)
            for (int c = 0; c < 3; c++) {
                size_t si = (size_t)k * hw * 3 + (f->nchw ? (size_t)c * hw + p : p * 3 + c);
                uint8_t *d = out + ((size_t)k * hw + p) * 3 + c;
                if (!f->f32) {
                    *d = ((const uint8_t *)src)[si];
                    continue;
                }
                float v = ((const float *)src)[si];
                if (!(v >= -1e-3f && v <= 1.001f))
                    return fs_errorf(e, FS_EXIT_BADINPUT,
                                     "%s: %s face %ld holds %g; expected float32 in [0,1]\n"
                                     "  hint: scale the faces to [0,1], or store uint8",
                                     f->path, f->dset_name, start + k, (double)v);
                *d = (uint8_t)(FS_MIN(FS_MAX(v, 0.0f), 1.0f) * 255.0f + 0.5f);
            }
    return 0;
}

static int read_locked(fs_faces *f, long start, long count, uint8_t *out, fs_error *e) {
    hsize_t s = (hsize_t)f->S, off[4] = {(hsize_t)start, 0, 0, 0};
    hsize_t cnt[4] = {(hsize_t)count, f->nchw ? 3 : s, s, f->nchw ? s : 3};
    size_t elems = (size_t)count * s * s * 3;
    int direct = !f->nchw && !f->f32;
    void *buf = direct ? (void *)out : scratch(f, elems * (f->f32 ? 4 : 1));
    hid_t fsp = H5Dget_space(f->dset), msp = H5Screate_simple(4, cnt, NULL);
    int rc = -1;
    if (!chunks_sane(f->path, f->dset, f->dset_name, start, count, e) &&
        !H5_CHECK(H5Sselect_hyperslab(fsp, H5S_SELECT_SET, off, NULL, cnt, NULL), e, FS_EXIT_BADINPUT,
                  "%s: %s: cannot select faces %ld..%ld", f->path, f->dset_name, start, start + count - 1) &&
        !H5_CHECK(H5Dread(f->dset, f->f32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT8, msp, fsp, H5P_DEFAULT, buf), e,
                  FS_EXIT_BADINPUT, "%s: %s: reading faces %ld..%ld failed (truncated or corrupted file?)", f->path,
                  f->dset_name, start, start + count - 1))
        rc = check_items(f, 0, start, count, buf, (size_t)s * s * 3 * (f->f32 ? 4 : 1), e) ? -1
             : direct                                                                      ? 0
                      : convert_to_nhwc(f, start, count, buf, out, e);
    H5Sclose(msp);
    H5Sclose(fsp);
    return rc;
}

static int check_range(const fs_faces *f, long start, long count, fs_error *e) {
    if (start < 0 || count < 0 || start + count > f->n)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "%s: faces %ld..%ld requested; the file holds 0..%ld\n"
                         "  hint: this is a bug in the caller",
                         f->path, start, start + count - 1, f->n - 1);
    return 0;
}

int fs_faces_read(fs_faces *f, long start, long count, uint8_t *out, fs_error *e) {
    if (check_range(f, start, count, e)) return e ? e->code : FS_EXIT_FAIL;
    if (count == 0) return 0;
    fs_h5_lock();
    int rc = read_locked(f, start, count, out, e);
    fs_h5_unlock();
    return rc ? (e ? e->code : FS_EXIT_BADINPUT) : 0;
}

/* Masks [start, start+count) as uint8 [count,S,S]: one hyperslab read of /masks. */
static int read_masks_locked(fs_faces *f, long start, long count, uint8_t *out, fs_error *e) {
    hsize_t s = (hsize_t)f->S, off[3] = {(hsize_t)start, 0, 0}, cnt[3] = {(hsize_t)count, s, s};
    hid_t fsp = H5Dget_space(f->mdset), msp = H5Screate_simple(3, cnt, NULL);
    int bad = chunks_sane(f->path, f->mdset, "/masks", start, count, e) ||
              H5_CHECK(H5Sselect_hyperslab(fsp, H5S_SELECT_SET, off, NULL, cnt, NULL), e, FS_EXIT_BADINPUT,
                       "%s: /masks: cannot select masks %ld..%ld", f->path, start, start + count - 1) ||
              H5_CHECK(H5Dread(f->mdset, H5T_NATIVE_UINT8, msp, fsp, H5P_DEFAULT, out), e, FS_EXIT_BADINPUT,
                       "%s: /masks: reading masks %ld..%ld failed (truncated or corrupted file?)", f->path, start,
                       start + count - 1) ||
              check_items(f, 1, start, count, out, (size_t)s * s, e);
    H5Sclose(msp);
    H5Sclose(fsp);
    return bad ? -1 : 0;
}

typedef int (*range_reader)(fs_faces *f, long start, long count, uint8_t *out, fs_error *e);

/* out[k] = item idx[k] (item bytes each), runs of consecutive indices read as one hyperslab. */
static int gather(fs_faces *f, const long *idx, long count, uint8_t *out, size_t item, range_reader rd, fs_error *e) {
    for (long k = 0; k < count; k++)
        if (check_range(f, idx[k], 1, e)) return e ? e->code : FS_EXIT_FAIL;
    int rc = 0;
    fs_h5_lock();
    for (long k = 0; k < count && rc == 0;) {
        long run = 1;
        while (k + run < count && idx[k + run] == idx[k] + run) run++;
        rc = rd(f, idx[k], run, out + (size_t)k * item, e);
        k += run;
    }
    fs_h5_unlock();
    return rc ? (e ? e->code : FS_EXIT_BADINPUT) : 0;
}

int fs_faces_read_index(fs_faces *f, const long *idx, long count, uint8_t *out, fs_error *e) {
    return gather(f, idx, count, out, (size_t)f->S * f->S * 3, read_locked, e);
}

static int check_has_masks(const fs_faces *f, fs_error *e) {
    if (f->mdset >= 0) return 0;
    return fs_errorf(e, FS_EXIT_FAIL,
                     "%s: has no /masks dataset\n  hint: this is a bug in the caller "
                     "(ask fs_faces_has_masks first)",
                     f->path);
}

int fs_faces_read_masks(fs_faces *f, long start, long count, uint8_t *out, fs_error *e) {
    if (check_has_masks(f, e) || check_range(f, start, count, e)) return e ? e->code : FS_EXIT_FAIL;
    if (count == 0) return 0;
    fs_h5_lock();
    int rc = read_masks_locked(f, start, count, out, e);
    fs_h5_unlock();
    return rc ? (e ? e->code : FS_EXIT_BADINPUT) : 0;
}

int fs_faces_read_masks_index(fs_faces *f, const long *idx, long count, uint8_t *out, fs_error *e) {
    if (check_has_masks(f, e)) return e ? e->code : FS_EXIT_FAIL;
    return gather(f, idx, count, out, (size_t)f->S * f->S, read_masks_locked, e);
}

/* Landmark rows [start, start+count) as float32 [count,68,2], against their checksums. */
static int read_landmarks_locked(fs_faces *f, long start, long count, uint8_t *out, fs_error *e) {
    hsize_t off[3] = {(hsize_t)start, 0, 0}, cnt[3] = {(hsize_t)count, 68, 2};
    hid_t fsp = H5Dget_space(f->ldset), msp = H5Screate_simple(3, cnt, NULL);
    int bad = chunks_sane(f->path, f->ldset, "/landmarks", start, count, e) ||
              H5_CHECK(H5Sselect_hyperslab(fsp, H5S_SELECT_SET, off, NULL, cnt, NULL), e, FS_EXIT_BADINPUT,
                       "%s: /landmarks: cannot select rows %ld..%ld", f->path, start, start + count - 1) ||
              H5_CHECK(H5Dread(f->ldset, H5T_NATIVE_FLOAT, msp, fsp, H5P_DEFAULT, out), e, FS_EXIT_BADINPUT,
                       "%s: /landmarks: reading rows %ld..%ld failed (truncated or corrupted file?)", f->path, start,
                       start + count - 1) ||
              check_items(f, 2, start, count, out, 68 * 2 * sizeof(float), e);
    H5Sclose(msp);
    H5Sclose(fsp);
    return bad ? -1 : 0;
}

int fs_faces_read_landmarks_index(fs_faces *f, const long *idx, long count, float *out, fs_error *e) {
    if (f->ldset < 0)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "%s: has no /landmarks dataset\n  hint: this is a bug in the caller "
                         "(ask fs_faces_has_landmarks first)",
                         f->path);
    return gather(f, idx, count, (uint8_t *)out, 68 * 2 * sizeof(float), read_landmarks_locked, e);
}

/* ---------------------------------------------------------------- description, extras */
static void describe_filters(hid_t p, char *filters, size_t flen) {
    int n = H5Pget_nfilters(p);
    filters[0] = 0;
    for (int i = 0; i < n; i++) {
        unsigned flags, cd[8] = {0};
        size_t ncd = 8, len = strlen(filters);
        char name[64] = "";
        H5Z_filter_t id = H5Pget_filter2(p, (unsigned)i, &flags, &ncd, cd, sizeof name, name, NULL);
        if (id == H5Z_FILTER_DEFLATE)
            snprintf(filters + len, flen - len, "%sgzip(level %u)", len ? "+" : "", ncd ? cd[0] : 0);
        else snprintf(filters + len, flen - len, "%s%s", len ? "+" : "", id == H5Z_FILTER_SHUFFLE ? "shuffle" : name);
    }
    if (!filters[0]) snprintf(filters, flen, "none");
}

void fs_faces_storage(const fs_faces *f, char *chunking, size_t clen, char *filters, size_t flen) {
    fs_h5_lock();
    hid_t p = H5Dget_create_plist(f->dset);
    hsize_t c[4] = {0};
    if (p >= 0 && H5Pget_layout(p) == H5D_CHUNKED && H5Pget_chunk(p, 4, c) == 4)
        snprintf(chunking, clen, "chunked [%llu,%llu,%llu,%llu]", (unsigned long long)c[0], (unsigned long long)c[1],
                 (unsigned long long)c[2], (unsigned long long)c[3]);
    else snprintf(chunking, clen, "contiguous");
    if (p >= 0) {
        describe_filters(p, filters, flen);
        H5Pclose(p);
    } else {
        snprintf(filters, flen, "unknown");
    }
    H5Eclear2(H5E_DEFAULT);
    fs_h5_unlock();
}

/* An optional dataset must have dims {N, ...want} and the class wanted (and, when exact is
 * not NULL, exactly that type, as describe_type names it), or not exist. */
static int check_extra(fs_faces *f, const char *name, H5T_class_t cls, const char *exact, int rank, const hsize_t *want,
                       const char *shape, fs_error *e) {
    if (H5Lexists(f->file, name, H5P_DEFAULT) <= 0) return 0;
    hid_t d = H5Dopen2(f->file, name, H5P_DEFAULT);
    if (H5_CHECK(d, e, FS_EXIT_BADINPUT, "%s: %s is not a readable dataset", f->path, name)) return -1;
    hid_t sp = H5Dget_space(d), t = H5Dget_type(d);
    hsize_t dims[8] = {0};
    int r = H5Sget_simple_extent_ndims(sp), ok = r == rank && H5Tget_class(t) == cls;
    if (r > 0 && r <= 8) H5Sget_simple_extent_dims(sp, dims, NULL);
    for (int i = 0; ok && i < rank; i++) ok = dims[i] == want[i];
    char found[64];
    describe_type(t, found, sizeof found);
    if (exact && strcmp(found, exact) != 0) ok = 0;
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(d);
    if (!ok)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: %s has rank %d, dims [%llu,%llu,%llu,...], type %s; "
                         "expected %s with N=%ld, S=%d\n  hint: rewrite or drop the optional dataset %s",
                         f->path, name, r, (unsigned long long)dims[0], (unsigned long long)dims[1],
                         (unsigned long long)dims[2], found, shape, f->n, f->S, name);
    return 0;
}

/* Every landmark row against its checksum (schema v2 files that have /landmarks). */
static int verify_landmarks(fs_faces *f, fs_error *e) {
    if (!f->sums[2]) return 0;
    enum { BLOCK = 1024 };
    const size_t row = 68 * 2 * sizeof(float);
    float *buf = fs_malloc(row * BLOCK);
    hid_t d = H5Dopen2(f->file, "/landmarks", H5P_DEFAULT);
    int rc = H5_CHECK(d, e, FS_EXIT_BADINPUT, "%s: /landmarks is not a readable dataset", f->path) ? -1 : 0;
    for (long k = 0; k < f->n && !rc; k += BLOCK) {
        hsize_t off[3] = {(hsize_t)k, 0, 0}, cnt[3] = {(hsize_t)FS_MIN((long)BLOCK, f->n - k), 68, 2};
        hid_t fsp = H5Dget_space(d), msp = H5Screate_simple(3, cnt, NULL);
        rc = chunks_sane(f->path, d, "/landmarks", k, (long)cnt[0], e) ||
                     H5_CHECK(H5Sselect_hyperslab(fsp, H5S_SELECT_SET, off, NULL, cnt, NULL), e, FS_EXIT_BADINPUT,
                              "%s: /landmarks: cannot select rows %ld..", f->path, k) ||
                     H5_CHECK(H5Dread(d, H5T_NATIVE_FLOAT, msp, fsp, H5P_DEFAULT, buf), e, FS_EXIT_BADINPUT,
                              "%s: /landmarks: reading rows %ld.. failed (truncated or corrupted file?)", f->path, k) ||
                     check_items(f, 2, k, (long)cnt[0], buf, row, e)
                 ? -1
                 : 0;
        H5Sclose(msp);
        H5Sclose(fsp);
    }
    if (d >= 0) H5Dclose(d);
    free(buf);
    return rc;
}

int fs_faces_check_extras(fs_faces *f, fs_error *e) {
    hsize_t masks[3] = {(hsize_t)f->n, (hsize_t)f->S, (hsize_t)f->S}, lm[3] = {(hsize_t)f->n, 68, 2};
    fs_h5_lock();
    int rc = check_extra(f, "/masks", H5T_INTEGER, "uint8", 3, masks, "uint8 [N,S,S]", e) ||
             check_extra(f, "/landmarks", H5T_FLOAT, "float32", 3, lm, "float32 [N,68,2]", e) ||
             verify_landmarks(f, e) || (f->sums[0] && extras_check(f->file, f->path, NULL, 1, e));
    H5Eclear2(H5E_DEFAULT);
    fs_h5_unlock();
    return rc ? (e ? e->code : FS_EXIT_BADINPUT) : 0;
}

/* ---------------------------------------------------------------- writing */
struct fs_faces_writer {
    char path[FS_PATH_LEN], tmp[FS_PATH_LEN + 64];
    hid_t file, dset;
    hid_t mdset; /* /masks when fs_faces_meta.masks, else -1 */
    hid_t ldset; /* /landmarks when fs_faces_meta.landmarks, else -1 */
    int S;
    long n;
    uint64_t *sums[FS_FACES_N_ITEMS]; /* per-face checksums of /faces, /masks, /landmarks (NULL if none), [cap] */
    long cap;
    char extras[EXTRAS_MAX][128]; /* datasets to seal besides the items (fs_faces_writer_cover) */
    int n_extras;
};

static int write_attr_str(hid_t file, const char *path, const char *name, const char *value, fs_error *e) {
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    hid_t a = H5Acreate2(file, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = H5_CHECK(a, e, FS_EXIT_FAIL, "%s: cannot create attribute '%s'", path, name) ||
              H5_CHECK(H5Awrite(a, t, value), e, FS_EXIT_FAIL, "%s: cannot write attribute '%s'", path, name);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return bad ? -1 : 0;
}

static int write_attrs(fs_faces_writer *w, const fs_faces_meta *m, fs_error *e) {
    int version = FS_FACES_VERSION;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(w->file, "version", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = H5_CHECK(a, e, FS_EXIT_FAIL, "%s: cannot create attribute 'version'", w->tmp) ||
              H5_CHECK(H5Awrite(a, H5T_NATIVE_INT, &version), e, FS_EXIT_FAIL, "%s: writing 'version'", w->tmp);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    if (bad || write_attr_str(w->file, w->tmp, "format", FS_FACES_FORMAT, e) ||
        write_attr_str(w->file, w->tmp, "identity", m->identity, e) ||
        write_attr_str(w->file, w->tmp, "consent", m->consent, e) ||
        write_attr_str(w->file, w->tmp, "source", m->source, e))
        return -1;
    return m->synthetic ? write_attr_str(w->file, w->tmp, "synthetic", "true", e) : 0;
}

/* /faces [0..,S,S,3] or /masks [0..,S,S] (rank 4 or 3), growable, one item per chunk: a
 * gather reads exactly the items it needs. /landmarks [0..,68,2] float32, 64 rows a chunk
 * (544 bytes a row: verify reads them all, nothing gathers them). */
static hid_t create_items(fs_faces_writer *w, const char *name, int rank, fs_error *e) {
    int lm = !strcmp(name, "/landmarks");
    hsize_t s = (hsize_t)w->S, dims[4] = {0, s, s, 3}, maxd[4] = {H5S_UNLIMITED, s, s, 3}, chunk[4] = {1, s, s, 3};
    if (lm) dims[1] = maxd[1] = chunk[1] = 68, dims[2] = maxd[2] = chunk[2] = 2, chunk[0] = 64;
    hid_t sp = H5Screate_simple(rank, dims, maxd), p = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(p, rank, chunk);
    hid_t d = H5Dcreate2(w->file, name, lm ? H5T_IEEE_F32LE : H5T_STD_U8LE, sp, H5P_DEFAULT, p, H5P_DEFAULT);
    H5Pclose(p);
    H5Sclose(sp);
    H5_CHECK(d, e, FS_EXIT_FAIL, "%s: cannot create %s", w->tmp, name);
    return d;
}

static int create_locked(fs_faces_writer *w, const fs_faces_meta *m, fs_error *e) {
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (H5_CHECK(w->file, e, FS_EXIT_FAIL, "%s: cannot create (for %s)", w->tmp, w->path)) return -1;
    if (write_attrs(w, m, e) || (w->dset = create_items(w, "/faces", 4, e)) < 0) return -1;
    if (m->masks && (w->mdset = create_items(w, "/masks", 3, e)) < 0) return -1;
    if (m->landmarks && (w->ldset = create_items(w, "/landmarks", 3, e)) < 0) return -1;
    return 0;
}

static void writer_close_locked(fs_faces_writer *w) {
    if (w->ldset >= 0) H5Dclose(w->ldset);
    if (w->mdset >= 0) H5Dclose(w->mdset);
    if (w->dset >= 0) H5Dclose(w->dset);
    if (w->file >= 0) H5Fclose(w->file);
    w->ldset = w->mdset = w->dset = w->file = -1;
}

static void writer_free(fs_faces_writer *w) {
    for (int i = 0; i < FS_FACES_N_ITEMS; i++) free(w->sums[i]);
    free(w);
}

int fs_faces_create(fs_faces_writer **out, const char *path, int size, const fs_faces_meta *m, fs_error *e) {
    *out = NULL;
    if (fs_is_dir(path))
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: is a directory; expected the path of a new .h5 file", path);
    if (size < 8 || size > 4096)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: face size %d px; expected 8..4096", path, size);
    if (!m->identity || !fs_identity_ok(m->identity)) /* every writer (import, synth) obeys the one rule */
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: identity '%s'; expected %s\n  hint: choose another name", path,
                         m->identity ? m->identity : "", FS_IDENTITY_RULE);
    fs_faces_writer *w = fs_calloc(1, sizeof *w);
    snprintf(w->path, sizeof w->path, "%s", path);
    fs_tmp_path(path, w->tmp, sizeof w->tmp);
    w->S = size;
    w->file = w->dset = w->mdset = w->ldset = -1;
    fs_h5_lock();
    int rc = create_locked(w, m, e);
    fs_h5_unlock();
    if (rc) {
        fs_faces_abort(w);
        return e ? e->code : FS_EXIT_FAIL;
    }
    *out = w;
    return 0;
}

/* Items w->n .. w->n+count-1 of d (/faces rank 4, /masks rank 3 uint8, or /landmarks rank 3
 * float); w->n is not moved. */
static int append_items(fs_faces_writer *w, hid_t d, const char *name, int rank, const void *data, long count,
                        fs_error *e) {
    int lm = d == w->ldset;
    hsize_t s = (hsize_t)w->S, dims[4] = {(hsize_t)(w->n + count), s, s, 3};
    hsize_t off[4] = {(hsize_t)w->n, 0, 0, 0}, cnt[4] = {(hsize_t)count, s, s, 3};
    if (lm) dims[1] = cnt[1] = 68, dims[2] = cnt[2] = 2;
    if (H5_CHECK(H5Dset_extent(d, dims), e, FS_EXIT_FAIL, "%s: cannot grow %s", w->tmp, name)) return -1;
    hid_t fsp = H5Dget_space(d), msp = H5Screate_simple(rank, cnt, NULL);
    int bad = H5_CHECK(H5Sselect_hyperslab(fsp, H5S_SELECT_SET, off, NULL, cnt, NULL), e, FS_EXIT_FAIL,
                       "%s: selecting %s", w->tmp, name) ||
              H5_CHECK(H5Dwrite(d, lm ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT8, msp, fsp, H5P_DEFAULT, data), e,
                       FS_EXIT_FAIL, "%s: writing %s %ld..%ld (disk full?)", w->tmp, name, w->n, w->n + count - 1);
    H5Sclose(msp);
    H5Sclose(fsp);
    return bad ? -1 : 0;
}

/* Each item's checksum, as the reader computes it from what it reads back (landmark rows as
 * native floats, the reader's H5T_NATIVE_FLOAT). */
static void add_sums(fs_faces_writer *w, const void *const items[FS_FACES_N_ITEMS], long count) {
    const size_t bytes[FS_FACES_N_ITEMS] = {(size_t)w->S * w->S * 3, (size_t)w->S * w->S, 68 * 2 * sizeof(float)};
    if (w->n + count > w->cap) w->cap = FS_MAX(2 * w->cap, w->n + count);
    for (int i = 0; i < FS_FACES_N_ITEMS; i++) {
        if (!items[i]) continue;
        w->sums[i] = fs_realloc(w->sums[i], sizeof(uint64_t) * (size_t)w->cap);
        for (long k = 0; k < count; k++)
            w->sums[i][w->n + k] = fs_checksum64((const uint8_t *)items[i] + (size_t)k * bytes[i], bytes[i]);
    }
}

static int append_locked(fs_faces_writer *w, const void *const items[FS_FACES_N_ITEMS], long count, fs_error *e) {
    if (append_items(w, w->dset, "/faces", 4, items[0], count, e)) return -1;
    if (items[1] && append_items(w, w->mdset, "/masks", 3, items[1], count, e)) return -1;
    if (items[2] && append_items(w, w->ldset, "/landmarks", 3, items[2], count, e)) return -1;
    add_sums(w, items, count);
    w->n += count;
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

/* The `extras` attribute: each covered dataset's checksum, read back from the temp file. */
static int seal_extras(fs_faces_writer *w, fs_error *e) {
    if (w->n_extras == 0) return 0;
    qsort(w->extras, (size_t)w->n_extras, sizeof w->extras[0], by_name);
    fs_h5_canon list = {0};
    int bad = 0;
    for (int k = 0; k < w->n_extras && !bad; k++) {
        uint64_t sum = 0;
        bad = extra_sum(w->file, w->tmp, w->extras[k], &sum, e);
        fs_h5_canon_add(&list, "%s %016llx\n", w->extras[k], (unsigned long long)sum);
    }
    bad = bad || write_attr_str(w->file, w->tmp, EXTRAS_ATTR, list.p, e);
    fs_h5_canon_free(&list);
    return bad ? -1 : 0;
}

/* /checksums/<item> uint64 [n] for what was written, then the attribute checksum over all. */
static int seal_locked(fs_faces_writer *w, fs_error *e) {
    hsize_t dims[1] = {(hsize_t)w->n};
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    int bad = 0;
    for (int i = 0; i < FS_FACES_N_ITEMS && !bad; i++) {
        if (!w->sums[i]) continue;
        hid_t sp = H5Screate_simple(1, dims, NULL);
        hid_t d = H5Dcreate2(w->file, ITEMS[i].sums, H5T_STD_U64LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        bad = H5_CHECK(d, e, FS_EXIT_FAIL, "%s: cannot create %s", w->tmp, ITEMS[i].sums) ||
              H5_CHECK(H5Dwrite(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->sums[i]), e, FS_EXIT_FAIL,
                       "%s: writing %s (disk full?)", w->tmp, ITEMS[i].sums);
        if (d >= 0) H5Dclose(d);
        H5Sclose(sp);
    }
    H5Pclose(lcpl);
    char sum[17];
    if (!bad && (w->mdset < 0 || H5Dflush(w->mdset) >= 0) && (w->ldset < 0 || H5Dflush(w->ldset) >= 0) &&
        H5Dflush(w->dset) >= 0)
        bad = seal_extras(w, e) || faces_checksum(w->file, w->tmp, w->sums, w->n, sum, e) ||
              write_attr_str(w->file, w->tmp, "checksum", sum, e);
    return bad ? -1 : 0;
}

/* A face's items go together: a writer with /masks (/landmarks) takes them with every face. */
static int append_checked(fs_faces_writer *w, const uint8_t *faces, const uint8_t *masks, const float *landmarks,
                          long count, fs_error *e) {
    const char *what =
        (masks != NULL) != (w->mdset >= 0)
            ? masks ? "masks given to a writer without /masks" : "faces without masks for a file with /masks"
        : (landmarks != NULL) != (w->ldset >= 0) ? landmarks ? "landmarks given to a writer without /landmarks"
                                                             : "faces without landmarks for a file with /landmarks"
                                                 : NULL;
    if (what)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "%s: %s\n  hint: this is a bug in the caller (set fs_faces_meta.masks "
                         "and .landmarks exactly when giving them: fs_faces_append_masked, fs_faces_append_full)",
                         w->path, what);
    if (count <= 0) return 0;
    const void *items[FS_FACES_N_ITEMS] = {faces, masks, landmarks};
    fs_h5_lock();
    int rc = append_locked(w, items, count, e);
    fs_h5_unlock();
    return rc ? (e ? e->code : FS_EXIT_FAIL) : 0;
}

int fs_faces_append(fs_faces_writer *w, const uint8_t *faces, long count, fs_error *e) {
    return append_checked(w, faces, NULL, NULL, count, e);
}

int fs_faces_append_masked(fs_faces_writer *w, const uint8_t *faces, const uint8_t *masks, long count, fs_error *e) {
    if (!masks)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "%s: fs_faces_append_masked without masks\n  hint: this is a bug "
                         "in the caller",
                         w->path);
    return append_checked(w, faces, masks, NULL, count, e);
}

int fs_faces_append_full(fs_faces_writer *w, const uint8_t *faces, const uint8_t *masks, const float *landmarks,
                         long count, fs_error *e) {
    return append_checked(w, faces, masks, landmarks, count, e);
}

int fs_faces_writer_cover(fs_faces_writer *w, const char *name, fs_error *e) {
    for (int k = 0; k < w->n_extras; k++)
        if (!strcmp(w->extras[k], name)) return 0;
    int item = 0;
    for (int i = 0; i < FS_FACES_N_ITEMS; i++) item |= !strcmp(name, ITEMS[i].name) || !strcmp(name, ITEMS[i].sums);
    if (w->n_extras == EXTRAS_MAX || name[0] != '/' || strlen(name) >= sizeof w->extras[0] || strchr(name, ' ') ||
        strchr(name, '\n') || item)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "%s: cannot seal dataset '%s' (at most %d, '/'-rooted, under %zu bytes, no "
                         "space or newline, not an item or its checksums)\n  hint: this is a bug in the caller",
                         w->path, name, EXTRAS_MAX, sizeof w->extras[0]);
    snprintf(w->extras[w->n_extras++], sizeof w->extras[0], "%s", name);
    return 0;
}

long fs_faces_written(const fs_faces_writer *w) { return w->n; }

_Static_assert(sizeof(hid_t) == sizeof(int64_t), "fs_faces_writer_file returns an hid_t as int64_t");
int64_t fs_faces_writer_file(const fs_faces_writer *w) { return w->file; }

int fs_faces_commit(fs_faces_writer *w, fs_error *e) {
    if (w->n == 0) {
        fs_errorf(e, FS_EXIT_BADINPUT,
                  "%s: no faces to write; nothing was written\n"
                  "  hint: check the inputs (every image was skipped or none was given)",
                  w->path);
        fs_faces_abort(w);
        return FS_EXIT_BADINPUT;
    }
    fs_h5_lock();
    int bad = seal_locked(w, e);
    bad = (w->mdset >= 0 && H5_CHECK(H5Dclose(w->mdset), e, FS_EXIT_FAIL, "%s: closing /masks", w->tmp)) || bad;
    bad = (w->ldset >= 0 && H5_CHECK(H5Dclose(w->ldset), e, FS_EXIT_FAIL, "%s: closing /landmarks", w->tmp)) || bad;
    bad = (w->dset >= 0 && H5_CHECK(H5Dclose(w->dset), e, FS_EXIT_FAIL, "%s: closing /faces", w->tmp)) || bad;
    w->ldset = w->mdset = w->dset = -1;
    bad = bad || H5_CHECK(H5Fclose(w->file), e, FS_EXIT_FAIL, "%s: closing (disk full?)", w->tmp);
    w->file = -1;
    fs_h5_unlock();
    int rc = bad ? (e ? e->code : FS_EXIT_FAIL) : fs_commit_file(w->tmp, w->path, e);
    if (bad) remove(w->tmp);
    writer_free(w);
    return rc;
}

void fs_faces_abort(fs_faces_writer *w) {
    if (!w) return;
    fs_h5_lock();
    writer_close_locked(w);
    fs_h5_unlock();
    remove(w->tmp);
    writer_free(w);
}

/* ---------------------------------------------------------------- memory */
/* Measured with heaptrack on HDF5 1.10.8 (quickstart, 2 identity files): what H5_init_library
 * keeps, and what H5Fopen's metadata cache (H5AC_create) keeps per open file. */
#define H5_LIBRARY_STATE_BYTES ((size_t)223047)
#define H5_FILE_CACHE_BYTES ((size_t)528324)

static int add_hdf5_segments(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    if (!info->dlpi_name || !strstr(info->dlpi_name, "libhdf5")) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD && (info->dlpi_phdr[i].p_flags & PF_X))
            *(size_t *)data += info->dlpi_phdr[i].p_memsz;
    return 0;
}

size_t fs_faces_hdf5_bytes(int files, int masks, int landmarks) {
    size_t code = 0, rdcc_nbytes = 0, rdcc_nslots = 0;
    int mdc = 0;
    double w0 = 0;
    dl_iterate_phdr(add_hdf5_segments, &code);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pget_cache(fapl, &mdc, &rdcc_nslots, &rdcc_nbytes, &w0) < 0) rdcc_nbytes = (size_t)1 << 20;
    if (fapl >= 0) H5Pclose(fapl);
    size_t per_file = H5_FILE_CACHE_BYTES + (size_t)(1 + (masks != 0) + (landmarks != 0)) * rdcc_nbytes;
    return H5_LIBRARY_STATE_BYTES + code + (size_t)files * per_file;
}
