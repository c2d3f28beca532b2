/* arch_saehd.c — DeepFaceLab's SAEHD building blocks (its DeepFakeArchi), shared by the df
 * and liae builders. Semantics from core/leras/archis/DeepFakeArchi.py of iperov/DeepFaceLab:
 *
 * Downscale(ch, k):   conv k stride 2 to ch, LeakyReLU 0.1.
 * Upscale(ch):        conv 3x3 to 4 ch, LeakyReLU 0.1, depth-to-space x2.
 * ResidualBlock(ch):  conv 3x3 + LeakyReLU 0.2, conv 3x3, add the block's input, LeakyReLU 0.2.
 * Encoder(e):         Downscale(e, 2e, 4e, 8e; k 5) — with t: Downscale(e), Res(e), Downscale(2e, 4e,
 *                     8e, 8e), Res(8e) —; flatten; with u: pixel norm of the flattened code.
 * Inter(ae, out):     dense ae, dense lowest^2 x out, reshape to (lowest, lowest, out), Upscale(out)
 *                     (not with t); lowest = res / 16 (res / 32 with d).
 * Decoder(d, dm):     Upscale(8d) Res(8d) Upscale(4d) Res(4d) Upscale(2d) Res(2d) — with t: Upscale(8d)
 *                     Res(8d) Upscale(8d) Res(8d) Upscale(4d) Res(4d) Upscale(2d) Res(2d) —, then conv 1x1
 *                     to 3 + sigmoid; with d: conv 1x1 and three 3x3 convs to 3, concatenated, depth-to-space
 *                     x2, sigmoid. Mask path from the same input: Upscale(8dm, 4dm, 2dm) — with t: 8dm, 8dm,
 *                     4dm, 2dm —, with d one more Upscale(dm), conv 1x1 to 1 + sigmoid.
 * Weights: Glorot-uniform (leras' default for Conv2D and Dense), biases zero. */
#include <stdio.h>
#include <string.h>

#include "trainer/arch.h"

int fs_saehd_options(const fs_config *c, const char *arch, fs_saehd *o, fs_error *e) {
    memset(o, 0, sizeof *o);
    for (const char *f = c->model.archi_flags; *f; f++) {
        int *flag = *f == 'u' ? &o->u : *f == 'd' ? &o->d : *f == 't' ? &o->t : NULL;
        if (!flag || *flag)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: model.archi_flags = \"%s\": '%c' is %s; expected any of u, d, t "
                             "once each\n  hint: DeepFaceLab's liae-ud is model.arch: liae with model.archi_flags: ud",
                             c->source[0] ? c->source : "config", c->model.archi_flags, *f,
                             flag ? "given twice" : "not a flag");
        *flag = 1;
    }
    o->res = c->model.resolution;
    int mult = o->d || o->t ? 32 : 16;
    const char *src = c->source[0] ? c->source : "config";
    if (o->res < 64 || o->res > 512)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: model.resolution = %d is outside 64-512 for model.arch = %s\n"
                         "  hint: SAEHD trains 64 to 512 px faces, e.g. 128 or 256",
                         src, o->res, arch);
    if (o->res % mult)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: model.resolution = %d is not a multiple of %d, which model.arch = "
                         "%s%s%s needs\n  hint: use %d or %d%s",
                         src, o->res, mult, arch, c->model.archi_flags[0] ? " with model.archi_flags = " : "",
                         c->model.archi_flags, FS_MAX(64, o->res / mult * mult), o->res / mult * mult + mult,
                         mult == 32 ? " (the d and t flags halve the code resolution once more)" : "");
    o->ae_dims = c->model.ae_dims, o->e_dims = c->model.e_dims;
    o->d_dims = c->model.d_dims, o->d_mask_dims = c->model.d_mask_dims;
    return 0;
}

static int downscale(fs_model *m, const char *net, const char *blk, int x, int ch, int k) {
    return fs_graph_conv(m, net, blk, x, ch, k, 2, FS_ACT_LEAKY, 0.1f);
}

static int upscale(fs_model *m, const char *net, const char *blk, int x, int ch) {
    char s[64];
    snprintf(s, sizeof s, "%s.conv", blk);
    x = fs_graph_conv(m, net, s, x, 4 * ch, 3, 1, FS_ACT_LEAKY, 0.1f);
    snprintf(s, sizeof s, "%s.shuffle", blk);
    return fs_graph_pixshuf(m, net, s, x);
}

static int residual(fs_model *m, const char *net, const char *blk, int in) {
    char s[64];
    int ch = m->nodes[in].c;
    snprintf(s, sizeof s, "%s.conv1", blk);
    int x = fs_graph_conv(m, net, s, in, ch, 3, 1, FS_ACT_LEAKY, 0.2f);
    snprintf(s, sizeof s, "%s.conv2", blk);
    x = fs_graph_conv(m, net, s, x, ch, 3, 1, FS_ACT_NONE, 0);
    snprintf(s, sizeof s, "%s.add", blk);
    x = fs_graph_add(m, net, s, in, x);
    snprintf(s, sizeof s, "%s.leaky", blk);
    return fs_graph_leaky(m, net, s, x, 0.2f);
}

int fs_saehd_encoder(fs_model *m, const fs_saehd *o, int x) {
    int first = m->n_nodes, e = o->e_dims;
    if (o->t) {
        x = downscale(m, "encoder", ".down1", x, e, 5);
        x = residual(m, "encoder", ".res1", x);
        x = downscale(m, "encoder", ".down2", x, 2 * e, 5);
        x = downscale(m, "encoder", ".down3", x, 4 * e, 5);
        x = downscale(m, "encoder", ".down4", x, 8 * e, 5);
        x = downscale(m, "encoder", ".down5", x, 8 * e, 5);
        x = residual(m, "encoder", ".res5", x);
    } else {
        for (int i = 0; i < 4; i++) {
            char s[32];
            snprintf(s, sizeof s, ".down%d", i + 1);
            x = downscale(m, "encoder", s, x, e << i, 5);
        }
    }
    x = fs_graph_flatten(m, "encoder", ".flatten", x);
    if (o->u) x = fs_graph_pixnorm(m, "encoder", ".pixnorm", x);
    fs_graph_set_init(m, first, FS_INIT_GLOROT_UNIFORM);
    return x;
}

int fs_saehd_inter(fs_model *m, const fs_saehd *o, const char *name, int in, int ae_out) {
    int first = m->n_nodes, lowest = o->res / (o->d ? 32 : 16);
    int x = fs_graph_dense(m, name, ".dense1", in, o->ae_dims, FS_ACT_NONE, 0);
    x = fs_graph_dense(m, name, ".dense2", x, lowest * lowest * ae_out, FS_ACT_NONE, 0);
    x = fs_graph_reshape(m, name, ".reshape", x, lowest, lowest, ae_out);
    if (!o->t) x = upscale(m, name, ".upscale1", x, ae_out);
    fs_graph_set_init(m, first, FS_INIT_GLOROT_UNIFORM);
    return x;
}

int fs_saehd_decoder(fs_model *m, const fs_saehd *o, const char *name, int z, int *mask) {
    int first = m->n_nodes, d = o->d_dims, dm = o->d_mask_dims;
    const int img_t[] = {8, 8, 4, 2}, img[] = {8, 4, 2}, msk_t[] = {8, 8, 4, 2}, msk[] = {8, 4, 2};
    const int *ic = o->t ? img_t : img, *mc = o->t ? msk_t : msk, stages = o->t ? 4 : 3;
    char s[32], r[32];
    int x = z;
    for (int i = 0; i < stages; i++) {
        snprintf(s, sizeof s, ".upscale%d", i);
        snprintf(r, sizeof r, ".res%d", i);
        x = upscale(m, name, s, x, ic[i] * d);
        x = residual(m, name, r, x);
    }
    if (o->d) {
        int y = fs_graph_conv(m, name, ".out_conv", x, 3, 1, 1, FS_ACT_NONE, 0);
        for (int i = 1; i <= 3; i++) {
            snprintf(s, sizeof s, ".out_conv%d", i);
            int yi = fs_graph_conv(m, name, s, x, 3, 3, 1, FS_ACT_NONE, 0);
            snprintf(s, sizeof s, ".concat%d", i);
            y = fs_graph_concat(m, name, s, y, yi);
        }
        y = fs_graph_pixshuf(m, name, ".shuffle", y);
        x = fs_graph_sigmoid(m, name, ".sigmoid", y);
    } else {
        x = fs_graph_conv(m, name, ".out_conv", x, 3, 1, 1, FS_ACT_SIGMOID, 0);
    }
    int y = z;
    for (int i = 0; i < stages + o->d; i++) {
        snprintf(s, sizeof s, ".upscalem%d", i);
        y = upscale(m, name, s, y, (i < stages ? mc[i] : 1) * dm);
    }
    *mask = fs_graph_conv(m, name, ".out_convm", y, 1, 1, 1, FS_ACT_SIGMOID, 0);
    fs_graph_set_init(m, first, FS_INIT_GLOROT_UNIFORM);
    return x;
}
