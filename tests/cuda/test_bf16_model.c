/* test_bf16_model.c — train_bf16_model: the model in bf16 activation storage, the memory estimate of it
 * (trainer/memory.c, fs_model_plan with fs_model.act_bf16: train.precision bf16 on cuda) for
 * a tiny liae-ud with masks at batch 3:
 *  1. the halving: with bf16 storage the activations are half the fp32 figure plus the fp32
 *     copies of the input and of the outputs (images and masks), and the activation gradients
 *     half theirs plus the bf16 copies of the output gradients, counted here from the shapes
 *     (2 identities x batch x 64 x 64 x (3 + 1) output values, 2 x batch x 64 x 64 x 3 input);
 *     parameters, gradients and moments do not change; the cpu estimate in bf16 keeps fp32
 *     storage (the fast backend has no bf16 storage);
 *  2. it matches the allocation: fs_model_alloc in bf16 storage on the emulated CUDA backend,
 *     through a table whose alloc counts bytes, allocates exactly params + grads + moments +
 *     activations + gradients of the estimate;
 *  3. the float32 boundary (cpu-ref in FS_PREC_BF16_ACT, batch 1): the outputs and masks that
 *     fs_model_output / fs_model_mask return after a forward are bf16 values (unpacked from
 *     the bf16 nodes), not all zero, and fs_model_infer_mask of identity 1 on the same input
 *     gives the same images and masks bit for bit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/bf16.h"
#include "tests/cuda/ct.h"

#include "tests/cuda/ct_step.h"
#include "trainer/memory.h"

static size_t g_allocated;
static const fs_backend *g_inner;
static void *counting_alloc(size_t bytes) {
    g_allocated += bytes;
    return g_inner->alloc(bytes);
}

static int expect(const char *what, size_t got, size_t want) {
    if (got == want) return 0;
    printf("FAIL %s: %zu bytes, expected %zu\n", what, got, want);
    return 1;
}

/* Check 3 on identity `to`'s image (c = 3) or mask (c = 1) of n values. */
static int boundary_values(const char *what, const float *got, const float *infer, size_t n) {
    int bf16 = 1, nonzero = 0;
    for (size_t i = 0; i < n; i++) bf16 &= got[i] == fs_bf16_round(got[i]), nonzero |= got[i] != 0.0f;
    if (!bf16 || !nonzero) printf("FAIL %s: the float32 output is %s\n", what, bf16 ? "all zero" : "not bf16 values");
    if (memcmp(got, infer, n * sizeof(float))) printf("FAIL %s: fs_model_infer_mask differs from the forward\n", what);
    return (!bf16 || !nonzero) + (memcmp(got, infer, n * sizeof(float)) != 0);
}

static int boundary(const fs_config *c) {
    const fs_backend *ref = fs_backend_cpu_ref();
    fs_model m;
    fs_error e = {0};
    if (fs_model_build(&m, c, &e) != 0) return printf("FAIL: %s\n", e.msg), 1;
    ref->set_precision(FS_PREC_BF16_ACT);
    m.act_bf16 = 1;
    fs_model_alloc(&m, ref, 1);
    fs_model_init_params(&m, 1234);
    size_t img = (size_t)m.resolution * m.resolution * 3, plane = img / 3;
    float *x = ct_rand(2 * img, 5, 1, 0, 1), *y = fs_malloc(img * 4), *ym = fs_malloc(plane * 4);
    memcpy(m.input, x, 2 * img * sizeof(float)); /* host memory: cpu-ref */
    fs_model_forward(&m, 1);
    float *out = fs_malloc(img * 4), *mask = fs_malloc(plane * 4);
    memcpy(out, fs_model_output(&m, 1), img * 4), memcpy(mask, fs_model_mask(&m, 1), plane * 4);
    fs_model_infer_mask(&m, x + img, 1, 1, y, ym);
    int f = boundary_values("identity 1's image", out, y, img) + boundary_values("identity 1's mask", mask, ym, plane);
    ref->set_precision(FS_PREC_FP32);
    fs_model_free(&m);
    free(x), free(y), free(ym), free(out), free(mask);
    return f;
}

int main(void) {
    enum { BATCH = 3 };
    fs_config c;
    ct_tiny_liae_config(&c);
    snprintf(c.train.device, sizeof c.train.device, "cuda");
    fs_model m;
    fs_error e = {0};
    if (fs_config_validate(&c, &e) != 0 || fs_model_build(&m, &c, &e) != 0) {
        printf("FAIL: the test's model does not build: %s\n", e.msg);
        return 1;
    }
    fs_mem_estimate e32, e16, cpu16;
    snprintf(c.train.precision, sizeof c.train.precision, "fp32");
    fs_mem_estimate_at(&m, &c, BATCH, 1, 1, &e32);
    snprintf(c.train.precision, sizeof c.train.precision, "bf16");
    fs_mem_estimate_at(&m, &c, BATCH, 1, 1, &e16);
    size_t r = (size_t)c.model.resolution, input = 2 * BATCH * r * r * 3, outputs = 2 * BATCH * r * r * (3 + 1);
    int f = expect("bf16 activations", e16.m.activations, e32.m.activations / 2 + (input + outputs) * 4);
    f += expect("bf16 activation gradients", e16.m.gradients, e32.m.gradients / 2 + outputs * 2);
    f += expect("bf16 parameters + gradients + moments", e16.m.params + e16.m.grads + e16.m.moments,
                e32.m.params + e32.m.grads + e32.m.moments);
    snprintf(c.train.device, sizeof c.train.device, "cpu");
    fs_mem_estimate_at(&m, &c, BATCH, 1, 1, &cpu16);
    f += expect("cpu bf16 activations (fp32 storage)", cpu16.m.activations, e32.m.activations);
    snprintf(c.train.device, sizeof c.train.device, "cuda");
    fs_mem_estimate_at(&m, &c, BATCH, 1, 1, &e16); /* m planned for cuda bf16 again */
    printf("train_bf16_model: activations %zu -> %zu bytes, activation gradients %zu -> %zu bytes (fp32 -> bf16 "
           "storage, batch %d)\n",
           e32.m.activations, e16.m.activations, e32.m.gradients, e16.m.gradients, BATCH);

    g_inner = fs_backend_cuda_emulated();
    fs_backend counting = *g_inner;
    counting.alloc = counting_alloc;
    if (!m.act_bf16) printf("FAIL: the cuda bf16 estimate did not plan bf16 storage\n"), f++;
    fs_model_alloc(&m, &counting, BATCH);
    size_t planned = e16.m.params + e16.m.grads + e16.m.moments + e16.m.activations + e16.m.gradients;
    f += expect("fs_model_alloc in bf16 storage vs the estimate", g_allocated, planned);
    fs_model_free(&m);
    f += boundary(&c);
    if (f) {
        printf("train_bf16_model: %d checks FAILED\n", f);
        return 1;
    }
    printf("train_bf16_model: bf16 storage halves the activations (+ fp32 boundary copies), the estimate is what "
           "fs_model_alloc allocates (%zu bytes), and the float32 outputs and inference agree\n",
           planned);
    return 0;
}
