/* arch_liae.c — DeepFaceLab SAEHD's LIAE (model.arch: liae), for exactly two identities:
 * model.identities[0] plays DeepFaceLab's src, model.identities[1] its dst.
 *
 * input -> encoder over both identities' samples; inter_AB (ae_out = 2 ae_dims) over both;
 * inter_B over the dst slice only. Codes: src = concat(inter_AB(src), inter_AB(src)),
 * dst = concat(inter_B(dst), inter_AB(dst)). ONE decoder (in = 4 ae_dims channels) decodes
 * both: "decoder" on the src code and "decoder@<dst>" sharing its parameters on the dst code.
 * A swap to identity `to` runs x through `to`'s code path: to = src gives DeepFaceLab's
 * pred_src_dst = decoder(concat(inter_AB(code), inter_AB(code))) (a dst face as src), to = dst
 * gives decoder(concat(inter_B(code), inter_AB(code))).
 * Parameters: encoder, inter_AB, inter_B, decoder; the decoder's gradients are final after its
 * src use, the last in the backward pass. */
#include <stdio.h>
#include <stdlib.h>

#include "trainer/arch.h"

int fs_arch_liae(fs_model *m, const fs_config *c, fs_error *e) {
    if (m->n_decoders != 2)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: model.arch = liae takes exactly 2 identities (src, dst), "
                         "model.identities has %d\n  hint: LIAE's inter_B belongs to one dst identity; train more "
                         "identities with model.arch: df",
                         c->source[0] ? c->source : "config", m->n_decoders);
    fs_saehd o;
    if (fs_saehd_options(c, "liae", &o, e)) return e->code;
    int x = fs_graph_input(m, o.res, o.res, 3);
    x = fs_saehd_encoder(m, &o, x);
    int ab = fs_saehd_inter(m, &o, "inter_AB", x, 2 * o.ae_dims);
    int x_dst = fs_graph_slice(m, "inter_B", ".in", x, 1);
    int b = fs_saehd_inter(m, &o, "inter_B", x_dst, 2 * o.ae_dims);
    int ab_src = fs_graph_slice(m, "code_src", ".inter_AB", ab, 0);
    int ab_dst = fs_graph_slice(m, "code_dst", ".inter_AB", ab, 1);
    int code_src = fs_graph_concat(m, "code_src", ".concat", ab_src, ab_src);
    int code_dst = fs_graph_concat(m, "code_dst", ".concat", b, ab_dst);
    int first = m->n_nodes;
    m->output[0] = fs_saehd_decoder(m, &o, "decoder", code_src, &m->mask[0]);
    int last = m->n_nodes - 1, *map = fs_malloc((size_t)(last - first + 1) * sizeof(int));
    char name[FS_NAME_LEN + 16];
    snprintf(name, sizeof name, "decoder@%s", c->model.identities[1]);
    fs_graph_share(m, first, last, code_src, code_dst, name, map);
    m->output[1] = map[m->output[0] - first], m->mask[1] = map[m->mask[0] - first];
    free(map);
    return 0;
}
