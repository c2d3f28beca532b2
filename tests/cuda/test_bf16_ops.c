/* test_bf16_ops.c — cuda_bf16_ops: the CUDA backend in train.precision bf16 (the tensor-core
 * GEMM, kernels/cuda/gemm_tc.cu) on every conv2d and dense case of the op table marked
 * FS_OPC_CUDA or FS_OPC_BF16 (kernels/op_cases.c: sizes that are multiples of no tile, cin 3,
 * stride 2, 1x1, even kernels, split-K), each of fwd (its fused activation), bwd_data and
 * bwd_filter (+= onto non-zero buffers, db included), three ways:
 *  1. vs cpu-ref in bf16 (the same operand rounding: only the order and precision of the sums
 *     differ). Per element, with S = sum over the K products of |a b| (the reference run on
 *     |operands|): |got - want| <= 2^-24 ((ceil(K / 16) + 34) S + 2 |want|). Why: the
 *     emulator's mma adds 16 exact products to its fp32 accumulator and rounds once, so each of
 *     the ceil(K / 16) steps errs by at most half an ulp of a partial sum (<= S); the split-K
 *     adds (at most 32) and the final roundings of bias + activation and of the reference
 *     add at most the rest; activations are 1-Lipschitz. On a GPU the mma's internal
 *     precision is unspecified, so the bound is taken 8 times wider there.
 *  2. vs cpu-ref in fp32, the rounding's own error: bf16 keeps 8 significant bits, so each
 *     operand moves by at most u = 2^-8 of itself and a product by at most 2u + u^2:
 *     |got - want| <= (2^-7 + 2^-15) S + 1e-5 (S + |want|) (the fp32 sums' difference). And the bf16 result differs from the fp32 one
 *     somewhere in every case with K > 1 (the rounding is really applied).
 *  3. determinism: a second run is bit-identical (on the FS_OPC_BF16 cases: the emulator is slow).
 * `cuda_bf16_ops OP [PART PARTS]` runs that op's cases (every PARTS-th from its PART-th): the
 * tests cuda_bf16_ops (conv2d 0 of 4), cuda_bf16_ops_conv1, _conv2, _conv3 and cuda_bf16_ops_dense.
 * `cuda_bf16_ops planted` sets the test-only flag that drops each block's last K slice: the
 * checks must report it (test cuda_bf16_planted). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/op_cases.h"
#include "tests/cuda/ct.h"

extern int fs_emu_gemm_tc_drop_last_slice; /* kernels/cuda/fsk.h (the emulated build's name) */
extern int fs_emu_gemm_tc_skip_stage_sync;

static double g_widen = 1.0; /* 8 on a GPU */
static int g_verbose_fail = 1;

typedef struct run_out {
    float *y;  /* the op's main output */
    float *y2; /* db of bwd_filter, else NULL */
    size_t n, n2;
} run_out;

typedef struct op_in {
    const char *op; /* conv2d or dense */
    int pass;       /* 0 fwd, 1 bwd_data, 2 bwd_filter */
    fs_conv_desc d;
    fs_act act;
    float *x, *w, *b, *dz, *dw0, *db0;
    size_t nx, nw, ny;
} op_in;

static int is_dense(const op_in *o) { return !strcmp(o->op, "dense"); }

/* Runs one pass of o on backend be (inputs uploaded, outputs downloaded). */
static run_out run(const fs_backend *be, const op_in *o, int absolute) {
    const fs_conv_desc *d = &o->d;
    size_t nb = (size_t)d->cout;
    float *hx = o->x, *hw = o->w, *hdz = o->dz, *hb = o->b, *hdw0 = o->dw0, *hdb0 = o->db0;
    float *ax = NULL, *aw = NULL, *adz = NULL, *zb = NULL, *zw = NULL, *zdb = NULL;
    if (absolute) { /* S: the reference on |operands|, bias and += starting values 0, no act */
        ax = fs_malloc(o->nx * sizeof(float)), aw = fs_malloc(o->nw * sizeof(float));
        adz = fs_malloc(o->ny * sizeof(float));
        for (size_t i = 0; i < o->nx; i++) ax[i] = fabsf(o->x[i]);
        for (size_t i = 0; i < o->nw; i++) aw[i] = fabsf(o->w[i]);
        for (size_t i = 0; i < o->ny; i++) adz[i] = fabsf(o->dz[i]);
        zb = fs_calloc(nb, sizeof(float)), zw = fs_calloc(o->nw, sizeof(float)), zdb = fs_calloc(nb, sizeof(float));
        hx = ax, hw = aw, hdz = adz, hb = zb, hdw0 = zw, hdb0 = zdb;
    }
    fs_act act = absolute ? FS_ACT_NONE : o->act;
    run_out r;
    memset(&r, 0, sizeof r);
    float *x = ct_up(be, hx, o->nx), *w = ct_up(be, hw, o->nw), *dz = ct_up(be, hdz, o->ny);
    if (o->pass == 0) {
        float *b = ct_up(be, hb, nb), *y = ct_up(be, hdz, o->ny); /* garbage to overwrite */
        if (is_dense(o)) be->dense_fwd(d->n, d->cin, d->cout, x, w, b, y, act, 0.1f);
        else be->conv2d_fwd(d, x, w, b, y, act, 0.1f);
        r.n = o->ny, r.y = ct_down(be, y, o->ny);
        be->free(b), be->free(y);
    } else if (o->pass == 1) {
        float *dx = ct_up(be, hx, o->nx);
        if (is_dense(o)) be->dense_bwd_data(d->n, d->cin, d->cout, dz, w, dx);
        else be->conv2d_bwd_data(d, dz, w, dx);
        r.n = o->nx, r.y = ct_down(be, dx, o->nx);
        be->free(dx);
    } else {
        float *dw = ct_up(be, hdw0, o->nw), *db = ct_up(be, hdb0, nb);
        if (is_dense(o)) be->dense_bwd_filter(d->n, d->cin, d->cout, x, dz, dw, db);
        else be->conv2d_bwd_filter(d, x, dz, dw, db);
        r.n = o->nw, r.y = ct_down(be, dw, o->nw);
        r.n2 = nb, r.y2 = ct_down(be, db, nb);
        be->free(dw), be->free(db);
    }
    be->free(x), be->free(w), be->free(dz);
    free(ax), free(aw), free(adz), free(zb), free(zw), free(zdb);
    return r;
}

static void run_free(run_out *r) { free(r->y), free(r->y2); }

/* The products summed per output of the pass (an upper bound for bwd_data's classes). */
static long pass_k(const op_in *o) {
    const fs_conv_desc *d = &o->d;
    if (o->pass == 0) return (long)d->k * d->k * d->cin;
    if (o->pass == 1) return (long)d->k * d->k * d->cout;
    return (long)d->n * d->ho * d->wo;
}

/* |got - want| <= slope * s + rel * |want| + abs_s * s for each element; reports the first. */
static int bound_check(const char *what, const float *got, const float *want, const float *s, size_t n, double slope,
                       double rel) {
    double worst = 0;
    size_t bad = n;
    for (size_t i = 0; i < n; i++) {
        double lim = slope * fabs(s[i]) + rel * fabs(want[i]);
        double err = fabs((double)got[i] - (double)want[i]);
        if (!(err <= lim)) {
            if (bad == n) bad = i;
            if (!(err / (lim > 0 ? lim : 1e-300) <= worst)) worst = lim > 0 ? err / lim : INFINITY;
        }
    }
    if (bad == n) return 0;
    if (g_verbose_fail)
        printf("FAIL %s: element %zu got %.9g want %.9g (bound %.3g); worst error / bound %.3g\n", what, bad, got[bad],
               want[bad], slope * fabs(s[bad]) + rel * fabs(want[bad]), worst);
    return 1;
}

static int check_pass(const fs_backend *be, op_in *o, const char *tag, int twice) {
    static const char *pass_name[] = {"fwd", "bwd_data", "bwd_filter"};
    const fs_backend *ref = fs_backend_cpu_ref();
    char what[192];
    int fails = 0;
    if (be->set_precision(FS_PREC_BF16) != 0 || ref->set_precision(FS_PREC_BF16) != 0) {
        printf("FAIL %s: set_precision(bf16) refused\n", tag);
        return 1;
    }
    run_out got = run(be, o, 0), again;
    memset(&again, 0, sizeof again);
    if (twice) again = run(be, o, 0);
    run_out want = run(ref, o, 0), s = run(ref, o, 1);
    ref->set_precision(FS_PREC_FP32);
    run_out want32 = run(ref, o, 0), s32 = run(ref, o, 1);
    be->set_precision(FS_PREC_FP32);

    double k16 = ceil((double)pass_k(o) / 16.0);
    double slope = g_widen * ldexp(k16 + 34.0, -24), rel = g_widen * ldexp(2.0, -24);
    for (int part = 0; part < (got.y2 ? 2 : 1); part++) {
        const float *gy = part ? got.y2 : got.y, *ay = part ? again.y2 : again.y, *wy = part ? want.y2 : want.y;
        const float *sy = part ? s.y2 : s.y, *w32 = part ? want32.y2 : want32.y, *s32y = part ? s32.y2 : s32.y;
        size_t n = part ? got.n2 : got.n;
        const char *out = part ? "db" : "";
        if (part == 1) { /* db: column sums of dz in fp32, no operand rounding: the cuda tolerance */
            snprintf(what, sizeof what, "%s %s db vs cpu-ref", tag, pass_name[o->pass]);
            fs_tol t = fs_op_tol_of(o->op)->cuda;
            fails += ct_close(what, gy, wy, n, t.rtol, t.atol);
        } else {
            snprintf(what, sizeof what, "%s %s%s bf16 vs cpu-ref bf16", tag, pass_name[o->pass], out);
            fails += bound_check(what, gy, wy, sy, n, slope, rel);
            snprintf(what, sizeof what, "%s %s%s bf16 vs cpu-ref fp32", tag, pass_name[o->pass], out);
            fails += bound_check(what, gy, w32, s32y, n, ldexp(1.0, -7) + ldexp(1.0, -15) + 1e-5, 1e-5);
            int differs = 0;
            for (size_t i = 0; i < n && !differs; i++) differs = gy[i] != w32[i];
            if (!differs && pass_k(o) > 1 && n > 8) {
                printf("FAIL %s: bf16 result equals the fp32 reference bit for bit (operands not rounded?)\n", what);
                fails++;
            }
        }
        if (twice && memcmp(gy, ay, n * sizeof(float))) {
            printf("FAIL %s %s%s: two runs differ (not deterministic)\n", tag, pass_name[o->pass], out);
            fails++;
        }
    }
    run_free(&got), run_free(&again), run_free(&want), run_free(&s), run_free(&want32), run_free(&s32);
    return fails;
}

int main(int argc, char **argv) {
    /* planted_race (racecheck_race, under TSan): the kernel without its stage barrier on one
     * case; the values are not checked (a race may or may not change them), TSan's report is. */
    int race = argc > 1 && !strcmp(argv[1], "planted_race");
    int planted = race || (argc > 1 && !strcmp(argv[1], "planted"));
    const char *only = argc > 1 && !planted && argv[1][0] != '-' ? argv[1] : NULL;
    int part = only && argc > 3 ? atoi(argv[2]) : 0, parts = only && argc > 3 ? atoi(argv[3]) : 1;
    if (parts < 1 || part < 0 || part >= parts) {
        printf("cuda_bf16_ops: PART %d of PARTS %d; expected 0 <= PART < PARTS\n", part, parts);
        return 2;
    }
    int ordinal = -1; /* of the op's cases */
    /* planted: the emulator (the flag is the emulated build's) */
    const fs_backend *be = planted ? fs_backend_cuda_emulated() : ct_backend("cuda_bf16_ops");
    if (strcmp(be->name, "cuda-emulated")) g_widen = 8.0;
    if (planted && !race) fs_emu_gemm_tc_drop_last_slice = 1;
    if (race) fs_emu_gemm_tc_skip_stage_sync = 1;
    size_t count, ran = 0;
    const fs_op_case *cases = fs_op_cases(&count);
    int fails = 0, failed_cases = 0;
    for (size_t i = 0; i < count; i++) {
        const fs_op_case *c = &cases[i];
        if (strcmp(c->op, "conv2d") && strcmp(c->op, "dense")) continue;
        if (only && strcmp(c->op, only)) continue;
        if (++ordinal % parts != part) continue;
        if (!(c->where & (FS_OPC_CUDA | FS_OPC_BF16)) || !ct_pick(argc, argv, cases, i, 2)) continue;
        op_in o;
        memset(&o, 0, sizeof o);
        o.op = c->op, o.act = c->act;
        if (fs_op_case_conv(c, &o.d) != 0) {
            printf("FAIL case %zu: fs_conv_desc_init refused it\n", i);
            return 1;
        }
        const fs_conv_desc *d = &o.d;
        if (race && (long)d->k * d->k * d->cin < 4 * 32) continue; /* want several K slices in flight */
        o.nx = (size_t)d->n * d->h * d->w * d->cin;
        o.nw = (size_t)d->k * d->k * d->cin * d->cout;
        o.ny = (size_t)d->n * d->ho * d->wo * d->cout;
        uint64_t seed = 1000 + i;
        o.x = ct_rand(o.nx, seed, 1, -1, 1), o.w = ct_rand(o.nw, seed, 2, -0.5f, 0.5f);
        o.b = ct_rand((size_t)d->cout, seed, 3, -0.5f, 0.5f), o.dz = ct_rand(o.ny, seed, 4, -1, 1);
        o.dw0 = ct_rand(o.nw, seed, 5, -1, 1), o.db0 = ct_rand((size_t)d->cout, seed, 6, -1, 1);
        char tag[128];
        fs_op_case_name(c, tag, sizeof tag);
        int case_fails = 0;
        for (o.pass = 0; o.pass < 3; o.pass++) case_fails += check_pass(be, &o, tag, (c->where & FS_OPC_BF16) != 0);
        free(o.x), free(o.w), free(o.b), free(o.dz), free(o.dw0), free(o.db0);
        fails += case_fails, failed_cases += case_fails > 0;
        ran++;
        if (race) {
            printf("cuda_bf16_ops planted_race: ran %s without the stage barrier (%d checks differed)\n", tag,
                   case_fails);
            return 0;
        }
        if (planted && ran == 3) break; /* a few cases show it */
    }
    if (fails) {
        printf("cuda_bf16_ops: %d checks FAILED in %d of %zu cases%s\n", fails, failed_cases, ran,
               planted ? " (planted: the last K slice dropped)" : "");
        return 1;
    }
    printf("cuda_bf16_ops: all %zu %s cases x (fwd, bwd_data, bwd_filter) in bf16 match cpu-ref bf16 "
           "(accumulation order only) and cpu-ref fp32 (bf16 rounding); the bf16 cases run twice are bit-identical\n",
           ran, only ? only : "conv2d / dense");
    return 0;
}
