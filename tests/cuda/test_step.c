/* test_step.c — cuda_step: one full training step of a tiny face-swap autoencoder (16 px,
 * two identities, every layer kind: 5x5 stride-2 convs, two dense layers, upscale blocks
 * with pixel shuffle, 5x5 conv + sigmoid; and a tiny liae-ud with masks) through trainer/model.c
 * on the CUDA backend and on the CPU backend, from the same parameters and batch: MSE + DSSIM losses, gradients,
 * global gradient norm and the parameters after a clipped Adam update must agree.
 * Tolerances: losses 1e-5 rel; gradients 2e-3 rel + 2e-4 x max |g| (float sums in other
 * orders through ~10 layers); norm 1e-4 rel; parameters 1e-5 x max |p| (Adam eps 1e-3 in
 * this test, so an update is smooth in g rather than sign(g) for g near 0). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cuda/ct.h"
#include "tests/cuda/ct_step.h"
#include "trainer/model.h"

enum { BATCH = 2 };

/* One step of config c on be and on the cpu backend; returns the failed checks. */
static int compare(const fs_backend *be, const char *what, const fs_config *c) {
    fs_error e = {0};
    if (fs_config_validate(c, &e) != 0) {
        printf("FAIL: the test's %s config does not validate: %s\n", what, e.msg);
        return 1;
    }
    size_t nin = (size_t)2 * BATCH * c->model.resolution * c->model.resolution * 3;
    float *input = ct_rand(nin, 99, 1, 0, 1), *target = ct_rand(nin, 99, 2, 0, 1);
    ct_step_out want, got;
    ct_run_step("cuda_step", fs_backend_cpu(), c, BATCH, 0, input, target, &want);
    ct_run_step("cuda_step", be, c, BATCH, 0, input, target, &got);
    int f = ct_close1("loss identity 0", got.loss[0], want.loss[0], 1e-5, 0) +
            ct_close1("loss identity 1", got.loss[1], want.loss[1], 1e-5, 0) +
            ct_close1("gradient norm", got.norm, want.norm, 1e-4, 0);
    double pmax = 0;
    for (size_t i = 0; i < want.n_params; i++) pmax = fmax(pmax, fabs(want.params[i]));
    f += ct_close("gradients", got.grads, want.grads, want.n_params, 2e-3, 2e-4);
    f += ct_close("parameters after Adam", got.params, want.params, want.n_params, 0, 1e-5 * pmax);
    printf("cuda_step %s: %zu parameters, losses %.6f %.6f (cpu %.6f %.6f), gradient norm %.6g (cpu %.6g)\n", what,
           want.n_params, got.loss[0], got.loss[1], want.loss[0], want.loss[1], got.norm, want.norm);
    free(input), free(target);
    ct_step_free(&want), ct_step_free(&got);
    return f;
}

/* argv[1]: original or liae-ud (each its own ctest entry: cuda_step, cuda_step_liae); none: both. */
int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : NULL;
    if (only && strcmp(only, "original") && strcmp(only, "liae-ud")) {
        fprintf(stderr, "cuda_step: no model '%s'\n  hint: original or liae-ud (none: both)\n", only);
        return 2;
    }
    const fs_backend *be = ct_backend("cuda_step");
    fs_config c;
    int f = 0;
    if (!only || !strcmp(only, "original")) ct_tiny_original_config(&c), f += compare(be, "original", &c);
    if (!only || !strcmp(only, "liae-ud")) ct_tiny_liae_config(&c), f += compare(be, "liae-ud", &c);
    if (f) {
        printf("cuda_step: %d checks FAILED\n", f);
        return 1;
    }
    printf("cuda_step: a training step on %s matches the cpu backend\n", be->name);
    return 0;
}
