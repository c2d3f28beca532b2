/* gemm_util.h — what the SIMT GEMM (gemm.cu) and the tensor-core GEMM (gemm_tc.cu) share:
 * the parity classes of the transposed convolution, the row offset of C and the fused
 * activation. Include after fsk.h and emu.h. */
#ifndef FACESWARM_CUDA_GEMM_UTIL_H
#define FACESWARM_CUDA_GEMM_UTIL_H

/* Parity-class geometry of a transposed convolution (bwd_data): with stride s, input rows
 * iy = py + s * i' receive contributions only from kernel rows ky = ky0 + s * j, where
 * ky0 = (py + pad_top) mod s; so each class is a dense GEMM with no structural zeros. */
typedef struct cls_geom {
    int py, px, hc, wc, ky0, kx0, nky, nkx;
    int M, K;
} cls_geom;

FSK_DEVICE cls_geom class_geom(const fsk_gemm *g, int cls) {
    cls_geom q;
    memset(&q, 0, sizeof q);
    if (g->amode != FSK_A_CONV_BWD_DATA) return q; /* only the transposed conv has classes */
    const fs_conv_desc *d = &g->conv;
    int s = d->stride;
    q.py = cls / s, q.px = cls % s;
    q.hc = (d->h - q.py + s - 1) / s, q.wc = (d->w - q.px + s - 1) / s;
    q.ky0 = (q.py + d->pad_top) % s, q.kx0 = (q.px + d->pad_left) % s;
    q.nky = (d->k - q.ky0 + s - 1) / s, q.nkx = (d->k - q.kx0 + s - 1) / s;
    q.M = d->n * q.hc * q.wc;
    q.K = q.nky * q.nkx * d->cout;
    return q;
}

/* Row offset (in floats) of C's row m: plain, or the input position of a parity class. */
FSK_DEVICE long c_row(const fsk_gemm *g, const cls_geom *q, int m) {
    if (g->amode != FSK_A_CONV_BWD_DATA) return (long)m * g->ldc;
    const fs_conv_desc *d = &g->conv;
    int ix = q->px + d->stride * (m % q->wc), t = m / q->wc;
    int iy = q->py + d->stride * (t % q->hc), n = t / q->hc;
    return (((long)n * d->h + iy) * d->w + ix) * g->ldc;
}

FSK_DEVICE float activate(float v, int act, float alpha) {
    if (act == FS_ACT_LEAKY) return v > 0.0f ? v : alpha * v;
    if (act == FS_ACT_SIGMOID) return 1.0f / (1.0f + expf(-v));
    return v;
}

#endif
