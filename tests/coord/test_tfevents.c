/* test_tfevents.c — the coordinator's TensorBoard file reads back record by record: both
 * masked CRC32Cs of every record check, the first Event is file_version "brain.Event:2",
 * and a tiny protobuf decoder finds the scalars sent (rank 0's metrics, rankN/step_ms of
 * every rank) and the preview PNG as an image summary. A flipped byte is caught by the CRC.
 * If python3 has the tensorboard package, TensorBoard itself also reads the file. */
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comms/coord_client.h"
#include "comms/tfevents.h"
#include "tests/coord/coord_testlib.h"
#include "core/common.h"

static char g_addr[256];
static const char *g_run;

/* ---------------------------------------------------------------- protobuf reading */
typedef struct pbr {
    const uint8_t *p, *end;
} pbr;

static uint64_t varint(pbr *r) {
    uint64_t v = 0;
    for (int shift = 0; r->p < r->end && shift < 64; shift += 7) {
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    CHECK(0, "varint runs past the end of its message");
    return 0;
}
/* Next field: returns its number, sets wire type and, for length-delimited ones, a sub-reader. */
static int field(pbr *r, int *wire, pbr *sub, uint64_t *v) {
    if (r->p >= r->end) return 0;
    uint64_t key = varint(r);
    *wire = (int)(key & 7);
    if (*wire == 0) *v = varint(r);
    else if (*wire == 1 || *wire == 5) {
        size_t n = *wire == 1 ? 8 : 4;
        CHECK(r->p + n <= r->end, "fixed field cut off");
        *v = 0;
        memcpy(v, r->p, n);
        r->p += n;
    } else if (*wire == 2) {
        uint64_t n = varint(r);
        CHECK(n <= (uint64_t)(r->end - r->p), "length-delimited field of %llu bytes overruns", (unsigned long long)n);
        sub->p = r->p, sub->end = r->p + n;
        r->p += n;
    } else CHECK(0, "unexpected wire type %d", *wire);
    return (int)(key >> 3);
}

typedef struct seen {
    int file_version, loss_ok, rank1_ms, image_ok, scalars;
} seen;

static void check_value(pbr v, int64_t step, seen *s, const uint8_t *png, size_t png_len) {
    char tag[128] = "";
    int wire, f;
    pbr sub;
    uint64_t x;
    while ((f = field(&v, &wire, &sub, &x))) {
        if (f == 1 && wire == 2) snprintf(tag, sizeof tag, "%.*s", (int)(sub.end - sub.p), (const char *)sub.p);
        if (f == 2 && wire == 5) {
            float val;
            memcpy(&val, &x, 4);
            s->scalars++;
            if (!strcmp(tag, "loss")) s->loss_ok += val == (float)(step * 0.5);
            if (!strcmp(tag, "rank1/step_ms")) s->rank1_ms += val == 21.0f;
        }
        if (f == 4 && wire == 2) {
            uint64_t h = 0, w = 0;
            pbr img = sub, data = {0};
            while ((f = field(&img, &wire, &sub, &x))) {
                if (f == 1) h = x;
                if (f == 2) w = x;
                if (f == 4) data = sub;
            }
            s->image_ok += !strcmp(tag, "preview/a_to_b") && h == 4 && w == 6 &&
                           (size_t)(data.end - data.p) == png_len && !memcmp(data.p, png, png_len);
        }
    }
}

static void check_event(const uint8_t *d, size_t n, seen *s, const uint8_t *png, size_t png_len) {
    pbr r = {d, d + n}, sub, vr;
    int wire, f, step_seen = 0;
    uint64_t x;
    int64_t step = 0;
    while ((f = field(&r, &wire, &sub, &x))) {
        if (f == 2) step = (int64_t)x, step_seen = 1;
        if (f == 3) s->file_version += sub.end - sub.p == 13 && !memcmp(sub.p, "brain.Event:2", 13);
        if (f == 5) {
            CHECK(step_seen, "summary before the step field");
            while ((f = field(&sub, &wire, &vr, &x)))
                if (f == 1 && wire == 2) check_value(vr, step, s, png, png_len);
        }
    }
}

/* ---------------------------------------------------------------- set up */
static uint8_t *write_png(const char *path, size_t *len) {
    FILE *f = fopen(path, "wb");
    CHECK(f, "cannot write %s", path);
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    png_init_io(p, f);
    png_set_IHDR(p, info, 6, 4, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    uint8_t row[18];
    for (int y = 0; y < 4; y++) {
        for (int i = 0; i < 18; i++) row[i] = (uint8_t)(y * 60 + i * 10);
        png_write_row(p, row);
    }
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    fclose(f);
    fs_error e = {0};
    uint8_t *data = (uint8_t *)fs_read_file(path, len, &e);
    CHECK(data, "%s", e.msg);
    return data;
}

static void send_all(void) {
    fs_coord_client *c[2];
    fs_error e = {0};
    for (int r = 0; r < 2; r++) {
        fs_coord_identity id = {"tb-job", r, 2, "tbhost", 10 + r, 1};
        CHECK(fs_coord_connect(&c[r], g_addr, NULL, &id, 0.05, &e) == 0, "%s", e.msg);
    }
    for (int s = 1; s <= 5; s++) {
        char json[128];
        snprintf(json, sizeof json, "{\"loss\":%g,\"lr\":5e-05,\"step_ms\":%d}", s * 0.5, 20);
        fs_coord_metrics(c[0], s, json);
        fs_coord_metrics(c[1], s, "{\"loss\":9,\"step_ms\":21}");
    }
    fs_coord_preview(c[0], 5, "previews/step_5.png", "preview/a_to_b");
    fs_coord_preview(c[0], 5, "../escape.png", "preview/bad");
    for (int r = 0; r < 2; r++) fs_coord_goodbye(c[r], 1, ""), fs_coord_close(c[r]);
}

static char *event_file(void) {
    char cmd[800], *path = malloc(1024);
    snprintf(cmd, sizeof cmd, "ls %s/tensorboard/events.out.tfevents.*", g_run);
    FILE *p = popen(cmd, "r");
    CHECK(p && fgets(path, 1024, p), "no event file in %s/tensorboard", g_run);
    pclose(p);
    path[strcspn(path, "\n")] = 0;
    return path;
}

static void tensorboard_reads(const char *dir) {
    if (system("python3 -c 'import tensorboard' >/dev/null 2>&1") != 0) {
        printf("tfevents: python3 tensorboard package absent: TensorBoard's own reader skipped\n");
        return;
    }
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "python3 -c \"from tensorboard.backend.event_processing.event_accumulator import EventAccumulator as E; "
             "a=E('%s'); a.Reload(); s=a.Scalars('loss'); assert [x.step for x in s]==[1,2,3,4,5], s; assert "
             "a.Images('preview/a_to_b')\"",
             dir);
    CHECK(system(cmd) == 0, "TensorBoard could not read %s", dir);
    printf("tfevents: TensorBoard's EventAccumulator read the file\n");
}

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    g_run = tl_run_dir("coord_tfevents");
    char png_path[800], dir[700];
    snprintf(dir, sizeof dir, "%s/previews", g_run);
    fs_error e = {0};
    CHECK(!fs_mkdir_p(dir, &e), "%s", e.msg);
    snprintf(png_path, sizeof png_path, "%s/step_5.png", dir);
    size_t png_len;
    uint8_t *png = write_png(png_path, &png_len);
    pid_t d =
        tl_daemon(g_run, g_addr, sizeof g_addr, "tcp://127.0.0.1:*", "--job-id", "tb-job", "--world-size", "2", NULL);
    send_all();
    tl_kill(d, SIGTERM);
    char *path = event_file();
    FILE *f = fopen(path, "rb");
    CHECK(f, "cannot open %s", path);
    seen s = {0};
    int records = 0, rc;
    uint8_t *data;
    size_t len;
    char why[256];
    while ((rc = fs_tfevents_read_record(f, &data, &len, why, sizeof why)) == 1)
        check_event(data, len, &s, png, png_len), free(data), records++;
    fclose(f);
    CHECK(rc == 0, "record %d: %s", records, why);
    CHECK(s.file_version == 1 && s.loss_ok == 5 && s.rank1_ms == 5 && s.image_ok == 1,
          "file_version %d, loss %d/5, rank1/step_ms %d/5, image %d/1 (%d records)", s.file_version, s.loss_ok,
          s.rank1_ms, s.image_ok, records);
    /* A flipped byte in the middle of the file is caught by a CRC. */
    size_t flen;
    uint8_t *bytes = (uint8_t *)fs_read_file(path, &flen, &e);
    bytes[flen / 2] ^= 0x40;
    f = fmemopen(bytes, flen, "rb");
    while ((rc = fs_tfevents_read_record(f, &data, &len, why, sizeof why)) == 1) free(data);
    CHECK(rc == -1 && strstr(why, "CRC"), "a corrupted file read back cleanly (%s)", why);
    fclose(f);
    snprintf(dir, sizeof dir, "%s/tensorboard", g_run);
    tensorboard_reads(dir);
    free(bytes), free(path), free(png);
    tl_cleanup();
    printf("tfevents: %d records, CRCs good, %d scalars decoded, image summary intact; corruption detected\n", records,
           s.scalars);
    return 0;
}
