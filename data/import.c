/* import.c — see import.h. */
#include "data/import.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/image.h"
#include "core/limits.h"

typedef struct file_list {
    char **v;
    long n, cap;
} file_list;

static void list_push(file_list *l, const char *path) {
    if (l->n == l->cap) l->v = fs_realloc(l->v, sizeof(char *) * (size_t)(l->cap = l->cap ? 2 * l->cap : 64));
    l->v[l->n++] = fs_strdup(path);
}

static void list_free(file_list *l) {
    for (long i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

static int is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Named files are taken whatever their name; directories give their .png/.jpg/.jpeg files,
 * recursively, in name order. */
static int collect(const char *path, file_list *l, int depth, fs_error *e) {
    if (!fs_is_dir(path)) {
        if (!fs_exists(path))
            return fs_errorf(e, FS_EXIT_BADINPUT, "%s: no such file or directory\n  hint: check the path", path);
        list_push(l, path);
        return 0;
    }
    DIR *d = opendir(path);
    if (!d) return fs_errorf(e, FS_EXIT_BADINPUT, "%s: cannot list the directory\n  hint: check permissions", path);
    file_list here = {0};
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.') continue;
        char child[FS_PATH_LEN];
        snprintf(child, sizeof child, "%s/%s", path, de->d_name);
        if ((fs_is_dir(child) && depth < 16) || is_image_name(de->d_name)) list_push(&here, child);
    }
    closedir(d);
    qsort(here.v, (size_t)here.n, sizeof(char *), cmp_str);
    int rc = 0;
    for (long i = 0; i < here.n && rc == 0; i++)
        rc = fs_is_dir(here.v[i]) ? collect(here.v[i], l, depth + 1, e) : (list_push(l, here.v[i]), 0);
    list_free(&here);
    return rc;
}

/* What one import saw besides faces and skips, reported once at its end. */
typedef struct import_tally {
    long skipped; /* unreadable or not face-sized */
    long alpha;   /* images with transparent pixels, composited onto black */
} import_tally;

/* One image as a face of S px, or a reason (in e) to skip it; img keeps what the decoder saw. */
static int load_face(const char *path, int S, uint8_t *out, fs_image *img, fs_error *e) {
    if (fs_image_load(img, path, e)) return -1;
    int w = img->w, h = img->h, rc = 0;
    if (w != h || w < FS_IMPORT_MIN_SIDE)
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: %dx%d px is not face-sized; expected a square aligned face of at "
                       "least %d px\n  hint: align and crop the faces first",
                       path, w, h, FS_IMPORT_MIN_SIDE);
    else if (w == S) memcpy(out, img->rgb, (size_t)S * S * 3);
    else fs_image_resize(img->rgb, w, h, out, S, S);
    fs_image_free(img);
    return rc ? -1 : 0;
}

static void progress(long done, long total) {
    int width = 30, fill = total ? (int)(width * done / total) : width;
    fs_progress(stderr, 1, "import [%.*s%*s] %ld/%ld", fill, "##############################", width - fill, "", done,
                total);
    if (done == total) fs_progress_end();
}

/* A face that decoded: damage the decoder recovered from fails a strict import, else it is
 * named; transparency is counted for the one notice at the end. */
static int accept_face(const fs_import_opts *o, const char *path, const fs_image *img, import_tally *t, fs_error *e) {
    t->alpha += img->alpha;
    if (!img->warning[0]) return 0;
    if (o->strict)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "import --strict: %s: damaged JPEG (%s)\n  hint: export the file "
                         "again, or import without --strict to take it as decoded",
                         path, img->warning);
    fs_warn("%s: damaged JPEG, imported as decoded: %s", path, img->warning);
    return 0;
}

/* Appends every readable face; skipped ones are listed (or fail the import when strict). */
static int import_files(const fs_import_opts *o, const file_list *l, fs_faces_writer *w, import_tally *t, fs_error *e) {
    enum { BLOCK = 64 };
    const size_t face = (size_t)o->size * o->size * 3;
    uint8_t *buf = fs_malloc(face * BLOCK);
    int n = 0, rc = 0;
    for (long i = 0; i < l->n && rc == 0; i++) {
        fs_error why = {0};
        fs_image img = {0};
        if (load_face(l->v[i], o->size, buf + (size_t)n * face, &img, &why) == 0) {
            rc = accept_face(o, l->v[i], &img, t, e) ? -1 : 0;
            n += rc == 0;
        } else if (o->strict) {
            *e = why;
            fs_error_prefix(e, "import --strict: ");
            rc = -1;
        } else {
            t->skipped++;
            fs_warn("skipped %s", why.msg);
        }
        if (rc == 0 && (n == BLOCK || (i == l->n - 1 && n > 0))) {
            rc = fs_faces_append(w, buf, n, e) ? -1 : 0;
            n = 0;
        }
        if (o->progress) progress(i + 1, l->n);
    }
    fs_progress_end();
    free(buf);
    if (rc == 0 && t->alpha)
        fs_warn("import: %ld image%s had transparent pixels, composited onto black (docs/data.md)", t->alpha,
                t->alpha == 1 ? "" : "s");
    return rc;
}

int fs_import(const fs_import_opts *o, long *imported, long *skipped, fs_error *e) {
    import_tally t = {0};
    if (o->size < 16 || o->size > 1024)
        return fs_errorf(e, FS_EXIT_BADINPUT, "--size %d; expected 16..1024 px", o->size);
    if (!fs_identity_ok(o->identity))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "--identity '%s': expected %s\n  hint: the name becomes a file name "
                         "(<name>.h5) and a model.identities entry; e.g. Jane_Doe",
                         o->identity, FS_IDENTITY_RULE);
    file_list l = {0};
    for (int i = 0; i < o->n_inputs; i++)
        if (collect(o->inputs[i], &l, 0, e)) {
            list_free(&l);
            return e ? e->code : FS_EXIT_BADINPUT;
        }
    fs_faces_meta m = {.identity = o->identity, .consent = o->consent, .source = o->source, .synthetic = 0};
    fs_faces_writer *w;
    int rc = fs_faces_create(&w, o->out, o->size, &m, e);
    if (rc == 0 && import_files(o, &l, w, &t, e) != 0) {
        fs_faces_abort(w);
        rc = e ? e->code : FS_EXIT_BADINPUT;
    } else if (rc == 0) {
        if (imported) *imported = fs_faces_written(w);
        rc = fs_faces_commit(w, e);
    }
    if (skipped) *skipped = t.skipped;
    list_free(&l);
    return rc;
}
