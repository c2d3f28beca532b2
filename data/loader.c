/* loader.c — see loader.h. */
#include "data/loader.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"
#include "core/limits.h"
#include "data/regions.h"

typedef struct perm_cache {
    uint32_t *perm;    /* [N_i] */
    long epoch, cycle; /* key of the permutation held; epoch -1 = none */
} perm_cache;

/* One prefetch thread: it fills whole batches (steps start+t, start+t+threads, ...), so
 * threads never wait on each other within a batch. HDF5 reads are serialised by dataset.c. */
typedef struct worker {
    struct fs_loader *L;
    int t;
    uint8_t *raw;                 /* [b][S][S][3] faces read for one identity, in sorted index order */
    uint8_t *raw_mask;            /* [b][S][S] their masks, same order; NULL when the loader has no masks */
    uint8_t *raw_eye, *raw_mouth; /* [b][S][S] their eye and mouth regions; NULL without opts.regions */
    float *raw_lm;                /* [b][68][2] their landmarks; NULL without opts.regions */
    long *idx, *sorted;           /* [b] file indices in batch order / sorted */
    int *where;                   /* [b] row of raw holding batch sample j */
    perm_cache cache[FS_MAX_IDENTITIES];
    fs_augment_work work;
    pthread_t thread;
    int started;
} worker;

typedef struct fs_loader {
    fs_loader_opts o;
    fs_faces *faces[FS_MAX_IDENTITIES];
    long count[FS_MAX_IDENTITIES];
    long L;           /* epoch length, faces */
    int masks;        /* 1 = every batch carries the targets' masks (opts.masks and the files) */
    int S, b, nslots; /* face side, samples per identity on this rank, batch slots */
    fs_batch *slots;  /* [nslots]; batch k (from start) lives in slot k % nslots */
    long *ready;      /* [nslots] batch number a slot holds, -1 = none */
    worker *workers;  /* [threads] */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long taken, released; /* batches handed out / given back (in order) */
    int stop, failed;
    fs_error err; /* the first worker error */
    double wait_total_ms;
} fs_loader;

/* ---------------------------------------------------------------- sample order */
static uint64_t perm_key(long epoch, long cycle) { return fs_hash3((uint64_t)epoch, (uint64_t)cycle, 0x5eed); }

static long index_with(perm_cache *c, const fs_loader *L, int i, long p) {
    long e = p / L->L, q = p % L->L, n = L->count[i];
    long cycle = q / n;
    if (c->epoch != e || c->cycle != cycle) {
        fs_permutation(c->perm, (uint32_t)n, L->o.seed, (uint64_t)i, perm_key(e, cycle));
        c->epoch = e, c->cycle = cycle;
    }
    return c->perm[q % n];
}

long fs_loader_index(const fs_loader *L, int identity, long global_position) {
    perm_cache c = {.perm = fs_malloc(sizeof(uint32_t) * (size_t)L->count[identity]), .epoch = -1};
    long k = index_with(&c, L, identity, global_position);
    free(c.perm);
    return k;
}

static uint64_t identity_salt(int i) { return fs_mix64(0xA7A7000000ULL + (uint64_t)i); }

long fs_loader_epoch_length(const fs_loader *L) { return L->L; }
long fs_loader_count(const fs_loader *L, int identity) { return L->count[identity]; }
int fs_loader_has_masks(const fs_loader *L) { return L->masks; }
const char *fs_loader_consent(const fs_loader *L, int identity) { return fs_faces_attr(L->faces[identity], "consent"); }
const char *fs_loader_attr(const fs_loader *L, int identity, const char *name) {
    return fs_faces_attr(L->faces[identity], name);
}
double fs_loader_wait_ms_total(const fs_loader *L) { return L->wait_total_ms; }

/* ---------------------------------------------------------------- filling one batch */
static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Reads identity i's share of step s into w->raw, sorted by file index so that neighbours
 * come in one hyperslab; w->where[j] says which row holds batch sample j. */
static int read_identity(worker *w, int i, long s, fs_error *e) {
    const fs_loader *L = w->L;
    const long base = s * L->o.global_batch + (long)L->o.rank * L->b;
    for (int j = 0; j < L->b; j++) w->idx[j] = w->sorted[j] = index_with(&w->cache[i], L, i, base + j);
    qsort(w->sorted, (size_t)L->b, sizeof(long), cmp_long);
    for (int j = 0; j < L->b; j++) {
        long *hit = bsearch(&w->idx[j], w->sorted, (size_t)L->b, sizeof(long), cmp_long);
        w->where[j] = (int)(hit - w->sorted);
    }
    if (fs_faces_read_index(L->faces[i], w->sorted, L->b, w->raw, e)) return -1;
    if (L->masks && fs_faces_read_masks_index(L->faces[i], w->sorted, L->b, w->raw_mask, e)) return -1;
    if (!L->o.regions) return 0;
    if (fs_faces_read_landmarks_index(L->faces[i], w->sorted, L->b, w->raw_lm, e)) return -1;
    const size_t plane = (size_t)L->S * L->S;
    for (int j = 0; j < L->b; j++)
        fs_face_regions((const float(*)[2])(w->raw_lm + (size_t)j * 136), L->S, w->raw_eye + j * plane,
                        w->raw_mouth + j * plane);
    return 0;
}

static void augment_identity(worker *w, int i, long s, fs_batch *B) {
    const fs_loader *L = w->L;
    const fs_augment_opts ao = {L->o.rotation, L->o.zoom, L->o.shift, L->o.flip, L->o.warp};
    const size_t plane = (size_t)L->S * L->S, face = plane * 3;
    const long base = s * L->o.global_batch + (long)L->o.rank * L->b;
    for (int j = 0; j < L->b; j++) {
        long p = base + j;
        fs_rng r;
        fs_rng_init(&r, L->o.seed ^ identity_salt(i), (uint64_t)(p / L->L), (uint64_t)(p % L->L));
        size_t out = (size_t)i * L->b + j, row = (size_t)w->where[j];
        const uint8_t *sp[3] = {L->masks ? w->raw_mask + row * plane : NULL,
                                L->o.regions ? w->raw_eye + row * plane : NULL,
                                L->o.regions ? w->raw_mouth + row * plane : NULL};
        uint8_t *dp[3] = {L->masks ? B->mask + out * plane : NULL, L->o.regions ? B->eye + out * plane : NULL,
                          L->o.regions ? B->mouth + out * plane : NULL};
        fs_augment_planes(&ao, &r, &w->work, w->raw + row * face, sp, dp, 3, B->input + out * face,
                          B->target + out * face);
    }
}

static int fill_batch(worker *w, long s, fs_batch *B, fs_error *e) {
    B->step = s;
    B->epoch = s * w->L->o.global_batch / w->L->L;
    B->wait_ms = 0;
    for (int i = 0; i < w->L->o.n_identities; i++) {
        if (read_identity(w, i, s, e)) return -1;
        augment_identity(w, i, s, B);
    }
    return 0;
}

/* ---------------------------------------------------------------- prefetch threads */
static void *worker_main(void *arg) {
    worker *w = arg;
    fs_loader *L = w->L;
    for (long k = w->t;; k += L->o.threads) {
        pthread_mutex_lock(&L->mu);
        while (!L->stop && !L->failed && k - L->released >= L->nslots) pthread_cond_wait(&L->cv, &L->mu);
        int quit = L->stop || L->failed;
        pthread_mutex_unlock(&L->mu);
        if (quit) break;
        fs_error e = {0};
        int rc = fill_batch(w, L->o.start_step + k, &L->slots[k % L->nslots], &e);
        pthread_mutex_lock(&L->mu);
        if (rc && !L->failed) L->failed = 1, L->err = e;
        if (!rc) L->ready[k % L->nslots] = k;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
        if (rc) break;
    }
    return NULL;
}

const fs_batch *fs_loader_next(fs_loader *L, fs_error *e) {
    double t0 = fs_now();
    pthread_mutex_lock(&L->mu);
    if (L->taken > L->released) L->released++; /* the previous batch is given back */
    pthread_cond_broadcast(&L->cv);
    const int slot = (int)(L->taken % L->nslots);
    while (L->ready[slot] != L->taken && !L->failed) pthread_cond_wait(&L->cv, &L->mu);
    if (L->ready[slot] != L->taken) {
        if (e) *e = L->err;
        pthread_mutex_unlock(&L->mu);
        return NULL;
    }
    L->taken++;
    pthread_mutex_unlock(&L->mu);
    fs_batch *B = &L->slots[slot];
    B->wait_ms = (fs_now() - t0) * 1e3;
    L->wait_total_ms += B->wait_ms;
    return B;
}

/* ---------------------------------------------------------------- open / close */
static int check_opts(const fs_loader_opts *o, fs_error *e) {
    if (o->n_identities < 1 || o->n_identities > FS_MAX_IDENTITIES)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "loader: %d identities; expected 1..%d\n  hint: list one file per "
                         "identity (model.identities)",
                         o->n_identities, FS_MAX_IDENTITIES);
    if (o->world < 1 || o->rank < 0 || o->rank >= o->world)
        return fs_errorf(e, FS_EXIT_BADINPUT, "loader: rank %d of world %d; expected 0 <= rank < world", o->rank,
                         o->world);
    if (o->global_batch < 1 || o->global_batch % o->world != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "train.batch_per_identity %d is not divisible by the world size %d\n"
                         "  hint: use a global batch that is a multiple of the number of ranks (e.g. %d)",
                         o->global_batch, o->world, o->world * FS_MAX(1, o->global_batch / o->world));
    if (o->prefetch < 1 || o->threads < 1 || o->start_step < 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "loader: data.prefetch %d, data.threads %d, start step %ld; expected "
                         ">= 1, >= 1, >= 0",
                         o->prefetch, o->threads, o->start_step);
    return 0;
}

fs_masks_mode fs_loader_masks_mode(const char *text) {
    if (!strcmp(text, "on")) return FS_MASKS_ON;
    if (!strcmp(text, "off")) return FS_MASKS_OFF;
    return FS_MASKS_AUTO;
}

/* auto: masks when every file has /masks; on: every file must; off: none are read. */
static int decide_masks(fs_loader *L, fs_error *e) {
    int all = 1;
    for (int i = 0; i < L->o.n_identities && all; i++) {
        all = fs_faces_has_masks(L->faces[i]);
        if (!all && L->o.masks == FS_MASKS_ON)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: has no /masks dataset, and train.mask_loss is 'on' (every "
                             "identity file must have masks)\n  hint: add /masks uint8 [N,S,S] to the file (data synth "
                             "writes them, data import does not), or set train.mask_loss: auto or off",
                             fs_faces_path(L->faces[i]));
    }
    L->masks = all && L->o.masks != FS_MASKS_OFF;
    return 0;
}

/* Eye and mouth regions come from /landmarks: asked for, every file must have them. */
static int check_landmarks(const fs_loader *L, fs_error *e) {
    for (int i = 0; i < L->o.n_identities && L->o.regions; i++)
        if (!fs_faces_has_landmarks(L->faces[i]))
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: has no /landmarks dataset, and %s asks for eye and mouth "
                             "priority (its regions come from each face's 68 landmarks)\n  hint: use a file "
                             "written by faceswarm extract or data synth (both write /landmarks), or set the "
                             "priority back to 1 (off)",
                             fs_faces_path(L->faces[i]), L->o.regions_why ? L->o.regions_why : "the config");
    return 0;
}

/* Every file opens, has the model's resolution and the same face size as the first. */
static int open_files(fs_loader *L, fs_error *e) {
    const fs_loader_opts *o = &L->o;
    for (int i = 0; i < o->n_identities; i++) {
        if (fs_faces_open(&L->faces[i], o->paths[i], &o->map, e)) return -1;
        if (fs_faces_check_use(L->faces[i], o->identities ? o->identities[i] : NULL, o->require_consent,
                               o->global_batch, o->rank == 0, e))
            return -1;
        int S = fs_faces_size(L->faces[i]);
        L->count[i] = fs_faces_count(L->faces[i]);
        if (i > 0 && S != L->S)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: faces of %d px, but %s has %d px; every identity must have "
                             "the same face size\n  hint: re-import with --size %d",
                             o->paths[i], S, o->paths[0], L->S, L->S);
        if (o->resolution > 0 && S != o->resolution)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: faces of %d px; model.resolution is %d (the loader does not "
                             "resize)\n  hint: re-import with --size %d or set model.resolution: %d",
                             o->paths[i], S, o->resolution, o->resolution, S);
        if (L->count[i] > (long)UINT32_MAX)
            return fs_errorf(e, FS_EXIT_BADINPUT, "%s: %ld faces; at most %u per identity are supported", o->paths[i],
                             L->count[i], UINT32_MAX);
        L->S = S;
        L->L = FS_MAX(L->L, L->count[i]);
    }
    return 0;
}

/* The bytes one worker's buffers take (alloc_worker), without its permutation caches. */
static size_t worker_bytes(size_t S, size_t b, int masks, int regions) {
    size_t plane = S * S * b;
    return 3 * plane + (masks ? plane : 0) + (regions ? 2 * plane + sizeof(float) * 136 * b : 0) +
           (2 * sizeof(long) + sizeof(int)) * b + 2 * sizeof(float) * S * S; /* + fs_augment_work's maps */
}

static void alloc_worker(fs_loader *L, worker *w, int t) {
    const size_t face = (size_t)L->S * L->S * 3;
    w->L = L, w->t = t;
    w->raw = fs_aligned_alloc(face * (size_t)L->b);
    w->raw_mask = L->masks ? fs_aligned_alloc((size_t)L->S * L->S * (size_t)L->b) : NULL;
    if (L->o.regions) {
        w->raw_eye = fs_aligned_alloc((size_t)L->S * L->S * (size_t)L->b);
        w->raw_mouth = fs_aligned_alloc((size_t)L->S * L->S * (size_t)L->b);
        w->raw_lm = fs_malloc(sizeof(float) * 136 * (size_t)L->b);
    }
    w->idx = fs_malloc(sizeof(long) * (size_t)L->b);
    w->sorted = fs_malloc(sizeof(long) * (size_t)L->b);
    w->where = fs_malloc(sizeof(int) * (size_t)L->b);
    for (int i = 0; i < L->o.n_identities; i++)
        w->cache[i] = (perm_cache){.perm = fs_malloc(sizeof(uint32_t) * (size_t)L->count[i]), .epoch = -1};
    fs_augment_work_init(&w->work, L->S);
}

static void free_worker(worker *w) {
    for (int i = 0; i < FS_MAX_IDENTITIES; i++) free(w->cache[i].perm);
    free(w->raw), free(w->raw_mask), free(w->raw_eye), free(w->raw_mouth), free(w->raw_lm), free(w->idx),
        free(w->sorted), free(w->where);
    if (w->L) fs_augment_work_free(&w->work);
}

/* prefetch batches ahead (at least one per thread), plus the one the trainer holds */
static int batch_slots(int prefetch, int threads) { return FS_MAX(prefetch, threads) + 1; }

size_t fs_loader_buffer_bytes(int size, int per_rank, int n_identities, int prefetch, int threads, int masks,
                              int regions) {
    size_t batch = (size_t)size * size * 3 * (size_t)per_rank * n_identities;
    size_t slot = 2 * batch + (masks ? batch / 3 : 0) + (regions ? 2 * (batch / 3) : 0);
    return (size_t)batch_slots(prefetch, threads) * slot +
           (size_t)threads * worker_bytes((size_t)size, (size_t)per_rank, masks, regions);
}

static void alloc_buffers(fs_loader *L) {
    const size_t face = (size_t)L->S * L->S * 3, batch = face * (size_t)L->b * L->o.n_identities;
    L->nslots = batch_slots(L->o.prefetch, L->o.threads);
    L->slots = fs_calloc((size_t)L->nslots, sizeof(fs_batch));
    L->ready = fs_malloc(sizeof(long) * (size_t)L->nslots);
    for (int k = 0; k < L->nslots; k++) {
        fs_batch *B = &L->slots[k];
        B->n_identities = L->o.n_identities, B->per_rank = L->b, B->size = L->S;
        B->input = fs_aligned_alloc(batch);
        B->target = fs_aligned_alloc(batch);
        B->mask = L->masks ? fs_aligned_alloc(batch / 3) : NULL;
        B->eye = L->o.regions ? fs_aligned_alloc(batch / 3) : NULL;
        B->mouth = L->o.regions ? fs_aligned_alloc(batch / 3) : NULL;
        L->ready[k] = -1;
    }
    L->workers = fs_calloc((size_t)L->o.threads, sizeof(worker));
    for (int t = 0; t < L->o.threads; t++) alloc_worker(L, &L->workers[t], t);
}

int fs_loader_open(fs_loader **out, const fs_loader_opts *o, fs_error *e) {
    *out = NULL;
    if (check_opts(o, e)) return e ? e->code : FS_EXIT_BADINPUT;
    fs_loader *L = fs_calloc(1, sizeof *L);
    L->o = *o;
    L->b = o->global_batch / o->world;
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->cv, NULL);
    if (open_files(L, e) || decide_masks(L, e) || check_landmarks(L, e)) {
        fs_loader_close(L);
        return e ? e->code : FS_EXIT_BADINPUT;
    }
    L->o.paths = NULL, L->o.regions_why = NULL; /* the caller's arrays need not outlive open */
    L->o.map = (fs_faces_map){0};
    alloc_buffers(L);
    for (int t = 0; t < o->threads; t++) {
        worker *w = &L->workers[t];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            fs_loader_close(L);
            return fs_errorf(e, FS_EXIT_FAIL,
                             "loader: cannot start prefetch thread %d of %d\n  hint: check ulimit -u "
                             "or lower data.threads",
                             t + 1, o->threads);
        }
        w->started = 1;
    }
    *out = L;
    return 0;
}

void fs_loader_close(fs_loader *L) {
    if (!L) return;
    pthread_mutex_lock(&L->mu);
    L->stop = 1;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
    for (int t = 0; L->workers && t < L->o.threads; t++)
        if (L->workers[t].started) pthread_join(L->workers[t].thread, NULL);
    for (int t = 0; L->workers && t < L->o.threads; t++) free_worker(&L->workers[t]);
    for (int i = 0; i < FS_MAX_IDENTITIES; i++) fs_faces_close(L->faces[i]);
    for (int k = 0; L->slots && k < L->nslots; k++)
        free(L->slots[k].input), free(L->slots[k].target), free(L->slots[k].mask), free(L->slots[k].eye),
            free(L->slots[k].mouth);
    free(L->slots), free(L->ready), free(L->workers);
    pthread_cond_destroy(&L->cv);
    pthread_mutex_destroy(&L->mu);
    free(L);
}

int fs_loader_sample(fs_loader *L, int identity, long index, uint8_t *out, fs_error *e) {
    if (identity < 0 || identity >= L->o.n_identities)
        return fs_errorf(e, FS_EXIT_FAIL, "loader: identity %d; expected 0..%d", identity, L->o.n_identities - 1);
    if (index < 0) return fs_errorf(e, FS_EXIT_FAIL, "loader: sample index %ld; expected >= 0", index);
    return fs_faces_read(L->faces[identity], index % L->count[identity], 1, out, e);
}
