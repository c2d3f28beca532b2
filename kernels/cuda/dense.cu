/* dense.cu — fully connected layer, x [n, in], w [in, out], b [out], on the tiled GEMM:
 *   fwd:        y [n, out]  = act(x w + b)       (=)
 *   bwd_data:   dx [n, in]  = dz w^T             (=)
 *   bwd_filter: dw [in, out] += x^T dz,
 * each split along K when the output has too few 64 x 64 tiles to fill the GPU;
 *               db [out] += column sums of dz    (+=)
 * Under FS_PREC_BF16_ACT x, y, dz and dx are bf16; w, b, dw and db stay float32. */
#include "kernels/cuda/fsk.h"
#include "kernels/cuda/emu.h"

static fsk_gemm strided(int M, int N, int K, const float *a, long lda_m, long lda_k, const float *b, long ldb_k,
                        long ldb_n, float *c, long ldc) {
    fsk_gemm g;
    memset(&g, 0, sizeof g);
    g.M = M, g.N = N, g.K = K;
    g.amode = FSK_A_STRIDED, g.a = a, g.lda_m = lda_m, g.lda_k = lda_k;
    g.bmode = FSK_B_STRIDED, g.b = b, g.ldb_k = ldb_k, g.ldb_n = ldb_n;
    g.c = c, g.ldc = ldc;
    g.classes = 1, g.splits = 1;
    g.a_bf16 = FSK(act_bf16); /* x or dz: activations */
    return g;
}

void FSK(dense_fwd)(int n, int in, int out, const float *x, const float *w, const float *b, float *y, fs_act act,
                    float alpha) {
    fsk_gemm g = strided(n, out, in, x, in, 1, w, out, 1, y, out);
    g.bias = b, g.act = (int)act, g.alpha = alpha, g.c_bf16 = FSK(act_bf16);
    FSK(gemm_split_k)(&g); /* batch 32 x 1024 outputs is 16 tiles: split the 16384-deep K */
    FSK(gemm)(&g);
}

void FSK(dense_bwd_data)(int n, int in, int out, const float *dz, const float *w, float *dx) {
    fsk_gemm g = strided(n, in, out, dz, out, 1, w, 1, out, dx, in);
    g.c_bf16 = FSK(act_bf16);
    FSK(gemm_split_k)(&g);
    FSK(gemm)(&g);
}

void FSK(dense_bwd_filter)(int n, int in, int out, const float *x, const float *dz, float *dw, float *db) {
    fsk_gemm g = strided(in, out, n, x, 1, in, dz, out, 1, dw, out);
    g.accumulate = 1, g.b_bf16 = FSK(act_bf16); /* dz */
    FSK(gemm_split_k)(&g);
    FSK(gemm)(&g);
    if (db) FSK(bias_grad)(n, out, dz, db);
}
