/* test_config.c — the YAML config loader: defaults, every kind of bad input (exit code 2 and
 * a message naming the place, the key and the value), --set, validation and the dump round
 * trip. Expected figures come from faceswap's defaults and the issue, not from config.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trainer/config.h"

#include "trainer/model.h"

#include "tests/check.h"

/* Loads (and validates) yaml, expecting success. */
static void expect_ok(fs_config *c, const char *yaml) {
    fs_error e = {0};
    int rc = fs_config_load_string(c, yaml, "t.yaml", &e);
    if (!rc) rc = fs_config_validate(c, &e);
    CHECK(rc == 0, "expected '%s' to load, got %d: %s", yaml, rc, e.msg);
}

/* Expects code 2 and a message containing every needle (NULL-terminated list). */
static void expect_msg(int rc, const fs_error *e, const char *what, const char *const *needles) {
    CHECK(rc == FS_EXIT_BADINPUT && e->code == FS_EXIT_BADINPUT, "%s: expected code 2, got %d", what, rc);
    for (; *needles; needles++)
        CHECK(strstr(e->msg, *needles) != NULL, "%s: message lacks \"%s\":\n%s", what, *needles, e->msg);
}

#define EXPECT_FAIL(yaml, ...)                                                                                         \
    do {                                                                                                               \
        fs_config c_;                                                                                                  \
        fs_error e_ = {0};                                                                                             \
        int rc_ = fs_config_load_string(&c_, yaml, "t.yaml", &e_);                                                     \
        if (!rc_) rc_ = fs_config_validate(&c_, &e_);                                                                  \
        const char *n_[] = {__VA_ARGS__, NULL};                                                                        \
        expect_msg(rc_, &e_, yaml, n_);                                                                                \
    } while (0)

/* Shapes are the model builders' rules (trainer/arch_*.c): the config loads, the build fails. */
#define EXPECT_BUILD_FAIL(yaml, ...)                                                                                   \
    do {                                                                                                               \
        fs_config c_;                                                                                                  \
        fs_model m_;                                                                                                   \
        fs_error e_ = {0};                                                                                             \
        int rc_ = fs_config_load_string(&c_, yaml, "t.yaml", &e_);                                                     \
        CHECK(rc_ == 0, "%s should load: %s", yaml, e_.msg);                                                           \
        if (!rc_) rc_ = fs_model_build(&m_, &c_, &e_);                                                                 \
        if (!rc_) fs_model_free(&m_);                                                                                  \
        const char *n_[] = {__VA_ARGS__, NULL};                                                                        \
        expect_msg(rc_, &e_, yaml, n_);                                                                                \
    } while (0)

#define EXPECT_SET_FAIL(c, arg, ...)                                                                                   \
    do {                                                                                                               \
        fs_error e_ = {0};                                                                                             \
        int rc_ = fs_config_set(c, arg, &e_);                                                                          \
        const char *n_[] = {__VA_ARGS__, NULL};                                                                        \
        expect_msg(rc_, &e_, arg, n_);                                                                                 \
    } while (0)

static void test_defaults(void) {
    fs_config c;
    fs_error e = {0};
    fs_config_defaults(&c);
    CHECK(fs_config_validate(&c, &e) == 0, "defaults do not validate: %s", e.msg);
    /* faceswap "original" at 64 px, as the issue lists them */
    CHECK(c.model.resolution == 64 && c.model.n_encoder_filters == 4 && c.model.encoder_filters[3] == 1024, "model");
    CHECK(c.model.dense == 1024 && c.model.bottleneck_filters == 1024, "dense");
    CHECK(c.model.n_encoder_upscale == 1 && c.model.encoder_upscale[0] == 512, "encoder upscale");
    CHECK(c.model.n_decoder_filters == 3 && c.model.decoder_filters[2] == 64, "decoder");
    CHECK(c.model.n_identities == 2 && !strcmp(c.model.identities[0], "A") && !strcmp(c.model.identities[1], "B"),
          "identities");
    /* doubles: 1 - float32(0.999) would be off by 1.3e-5 */
    CHECK(c.train.lr == 5e-5 && c.train.beta1 == 0.9 && c.train.beta2 == 0.999 && c.train.eps == 1e-7, "adam");
    CHECK(!strcmp(c.train.adam_epsilon, "keras"), "new runs get faceswap's (Keras') eps placement");
    CHECK(c.train.batch_per_identity == 16 && c.train.seed == 1 && !strcmp(c.train.device, "cpu"), "train");
    CHECK(c.train.loss_mse == 1 && c.train.loss_dssim == 1 && c.train.loss_l1 == 0, "loss");
    CHECK(!strcmp(c.data.dir, "data") && !strcmp(c.data.dataset, "/faces") && c.data.warp == 1, "data");
    CHECK(!strcmp(c.run.dir, "runs/default") && c.checkpoint.every == 500 && c.checkpoint.keep == 3, "run");
    CHECK(!strcmp(c.slurm.time, "24:00:00") && c.coordinator.address[0] == 0, "slurm/coordinator");
    char p[256];
    fs_config_data_path(&c, 1, p, sizeof p);
    CHECK(!strcmp(p, "data/B.h5"), "data path of B is %s", p);
}

static void test_shipped_configs(void) {
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    const char *files[] = {"configs/original-64.yaml", "configs/quickstart.yaml"};
    for (size_t i = 0; i < 2; i++) {
        char path[1024];
        fs_config c;
        fs_error e = {0};
        snprintf(path, sizeof path, "%s/%s", src ? src : "..", files[i]);
        int rc = fs_config_load(&c, path, &e);
        if (!rc) rc = fs_config_validate(&c, &e);
        CHECK(rc == 0, "%s: %s", path, e.msg);
    }
}

static void test_bad_input(void) {
    EXPECT_FAIL("train:\n  setps: 5\n", "t.yaml:2:3", "train.setps", "did you mean 'train.steps'?");
    EXPECT_FAIL("trian:\n  steps: 5\n", "t.yaml:1:1", "unknown section 'trian'", "did you mean 'train'?");
    EXPECT_FAIL("model:\n  steps: 5\n", "model.steps", "did you mean 'train.steps'?");
    EXPECT_FAIL("train:\n  steps: 12.5\n", "t.yaml:2:10", "train.steps", "'12.5'", "not an integer", "[1, ");
    EXPECT_FAIL("train:\n  steps: [1]\n", "train.steps", "a list");
    EXPECT_FAIL("train:\n  steps: \"12\"\n", "train.steps", "quoted");
    EXPECT_FAIL("train:\n  lr: fast\n", "train.lr", "'fast'", "not a number");
    EXPECT_FAIL("train:\n  lr: .nan\n", "train.lr", "not a number");
    EXPECT_FAIL("model:\n  encoder_filters: 5\n", "model.encoder_filters", "list of");
    EXPECT_FAIL("train:\n  batch_per_identity: 0\n", "t.yaml:2:23", "train.batch_per_identity", "out of range",
                "[1, 65536]");
    EXPECT_FAIL("model:\n  encoder_filters: [128, 0, 512, 1024]\n", "model.encoder_filters", "'0'", "out of range");
    EXPECT_FAIL("model:\n  encoder_filters: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n", "model.encoder_filters", "elements");
    EXPECT_FAIL("train:\n  steps: [1, 2\n", "t.yaml:3:", "malformed YAML");
    EXPECT_FAIL("train:\n  steps: 1\n   lr: 2\n", "t.yaml:3:", "malformed YAML");
    EXPECT_FAIL("train:\n  steps: 1\n  steps: 2\n", "t.yaml:3:3", "duplicate key 'steps'", "line 2");
    EXPECT_FAIL("train:\n  steps: 1\ntrain:\n  lr: 0.1\n", "duplicate key 'train'");
    EXPECT_FAIL("train:\n  device: gpu\n", "train.device", "'gpu'", "one of cpu|cuda");
    EXPECT_FAIL("data:\n  warp: 2\n", "data.warp", "true or false");
    EXPECT_FAIL("train:\n  seed: -1\n", "train.seed", "'-1'");
    EXPECT_FAIL("train:\n  seed: 18446744073709551616\n", "train.seed", "out of range");
    /* float and double keys: each bound is checked, and is inclusive */
    EXPECT_FAIL("data:\n  flip: 1.5\n", "data.flip", "'1.5'", "out of range");
    EXPECT_FAIL("data:\n  flip: -0.1\n", "data.flip", "'-0.1'", "out of range");
    EXPECT_FAIL("data:\n  rotation: 181\n", "data.rotation", "out of range");
    EXPECT_FAIL("train:\n  beta1: 1\n", "train.beta1", "out of range");
    EXPECT_FAIL("train:\n  lr: 0\n", "train.lr", "out of range");
    fs_config cb;
    expect_ok(&cb, "data:\n  flip: 1\n  rotation: 180\ntrain:\n  beta1: 0\n  lr: 10\n");
    CHECK(cb.data.flip == 1.0f && cb.data.rotation == 180.0f && cb.train.beta1 == 0.0 && cb.train.lr == 10.0,
          "inclusive bounds: flip %g rotation %g beta1 %g lr %g", cb.data.flip, cb.data.rotation, cb.train.beta1,
          cb.train.lr);
    EXPECT_FAIL("- a\n- b\n", "top level must be a mapping");
    EXPECT_FAIL("train: 5\n", "section 'train' must be a mapping");
    EXPECT_FAIL("train:\n  steps: 1\n---\ntrain:\n  steps: 2\n", "second YAML document");
    EXPECT_FAIL("run:\n  dir: \"a\\x01b\"\n", "run.dir", "control character");
    EXPECT_FAIL("run:\n  dir: \"a\\u2028b\"\n", "run.dir", "control character"); /* YAML folds it */
}

static void test_shapes(void) {
    EXPECT_BUILD_FAIL("model:\n  resolution: 60\n", "model.resolution = 60", "not divisible by 2^4 = 16");
    EXPECT_BUILD_FAIL("model:\n  decoder_filters: [256, 128]\n", "impossible shape", "32 px", "model.resolution = 64");
    EXPECT_BUILD_FAIL("model:\n  resolution: 1024\n  encoder_filters: [8192, 8192, 8192, 8192]\n", "impossible shape");
    EXPECT_BUILD_FAIL("model:\n  arch: df\n  resolution: 100\n", "model.resolution = 100", "multiple of 16",
                      "96 or 112");
    EXPECT_BUILD_FAIL("model:\n  arch: df\n  archi_flags: ud\n  resolution: 80\n", "model.resolution = 80",
                      "multiple of 32", "model.archi_flags = ud");
    EXPECT_BUILD_FAIL("model:\n  arch: liae\n  resolution: 1024\n", "model.resolution = 1024", "64-512");
    EXPECT_BUILD_FAIL("model:\n  arch: liae\n  archi_flags: ux\n  resolution: 128\n", "model.archi_flags", "'x'");
    EXPECT_BUILD_FAIL("model:\n  arch: df\n  archi_flags: uu\n  resolution: 128\n", "model.archi_flags", "twice");
    EXPECT_BUILD_FAIL("model:\n  arch: liae\n  identities: [A, B, C]\n  resolution: 128\n", "model.arch = liae",
                      "exactly 2 identities", "model.arch: df");
    EXPECT_FAIL("model:\n  arch: sae\n", "model.arch");
    EXPECT_FAIL("train:\n  loss_mse: 0\n  loss_dssim: 0\n", "all 0");
    EXPECT_FAIL("model:\n  identities: [A]\n", "model.identities", "number of names");
    EXPECT_FAIL("model:\n  identities: [A, A]\n", "model.identities", "twice");
    EXPECT_FAIL("model:\n  identities: [A, \"b c\"]\n", "model.identities", "'b c'");
    EXPECT_FAIL("model:\n  identities: [A, -b]\n", "model.identities", "not starting with '-'");
    EXPECT_FAIL("data:\n  paths: {C: c.h5}\n", "data.paths", "'C' is not an identity", "[A, B]");
    fs_config c;
    fs_error e = {0};
    expect_ok(&c, "model:\n  identities: [X, Y, Z]\n  encoder_filters: [8, 16]\n  encoder_upscale: []\n"
                  "  decoder_filters: [8, 8]\n  resolution: 16\n");
    CHECK(c.model.n_identities == 3 && !strcmp(c.model.identities[2], "Z"), "three identities");
    /* data.paths may come before the identities it names */
    expect_ok(&c, "data:\n  paths: {Y: /y.h5}\nmodel:\n  identities: [X, Y]\n");
    char p[256];
    fs_config_data_path(&c, 1, p, sizeof p);
    CHECK(!strcmp(p, "/y.h5") && c.data.n_paths == 1, "path of Y: %s", p);
    fs_config_data_path(&c, 0, p, sizeof p);
    CHECK(!strcmp(p, "data/X.h5"), "path of X: %s", p);
    expect_ok(&c, "train:\ndata:\n  warp: no\n");
    CHECK(c.data.warp == 0, "warp: no");
    fs_config_defaults(&c);
    c.model.resolution = 0; /* edited directly: validate re-checks the bounds */
    CHECK(fs_config_validate(&c, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "model.resolution"), "%s", e.msg);
}

static void test_missing_file(void) {
    fs_config c;
    fs_error e = {0};
    int rc = fs_config_load(&c, "/nonexistent/dir/x.yaml", &e);
    const char *n[] = {"/nonexistent/dir/x.yaml", "hint:", NULL};
    expect_msg(rc, &e, "missing file", n);
}

static void test_set(void) {
    fs_config c;
    fs_error e = {0};
    fs_config_defaults(&c);
    CHECK(fs_config_set(&c, "train.steps=1000", &e) == 0 && c.train.steps == 1000, "%s", e.msg);
    CHECK(fs_config_set(&c, "model.encoder_filters=[32, 64, 128, 256]", &e) == 0 && c.model.encoder_filters[0] == 32,
          "%s", e.msg);
    CHECK(fs_config_set(&c, "run.dir=my runs/x: y", &e) == 0 && !strcmp(c.run.dir, "my runs/x: y"), "%s", e.msg);
    /* string values: verbatim unless they start with a quote, then a YAML quoted scalar */
    CHECK(fs_config_set(&c, "coordinator.keys=\"\"", &e) == 0 && !strcmp(c.coordinator.keys, ""), "\"\" -> [%s] %s",
          c.coordinator.keys, e.msg);
    CHECK(fs_config_set(&c, "slurm.partition=''", &e) == 0 && !strcmp(c.slurm.partition, ""), "'' -> [%s] %s",
          c.slurm.partition, e.msg);
    CHECK(fs_config_set(&c, "run.dir=\"a b\"", &e) == 0 && !strcmp(c.run.dir, "a b"), "\"a b\" -> [%s] %s", c.run.dir,
          e.msg);
    CHECK(fs_config_set(&c, "run.dir='it''s #1: x'", &e) == 0 && !strcmp(c.run.dir, "it's #1: x"),
          "'' escape -> [%s] %s", c.run.dir, e.msg);
    CHECK(fs_config_set(&c, "run.dir=\"t\\x41q\\\"\"", &e) == 0 && !strcmp(c.run.dir, "tAq\""),
          "double-quoted escapes -> [%s] %s", c.run.dir, e.msg);
    CHECK(fs_config_set(&c, "run.dir=a \"b\" # c", &e) == 0 && !strcmp(c.run.dir, "a \"b\" # c"),
          "an unquoted string is verbatim -> [%s] %s", c.run.dir, e.msg);
    CHECK(fs_config_set(&c, "train.device=\"cpu\"", &e) == 0 && !strcmp(c.train.device, "cpu"), "%s", e.msg);
    EXPECT_SET_FAIL(&c, "run.dir=\"a b", "malformed YAML");
    EXPECT_SET_FAIL(&c, "run.dir=\"a\" b", "malformed YAML");
    EXPECT_SET_FAIL(&c, "train.device=\"tpu\"", "one of cpu|cuda");
    CHECK(!strcmp(c.run.dir, "a \"b\" # c") && !strcmp(c.train.device, "cpu"),
          "a refused quoted --set changed the config");
    CHECK(fs_config_set(&c, "data.paths.B=\"/b c.h5\"", &e) == 0 && !strcmp(c.data.paths[1], "/b c.h5"),
          "quoted path -> [%s] %s", c.data.paths[1], e.msg);
    EXPECT_SET_FAIL(&c, "data.paths.B=\"/b", "malformed YAML");
    CHECK(fs_config_set(&c, "data.paths.B=/b.h5", &e) == 0 && c.data.n_paths == 1, "%s", e.msg);
    CHECK(fs_config_set(&c, "model.identities=[C, B]", &e) == 0, "%s", e.msg);
    CHECK(!strcmp(c.data.paths[1], "/b.h5") && c.data.paths[0][0] == 0, "path follows its identity");
    EXPECT_SET_FAIL(&c, "model.identities=[C, D]", "drops 'B'");
    EXPECT_SET_FAIL(&c, "train.steps=abc", "--set train.steps=abc", "not an integer");
    EXPECT_SET_FAIL(&c, "train.steps=0", "out of range");
    EXPECT_SET_FAIL(&c, "train.setps=1", "did you mean 'train.steps'?");
    EXPECT_SET_FAIL(&c, "train.steps", "expected section.key=value");
    EXPECT_SET_FAIL(&c, "train.device=tpu", "one of cpu|cuda");
    EXPECT_SET_FAIL(&c, "data.paths.Q=/q.h5", "'Q' is not an identity");
    EXPECT_SET_FAIL(&c, "model.encoder_filters=[1, 2", "malformed YAML");
    CHECK(c.train.steps == 1000 && !strcmp(c.train.device, "cpu"), "a refused --set changed the config");
}

/* dump -> load gives the same struct; the hashes follow the right sections. */
static void test_round_trip(void) {
    fs_config a, b;
    fs_error e = {0};
    fs_config_defaults(&a);
    const char *sets[] = {"model.identities=[alice, bob_2, c-3]",
                          "data.paths.bob_2=dir with \"quotes\"\\x.h5",
                          "train.lr=0.000123",
                          "train.seed=18446744073709551615",
                          "data.warp=false",
                          "train.clip_norm=1.5",
                          "model.leaky_alpha=0.2",
                          "coordinator.address=tcp://h:5555",
                          "slurm.partition=gpu",
                          "train.steps=123456789012"};
    for (size_t i = 0; i < FS_ARRAY_LEN(sets); i++)
        CHECK(fs_config_set(&a, sets[i], &e) == 0, "%s: %s", sets[i], e.msg);
    char *text = fs_config_dump(&a);
    CHECK(fs_config_load_string(&b, text, "dump", &e) == 0, "dump does not load: %s\n%s", e.msg, text);
    memcpy(b.source, a.source, sizeof a.source);
    b.file_keys = a.file_keys; /* where it came from, like source */
    CHECK(memcmp(&a, &b, sizeof a) == 0, "dump does not load back to the same config:\n%s", text);
    char *again = fs_config_dump(&b);
    CHECK(!strcmp(text, again), "dump of the reloaded config differs");
    CHECK(fs_config_hash(&a) == fs_config_hash(&b), "hash differs after round trip");
    uint64_t h = fs_config_hash(&a), mh = fs_config_model_hash(&a);
    CHECK(fs_config_set(&a, "train.steps=5", &e) == 0, "%s", e.msg);
    CHECK(fs_config_hash(&a) != h && fs_config_model_hash(&a) == mh, "train key must change only the full hash");
    CHECK(fs_config_set(&a, "model.dense=512", &e) == 0, "%s", e.msg);
    CHECK(fs_config_model_hash(&a) != mh, "model key must change the model hash");
    free(text);
    free(again);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Size and depth are capped before libyaml composes a document (100,000 nested flow levels
 * took over a minute): refused at once, with a message that says why. */
static void test_limits(void) {
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 16);
    size_t n = 0;
    n += (size_t)sprintf(deep, "train:\n  x: ");
    for (size_t i = 0; i < depth; i++) deep[n++] = '[';
    for (size_t i = 0; i < depth; i++) deep[n++] = ']';
    deep[n] = 0;
    double t0 = now_s();
    EXPECT_FAIL(deep, "nesting deeper than 64 levels", "t.yaml:2:", "hint:");
    CHECK(now_s() - t0 < 2.0, "100,000 nested lists took %.1f s to refuse", now_s() - t0);
    EXPECT_FAIL("a:\n b:\n  c:\n   d: "
                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]"
                "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
                "t.yaml:4:", "deeper than 64");
    free(deep);
    size_t big = (1u << 20) + 1;
    char *huge = malloc(big + 1);
    memset(huge, '#', big);
    huge[big] = 0;
    EXPECT_FAIL(huge, "1048577 bytes", "at most 1 MiB");
    free(huge);
}

/* A byte that is not UTF-8 is reported where it is (libyaml gives only its offset). */
static void test_utf8_position(void) {
    EXPECT_FAIL("train:\n  steps: 5\n  lr: 0.1 # caf\xe9\n", "t.yaml:3:16:", "UTF-8", "0xe9");
    EXPECT_FAIL("run:\n  dir: \"r\xc3\xa9\xff\"\n", "t.yaml:2:11:", "UTF-8");
}

int main(void) {
    test_defaults();
    test_limits();
    test_utf8_position();
    test_shipped_configs();
    test_bad_input();
    test_shapes();
    test_missing_file();
    test_set();
    test_round_trip();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("config tests passed\n");
    return failures ? 1 : 0;
}
