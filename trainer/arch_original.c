/* arch_original.c — faceswap's "original" model (model.arch: original), faceswarm's first.
 *
 * Encoder (all identities' samples at once): k x k stride-2 conv + LeakyReLU blocks
 * (model.encoder_filters), flatten, dense (model.dense), dense to (res/2^n)^2 x
 * model.bottleneck_filters, reshape, upscale blocks (model.encoder_upscale).
 * Decoder per identity (its slice of the encoder output): upscale blocks
 * (model.decoder_filters), conv model.output_kernel to 3 channels + sigmoid.
 * Upscale block: conv model.upscale_kernel to 4C + LeakyReLU, pixel shuffle x2.
 * Every LeakyReLU has slope model.leaky_alpha; weights are He-uniform. Parameters: encoder
 * then decoder 0, 1, ... (each in forward order), the layout of faceswarm's checkpoints. */
#include <math.h>
#include <stdio.h>

#include "trainer/arch.h"

#define MAX_ACT_FLOATS (1L << 28) /* per sample and node: keeps every index in an int */

static int too_big(const fs_config *c, const char *what, double n, fs_error *e) {
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s: impossible shape: %s would hold %.4g floats; expected at most %ld\n"
                     "  hint: lower model.resolution or the filter counts",
                     c->source[0] ? c->source : "config", what, n, (long)MAX_ACT_FLOATS * 8);
}

/* Every layer's activation per sample and weight count stay within int indexing. */
static int check_sizes(const fs_config *c, fs_error *e) {
    const double act_max = (double)MAX_ACT_FLOATS, w_max = (double)MAX_ACT_FLOATS * 8;
    double h = c->model.resolution, cin = 3, k = c->model.encoder_kernel, u = c->model.upscale_kernel;
    for (int i = 0; i < c->model.n_encoder_filters; i++) {
        double f = c->model.encoder_filters[i];
        h = ceil(h / 2);
        if (k * k * cin * f > w_max || h * h * f > act_max) return too_big(c, "an encoder conv", h * h * f, e);
        cin = f;
    }
    double dense = c->model.dense, bn = c->model.bottleneck_filters;
    if (h * h * cin * dense > w_max) return too_big(c, "encoder.dense1's weights", h * h * cin * dense, e);
    if (h * h * bn * dense > w_max || h * h * bn > act_max) return too_big(c, "encoder.dense2", h * h * bn * dense, e);
    cin = bn;
    for (int i = 0; i < c->model.n_encoder_upscale + c->model.n_decoder_filters; i++) {
        int enc = i < c->model.n_encoder_upscale;
        double f = enc ? c->model.encoder_upscale[i] : c->model.decoder_filters[i - c->model.n_encoder_upscale];
        if (u * u * cin * 4 * f > w_max || h * h * 4 * f > act_max)
            return too_big(c, "an upscale conv", h * h * 4 * f, e);
        h *= 2;
        cin = f;
    }
    return 0;
}

static int check_shapes(const fs_config *c, fs_error *e) {
    const char *src = c->source[0] ? c->source : "config";
    int n = c->model.n_encoder_filters, res = c->model.resolution;
    if (res % (1 << n) != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: impossible shape: model.resolution = %d is not divisible by "
                         "2^%d = %d (model.encoder_filters has %d stride-2 blocks)\n  hint: use a multiple of %d, "
                         "e.g. %d",
                         src, res, n, 1 << n, n, 1 << n, FS_MAX(1 << n, (res + (1 << (n - 1))) / (1 << n) * (1 << n)));
    int ups = c->model.n_encoder_upscale + c->model.n_decoder_filters;
    if (ups != n)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: impossible shape: the decoders would output %ld px, expected "
                         "model.resolution = %d\n  hint: len(model.encoder_upscale) + len(model.decoder_filters) "
                         "(now %d + %d) must equal len(model.encoder_filters) (%d)",
                         src, (long)(res >> n) << ups, res, c->model.n_encoder_upscale, c->model.n_decoder_filters, n);
    return check_sizes(c, e);
}

/* conv to 4C + LeakyReLU, pixel shuffle x2 to (2h, 2w, C). */
static int upscale(fs_model *m, const char *net, int index, int x, int filters, int k) {
    char s[48];
    snprintf(s, sizeof s, ".upscale%d.conv", index);
    x = fs_graph_conv(m, net, s, x, 4 * filters, k, 1, FS_ACT_LEAKY, m->leaky_alpha);
    snprintf(s, sizeof s, ".upscale%d.shuffle", index);
    return fs_graph_pixshuf(m, net, s, x);
}

int fs_arch_original(fs_model *m, const fs_config *c, fs_error *e) {
    if (check_shapes(c, e)) return e->code;
    const float alpha = c->model.leaky_alpha;
    int x = fs_graph_input(m, c->model.resolution, c->model.resolution, 3);
    for (int i = 0; i < c->model.n_encoder_filters; i++) {
        char s[32];
        snprintf(s, sizeof s, ".conv%d", i + 1);
        x = fs_graph_conv(m, "encoder", s, x, c->model.encoder_filters[i], c->model.encoder_kernel, 2, FS_ACT_LEAKY,
                          alpha);
    }
    int side = m->nodes[x].h;
    x = fs_graph_flatten(m, "encoder", ".flatten", x);
    x = fs_graph_dense(m, "encoder", ".dense1", x, c->model.dense, FS_ACT_NONE, 0); /* faceswap: linear */
    x = fs_graph_dense(m, "encoder", ".dense2", x, side * side * c->model.bottleneck_filters, FS_ACT_NONE, 0);
    x = fs_graph_reshape(m, "encoder", ".reshape", x, side, side, c->model.bottleneck_filters);
    for (int i = 0; i < c->model.n_encoder_upscale; i++)
        x = upscale(m, "encoder", i + 1, x, c->model.encoder_upscale[i], c->model.upscale_kernel);
    for (int i = 0; i < m->n_decoders; i++) {
        char net[FS_NAME_LEN + 16];
        snprintf(net, sizeof net, "decoder_%s", c->model.identities[i]);
        int y = fs_graph_slice(m, net, ".in", x, i);
        for (int j = 0; j < c->model.n_decoder_filters; j++)
            y = upscale(m, net, j + 1, y, c->model.decoder_filters[j], c->model.upscale_kernel);
        m->output[i] = fs_graph_conv(m, net, ".output", y, 3, c->model.output_kernel, 1, FS_ACT_SIGMOID, 0);
    }
    return 0;
}
