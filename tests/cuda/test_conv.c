/* test_conv.c — cuda_conv: conv2d forward (each fused activation), data gradient and
 * weight/bias gradient (+= onto non-zero buffers) of the CUDA kernels vs the CPU reference
 * on the conv2d cases of the op table marked FS_OPC_CUDA (kernels/op_cases.c): sizes not
 * multiples of the 64 x 64 x 16 tiles, stride 1 and 2, even and odd kernels, 1x1 stride 2
 * (parity classes without taps), split-K weight gradients. Tolerance: the table's cuda
 * column (float sums of up to ~1700 products, orders differ), applied as
 * |got - want| <= rtol |want| + atol max(1, max |want|). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/op_cases.h"
#include "tests/cuda/ct.h"

static fs_tol tol; /* conv2d's cuda tolerance */

typedef struct bufs {
    size_t nx, nw, ny;
    float *x, *w, *b, *dz, *dw0, *db0; /* host inputs */
} bufs;

static void make_bufs(const fs_conv_desc *d, int seed, bufs *B) {
    B->nx = (size_t)d->n * d->h * d->w * d->cin;
    B->nw = (size_t)d->k * d->k * d->cin * d->cout;
    B->ny = (size_t)d->n * d->ho * d->wo * d->cout;
    B->x = ct_rand(B->nx, seed, 1, -1, 1);
    B->w = ct_rand(B->nw, seed, 2, -0.5f, 0.5f);
    B->b = ct_rand((size_t)d->cout, seed, 3, -0.5f, 0.5f);
    B->dz = ct_rand(B->ny, seed, 4, -1, 1);
    B->dw0 = ct_rand(B->nw, seed, 5, -1, 1);
    B->db0 = ct_rand((size_t)d->cout, seed, 6, -1, 1);
}

static void free_bufs(bufs *B) { free(B->x), free(B->w), free(B->b), free(B->dz), free(B->dw0), free(B->db0); }

static int check_fwd(const fs_backend *be, const fs_conv_desc *d, const bufs *B, fs_act act, const char *tag) {
    const fs_backend *ref = fs_backend_cpu_ref();
    float *want = fs_calloc(B->ny + 1, sizeof(float));
    ref->conv2d_fwd(d, B->x, B->w, B->b, want, act, 0.1f);
    float *x = ct_up(be, B->x, B->nx), *w = ct_up(be, B->w, B->nw), *b = ct_up(be, B->b, (size_t)d->cout);
    float *y = be->alloc(B->ny * sizeof(float));
    be->conv2d_fwd(d, x, w, b, y, act, 0.1f);
    float *got = ct_down(be, y, B->ny);
    char what[128];
    snprintf(what, sizeof what, "%s conv2d_fwd act=%d", tag, (int)act);
    int fails = ct_close(what, got, want, B->ny, tol.rtol, tol.atol);
    be->free(x), be->free(w), be->free(b), be->free(y);
    free(want), free(got);
    return fails;
}

static int check_bwd_data(const fs_backend *be, const fs_conv_desc *d, const bufs *B, const char *tag) {
    float *want = fs_calloc(B->nx + 1, sizeof(float));
    fs_backend_cpu_ref()->conv2d_bwd_data(d, B->dz, B->w, want);
    float *dz = ct_up(be, B->dz, B->ny), *w = ct_up(be, B->w, B->nw);
    float *dx = ct_up(be, B->x, B->nx); /* garbage to overwrite (=) */
    be->conv2d_bwd_data(d, dz, w, dx);
    float *got = ct_down(be, dx, B->nx);
    char what[128];
    snprintf(what, sizeof what, "%s conv2d_bwd_data", tag);
    int fails = ct_close(what, got, want, B->nx, tol.rtol, tol.atol);
    be->free(dz), be->free(w), be->free(dx);
    free(want), free(got);
    return fails;
}

static int check_bwd_filter(const fs_backend *be, const fs_conv_desc *d, const bufs *B, const char *tag) {
    float *want_w = fs_malloc(B->nw * sizeof(float) + 1), *want_b = fs_malloc((size_t)d->cout * sizeof(float));
    for (size_t i = 0; i < B->nw; i++) want_w[i] = B->dw0[i];
    for (int i = 0; i < d->cout; i++) want_b[i] = B->db0[i];
    fs_backend_cpu_ref()->conv2d_bwd_filter(d, B->x, B->dz, want_w, want_b);
    float *x = ct_up(be, B->x, B->nx), *dz = ct_up(be, B->dz, B->ny);
    float *dw = ct_up(be, B->dw0, B->nw), *db = ct_up(be, B->db0, (size_t)d->cout);
    be->conv2d_bwd_filter(d, x, dz, dw, db);
    float *got_w = ct_down(be, dw, B->nw), *got_b = ct_down(be, db, (size_t)d->cout);
    char what[128];
    snprintf(what, sizeof what, "%s conv2d_bwd_filter dw (+=)", tag);
    int fails = ct_close(what, got_w, want_w, B->nw, tol.rtol, tol.atol);
    snprintf(what, sizeof what, "%s conv2d_bwd_filter db (+=)", tag);
    fails += ct_close(what, got_b, want_b, (size_t)d->cout, tol.rtol, tol.atol);
    be->free(x), be->free(dz), be->free(dw), be->free(db);
    free(want_w), free(want_b), free(got_w), free(got_b);
    return fails;
}

int main(int argc, char **argv) {
    const fs_backend *be = ct_backend("cuda_conv");
    tol = fs_op_tol_of("conv2d")->cuda;
    size_t count, ran = 0;
    const fs_op_case *cases = fs_op_cases(&count);
    int fails = 0;
    for (size_t i = 0; i < count; i++) {
        const fs_op_case *s = &cases[i];
        if (!(s->where & FS_OPC_CUDA) || strcmp(s->op, "conv2d") || !ct_pick(argc, argv, cases, i, 2)) continue;
        fs_conv_desc d;
        if (fs_op_case_conv(s, &d) != 0) {
            printf("FAIL case %zu: fs_conv_desc_init refused it\n", i);
            return 1;
        }
        char tag[96];
        fs_op_case_name(s, tag, sizeof tag);
        bufs B;
        make_bufs(&d, (int)i + 1, &B);
        fails += check_fwd(be, &d, &B, s->act, tag);
        fails += check_bwd_data(be, &d, &B, tag);
        fails += check_bwd_filter(be, &d, &B, tag);
        free_bufs(&B);
        ran++;
    }
    if (fails) {
        printf("cuda_conv: %d checks FAILED\n", fails);
        return 1;
    }
    printf("cuda_conv: all %zu conv2d cases x (fwd, bwd_data, bwd_filter) match the CPU reference\n", ran);
    return 0;
}
