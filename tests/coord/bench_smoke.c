/* bench_smoke.c — runs `bench coordinator` briefly (2 and 16 simulated ranks): it must
 * start its daemon, check its own results and exit 0. The test binary stands in for the
 * faceswarm binary (it runs the same bench_coordinator and cmd_coordinator code). */
#include <stdio.h>
#include <string.h>

#include "tests/coord/coord_testlib.h"
#include "trainer/cli.h"

int main(int argc, char **argv) {
    tl_dispatch(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "bench")) return bench_coordinator(argc - 1, argv + 1); /* full runs by hand */
    char *args[] = {"coordinator", "--ranks", "2,16", "--seconds", "0.5", "--threads", "2", NULL};
    int rc = bench_coordinator(7, args);
    if (rc != 0) fprintf(stderr, "FAIL: bench coordinator exited %d\n", rc);
    return rc;
}
