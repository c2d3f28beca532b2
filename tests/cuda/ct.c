/* ct.c — see ct.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cuda/ct.h"

/* The GPU device name, when this build has the GPU backend (FACESWARM_HAVE_CUDA). */
#ifdef FACESWARM_TEST_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
static const char *gpu_name(void) { return fs_cuda_device_name(); }
#else
static const char *gpu_name(void) { return "(none)"; }
#endif

const fs_backend *ct_backend(const char *test) {
    setvbuf(stdout, NULL, _IONBF, 0); /* a crash must not swallow what ran before it */
    fs_error e = {0};
    const fs_backend *be = fs_backend_cuda(0, &e);
    if (be) {
        printf("%s: ran on GPU %s\n", test, gpu_name());
        return be;
    }
    char *nl = strchr(e.msg, '\n');
    if (nl) *nl = '\0';
    printf("%s: ran emulated (no GPU): %s\n", test, e.msg);
    be = fs_backend_cuda_emulated();
    if (!be) {
        fprintf(stderr, "%s: FAIL: fs_backend_cuda_emulated() returned NULL\n", test);
        exit(1);
    }
    return be;
}

float *ct_up(const fs_backend *be, const float *host, size_t n) {
    float *d = be->alloc(n * sizeof(float));
    be->upload(d, host, n * sizeof(float));
    return d;
}

float *ct_down(const fs_backend *be, const float *dev, size_t n) {
    float *h = fs_malloc(n * sizeof(float) + 1);
    be->download(h, dev, n * sizeof(float));
    return h;
}

float *ct_rand(size_t n, uint64_t seed, uint64_t stream, float lo, float hi) {
    fs_rng r;
    fs_rng_init(&r, seed, stream, 0);
    float *x = fs_malloc(n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++) x[i] = (float)fs_rng_range(&r, lo, hi);
    return x;
}

int ct_close(const char *what, const float *got, const float *want, size_t n, double rtol, double atol) {
    double scale = 1.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    long bad = -1, n_bad = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]), lim = rtol * fabs(want[i]) + atol * scale;
        if (!(err <= lim)) {
            if (bad < 0) bad = (long)i;
            n_bad++;
        }
        if (err > worst || isnan(err)) worst = isnan(err) ? INFINITY : err;
    }
    if (bad < 0) return 0;
    printf("FAIL %s: %ld of %zu elements off; first at %ld: got %.9g, want %.9g; worst error %.3g "
           "(tolerance %.1g rel + %.1g x %.3g)\n",
           what, n_bad, n, bad, got[bad], want[bad], worst, rtol, atol, scale);
    return 1;
}

int ct_close1(const char *what, double got, double want, double rtol, double atol) {
    double err = fabs(got - want);
    if (err <= rtol * fabs(want) + atol) return 0;
    printf("FAIL %s: got %.12g, want %.12g (error %.3g, tolerance %.1g rel + %.1g)\n", what, got, want, err, rtol,
           atol);
    return 1;
}

int ct_pick(int argc, char **argv, const fs_op_case *cases, size_t i, int stride) {
    int racecheck = 0;
    for (int a = 1; a < argc; a++) racecheck |= !strcmp(argv[a], "--racecheck");
    if (!racecheck) return 1;
    int before = 0; /* FS_OPC_CUDA cases of the same op before case i */
    for (size_t j = 0; j < i; j++) before += (cases[j].where & FS_OPC_CUDA) && !strcmp(cases[j].op, cases[i].op);
    return before % stride == 0;
}
