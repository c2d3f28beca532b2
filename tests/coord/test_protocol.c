/* test_protocol.c — coordinator protocol: every message type survives encode → decode with
 * every field intact; every truncation, a bad magic/version/type/flag, trailing bytes, and
 * out-of-range or unsafe fields are refused with a reason. `--write-corpus DIR` writes the
 * fuzzer's seed corpus (one valid message of each type). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comms/protocol.h"
#include "core/common.h"

#include "tests/check.h"

static uint8_t buf[FS_PROTO_MAX_MSG * 2];
static fs_msg in, out;

static void base(int type) {
    memset(&in, 0, sizeof in);
    in.type = type, in.rank = 3, in.inc = 0x1234567890abcdefull,
    in.seq = fs_proto_type_flags(type) & FS_MF_SEQUENCED ? 42 : 0;
}

static long roundtrip(void) {
    char why[256];
    long n = fs_proto_encode(&in, buf, sizeof buf, why, sizeof why);
    CHECK(n > 0, "encode %s: %s", fs_proto_type_name(in.type), why);
    if (n <= 0) return n;
    int rc = fs_proto_decode(buf, (size_t)n, &out, why, sizeof why);
    CHECK(rc == 0, "decode %s: %s", fs_proto_type_name(in.type), why);
    CHECK(out.type == in.type && out.rank == in.rank && out.inc == in.inc && out.seq == in.seq, "header of %s",
          fs_proto_type_name(in.type));
    /* every strict prefix is refused */
    for (long cut = 0; cut < n; cut++)
        CHECK(fs_proto_decode(buf, (size_t)cut, &out, why, sizeof why) != 0, "%s cut at %ld accepted",
              fs_proto_type_name(in.type), cut);
    fs_proto_decode(buf, (size_t)n, &out, why, sizeof why);
    return n;
}

static void make(int type) {
    base(type);
    switch (type) {
    case FS_MSG_REGISTER:
        in.u.reg.world = 8, in.u.reg.pid = 4242, in.u.reg.config_hash = 0xfeedfacecafebeefull;
        strcpy(in.u.reg.job_id, "job-7.a"), strcpy(in.u.reg.host, "node7");
        break;
    case FS_MSG_HEARTBEAT:
        in.u.hb.step = 1200, in.u.hb.coll_seq = 9131, in.u.hb.bucket = 5, in.u.hb.coll_state = 1,
        in.u.hb.t_ns = 123456789, in.u.hb.dropped = 7;
        break;
    case FS_MSG_METRICS:
        in.u.metrics.step = 1200, in.u.metrics.dropped = 2,
        strcpy(in.u.metrics.json, "{\"loss\": 0.125, \"images_per_s\":310.5,\"loss_a\":-1e-3}");
        break;
    case FS_MSG_CHECKPOINT:
        in.u.ckpt.step = 5000, strcpy(in.u.ckpt.path, "checkpoints/step_5000.h5"), in.u.ckpt.n = 2;
        strcpy(in.u.ckpt.names[0], "params"), strcpy(in.u.ckpt.hex[0], "00ff00ff00ff00ff");
        strcpy(in.u.ckpt.names[1], "adam_m"), strcpy(in.u.ckpt.hex[1], "DEADBEEF");
        break;
    case FS_MSG_PREVIEW:
        in.u.preview.step = 10, strcpy(in.u.preview.path, "previews/step_10.png"),
        strcpy(in.u.preview.tag, "preview/a_to_b");
        break;
    case FS_MSG_GOODBYE:
        in.u.bye.ok = 0, in.u.bye.dropped = 3, strcpy(in.u.bye.text, "CUDA error: out of memory");
        break;
    case FS_MSG_STATUS_REQ: in.rank = FS_PROTO_NO_RANK, in.u.sreq.json = 1; break;
    case FS_MSG_WELCOME: in.u.welcome.boot = 99, in.u.welcome.acked = 41; break;
    case FS_MSG_ACK: in.u.ack.acked = 77, in.u.ack.t_echo_ns = 555; break;
    case FS_MSG_STATUS: in.u.status.text = "job x\n", in.u.status.len = 6; break;
    }
}

static void test_roundtrips(void) {
    make(FS_MSG_REGISTER), roundtrip();
    CHECK(out.u.reg.world == 8 && out.u.reg.pid == 4242 && out.u.reg.config_hash == 0xfeedfacecafebeefull &&
              !strcmp(out.u.reg.job_id, "job-7.a") && !strcmp(out.u.reg.host, "node7"),
          "register fields");
    make(FS_MSG_HEARTBEAT), roundtrip();
    CHECK(out.u.hb.step == 1200 && out.u.hb.coll_seq == 9131 && out.u.hb.bucket == 5 && out.u.hb.coll_state == 1 &&
              out.u.hb.t_ns == 123456789 && out.u.hb.dropped == 7,
          "heartbeat fields");
    make(FS_MSG_METRICS), roundtrip();
    CHECK(out.u.metrics.step == 1200 && out.u.metrics.n == 3 && !strcmp(out.u.metrics.keys[1], "images_per_s") &&
              out.u.metrics.vals[1] == 310.5 && out.u.metrics.vals[2] == -1e-3,
          "metrics fields (n=%d)", out.u.metrics.n);
    make(FS_MSG_CHECKPOINT), roundtrip();
    CHECK(out.u.ckpt.step == 5000 && out.u.ckpt.n == 2 && !strcmp(out.u.ckpt.path, "checkpoints/step_5000.h5") &&
              !strcmp(out.u.ckpt.hex[1], "DEADBEEF") && !strcmp(out.u.ckpt.names[0], "params"),
          "checkpoint fields");
    make(FS_MSG_PREVIEW), roundtrip();
    CHECK(!strcmp(out.u.preview.tag, "preview/a_to_b") && !strcmp(out.u.preview.path, "previews/step_10.png"),
          "preview fields");
    make(FS_MSG_GOODBYE), roundtrip();
    CHECK(out.u.bye.ok == 0 && out.u.bye.dropped == 3 && !strcmp(out.u.bye.text, "CUDA error: out of memory"),
          "goodbye fields");
    make(FS_MSG_STATUS_REQ), roundtrip();
    CHECK(out.u.sreq.json == 1, "status_req fields");
    make(FS_MSG_WELCOME), roundtrip();
    CHECK(out.u.welcome.boot == 99 && out.u.welcome.acked == 41, "welcome fields");
    make(FS_MSG_ACK), roundtrip();
    CHECK(out.u.ack.acked == 77 && out.u.ack.t_echo_ns == 555, "ack fields");
    make(FS_MSG_REREGISTER), roundtrip();
    make(FS_MSG_STATUS), roundtrip();
    CHECK(out.u.status.len == 6 && !memcmp(out.u.status.text, "job x\n", 6), "status fields");
}

/* Encodes the current `in`, applies a byte patch, and expects a refusal mentioning `word`. */
static void expect_refused(const char *what, const char *word, long at, uint8_t value) {
    char why[256] = "";
    long n = fs_proto_encode(&in, buf, sizeof buf, why, sizeof why);
    if (n < 0) { /* the encoder refusing an over-long field is also a refusal */
        CHECK(word == NULL || strstr(why, "over-long") || strstr(why, "does not fit"), "%s: encoder said '%s'", what,
              why);
        return;
    }
    if (at >= 0) buf[at] = value;
    int rc = fs_proto_decode(buf, (size_t)n, &out, why, sizeof why);
    CHECK(rc != 0, "%s was accepted", what);
    CHECK(rc == 0 || !word || strstr(why, word), "%s: reason '%s' lacks '%s'", what, why, word);
}

static void test_bad_header(void) {
    make(FS_MSG_HEARTBEAT);
    expect_refused("bad magic", "magic", 0, 'X');
    expect_refused("version 2", "version", 4, 2);
    expect_refused("type 99", "type", 5, 99);
    expect_refused("flags set", "flags", 6, 1);
    expect_refused("rank 70000", "rank", 10, 0x01);
    make(FS_MSG_METRICS), in.seq = 0;
    expect_refused("sequenced with seq 0", "seq", -1, 0);
    char why[256];
    make(FS_MSG_HEARTBEAT);
    long n = fs_proto_encode(&in, buf, sizeof buf, why, sizeof why);
    buf[n] = 0;
    CHECK(fs_proto_decode(buf, (size_t)n + 1, &out, why, sizeof why) != 0 && strstr(why, "trailing"),
          "trailing byte: %s", why);
}

static void test_bad_fields(void) {
    make(FS_MSG_REGISTER), in.u.reg.world = 2;
    expect_refused("rank >= world", "world", -1, 0);
    make(FS_MSG_REGISTER), strcpy(in.u.reg.job_id, "job id");
    expect_refused("job id with a space", "job id", -1, 0);
    make(FS_MSG_REGISTER), strcpy(in.u.reg.host, "no\x01"
                                                 "de");
    expect_refused("host with a control byte", "printable", -1, 0);
    make(FS_MSG_HEARTBEAT), in.u.hb.coll_state = 2;
    expect_refused("coll_state 2", "coll_state", -1, 0);
    make(FS_MSG_HEARTBEAT), in.u.hb.bucket = -5;
    expect_refused("bucket -5", "bucket", -1, 0);
    const char *bad_json[] = {"{\"loss\": nan}",   "{\"loss\": 1e999}", "{\"a\":{\"b\":1}}",
                              "{\"a\":1,\"a\":2}", "{\"a\":1",          "[1]",
                              "{\"a b\":1}",       "{\"a\":\"x\"}",     "{\"a\":1}x"};
    for (size_t i = 0; i < FS_ARRAY_LEN(bad_json); i++) {
        make(FS_MSG_METRICS), strcpy(in.u.metrics.json, bad_json[i]);
        expect_refused(bad_json[i], "metrics JSON", -1, 0);
    }
    const char *bad_paths[] = {"../outside.h5", "/etc/passwd", "a/../../b", "ckpt/..", "a\\b", "a\x7f"};
    for (size_t i = 0; i < FS_ARRAY_LEN(bad_paths); i++) {
        make(FS_MSG_CHECKPOINT), strcpy(in.u.ckpt.path, bad_paths[i]);
        expect_refused(bad_paths[i], "path", -1, 0);
    }
    make(FS_MSG_CHECKPOINT), strcpy(in.u.ckpt.path, "ckpt/step_1.h5");
    long n = fs_proto_encode(&in, buf, sizeof buf, (char[64]){0}, 64);
    buf[FS_PROTO_HEADER + 8 + 2 + 5] = 0; /* a NUL inside the path */
    char why[256];
    CHECK(fs_proto_decode(buf, (size_t)n, &out, why, sizeof why) != 0, "path with a NUL accepted");
    make(FS_MSG_CHECKPOINT), in.u.ckpt.n = 0;
    expect_refused("checkpoint without checksums", "n_checksums", -1, 0);
    make(FS_MSG_CHECKPOINT), strcpy(in.u.ckpt.hex[0], "xyz");
    expect_refused("non-hex checksum", "hexadecimal", -1, 0);
    make(FS_MSG_GOODBYE), in.u.bye.ok = 3;
    expect_refused("goodbye ok=3", "ok", -1, 0);
    make(FS_MSG_METRICS);
    memset(in.u.metrics.json, ' ', FS_PROTO_MAX_JSON + 1), in.u.metrics.json[FS_PROTO_MAX_JSON + 1 - 1] = 0;
    in.u.metrics.json[0] = '{', in.u.metrics.json[FS_PROTO_MAX_JSON - 1] = '}';
    CHECK(fs_proto_encode(&in, buf, sizeof buf, why, sizeof why) > 0, "a metrics object of exactly the cap: %s", why);
}

static void test_paths(void) {
    char why[256];
    const char *good[] = {"ckpt/step_1.h5", "a..b/c", "./x", ".hidden/..x"};
    for (size_t i = 0; i < FS_ARRAY_LEN(good); i++)
        CHECK(fs_proto_path_ok(good[i], strlen(good[i]), why, sizeof why) == 0, "'%s' refused: %s", good[i], why);
}

/* Every type of the table, from the table (FS_MSG_LIST). */
#define TYPE_ROW(num, name, NAME, from, flags) FS_MSG_##NAME,
static const int types[] = {FS_MSG_LIST(TYPE_ROW)};
#undef TYPE_ROW

/* The table is what decides: the type byte's known values, one direction each, and the
 * sequenced set (metrics, checkpoint, preview, goodbye; once a hand-written number range). */
static void test_table(void) {
    int n_known = 0;
    for (int t = 0; t < 256; t++) {
        unsigned f = fs_proto_type_flags(t), dir = f & (FS_MF_FROM_RANK | FS_MF_FROM_TOOL | FS_MF_FROM_DAEMON);
        int known = fs_proto_type_known(t);
        n_known += known;
        CHECK(known == (strcmp(fs_proto_type_name(t), "unknown") != 0), "type %d: known %d but named '%s'", t, known,
              fs_proto_type_name(t));
        CHECK(!known || dir == FS_MF_FROM_RANK || dir == FS_MF_FROM_TOOL || dir == FS_MF_FROM_DAEMON,
              "type %d has direction flags %#x", t, dir);
        int seq = t == FS_MSG_METRICS || t == FS_MSG_CHECKPOINT || t == FS_MSG_PREVIEW || t == FS_MSG_GOODBYE;
        CHECK(!!(f & FS_MF_SEQUENCED) == seq, "type %d (%s): sequenced %d, expected %d", t, fs_proto_type_name(t),
              !!(f & FS_MF_SEQUENCED), seq);
    }
    CHECK(n_known == FS_MSG_N_TYPES && FS_ARRAY_LEN(types) == FS_MSG_N_TYPES, "%d known types, %d rows", n_known,
          (int)FS_MSG_N_TYPES);
    CHECK(fs_proto_type_flags(FS_MSG_REGISTER) == (FS_MF_FROM_RANK | FS_MF_RESUME_SEQ), "register flags %#x",
          fs_proto_type_flags(FS_MSG_REGISTER));
    CHECK(fs_proto_type_flags(FS_MSG_HEARTBEAT) == (FS_MF_FROM_RANK | FS_MF_SESSION | FS_MF_ACKED),
          "heartbeat flags %#x", fs_proto_type_flags(FS_MSG_HEARTBEAT));
}

/* The wire format does not move: each type's test message encodes to the bytes of its seed
 * in tests/fuzz/corpus/protocol (written by --write-corpus from the first version). */
static void test_wire_unchanged(void) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    CHECK(src != NULL, "FACESWARM_SOURCE_DIR is not set (ctest sets it)");
    if (!src) return;
    for (size_t i = 0; i < FS_ARRAY_LEN(types); i++) {
        char why[256], path[1400];
        make(types[i]);
        long n = fs_proto_encode(&in, buf, sizeof buf, why, sizeof why);
        snprintf(path, sizeof path, "%.1000s/tests/fuzz/corpus/protocol/%02d_%s.bin", src, types[i],
                 fs_proto_type_name(types[i]));
        size_t len = 0;
        fs_error e = {0};
        char *seed = fs_read_file(path, &len, &e);
        CHECK(seed && n >= 0 && (size_t)n == len && !memcmp(seed, buf, len),
              "%s: encoding differs from %s (%ld vs %zu bytes) %s", fs_proto_type_name(types[i]), path, n, len, e.msg);
        free(seed);
    }
}

static int write_corpus(const char *dir) {
    for (size_t i = 0; i < FS_ARRAY_LEN(types); i++) {
        char why[256], path[1024];
        make(types[i]);
        long n = fs_proto_encode(&in, buf, sizeof buf, why, sizeof why);
        snprintf(path, sizeof path, "%s/%02d_%s.bin", dir, types[i], fs_proto_type_name(types[i]));
        fs_error e = {0};
        if (n < 0 || fs_write_file_atomic(path, buf, (size_t)n, &e)) return fprintf(stderr, "%s: %s\n", path, e.msg), 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write-corpus")) return write_corpus(argv[2]);
    test_roundtrips();
    test_bad_header();
    test_bad_fields();
    test_paths();
    test_table();
    test_wire_unchanged();
    if (failures) return fprintf(stderr, "%d protocol checks failed\n", failures), 1;
    printf("protocol: all round trips and refusals as expected\n");
    return 0;
}
