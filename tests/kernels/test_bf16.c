/* test_bf16.c — kernels_bf16: the bf16 rounding rule (kernels/bf16.h) and the CPU backends'
 * FS_PREC_BF16 semantics (kernels/ops.h, fs_precision).
 *  1. fs_bf16_from_f32 against an independent rule: of the two bf16 neighbours of f (its
 *     truncation and the next value away from zero), the nearer in double, the even one on a
 *     tie; NaN stays NaN (quiet), infinities and signed zeros are kept, a finite value past the
 *     largest bf16 rounds to an infinity only when it is at least halfway to the next power.
 *     Edge cases plus 2,000,000 random bit patterns.
 *  2. On the CPU reference and the fast CPU path, every conv2d and dense op in bf16 gives
 *     exactly what the same backend gives in fp32 on operands rounded first: the rounding
 *     covers every GEMM operand of every op (a missed operand changes the result), and the
 *     bias, the activation and the "+=" stay fp32. Shapes include cin = 3 and stride 2. The
 *     fast path runs with its vdpbf16ps GEMM off (fs_cpu_set_bf16_dot(0)): that GEMM sums in
 *     another order than sgemm, and kernels_fast_bf16 checks it against the reference.
 *  3. bf16 results differ from fp32 ones (the check of part 2 could not pass by accident
 *     with the rounding switched off), and set_precision refuses an unknown precision. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/bf16.h"
#include "kernels/cpu/cpu.h"
#include "kernels/ops.h"
#include "tests/check.h"

/* The independent rule of part 1 (finite, non-NaN f). */
static fs_bf16 nearest_even(float f) {
    uint32_t u = fs_f32_bits(f);
    fs_bf16 lo = (fs_bf16)(u >> 16), hi = (fs_bf16)(lo + 1); /* truncation, next away from zero */
    if ((u & 0xFFFFu) == 0) return lo;
    double dl = fabs((double)f - (double)fs_bf16_to_f32(lo));
    double next = (hi & 0x7F80u) == 0x7F80u ? ldexp(copysign(1.0, f), 128) : (double)fs_bf16_to_f32(hi);
    double dh = fabs((double)f - next);
    if (dl < dh) return lo;
    if (dh < dl) return hi;
    return (lo & 1u) ? hi : lo;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void check_rounding(void) {
    static const uint32_t edges[] = {0x00000000u, 0x80000000u, 0x3F800000u, 0x3F808000u, 0x3F818000u, 0x3F80FFFFu,
                                     0x3F807FFFu, 0x00000001u, 0x807FFFFFu, 0x00008000u, 0x7F7FFFFFu, 0x7F7F7FFFu,
                                     0x7F7F8000u, 0xFF7F8000u, 0x7F800000u, 0xFF800000u};
    for (size_t i = 0; i < FS_ARRAY_LEN(edges); i++) {
        float f = fs_bits_f32(edges[i]);
        CHECK(fs_bf16_from_f32(f) == nearest_even(f), "bits 0x%08x: got 0x%04x, expected 0x%04x", edges[i],
              fs_bf16_from_f32(f), nearest_even(f));
    }
    CHECK(fs_bf16_from_f32(fs_bits_f32(0x7F7F8000u)) == 0x7F80u, "halfway past the largest bf16 -> +inf");
    CHECK(fs_bf16_from_f32(fs_bits_f32(0x80000000u)) == 0x8000u, "-0 keeps its sign");
    uint32_t nans[] = {0x7FC00000u, 0x7F800001u, 0xFF800001u, 0x7FFFFFFFu, 0x7F80FFFFu};
    for (size_t i = 0; i < FS_ARRAY_LEN(nans); i++) {
        fs_bf16 h = fs_bf16_from_f32(fs_bits_f32(nans[i]));
        CHECK((h & 0x7F80u) == 0x7F80u && (h & 0x7Fu) && (h & 0x40u), "NaN 0x%08x -> 0x%04x: not a quiet NaN", nans[i],
              h);
    }
    long bad = 0;
    for (long i = 0; i < 2000000; i++) {
        uint32_t u = next_u32();
        float f = fs_bits_f32(u);
        if (isnan(f)) continue;
        if (fs_bf16_from_f32(f) != nearest_even(f) && bad++ < 5)
            CHECK(0, "bits 0x%08x: got 0x%04x, expected 0x%04x", u, fs_bf16_from_f32(f), nearest_even(f));
        if (fs_bf16_round(fs_bf16_round(f)) != fs_bf16_round(f) && bad++ < 5)
            CHECK(0, "bits 0x%08x: rounding is not idempotent", u);
    }
    CHECK(bad == 0, "%ld random values rounded wrongly", bad);
}

static float *randv(size_t n, float scale) {
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = scale * ((float)(next_u32() % 20001) / 10000.0f - 1.0f) * 1.001f;
    return v;
}
static float *rounded(const float *v, size_t n) {
    float *r = malloc(n * sizeof *r);
    for (size_t i = 0; i < n; i++) r[i] = fs_bf16_round(v[i]);
    return r;
}
static float *zeros(size_t n) { return calloc(n, sizeof(float)); }
/* Bit-identical arrays (both pointers from this test); counts a mismatch. */
static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

/* One conv shape on one backend: bf16 vs fp32 on rounded operands, for all three ops. */
static void check_conv(const fs_backend *be, int n, int h, int w, int cin, int cout, int k, int s, int *differs) {
    fs_conv_desc d;
    if (fs_conv_desc_init(&d, n, h, w, cin, cout, k, s) != 0) return;
    size_t nx = (size_t)n * h * w * cin, nw = (size_t)k * k * cin * cout, nz = (size_t)n * d.ho * d.wo * cout;
    float *x = randv(nx, 1.0f), *wt = randv(nw, 0.5f), *b = randv((size_t)cout, 0.1f), *dz = randv(nz, 1.0f);
    float *xr = rounded(x, nx), *wr = rounded(wt, nw), *dzr = rounded(dz, nz);
    float *y16 = zeros(nz), *y32 = zeros(nz), *yplain = zeros(nz);
    float *dx16 = zeros(nx), *dx32 = zeros(nx), *dw16 = randv(nw, 1.0f), *dw32 = malloc(nw * sizeof(float));
    float *db16 = randv((size_t)cout, 1.0f), *db32 = malloc((size_t)cout * sizeof(float));
    memcpy(dw32, dw16, nw * sizeof(float)), memcpy(db32, db16, (size_t)cout * sizeof(float));
    CHECK(be->set_precision(FS_PREC_BF16) == 0, "%s: set_precision(bf16)", be->name);
    be->conv2d_fwd(&d, x, wt, b, y16, FS_ACT_LEAKY, 0.1f);
    be->conv2d_bwd_data(&d, dz, wt, dx16);
    be->conv2d_bwd_filter(&d, x, dz, dw16, db16);
    be->set_precision(FS_PREC_FP32);
    be->conv2d_fwd(&d, xr, wr, b, y32, FS_ACT_LEAKY, 0.1f);
    be->conv2d_bwd_data(&d, dzr, wr, dx32);
    be->conv2d_bwd_filter(&d, xr, dzr, dw32, NULL);
    be->conv2d_fwd(&d, x, wt, b, yplain, FS_ACT_LEAKY, 0.1f);
    float *dw_unused = zeros(nw); /* db sums dz itself (not a GEMM operand): the fp32 db of the unrounded dz */
    be->conv2d_bwd_filter(&d, x, dz, dw_unused, db32);
    const char *nm = be->name;
    CHECK(same(y16, y32, nz), "%s conv fwd %dx%dx%d->%d k%d s%d: bf16 != fp32 on rounded operands", nm, h, w, cin, cout,
          k, s);
    CHECK(same(dx16, dx32, nx), "%s conv bwd_data %dx%dx%d->%d k%d s%d: bf16 != fp32 on rounded operands", nm, h, w,
          cin, cout, k, s);
    CHECK(same(dw16, dw32, nw), "%s conv bwd_filter %dx%dx%d->%d k%d s%d: bf16 != fp32 on rounded operands", nm, h, w,
          cin, cout, k, s);
    CHECK(same(db16, db32, (size_t)cout), "%s conv bwd_filter db: bf16 must sum the unrounded dz", nm);
    if (!same(y16, yplain, nz)) *differs = 1;
    free(x), free(wt), free(b), free(dz), free(xr), free(wr), free(dzr), free(y16), free(y32), free(yplain);
    free(dx16), free(dx32), free(dw16), free(dw32), free(db16), free(db32), free(dw_unused);
}

static void check_dense(const fs_backend *be, int n, int in, int out, int *differs) {
    size_t nx = (size_t)n * in, nw = (size_t)in * out, nz = (size_t)n * out;
    float *x = randv(nx, 1.0f), *wt = randv(nw, 0.5f), *b = randv((size_t)out, 0.1f), *dz = randv(nz, 1.0f);
    float *xr = rounded(x, nx), *wr = rounded(wt, nw), *dzr = rounded(dz, nz);
    float *y16 = zeros(nz), *y32 = zeros(nz), *yplain = zeros(nz), *dx16 = zeros(nx), *dx32 = zeros(nx);
    float *dw16 = zeros(nw), *dw32 = zeros(nw);
    be->set_precision(FS_PREC_BF16);
    be->dense_fwd(n, in, out, x, wt, b, y16, FS_ACT_SIGMOID, 0.0f);
    be->dense_bwd_data(n, in, out, dz, wt, dx16);
    be->dense_bwd_filter(n, in, out, x, dz, dw16, NULL);
    be->set_precision(FS_PREC_FP32);
    be->dense_fwd(n, in, out, xr, wr, b, y32, FS_ACT_SIGMOID, 0.0f);
    be->dense_bwd_data(n, in, out, dzr, wr, dx32);
    be->dense_bwd_filter(n, in, out, xr, dzr, dw32, NULL);
    be->dense_fwd(n, in, out, x, wt, b, yplain, FS_ACT_SIGMOID, 0.0f);
    CHECK(same(y16, y32, nz), "%s dense fwd %d->%d: bf16 != fp32 on rounded operands", be->name, in, out);
    CHECK(same(dx16, dx32, nx), "%s dense bwd_data %d->%d: bf16 != fp32 on rounded operands", be->name, in, out);
    CHECK(same(dw16, dw32, nw), "%s dense bwd_filter %d->%d: bf16 != fp32 on rounded operands", be->name, in, out);
    if (!same(y16, yplain, nz)) *differs = 1;
    free(x), free(wt), free(b), free(dz), free(xr), free(wr), free(dzr), free(y16), free(y32), free(yplain);
    free(dx16), free(dx32), free(dw16), free(dw32);
}

int main(void) {
    check_rounding();
    CHECK(fs_cpu_set_bf16_dot(0) == 0, "fs_cpu_set_bf16_dot(0)");
    const fs_backend *backends[] = {fs_backend_cpu_ref(), fs_backend_cpu()};
    for (size_t i = 0; i < FS_ARRAY_LEN(backends); i++) {
        const fs_backend *be = backends[i];
        int differs = 0;
        check_conv(be, 2, 9, 7, 3, 16, 5, 2, &differs);   /* cin 3, stride 2, odd sizes */
        check_conv(be, 1, 8, 8, 24, 40, 3, 1, &differs);  /* bwd_data as a forward conv on the fast path */
        check_conv(be, 2, 6, 6, 64, 128, 5, 2, &differs); /* the im2col + GEMM path */
        check_conv(be, 1, 5, 5, 16, 8, 1, 1, &differs);   /* pointwise */
        check_dense(be, 3, 37, 29, &differs);
        check_dense(be, 4, 256, 96, &differs);
        CHECK(differs, "%s: bf16 results equal fp32 ones on every shape: the rounding is not applied", be->name);
        CHECK(be->set_precision(7) == -1, "%s: set_precision(7) must be refused", be->name);
        CHECK(be->set_precision(FS_PREC_FP32) == 0, "%s: back to fp32", be->name);
        printf("%s: bf16 conv/dense = fp32 on rounded operands, bit for bit\n", be->name);
    }
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
