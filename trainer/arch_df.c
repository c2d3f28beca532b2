/* arch_df.c — DeepFaceLab SAEHD's DF (model.arch: df): one encoder and one inter shared by
 * every identity, one decoder per identity (DeepFaceLab's decoder_src, decoder_dst for two).
 *
 * input -> encoder -> inter (ae_out = ae_dims) over all identities' samples; identity i's
 * slice -> decoder_<i> -> image and mask. A swap to identity `to` decodes x's code with
 * decoder_<to> (DeepFaceLab's pred_src_dst = decoder_src(inter(encoder(dst)))).
 * Parameters: encoder, inter, decoder 0, decoder 1, ... (blocks of arch_saehd.c). */
#include <stdio.h>

#include "trainer/arch.h"

int fs_arch_df(fs_model *m, const fs_config *c, fs_error *e) {
    fs_saehd o;
    if (fs_saehd_options(c, "df", &o, e)) return e->code;
    int x = fs_graph_input(m, o.res, o.res, 3);
    x = fs_saehd_encoder(m, &o, x);
    x = fs_saehd_inter(m, &o, "inter", x, o.ae_dims);
    for (int i = 0; i < m->n_decoders; i++) {
        char net[FS_NAME_LEN + 16];
        snprintf(net, sizeof net, "decoder_%s", c->model.identities[i]);
        int z = fs_graph_slice(m, net, ".in", x, i);
        m->output[i] = fs_saehd_decoder(m, &o, net, z, &m->mask[i]);
    }
    return 0;
}
