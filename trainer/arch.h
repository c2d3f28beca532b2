/* arch.h — what an architecture's builder uses to make its graph (see model.h), and the
 * builders. A builder adds nodes in forward order (their parameters are laid out in that
 * order), marks each identity's image output and, when it has one, its mask output, and
 * checks its own shape rules, naming the key and value in the error (exit 2).
 *
 * Adding an architecture: a file trainer/arch_NAME.c with an fs_arch_NAME builder, its row in
 * fs_model_build (model.c), its name in model.arch's allowed values (config.c). */
#ifndef FACESWARM_ARCH_H
#define FACESWARM_ARCH_H

#include "trainer/model.h"

/* Every call returns the new node's id. Names are prefix + suffix ("encoder" ".conv1"). */
int fs_graph_input(fs_model *m, int h, int w, int c);
/* k x k conv "same", stride 1 or 2, cout channels, fused act (alpha: LeakyReLU slope). */
int fs_graph_conv(fs_model *m, const char *prefix, const char *suffix, int in, int cout, int k, int stride, fs_act act,
                  float alpha);
/* Dense on the flattened input (the node's input must be 1 x 1 x in: reshape first). */
int fs_graph_dense(fs_model *m, const char *prefix, const char *suffix, int in, int out, fs_act act, float alpha);
int fs_graph_reshape(fs_model *m, const char *prefix, const char *suffix, int in, int h, int w, int c);
int fs_graph_flatten(fs_model *m, const char *prefix, const char *suffix, int in);
int fs_graph_slice(fs_model *m, const char *prefix, const char *suffix, int in, int slot);
int fs_graph_pixshuf(fs_model *m, const char *prefix, const char *suffix, int in);
int fs_graph_leaky(fs_model *m, const char *prefix, const char *suffix, int in, float alpha);
int fs_graph_sigmoid(fs_model *m, const char *prefix, const char *suffix, int in);
int fs_graph_add(fs_model *m, const char *prefix, const char *suffix, int a, int b);
int fs_graph_concat(fs_model *m, const char *prefix, const char *suffix, int a, int b);
int fs_graph_pixnorm(fs_model *m, const char *prefix, const char *suffix, int in);
/* Nodes [first, last] again on another input, sharing their parameters: the copy of node j
 * reads the copy of its inputs inside the range and the same inputs outside it, except that
 * `from` (an input of the range) is replaced by `to`. Names get the prefix `prefix` instead
 * of the part before the first '.'. Returns the id the copy of node `last` got (the copies
 * are consecutive); *map_out (optional) gets the copy of node j at map_out[j - first]. */
int fs_graph_share(fs_model *m, int first, int last, int from, int to, const char *prefix, int *map_out);
/* Sets every node from `first` on to weight init `init`. */
void fs_graph_set_init(fs_model *m, int first, fs_init init);

/* The builders (config section model). */
int fs_arch_original(fs_model *m, const fs_config *c, fs_error *e);
int fs_arch_df(fs_model *m, const fs_config *c, fs_error *e);
int fs_arch_liae(fs_model *m, const fs_config *c, fs_error *e);

/* DeepFaceLab's SAEHD building blocks (trainer/arch_saehd.c), shared by df and liae. The
 * flags are model.archi_flags: 'u', 'd', 't'. */
typedef struct fs_saehd {
    int res, ae_dims, e_dims, d_dims, d_mask_dims;
    int u, d, t;
} fs_saehd;
/* Reads and checks the SAEHD options of c (model.resolution with the flags' multiple,
 * the dims), arch names the architecture for the messages. */
int fs_saehd_options(const fs_config *c, const char *arch, fs_saehd *o, fs_error *e);
/* Encoder on the input node: returns its flattened (and with u, pixel-normed) output. */
int fs_saehd_encoder(fs_model *m, const fs_saehd *o, int input);
/* Inter: dense ae_dims, dense to lowest^2 * ae_out, reshape, upscale (not with t). */
int fs_saehd_inter(fs_model *m, const fs_saehd *o, const char *name, int in, int ae_out);
/* Decoder on z; *mask gets the mask output node. Returns the image output node. */
int fs_saehd_decoder(fs_model *m, const fs_saehd *o, const char *name, int z, int *mask);

#endif
