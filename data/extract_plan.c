/* extract_plan.c — the inputs of `extract`: folders expanded, files classified, frames
 * counted, and the hashes that tell a rerun what it may keep. */
#include <dirent.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/extract_int.h"

static void add_source(xplan *p, const char *path, long *cap) {
    if (p->n == *cap) p->src = fs_realloc(p->src, sizeof *p->src * (size_t)(*cap = *cap ? 2 * *cap : 16));
    xsource *s = &p->src[p->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
}

/* In a folder: images by extension, videos by the extensions cameras and editors write. */
static int wanted_name(const char *name) {
    static const char *ext[] = {".png", ".jpg",  ".jpeg", ".mp4", ".mov",  ".mkv", ".avi", ".webm", ".m4v",
                                ".mpg", ".mpeg", ".ts",   ".mts", ".m2ts", ".wmv", ".flv", ".y4m"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < FS_ARRAY_LEN(ext); i++)
        if (!strcasecmp(dot, ext[i])) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A named file is taken whatever its name; a folder gives its wanted files and subfolders,
 * recursively, in name order. */
static int expand(const char *path, xplan *p, long *cap, int depth, fs_error *e) {
    if (!fs_is_dir(path)) {
        if (!fs_exists(path))
            return fs_errorf(e, FS_EXIT_BADINPUT, "%s: no such file or folder\n  hint: check the path", path);
        add_source(p, path, cap);
        return 0;
    }
    DIR *d = opendir(path);
    if (!d) return fs_errorf(e, FS_EXIT_BADINPUT, "%s: cannot list the folder\n  hint: check permissions", path);
    char **names = NULL;
    long n = 0, ncap = 0;
    for (struct dirent *de; (de = readdir(d));) {
        char child[FS_PATH_LEN];
        if (de->d_name[0] == '.') continue;
        snprintf(child, sizeof child, "%s/%s", path, de->d_name);
        if (!((fs_is_dir(child) && depth < 16) || wanted_name(de->d_name))) continue;
        if (n == ncap) names = fs_realloc(names, sizeof *names * (size_t)(ncap = ncap ? 2 * ncap : 64));
        names[n++] = fs_strdup(child);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    int rc = 0;
    for (long i = 0; i < n; i++) {
        if (rc == 0)
            rc = fs_is_dir(names[i]) ? expand(names[i], p, cap, depth + 1, e) : (add_source(p, names[i], cap), 0);
        free(names[i]);
    }
    free(names);
    return rc;
}

static int is_image(const char *path) {
    unsigned char sig[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(sig, 1, sizeof sig, f);
    fclose(f);
    return (n >= 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8)) ||
           (n >= 3 && sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff);
}

static int classify(xsource *s, fs_error *e) {
    struct stat st;
    if (stat(s->path, &st) != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: cannot stat\n  hint: check the path and permissions", s->path);
    s->bytes = (long long)st.st_size;
    s->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    if (is_image(s->path)) {
        s->kind = XSRC_IMAGE, s->frames = 1;
        return 0;
    }
    fs_video *v;
    fs_video_info info;
    if (fs_video_open(&v, s->path, e)) return e ? e->code : FS_EXIT_BADINPUT;
    int rc = fs_video_probe(v, &info, e);
    fs_video_close(v);
    s->kind = XSRC_VIDEO, s->frames = info.frames;
    return rc;
}

/* The text the hashes are taken over: a part file depends on exactly these. */
static uint64_t hash_work(const fs_extract_opts *o, const xplan *p, int chunk) {
    size_t cap = 512 + (size_t)p->n * (FS_PATH_LEN + 96), len = 0;
    char *t = fs_malloc(cap);
    struct stat st;
    long long model = stat(o->landmarks, &st) == 0 ? (long long)st.st_size : -1;
    len += (size_t)snprintf(t + len, cap - len,
                            "extract v1 chunk=%d size=%d coverage=%.17g every=%d faces=%s "
                            "min_face=%d model=%s:%lld\n",
                            chunk, o->size, o->coverage, o->every, o->all_faces ? "all" : "largest", o->min_face,
                            o->landmarks, model);
    for (long i = 0; i < p->n; i++)
        len += (size_t)snprintf(t + len, cap - len, "%d %ld %lld %lld %s\n", p->src[i].kind, p->src[i].frames,
                                p->src[i].bytes, p->src[i].mtime_ns, p->src[i].path);
    uint64_t h = fs_checksum64(t, len);
    free(t);
    return h;
}

static void finish(xplan *p) {
    if (p->chunk < 1) p->chunk = FS_EXTRACT_CHUNK_DEFAULT;
    p->first = fs_malloc(sizeof *p->first * (size_t)(p->n + 1));
    p->first[0] = 0;
    for (long i = 0; i < p->n; i++) p->first[i + 1] = p->first[i] + p->src[i].frames;
    p->chunks = (p->first[p->n] + p->chunk - 1) / p->chunk;
}

int xplan_build(const fs_extract_opts *o, xplan *p, fs_error *e) {
    memset(p, 0, sizeof *p);
    long cap = 0;
    for (int i = 0; i < o->n_inputs; i++)
        if (expand(o->inputs[i], p, &cap, 0, e)) return e ? e->code : FS_EXIT_BADINPUT;
    if (p->n == 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: no images or videos found in the inputs\n  hint: folders are "
                         "searched for .png .jpg .jpeg .mp4 .mov .mkv .avi .webm ...",
                         o->inputs[0]);
    for (long i = 0; i < p->n; i++)
        if (classify(&p->src[i], e)) return e ? e->code : FS_EXIT_BADINPUT;
    p->chunk = o->chunk;
    finish(p);
    /* The output does not depend on the chunk size (only the parts do). */
    p->work_hash = hash_work(o, p, p->chunk);
    char meta[3 * 1024];
    int n = snprintf(meta, sizeof meta, "%016llx\n%s\n%s\n%s\n", (unsigned long long)hash_work(o, p, 0), o->identity,
                     o->consent, o->source);
    p->out_hash = fs_checksum64(meta, (size_t)FS_MIN(n, (int)sizeof meta - 1));
    return 0;
}

int xplan_bcast(xplan *p, int rank, fs_error *e) {
    long head[2] = {p->n, p->chunk};
    uint64_t h[2] = {p->work_hash, p->out_hash};
    if (MPI_Bcast(head, 2, MPI_LONG, 0, MPI_COMM_WORLD) != MPI_SUCCESS ||
        MPI_Bcast(h, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
        return fs_errorf(e, FS_EXIT_FAIL, "extract: broadcasting the plan failed\n  hint: an MPI rank died");
    if (rank != 0) {
        memset(p, 0, sizeof *p);
        p->n = head[0], p->chunk = (int)head[1], p->work_hash = h[0], p->out_hash = h[1];
        p->src = fs_calloc((size_t)p->n, sizeof *p->src);
    }
    /* Sources as bytes: every rank runs the same binary, so the struct layout is shared. */
    size_t bytes = sizeof *p->src * (size_t)p->n;
    for (size_t off = 0; off < bytes; off += 1 << 30) {
        int part = (int)FS_MIN(bytes - off, (size_t)1 << 30);
        if (MPI_Bcast((char *)p->src + off, part, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            return fs_errorf(e, FS_EXIT_FAIL, "extract: broadcasting the plan failed\n  hint: an MPI rank died");
    }
    if (rank != 0) finish(p);
    return 0;
}

void xplan_free(xplan *p) {
    free(p->src);
    free(p->first);
    memset(p, 0, sizeof *p);
}

long xplan_source_of(const xplan *p, long g) {
    long lo = 0, hi = p->n - 1;
    while (lo < hi) {
        long mid = (lo + hi + 1) / 2;
        if (p->first[mid] <= g) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

void xplan_hex(uint64_t h, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)h); }
