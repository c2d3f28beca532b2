/* test_meta.c — everything a checkpoint reader trusts is covered by a checksum (format v2):
 * each root attribute (step, epoch, seed, world size, global batch, ...), an added or a
 * removed attribute, /config, /model (content and header). A format v1 file of today's main
 * (tests/fixtures/v1) still reads, with a notice, by the v1 rule; its unreadable /model or
 * out-of-range epoch is refused. Write failures name the errno and leave no temp file. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "reseal.h"
#include "trainer/checkpoint.h"

#define N 1000
static char g_dir[512];

static const char *tmp(const char *name) {
    static char buf[4][700];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void copy(const char *from, const char *to) {
    size_t len;
    fs_error e = {0};
    char *data = fs_read_file(from, &len, &e);
    if (!data || fs_write_file_atomic(to, data, len, &e)) {
        fprintf(stderr, "FAIL: cannot copy %s: %s\n", from, e.msg);
        exit(1);
    }
    free(data);
}

static int is_sealed(const char *path) {
    char head[16] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    return got == sizeof head && !memcmp(head, "faceswarm seal 1", 16);
}

static void reseal(const char *path) { CHECK(test_reseal(path) == 0, "reseal %s", path); }

static void read_refused(const char *path, const char *want, const char *why);
/* Reading path must fail with code 2 and a message holding want. A sealed file (every v2 file
 * written since seals) is refused by its seal first, whatever changed; then it is resealed
 * and must still be refused, by the checksum that covers what changed. */
static void expect_refused(const char *path, const char *want, const char *why) {
    if (is_sealed(path)) {
        char seal_why[300];
        snprintf(seal_why, sizeof seal_why, "%s (sealed)", why);
        read_refused(path, " after it was written", seal_why);
        reseal(path);
    }
    read_refused(path, want, why);
}
static void read_refused(const char *path, const char *want, const char *why) {
    fs_ckpt_meta m;
    fs_error e = {0};
    int rc = fs_ckpt_read(path, 0, &m, NULL, NULL, NULL, NULL, &e);
    CHECK(rc == FS_EXIT_BADINPUT && e.code == FS_EXIT_BADINPUT, "%s: read returned %d (code %d), expected 2", why, rc,
          e.code);
    CHECK(strstr(e.msg, want) != NULL, "%s: message lacks '%s': %s", why, want, e.msg);
    CHECK(strstr(e.msg, ".c:") == NULL, "%s: message names a source file: %s", why, e.msg);
    if (!rc) fs_ckpt_meta_free(&m);
    ssize_t open_ids = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    CHECK(open_ids == 0, "%s: the reader left %zd HDF5 object(s) open", why, open_ids);
}

static void set_i64(const char *path, const char *name, long long v) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), a = H5Aopen(f, name, H5P_DEFAULT);
    CHECK(a >= 0 && H5Awrite(a, H5T_NATIVE_LLONG, &v) >= 0, "cannot set %s", name);
    H5Aclose(a);
    H5Fclose(f);
}

static void set_str(const char *path, const char *obj, const char *name, const char *v) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), o = H5Oopen(f, obj, H5P_DEFAULT);
    if (H5Aexists(o, name) > 0) H5Adelete(o, name);
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(v) + 1);
    hid_t a = H5Acreate2(o, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(a >= 0 && H5Awrite(a, t, v) >= 0, "cannot set %s", name);
    H5Aclose(a), H5Sclose(s), H5Tclose(t), H5Oclose(o), H5Fclose(f);
}

static void del_attr(const char *path, const char *name) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(H5Adelete(f, name) >= 0, "cannot delete %s", name);
    H5Fclose(f);
}

/* Overwrites the first byte of the stored text of /name (same size, another content). */
static void poke_text(const char *path, const char *name) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), d = H5Dopen2(f, name, H5P_DEFAULT), t = H5Dget_type(d);
    char *buf = calloc(1, 1 << 20);
    CHECK(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0, "cannot read %s", name);
    buf[0] ^= 0x20;
    CHECK(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0, "cannot write %s", name);
    free(buf);
    H5Tclose(t), H5Dclose(d), H5Fclose(f);
}

/* Zeroes the object header of /name in the file's bytes. */
static void destroy_header(const char *path, const char *name) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    H5O_info_t info;
    hsize_t base = 0; /* object addresses count from the superblock, after the user block */
    hid_t fcpl = H5Fget_create_plist(f);
    CHECK(H5Oget_info_by_name2(f, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 && H5Pget_userblock(fcpl, &base) >= 0,
          "no %s", name);
    H5Pclose(fcpl);
    H5Fclose(f);
    info.addr += base;
    int fd = open(path, O_WRONLY);
    char zero[48] = {0};
    CHECK(fd >= 0 && pwrite(fd, zero, sizeof zero, (off_t)info.addr) == (ssize_t)sizeof zero, "cannot zero");
    close(fd);
}

static void write_v2(const char *path) {
    static float p[N], m[N], v[N];
    for (int i = 0; i < N; i++) p[i] = (float)i * 0.5f, m[i] = (float)i, v[i] = 1.0f / (float)(i + 1);
    fs_ckpt_meta meta = {.step = 40,
                         .epoch = 2,
                         .seed = 7,
                         .world_size = 2,
                         .global_batch = 8,
                         .model_hash = 0x1234,
                         .n_params = N,
                         .config_text = "model:\n  resolution: 16\n",
                         .model_text = "layer table\n"};
    fs_error e = {0};
    CHECK(fs_ckpt_write(path, &meta, p, m, v, NULL, &e) == 0, "write: %s", e.msg);
}

static void tampered_attributes(const char *good) {
    static const struct {
        const char *name;
        long long v;
    } ints[] = {
        {"step", 3000},           {"epoch", 3},         {"seed", 8},     {"world_size", 4}, {"global_batch", 16},
        {"nonfinite_skipped", 1}, {"restart_count", 2}, {"n_params", N}, {"version", 2},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(ints); i++) {
        copy(good, tmp("t.h5"));
        hid_t f = H5Fopen(tmp("t.h5"), H5F_ACC_RDONLY, H5P_DEFAULT), a = H5Aopen(f, ints[i].name, H5P_DEFAULT);
        long long was = 0;
        H5Aread(a, H5T_NATIVE_LLONG, &was);
        H5Aclose(a), H5Fclose(f);
        if (was == ints[i].v) continue; /* n_params, version: the unchanged value must still read */
        set_i64(tmp("t.h5"), ints[i].name, ints[i].v);
        char why[64];
        snprintf(why, sizeof why, "%s changed to %lld", ints[i].name, ints[i].v);
        expect_refused(tmp("t.h5"), "metadata checksum mismatch", why);
    }
    copy(good, tmp("t.h5"));
    set_i64(tmp("t.h5"), "epoch", -7);
    expect_refused(tmp("t.h5"), "epoch", "epoch -7");
    const char *strs[] = {"model_hash", "created", "faceswarm"};
    for (int i = 0; i < 3; i++) {
        copy(good, tmp("t.h5"));
        set_str(tmp("t.h5"), "/", strs[i], i == 0 ? "0000000000001235" : "x");
        expect_refused(tmp("t.h5"), "metadata checksum mismatch", strs[i]);
    }
    /* The same value stored another way (a rewritten string) is the same metadata. */
    copy(good, tmp("t.h5"));
    set_str(tmp("t.h5"), "/", "format", "faceswarm.checkpoint");
    read_refused(tmp("t.h5"), " after it was written", "rewritten format, sealed");
    reseal(tmp("t.h5"));
    fs_ckpt_meta m;
    fs_error e = {0};
    CHECK(fs_ckpt_read(tmp("t.h5"), 0, &m, NULL, NULL, NULL, NULL, &e) == 0, "rewritten format: %s", e.msg);
    if (!e.code) fs_ckpt_meta_free(&m);
    copy(good, tmp("t.h5"));
    set_str(tmp("t.h5"), "/", "note", "added later");
    expect_refused(tmp("t.h5"), "metadata checksum mismatch", "an added attribute");
    copy(good, tmp("t.h5"));
    del_attr(tmp("t.h5"), "restart_count");
    expect_refused(tmp("t.h5"), "metadata checksum mismatch", "a removed attribute");
    copy(good, tmp("t.h5"));
    del_attr(tmp("t.h5"), "meta_checksum");
    expect_refused(tmp("t.h5"), "meta_checksum is missing", "no meta_checksum");
    copy(good, tmp("t.h5"));
    set_str(tmp("t.h5"), "/params", "checksum", "0000000000000000");
    expect_refused(tmp("t.h5"), "metadata checksum mismatch", "a dataset's checksum attribute");
}

static void tampered_texts(const char *good) {
    const char *names[] = {"/config", "/model"};
    for (int i = 0; i < 2; i++) {
        copy(good, tmp("t.h5"));
        poke_text(tmp("t.h5"), names[i]);
        char want[64];
        snprintf(want, sizeof want, "checksum mismatch in %s", names[i]);
        expect_refused(tmp("t.h5"), want, names[i]);
        copy(good, tmp("t.h5"));
        destroy_header(tmp("t.h5"), names[i]);
        expect_refused(tmp("t.h5"), names[i], "a destroyed header");
    }
}

/* A one-bit change in each of /params, /adam_m, /adam_v, resealed, is refused by that dataset's
 * checksum. Several bits per dataset: the computed checksum then falls on either side of the
 * stored one, so a comparison that refuses only one of the two orders cannot pass. */
static void tampered_floats(const char *good) {
    const char *names[] = {"/params", "/adam_m", "/adam_v"};
    for (int i = 0; i < 3; i++) {
        char want[64];
        snprintf(want, sizeof want, "checksum mismatch in %s", names[i]);
        for (int bit = 0; bit < 8; bit++) {
            copy(good, tmp("t.h5"));
            hid_t f = H5Fopen(tmp("t.h5"), H5F_ACC_RDWR, H5P_DEFAULT), d = H5Dopen2(f, names[i], H5P_DEFAULT);
            float x[N];
            uint32_t u;
            CHECK(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0, "cannot read %s", names[i]);
            memcpy(&u, &x[bit], sizeof u);
            u ^= 1u << bit; /* a low mantissa bit: the value stays finite and close */
            memcpy(&x[bit], &u, sizeof u);
            CHECK(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0, "cannot write %s", names[i]);
            H5Dclose(d), H5Fclose(f);
            expect_refused(tmp("t.h5"), want, names[i]);
        }
    }
}

/* /config and /model are HDF5 strings (h5dump and h5py show text). */
static void texts_are_strings(const char *good) {
    hid_t f = H5Fopen(good, H5F_ACC_RDONLY, H5P_DEFAULT);
    const char *names[] = {"/config", "/model"};
    for (int i = 0; i < 2; i++) {
        hid_t d = H5Dopen2(f, names[i], H5P_DEFAULT), t = H5Dget_type(d);
        CHECK(H5Tget_class(t) == H5T_STRING && H5Tget_cset(t) == H5T_CSET_UTF8, "%s is not a UTF-8 string", names[i]);
        H5Tclose(t), H5Dclose(d);
    }
    H5Fclose(f);
    fs_ckpt_meta m;
    fs_ckpt_sums s;
    fs_error e = {0};
    CHECK(fs_ckpt_read(good, N, &m, NULL, NULL, NULL, &s, &e) == 0, "read: %s", e.msg);
    if (e.code) return;
    CHECK(m.version == 2 && !fs_ckpt_notice(&m) && strlen(s.meta) == 16 && strlen(s.model) == 16, "v2 sums");
    CHECK(!strcmp(m.config_text, "model:\n  resolution: 16\n") && !strcmp(m.model_text, "layer table\n"), "texts");
    CHECK(m.step == 40 && m.epoch == 2 && m.seed == 7 && m.world_size == 2 && m.global_batch == 8, "values");
    fs_ckpt_meta_free(&m);
}

/* Today's main wrote format v1: it still reads (with a notice); an unreadable /model or an
 * epoch out of range is refused. */
static void format_v1(const char *src) {
    char fx[1024];
    snprintf(fx, sizeof fx, "%s/tests/fixtures/v1/ckpt-0000000002.h5", src);
    fs_ckpt_meta m;
    fs_error e = {0};
    CHECK(fs_ckpt_read(fx, 0, &m, NULL, NULL, NULL, NULL, &e) == 0, "v1 fixture: %s", e.msg);
    if (!e.code) {
        CHECK(m.version == 1 && fs_ckpt_notice(&m) && m.step == 2 && m.n_params == 4330, "v1 fields");
        CHECK(m.model_text && strstr(m.model_text, "layer"), "v1 /model text: %s", m.model_text);
        fs_ckpt_meta_free(&m);
    }
    copy(fx, tmp("v1.h5"));
    destroy_header(tmp("v1.h5"), "/model");
    expect_refused(tmp("v1.h5"), "/model", "v1 with a destroyed /model");
    copy(fx, tmp("v1.h5"));
    set_i64(tmp("v1.h5"), "epoch", -7);
    expect_refused(tmp("v1.h5"), "epoch is -7", "v1 with epoch -7");
}

/* A write into a missing directory says why, and leaves no temp file. */
static void write_errors(void) {
    static float p[N];
    fs_ckpt_meta meta =
        {.step = 1, .world_size = 1, .global_batch = 1, .n_params = N, .config_text = "", .model_text = ""};
    fs_error e = {0};
    int rc = fs_ckpt_write(tmp("missing/ckpt.h5"), &meta, p, p, p, NULL, &e);
    CHECK(rc == FS_EXIT_FAIL && strstr(e.msg, "No such file or directory") && strstr(e.msg, "directory exists") &&
              !strstr(e.msg, "is a faceswarm checkpoint"),
          "missing directory: rc %d: %s", rc, e.msg);
}

int main(void) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    snprintf(g_dir, sizeof g_dir, "ckpt_test_tmp/meta");
    fs_error e = {0};
    if (!src || fs_mkdir_p(g_dir, &e)) {
        fprintf(stderr, "FAIL: set FACESWARM_SOURCE_DIR; %s\n", e.msg);
        return 1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char good[700]; /* tmp()'s buffers rotate */
    snprintf(good, sizeof good, "%s", tmp("good.h5"));
    write_v2(good);
    texts_are_strings(good);
    tampered_attributes(good);
    tampered_texts(good);
    tampered_floats(good);
    format_v1(src);
    write_errors();
    if (failures) fprintf(stderr, "ckpt_meta: %d check(s) failed\n", failures);
    else printf("ckpt_meta: every tampered field refused, v1 read with a notice\n");
    return failures ? 1 : 0;
}
