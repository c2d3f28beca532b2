/* test_fast_bf16.c — kernels_fast_bf16: the fast CPU path's FS_PREC_BF16 convs and dense
 * layers against the bf16 reference (kernels/cpu/ref_conv.c: operands rounded to bf16, sums
 * in double) on the op case table's conv2d and dense cases (rows marked FS_OPC_FAST, and
 * FS_OPC_THREADS3 again on 3 threads), within the table's fast tolerance, fwd, bwd_data and
 * bwd_filter (dw and db +=, onto nonzero values), in every mode of fs_cpu_set_bf16_dot:
 *   2:   the AMX-BF16 GEMM (tdpbf16ps, kernels/cpu/fast_bf16_gemm.c), forced; skipped, saying
 *        so, where this CPU or its OS does not run AMX-BF16
 *   1:   the AVX512_BF16 GEMM (vdpbf16ps), forced; skipped, saying so, where this CPU lacks
 *        AVX512_BF16
 *   0:   operands rounded into copies, the fp32 GEMM
 * Each mode is deterministic (the same call twice is bit-identical). The check can fail: the
 * fast path in fp32 (no rounding at all) misses the tolerance against the bf16 reference on
 * some case, so a GEMM that dropped an operand's rounding would be caught; and each forced
 * mode differs from the rounded copies somewhere (forcing it really changes the GEMM). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/op_cases.h"
#include "kernels/ops.h"
#include "tests/kernels/ktest.h"

static const fs_backend *ref, *fast;
static int modes_differ[3], fp32_caught;

typedef struct outs {
    float *y, *dx, *dw, *db;
} outs;

/* max |got - want| > rtol max |want| + atol max(1, max |want|): would fail the check. */
static int beyond(const float *got, const float *want, size_t n, fs_tol tol) {
    double scale = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i])), worst = fmax(worst, fabs(got[i] - want[i]));
    return worst > tol.rtol * scale + tol.atol * fmax(1.0, scale);
}

/* All three passes of case c on be in the precision set now; dw and db start from dw0, db0. */
static void run(const fs_backend *be, const fs_op_case *c, const fs_conv_desc *d, const float *x, const float *w,
                const float *b, const float *dz, const float *dw0, const float *db0, outs *o) {
    size_t nx = (size_t)d->n * d->h * d->w * d->cin, nw = (size_t)d->k * d->k * d->cin * d->cout;
    size_t ny = (size_t)d->n * d->ho * d->wo * d->cout;
    o->y = malloc(ny * sizeof(float)), o->dx = kt_rand(nx, 9, 1, -1, 1); /* garbage: bwd_data overwrites */
    o->dw = kt_copy(dw0, nw), o->db = kt_copy(db0, (size_t)d->cout);
    if (!strcmp(c->op, "dense")) {
        be->dense_fwd(d->n, d->cin, d->cout, x, w, b, o->y, c->act, 0.1f);
        be->dense_bwd_data(d->n, d->cin, d->cout, dz, w, o->dx);
        be->dense_bwd_filter(d->n, d->cin, d->cout, x, dz, o->dw, o->db);
    } else {
        be->conv2d_fwd(d, x, w, b, o->y, c->act, 0.1f);
        be->conv2d_bwd_data(d, dz, w, o->dx);
        be->conv2d_bwd_filter(d, x, dz, o->dw, o->db);
    }
}

static void outs_free(outs *o) { free(o->y), free(o->dx), free(o->dw), free(o->db); }

static int outs_same(const outs *a, const outs *b, size_t ny, size_t nx, size_t nw, size_t nb) {
    return !memcmp(a->y, b->y, ny * sizeof(float)) && !memcmp(a->dx, b->dx, nx * sizeof(float)) &&
           !memcmp(a->dw, b->dw, nw * sizeof(float)) && !memcmp(a->db, b->db, nb * sizeof(float));
}

static void check_case(const fs_op_case *c, int threads, const int have[3]) {
    fs_conv_desc d;
    char name[128], what[200];
    if (fs_op_case_conv(c, &d) != 0) {
        printf("FAIL conv desc of a table case\n"), kt_failures++;
        return;
    }
    fs_op_case_name(c, name, sizeof name);
    fs_tol tol = fs_op_tol_of(c->op)->fast;
    size_t nx = (size_t)d.n * d.h * d.w * d.cin, nw = (size_t)d.k * d.k * d.cin * d.cout;
    size_t ny = (size_t)d.n * d.ho * d.wo * d.cout, nb = (size_t)d.cout;
    float *x = kt_rand(nx, 21, 1, -1, 1), *w = kt_rand(nw, 21, 2, -0.1, 0.1), *b = kt_rand(nb, 21, 3, -1, 1);
    float *dz = kt_rand(ny, 21, 4, -1, 1), *dw0 = kt_rand(nw, 21, 5, -1, 1), *db0 = kt_rand(nb, 21, 6, -1, 1);
    fs_cpu_set_threads(threads);
    outs r, f32, got[3];
    ref->set_precision(FS_PREC_FP32);
    run(fast, c, &d, x, w, b, dz, dw0, db0, &f32);
    ref->set_precision(FS_PREC_BF16);
    run(ref, c, &d, x, w, b, dz, dw0, db0, &r);
    if (beyond(f32.y, r.y, ny, tol) || beyond(f32.dx, r.dx, nx, tol) || beyond(f32.dw, r.dw, nw, tol)) fp32_caught = 1;
    for (int mode = 0; mode <= 2; mode++) {
        if (!have[mode]) continue;
        if (fs_cpu_set_bf16_dot(mode) != 0) {
            printf("FAIL fs_cpu_set_bf16_dot(%d) refused\n", mode), kt_failures++;
            continue;
        }
        const char *m = mode == 2 ? "amx" : mode ? "vdpbf16ps" : "rounded copies";
        outs again;
        run(fast, c, &d, x, w, b, dz, dw0, db0, &got[mode]);
        run(fast, c, &d, x, w, b, dz, dw0, db0, &again);
        snprintf(what, sizeof what, "%s [%s, %d thr] fwd", name, m, threads);
        kt_check_tol(what, got[mode].y, r.y, ny, tol);
        snprintf(what, sizeof what, "%s [%s, %d thr] bwd_data", name, m, threads);
        kt_check_tol(what, got[mode].dx, r.dx, nx, tol);
        snprintf(what, sizeof what, "%s [%s, %d thr] dw (+=)", name, m, threads);
        kt_check_tol(what, got[mode].dw, r.dw, nw, tol);
        snprintf(what, sizeof what, "%s [%s, %d thr] db (+=)", name, m, threads);
        kt_check_tol(what, got[mode].db, r.db, nb, tol);
        if (!outs_same(&got[mode], &again, ny, nx, nw, nb))
            printf("FAIL %s [%s, %d thr]: two calls differ (not deterministic)\n", name, m, threads), kt_failures++;
        outs_free(&again);
    }
    for (int mode = 1; mode <= 2; mode++)
        if (have[mode]) {
            if (!outs_same(&got[0], &got[mode], ny, nx, nw, nb)) modes_differ[mode] = 1;
            outs_free(&got[mode]);
        }
    outs_free(&got[0]), outs_free(&r), outs_free(&f32);
    fs_cpu_set_bf16_dot(-1);
    ref->set_precision(FS_PREC_FP32);
    free(x), free(w), free(b), free(dz), free(dw0), free(db0);
}

int main(void) {
    ref = fs_backend_cpu_ref(), fast = fs_backend_cpu();
    int have[3] = {1, fs_cpu_has_bf16_dot(), fs_cpu_has_bf16_amx()}, have_dot = have[1];
    if (!have[2]) {
        printf("SKIP the AMX half: this CPU or its OS does not run AMX-BF16\n");
        if (fs_cpu_set_bf16_dot(2) != -1)
            printf("FAIL fs_cpu_set_bf16_dot(2) accepted without AMX-BF16\n"), kt_failures++;
    }
    if (!have_dot) {
        printf("SKIP the vdpbf16ps half: this CPU has no AVX512_BF16 (only the rounded-copies path is checked)\n");
        if (fs_cpu_set_bf16_dot(1) != -1)
            printf("FAIL fs_cpu_set_bf16_dot(1) accepted without AVX512_BF16\n"), kt_failures++;
    }
    if (fs_cpu_set_bf16_dot(3) != -1) printf("FAIL fs_cpu_set_bf16_dot(3) accepted\n"), kt_failures++;
    size_t count, checked = 0;
    const fs_op_case *cases = fs_op_cases(&count);
    for (size_t i = 0; i < count; i++) {
        const fs_op_case *c = &cases[i];
        if (strcmp(c->op, "conv2d") && strcmp(c->op, "dense")) continue;
        if (c->where & FS_OPC_FAST) check_case(c, 0, have), checked++;
        if (c->where & FS_OPC_THREADS3) check_case(c, 3, have), checked++;
    }
    fs_cpu_set_threads(0);
    if (!fp32_caught)
        printf("FAIL the fp32 fast path is within the tolerance of the bf16 reference on every case: the check "
               "could not catch a dropped rounding\n"),
            kt_failures++;
    for (int mode = 1; mode <= 2; mode++)
        if (have[mode] && !modes_differ[mode])
            printf("FAIL the %s mode gives the same bits as the rounded copies on every case: not forced on\n",
                   mode == 2 ? "amx" : "vdpbf16ps"),
                kt_failures++;
    printf("%zu conv2d/dense cases in bf16 against the bf16 reference, modes:%s%s rounded copies\n", checked,
           have[2] ? " amx" : "", have_dot ? " vdpbf16ps" : "");
    return kt_finish("kernels_fast_bf16");
}
