/* test_cli.c — the coordinator's command lines (issue 12): bad input is exit 2 with a message
 * that names the path and a hint (`coordinator --state-dir /proc/1`, `keys --out` into a
 * missing directory); `bench coordinator --help` says what it measures and lists its options;
 * a key file with a key that is not Z85 is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "comms/coord_keys.h"
#include "tests/coord/coord_testlib.h"
#include "core/common.h"

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    const char *run = tl_run_dir("coord_cli");
    int rc;
    char *out = tl_run(&rc, "coordinator", "--state-dir", "/proc/1", "--job-id", "j", "--world-size", "1", NULL);
    CHECK(rc == 2 && strstr(out, "/proc/1") && strstr(out, "hint:"), "coordinator --state-dir /proc/1: exit %d\n%s", rc,
          out);
    free(out);
    char keys[700];
    snprintf(keys, sizeof keys, "%s/missing/dir/job.keys", run);
    out = tl_run(&rc, "keys", "--out", keys, NULL);
    CHECK(rc == 2 && strstr(out, keys) && strstr(out, "hint:") && strstr(out, "mkdir -p"),
          "keys --out into a missing directory: exit %d\n%s", rc, out);
    free(out);
    out = tl_run(&rc, "bench-coordinator", "--help", NULL);
    CHECK(rc == 0 && strstr(out, "--window N") && strstr(out, "--heartbeat-ms") && strstr(out, "flood") &&
              strstr(out, "exactly once"),
          "bench coordinator --help:\n%s", out);
    free(out);
    out = tl_run(&rc, "bench-coordinator", "--bogus", NULL);
    CHECK(rc == 2 && strstr(out, "usage:"), "bench coordinator --bogus: exit %d\n%s", rc, out);
    free(out);
    /* A 40-character key with characters outside Z85 ('"' and ' ' are not in it). */
    snprintf(keys, sizeof keys, "%s/bad.keys", run);
    FILE *f = fopen(keys, "w");
    CHECK(f, "cannot write %s", keys);
    fprintf(f, "server_public = %s\nserver_secret = %s\nclient_public = %s\nclient_secret = %s\n",
            "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"",
            "0000000000000000000000000000000000000000", "0000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000");
    fclose(f);
    chmod(keys, 0600);
    fs_coord_keys k;
    fs_error e = {0};
    CHECK(fs_coord_keys_load(keys, &k, &e) == FS_EXIT_BADINPUT && strstr(e.msg, "server_public") &&
              strstr(e.msg, "Z85"),
          "a non-Z85 key accepted: %s", e.msg);
    tl_cleanup();
    printf("cli: bad --state-dir and keys --out are exit 2 with the path and a hint; bench coordinator --help; non-Z85 "
           "keys refused\n");
    return 0;
}
