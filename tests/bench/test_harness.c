/* test_harness.c — the benchmark harness (core/bench.h) on its own: what it prints in each
 * mode (header first, a row holding exactly its columns, absent cells, percentages, JSON
 * escaping, notes before and after the table, summary last), that quiet ranks print nothing,
 * that the wrong count becomes the exit status, and the stage table helper's rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "core/bench.h"
#include "core/common.h"

static const fs_bench_col COLS[] = {
    FS_COL_S("name", NULL, NULL, -6),
    FS_COL_I("n", NULL, "images", 3),
    FS_COL_N("ms", "time", "ms", 7, 2, 3),
    FS_COL_P("frac", "share", 6, 1, 3),
};

/* Runs one bench that reports `wrong`, its stdout captured into out; returns fs_bench_end's code. */
static int run(int json, int quiet, long long wrong, char *out, size_t cap) {
    char path[] = "/tmp/faceswarm-test-harness-XXXXXX";
    int fd = mkstemp(path), saved = dup(1);
    fflush(stdout);
    dup2(fd, 1);
    char *argv[] = {"t", "--x", NULL};
    fs_bench b;
    fs_bench_init(&b, "t", 2, argv);
    b.json = json, b.quiet = quiet;
    fs_bench_fact_int(&b, "world_size", 2);
    fs_bench_note(&b, "before");
    fs_bench_columns(&b, "cases", COLS, (int)FS_ARRAY_LEN(COLS));
    fs_bench_row(&b, (fs_bench_val[]){FS_STR("a\"b\nc"), FS_INT(7), FS_NUM(1.5), FS_NUM(0.125)});
    fs_bench_row(&b, (fs_bench_val[]){FS_STR("x"), FS_NONE, FS_NUM(NAN), FS_NONE});
    fs_bench_note(&b, "after");
    fs_bench_fact_num(&b, "total", 2.5, 1, "s");
    fs_bench_wrong(&b, wrong);
    int rc = fs_bench_end(&b, "cases");
    fflush(stdout);
    dup2(saved, 1), close(saved);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    out[n] = 0;
    if (f) fclose(f);
    unlink(path), close(fd);
    return rc;
}

static void check_json(void) {
    char out[8192];
    int rc = run(1, 0, 0, out, sizeof out);
    CHECK(rc == FS_EXIT_OK, "wrong 0 exits %d", rc);
    CHECK(!strncmp(out, "{\"kind\":\"header\",\"bench\":\"t\",\"version\":", 39), "header first: %.60s", out);
    CHECK(strstr(out, "\"command\":\"faceswarm bench t --x\",\"world_size\":2,\"notes\":[\"before\"]}\n"), "%s", out);
    CHECK(strstr(out, "{\"kind\":\"table\",\"bench\":\"t\",\"table\":\"cases\",\"columns\":[{\"key\":\"name\",\"unit\":"
                      "\"\"},"
                      "{\"key\":\"n\",\"unit\":\"images\"},{\"key\":\"ms\",\"unit\":\"ms\"},{\"key\":\"frac\","
                      "\"unit\":\"fraction\"}]}\n"),
          "%s", out);
    CHECK(strstr(out, "{\"kind\":\"row\",\"bench\":\"t\",\"table\":\"cases\",\"name\":\"a\\\"b\\nc\",\"n\":7,"
                      "\"ms\":1.500,\"frac\":0.125}\n"),
          "%s", out);
    CHECK(strstr(out, "\"name\":\"x\",\"n\":null,\"ms\":null,\"frac\":null}\n"), "absent and NaN cells are null: %s",
          out);
    CHECK(strstr(out, "{\"kind\":\"note\",\"bench\":\"t\",\"text\":\"after\"}\n"), "%s", out);
    const char *last = "{\"kind\":\"summary\",\"bench\":\"t\",\"total\":2.5,\"wrong\":0}\n";
    size_t n = strlen(out), m = strlen(last);
    CHECK(n > m && !strcmp(out + n - m, last), "summary last: %s", out);
    CHECK(!strchr(out, '#'), "no '#' line in JSON mode: %s", out);
}

static void check_table(void) {
    char out[8192];
    int rc = run(0, 0, 3, out, sizeof out);
    CHECK(rc == FS_EXIT_FAIL, "wrong 3 exits %d", rc);
    CHECK(!strncmp(out, "# faceswarm " FS_VERSION " (commit ", 21), "%.60s", out);
    CHECK(strstr(out, ") bench t\n# command: faceswarm bench t --x\n# world_size: 2\n# before\n"), "%s", out);
    /* widths grow to hold heading and unit: "n" in 3 -> "(images)" needs 8 */
    CHECK(strstr(out, "\n# name          n    time  share\n#        (images)    (ms)    (%)\n"), "%s", out);
    CHECK(strstr(out, "\n  a\"b\nc         7    1.50  12.5%\n"), "%s", out);
    CHECK(strstr(out, "\n  x             -     nan      -\n"), "%s", out);
    CHECK(strstr(out, "\n# after\n# total: 2.5 s\n# wrong 3 (cases)\n"), "%s", out);
}

static void check_quiet(void) {
    char out[8192];
    int rc = run(1, 1, 1, out, sizeof out);
    CHECK(rc == FS_EXIT_FAIL && out[0] == 0, "quiet: exit %d, printed '%s'", rc, out);
}

/* fs_bench_stages: the "stages" table of bench extract and convert, in JSON. */
static void check_stages(void) {
    char path[] = "/tmp/faceswarm-test-harness-XXXXXX", out[4096];
    int fd = mkstemp(path), saved = dup(1);
    fflush(stdout);
    dup2(fd, 1);
    char *argv[] = {"s", NULL};
    fs_bench b;
    fs_bench_init(&b, "s", 1, argv);
    b.json = 1;
    const char *const names[] = {"decode", "join"};
    const double sec[] = {1.0, 3.0};
    fs_bench_stages(&b, names, sec, 2, 4);
    fs_bench_end(&b, NULL);
    fflush(stdout);
    dup2(saved, 1), close(saved);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = 0;
    if (f) fclose(f);
    unlink(path), close(fd);
    CHECK(strstr(out, "\"table\":\"stages\",\"columns\":[{\"key\":\"stage\",\"unit\":\"\"},{\"key\":\"seconds\","
                      "\"unit\":\"s\"},{\"key\":\"ms_per_frame\",\"unit\":\"ms\"},{\"key\":\"share\",\"unit\":"
                      "\"fraction\"}]}\n"),
          "stages columns: %s", out);
    CHECK(strstr(out, "\"stage\":\"decode\",\"seconds\":1.0000,\"ms_per_frame\":250.000,\"share\":0.2500}\n"),
          "stage row: %s", out);
    CHECK(strstr(out, "\"stage\":\"join\",\"seconds\":3.0000,\"ms_per_frame\":750.000,\"share\":0.7500}\n"),
          "stage row: %s", out);
}

int main(void) {
    check_stages();
    check_json();
    check_table();
    check_quiet();
    return failures ? 1 : 0;
}
