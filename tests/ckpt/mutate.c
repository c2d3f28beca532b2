/* mutate.c — the byte-mutation test of the two file readers: `mutate checkpoint|dataset FILE
 * CASES SEED` flips, zeroes, saturates and truncates bytes of a real file (CASES mutants from
 * a deterministic seed) and asserts that no mutant is accepted with changed content: each is
 * either refused with code 2 (at open, verify or read) or reads back bit-identical to the
 * original (bytes HDF5 never reads, such as free space, may change). */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "reseal.h"
#include "trainer/checkpoint.h"

static int g_bad;

/* ---------------------------------------------------------------- checkpoints */
typedef struct ckpt_content {
    fs_ckpt_meta m;
    float *p; /* params, adam_m, adam_v: [3][n_params] */
} ckpt_content;

static int ckpt_load(const char *path, ckpt_content *c, fs_error *e) {
    memset(c, 0, sizeof *c);
    int rc = fs_ckpt_read(path, 0, &c->m, NULL, NULL, NULL, NULL, e);
    if (rc) return rc;
    long n = c->m.n_params;
    fs_ckpt_meta_free(&c->m);
    c->p = fs_malloc(sizeof(float) * 3 * (size_t)n);
    rc = fs_ckpt_read(path, n, &c->m, c->p, c->p + n, c->p + 2 * n, NULL, e);
    if (rc) free(c->p), c->p = NULL;
    return rc;
}

static int ckpt_same(const ckpt_content *a, const ckpt_content *b) {
    const fs_ckpt_meta *x = &a->m, *y = &b->m;
    return x->step == y->step && x->epoch == y->epoch && x->seed == y->seed && x->world_size == y->world_size &&
           x->global_batch == y->global_batch && x->model_hash == y->model_hash && x->n_params == y->n_params &&
           x->nonfinite_skipped == y->nonfinite_skipped && x->restart_count == y->restart_count &&
           !strcmp(x->created, y->created) && x->version == y->version && !strcmp(x->config_text, y->config_text) &&
           !strcmp(x->model_text, y->model_text) &&
           !strcmp(x->consent_text ? x->consent_text : "", y->consent_text ? y->consent_text : "") &&
           !memcmp(a->p, b->p, sizeof(float) * 3 * (size_t)x->n_params);
}

static void ckpt_free(ckpt_content *c) {
    fs_ckpt_meta_free(&c->m);
    free(c->p);
}

/* ---------------------------------------------------------------- datasets */
typedef struct faces_content {
    char attrs[6][512];
    long n;
    int S, masks;
    uint8_t *faces, *mask;
} faces_content;

static int faces_load(const char *path, faces_content *c, fs_error *e) {
    memset(c, 0, sizeof *c);
    fs_faces *f = NULL;
    int rc = fs_faces_open(&f, path, NULL, e);
    if (rc) return rc;
    const char *names[6] = {"format", "version", "identity", "consent", "source", "synthetic"};
    for (int i = 0; i < 6; i++) snprintf(c->attrs[i], sizeof c->attrs[i], "%s", fs_faces_attr(f, names[i]));
    c->n = fs_faces_count(f), c->S = fs_faces_size(f), c->masks = fs_faces_has_masks(f);
    if ((double)c->n * c->S * c->S > 64e6) {
        fs_faces_close(f);
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: %ld faces of %d px: larger than this test reads\n  hint: none", path,
                         c->n, c->S);
    }
    c->faces = fs_malloc((size_t)c->n * c->S * c->S * 3);
    c->mask = fs_malloc((size_t)c->n * c->S * c->S + 1);
    rc = fs_faces_read(f, 0, c->n, c->faces, e);
    if (!rc && c->masks) rc = fs_faces_read_masks(f, 0, c->n, c->mask, e);
    if (!rc) rc = fs_faces_check_extras(f, e);
    fs_faces_close(f);
    return rc;
}

static int faces_same(const faces_content *a, const faces_content *b) {
    for (int i = 0; i < 6; i++)
        if (strcmp(a->attrs[i], b->attrs[i])) return 0;
    size_t px = (size_t)a->n * a->S * a->S;
    return a->n == b->n && a->S == b->S && a->masks == b->masks && !memcmp(a->faces, b->faces, px * 3) &&
           (!a->masks || !memcmp(a->mask, b->mask, px));
}

static void faces_free(faces_content *c) {
    free(c->faces);
    free(c->mask);
}

/* ---------------------------------------------------------------- mutants */
/* Mutant k of data (len bytes) into out; returns its length and names the edit in what. */
static size_t mutate(const uint8_t *data, size_t len, fs_rng *r, uint8_t *out, char *what, size_t wlen) {
    memcpy(out, data, len);
    size_t at = (size_t)fs_rng_below(r, len), n = len;
    switch (fs_rng_below(r, 5)) {
    case 0: /* one byte anywhere */
        out[at] ^= (uint8_t)(1 + fs_rng_below(r, 255));
        snprintf(what, wlen, "byte %zu xor", at);
        break;
    case 1: { /* one byte in the metadata-dense start */
        at = (size_t)fs_rng_below(r, FS_MIN(len, (size_t)4096));
        out[at] ^= (uint8_t)(1u << fs_rng_below(r, 8));
        snprintf(what, wlen, "bit flip at %zu", at);
        break;
    }
    case 2: {                                             /* a run of zeroes */
        size_t want = (size_t)(1 + fs_rng_below(r, 256)); /* drawn once: FS_MIN evaluates twice */
        size_t run = FS_MIN(len - at, want);
        memset(out + at, 0, run);
        snprintf(what, wlen, "%zu zero bytes at %zu", run, at);
        break;
    }
    case 3: { /* four bytes saturated (lengths and addresses become huge) */
        size_t run = FS_MIN(len - at, (size_t)4);
        memset(out + at, 0xff, run);
        snprintf(what, wlen, "0xff x%zu at %zu", run, at);
        break;
    }
    default: /* truncated */ n = at; snprintf(what, wlen, "truncated to %zu bytes", at);
    }
    return n;
}

/* The mutant at path against the original: refused with code 2, or the same content. */
static void judge(const char *kind, const char *path, const void *orig, const char *what, int *refused) {
    fs_error e = {0};
    int rc, same;
    if (!strcmp(kind, "checkpoint")) {
        ckpt_content c;
        rc = ckpt_load(path, &c, &e);
        same = !rc && ckpt_same(orig, &c);
        if (!rc) ckpt_free(&c);
    } else {
        faces_content c;
        rc = faces_load(path, &c, &e);
        same = !rc && faces_same(orig, &c);
        faces_free(&c);
    }
    if (rc) (*refused)++;
    if (rc && (rc != FS_EXIT_BADINPUT || e.code != FS_EXIT_BADINPUT || !strstr(e.msg, "hint:"))) {
        fprintf(stderr, "FAIL %s mutant (%s): refused with rc %d, code %d, message '%s'\n", kind, what, rc, e.code,
                e.msg);
        g_bad++;
    } else if (!rc && !same) {
        fprintf(stderr, "FAIL %s mutant (%s): accepted with changed content\n", kind, what);
        g_bad++;
    }
}

/* `mutate seeds DIR`: the smallest sealed checkpoint and dataset, as fuzz corpus seeds. */
static int write_seeds(const char *dir) {
    float p[8] = {1, -2, 3.5f, 0, 1e-3f, 7, 8, 9};
    uint8_t faces[2 * 8 * 8 * 3], masks[2 * 8 * 8];
    for (size_t i = 0; i < sizeof faces; i++) faces[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof masks; i++) masks[i] = (uint8_t)(i & 1 ? 255 : 0);
    fs_ckpt_meta m = {.step = 3,
                      .epoch = 1,
                      .seed = 5,
                      .world_size = 1,
                      .global_batch = 2,
                      .model_hash = 0xabc,
                      .n_params = 8,
                      .config_text = "model:\n  resolution: 8\n",
                      .model_text = "layers\n"};
    fs_faces_meta fm = {.identity = "S", .consent = "synthetic", .source = "seed", .synthetic = 1, .masks = 1};
    fs_faces_writer *w;
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/small-v2.ckpt.h5", dir);
    snprintf(b, sizeof b, "%s/small-v2.faces.h5", dir);
    fs_error e = {0};
    int rc = fs_ckpt_write(a, &m, p, p, p, NULL, &e) || fs_faces_create(&w, b, 8, &fm, &e) ||
             fs_faces_append_masked(w, faces, masks, 2, &e) || fs_faces_commit(w, &e);
    if (rc) fprintf(stderr, "FAIL: %s\n", e.msg);
    return rc ? 1 : 0;
}

/* `mutate set-int FILE ATTR VALUE`: overwrites an integer root attribute in place (what a hand
 * edit with h5py does), for the shell tests of tampered metadata. */
static int set_int(const char *path, const char *name, long long v) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), a = f >= 0 ? H5Aopen(f, name, H5P_DEFAULT) : -1;
    int ok = a >= 0 && H5Awrite(a, H5T_NATIVE_LLONG, &v) >= 0;
    if (a >= 0) H5Aclose(a);
    if (f >= 0) H5Fclose(f);
    if (!ok) fprintf(stderr, "FAIL: cannot set %s of %s\n", name, path);
    return ok ? 0 : 1;
}

/* `mutate set-str FILE ATTR VALUE`: rewrites a string root attribute (deleted and written again
 * as a fixed-length string, as an h5py user's f.attrs[ATTR] = VALUE does). */
static int set_str(const char *path, const char *name, const char *v) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    int ok = f >= 0 && H5Tset_size(t, strlen(v) + 1) >= 0 && H5Adelete(f, name) >= 0;
    hid_t a = ok ? H5Acreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT) : -1;
    ok = a >= 0 && H5Awrite(a, t, v) >= 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s), H5Tclose(t);
    if (f >= 0) H5Fclose(f);
    if (!ok) fprintf(stderr, "FAIL: cannot set %s of %s\n", name, path);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "seeds")) return write_seeds(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "reseal")) return test_reseal(argv[2]); /* tests/ckpt/reseal.h */
    if (argc == 5 && !strcmp(argv[1], "set-int")) return set_int(argv[2], argv[3], atoll(argv[4]));
    if (argc == 5 && !strcmp(argv[1], "set-str")) return set_str(argv[2], argv[3], argv[4]);
    if (argc != 5 || (strcmp(argv[1], "checkpoint") && strcmp(argv[1], "dataset"))) {
        fprintf(stderr, "usage: mutate checkpoint|dataset FILE CASES SEED\n");
        return 2;
    }
    const char *kind = argv[1], *src = argv[2];
    long cases = atol(argv[3]);
    fs_error e = {0};
    size_t len;
    uint8_t *data = (uint8_t *)fs_read_file(src, &len, &e);
    ckpt_content ck;
    faces_content fc;
    int rc = !data ? 1 : !strcmp(kind, "checkpoint") ? ckpt_load(src, &ck, &e) : faces_load(src, &fc, &e);
    if (rc) return fprintf(stderr, "FAIL: the original does not read: %s\n", e.msg), 1;
    uint8_t *buf = fs_malloc(len);
    char path[600], what[96];
    snprintf(path, sizeof path, "%s.mutant", src);
    fs_rng r;
    fs_rng_init(&r, (uint64_t)atol(argv[4]), 0x4d, 0);
    int refused = 0;
    for (long k = 0; k < cases; k++) {
        size_t n = mutate(data, len, &r, buf, what, sizeof what);
        size_t wl = strlen(what);
        snprintf(what + wl, sizeof what - wl, ", case %ld", k);
        const char *only = getenv("MUTATE_ONLY"); /* debugging: keep just this case's file */
        if (only && atol(only) != k) continue;
        if (getenv("MUTATE_TRACE")) fprintf(stderr, "%s\n", what);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0)
            return fprintf(stderr, "FAIL: cannot write %s\n", path), 1;
        judge(kind, path, !strcmp(kind, "checkpoint") ? (const void *)&ck : (const void *)&fc, what, &refused);
    }
    if (!getenv("MUTATE_ONLY")) remove(path);
    printf("%s: %ld mutants of %s (%zu bytes): %d refused with code 2, %ld read back identical, %d wrong\n", kind,
           cases, src, len, refused, cases - refused - g_bad, g_bad);
    return g_bad ? 1 : 0;
}
