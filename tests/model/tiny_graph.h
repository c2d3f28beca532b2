/* tiny_graph.h — a hand-made model graph for tests (tests/model, tests/cuda): 8x8 px, two
 * identities; one node feeding three consumers, add, a standalone LeakyReLU, concat with one
 * input used twice, pixel norm, per-identity slices, a sigmoid node as the image output, a
 * mask output, and identity 1's branch sharing identity 0's parameters. */
#ifndef FACESWARM_TESTS_TINY_GRAPH_H
#define FACESWARM_TESTS_TINY_GRAPH_H

#include <stdio.h>
#include <string.h>

#include "trainer/arch.h"

/* Fills m (zeroed here) with the graph; returns the node id of dec0's conv ".up" (shared by
 * dec1's copy). */
static inline int tiny_graph_build(fs_model *m) {
    memset(m, 0, sizeof *m);
    m->resolution = 8, m->n_decoders = 2;
    for (int i = 0; i < FS_MAX_IDENTITIES; i++) m->output[i] = m->mask[i] = -1;
    snprintf(m->arch, sizeof m->arch, "test");
    int x = fs_graph_input(m, 8, 8, 3);
    int a = fs_graph_conv(m, "enc", ".a", x, 4, 3, 2, FS_ACT_LEAKY, 0.2f); /* 4x4x4 */
    int b = fs_graph_conv(m, "enc", ".b", a, 4, 3, 1, FS_ACT_NONE, 0);
    int s = fs_graph_add(m, "enc", ".add", a, b); /* a: 2 uses */
    int l = fs_graph_leaky(m, "enc", ".leaky", s, 0.3f);
    int c = fs_graph_concat(m, "enc", ".concat", l, a); /* a: 3 uses, 4x4x8 */
    int p = fs_graph_pixnorm(m, "enc", ".pixnorm", c);
    int z0 = fs_graph_slice(m, "dec0", ".in", p, 0), z1 = fs_graph_slice(m, "dec1", ".in", p, 1);
    int first = m->n_nodes;
    int cc = fs_graph_concat(m, "dec0", ".twice", z0, z0); /* one input twice */
    int up = fs_graph_conv(m, "dec0", ".up", cc, 12, 3, 1, FS_ACT_NONE, 0);
    int u = fs_graph_pixshuf(m, "dec0", ".shuffle", up); /* 8x8x3 */
    m->output[0] = fs_graph_sigmoid(m, "dec0", ".sigmoid", u);
    int mk = fs_graph_conv(m, "dec0", ".mask4", cc, 4, 1, 1, FS_ACT_NONE, 0); /* fan-out of cc */
    mk = fs_graph_pixshuf(m, "dec0", ".mask_shuffle", mk);
    m->mask[0] = fs_graph_conv(m, "dec0", ".mask", mk, 1, 1, 1, FS_ACT_SIGMOID, 0);
    int map[16];
    fs_graph_share(m, first, m->n_nodes - 1, z0, z1, "dec1", map);
    m->output[1] = map[m->output[0] - first], m->mask[1] = map[m->mask[0] - first];
    for (int i = 0; i < 2; i++) m->nodes[m->output[i]].out_of = i, m->nodes[m->mask[i]].mask_of = i;
    return up;
}

#endif
