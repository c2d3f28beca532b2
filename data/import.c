/* import.c — see import.h. */
#include "data/import.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/image.h"
#include "trainer/config.h"

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

/* One image as a face of S px, or a reason (in e) to skip it. */
static int load_face(const char *path, int S, uint8_t *out, fs_error *e) {
    uint8_t *rgb;
    int w, h;
    if (fs_image_read(path, &rgb, &w, &h, e)) return -1;
    int rc = 0;
    if (w != h || w < FS_IMPORT_MIN_SIDE)
        rc = fs_errorf(e, FS_EXIT_BADINPUT, "%s: %dx%d px is not face-sized; expected a square aligned face of at "
                       "least %d px\n  hint: align and crop the faces first", path, w, h, FS_IMPORT_MIN_SIDE);
    else if (w == S)
        memcpy(out, rgb, (size_t)S * S * 3);
    else
        fs_image_resize(rgb, w, h, out, S, S);
    free(rgb);
    return rc ? -1 : 0;
}

static void progress(long done, long total) {
    int width = 30, fill = total ? (int)(width * done / total) : width;
    fprintf(stderr, "\rimport [%.*s%*s] %ld/%ld", fill, "##############################", width - fill, "", done,
            total);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

/* Appends every readable face; skipped ones are listed (or fail the import when strict). */
static int import_files(const fs_import_opts *o, const file_list *l, fs_faces_writer *w, long *skipped,
                        fs_error *e) {
    enum { BLOCK = 64 };
    const size_t face = (size_t)o->size * o->size * 3;
    uint8_t *buf = fs_malloc(face * BLOCK);
    int n = 0, rc = 0;
    for (long i = 0; i < l->n && rc == 0; i++) {
        fs_error why = {0};
        if (load_face(l->v[i], o->size, buf + (size_t)n * face, &why) == 0) {
            n++;
        } else if (o->strict) {
            *e = why;
            fs_error_prefix(e, "import --strict: ");
            rc = -1;
        } else {
            (*skipped)++;
            fs_warn("skipped %s", why.msg);
        }
        if (rc == 0 && (n == BLOCK || (i == l->n - 1 && n > 0))) {
            rc = fs_faces_append(w, buf, n, e) ? -1 : 0;
            n = 0;
        }
        if (o->progress) progress(i + 1, l->n);
    }
    free(buf);
    return rc;
}

int fs_import(const fs_import_opts *o, long *imported, long *skipped, fs_error *e) {
    long skip = 0;
    if (o->size < 16 || o->size > 1024)
        return fs_errorf(e, FS_EXIT_BADINPUT, "--size %d; expected 16..1024 px", o->size);
    file_list l = {0};
    for (int i = 0; i < o->n_inputs; i++)
        if (collect(o->inputs[i], &l, 0, e)) {
            list_free(&l);
            return e ? e->code : FS_EXIT_BADINPUT;
        }
    fs_faces_meta m = {.identity = o->identity, .consent = o->consent, .source = o->source, .synthetic = 0};
    fs_faces_writer *w;
    int rc = fs_faces_create(&w, o->out, o->size, &m, e);
    if (rc == 0 && import_files(o, &l, w, &skip, e) != 0) {
        fs_faces_abort(w);
        rc = e ? e->code : FS_EXIT_BADINPUT;
    } else if (rc == 0) {
        if (imported) *imported = fs_faces_written(w);
        rc = fs_faces_commit(w, e);
    }
    if (skipped) *skipped = skip;
    list_free(&l);
    return rc;
}
