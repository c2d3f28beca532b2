/* model.c — the face-swap autoencoder as layer descriptors (see model.h).
 *
 * Build: the config becomes two kinds of nets (encoder, decoder per identity), each a list
 * of conv / dense / pixel-shuffle layers with their offsets in the ONE parameter buffer.
 * Flatten and reshape are free in NHWC and have no layer.
 * Forward/backward: the encoder runs over "segments" of its activation buffers. With a full
 * batch that is one segment of n_decoders * batch samples (one pass); with n < batch it is
 * one segment of n samples per identity, at sample offset i * batch, so that identity i's
 * data always sits at [i*batch, i*batch + n) as model.h promises. */
#include "trainer/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- building the layer table */
typedef struct builder {
    fs_net *net;
    int cap;
    size_t off;  /* next free float of the parameter buffer */
    int h, w, c; /* shape flowing into the next layer */
} builder;

static void set_name(char *dst, size_t len, const char *net, const char *suffix) {
    size_t a = strnlen(net, len - 1), b = strnlen(suffix, len - 1 - a);
    memcpy(dst, net, a);
    memcpy(dst + a, suffix, b);
    dst[a + b] = 0;
}

static size_t in_size(const fs_layer *l) { return (size_t)l->in_h * l->in_w * l->in_c; }
static size_t out_size(const fs_layer *l) { return (size_t)l->out_h * l->out_w * l->out_c; }

static fs_layer *add_layer(builder *b, const char *suffix, fs_layer_kind kind) {
    if (b->net->n_layers >= b->cap) fs_die(FS_EXIT_FAIL, "model: layer table of %s overflows", b->net->name);
    fs_layer *l = &b->net->layers[b->net->n_layers++];
    memset(l, 0, sizeof *l);
    set_name(l->name, sizeof l->name, b->net->name, suffix);
    l->kind = kind;
    l->in_h = b->h, l->in_w = b->w, l->in_c = b->c;
    l->w_off = l->b_off = b->off;
    return l;
}

static void add_params(builder *b, fs_layer *l, size_t w_len, size_t b_len) {
    l->w_off = b->off, l->w_len = w_len;
    l->b_off = b->off + w_len, l->b_len = b_len;
    b->off += w_len + b_len;
    b->h = l->out_h, b->w = l->out_w, b->c = l->out_c;
}

static void add_conv(builder *b, const char *suffix, int cout, int k, int stride, fs_act act) {
    fs_layer *l = add_layer(b, suffix, FS_LAYER_CONV);
    l->k = k, l->stride = stride, l->act = act;
    l->out_h = (b->h + stride - 1) / stride, l->out_w = (b->w + stride - 1) / stride, l->out_c = cout;
    add_params(b, l, (size_t)k * k * b->c * cout, (size_t)cout);
}

/* Dense layers see their input flattened: shape (1, 1, in) -> (1, 1, out). */
static void add_dense(builder *b, const char *suffix, int out) {
    b->c = b->h * b->w * b->c, b->h = b->w = 1;
    fs_layer *l = add_layer(b, suffix, FS_LAYER_DENSE);
    l->act = FS_ACT_NONE; /* faceswap's original: the encoder's dense layers are linear */
    l->out_h = l->out_w = 1, l->out_c = out;
    add_params(b, l, (size_t)l->in_c * out, (size_t)out);
}

/* 3x3 conv to 4C + LeakyReLU, then pixel shuffle x2 to (2h, 2w, C). */
static void add_upscale(builder *b, int index, int filters, int k) {
    char s[48];
    snprintf(s, sizeof s, ".upscale%d.conv", index);
    add_conv(b, s, 4 * filters, k, 1, FS_ACT_LEAKY);
    snprintf(s, sizeof s, ".upscale%d.shuffle", index);
    fs_layer *l = add_layer(b, s, FS_LAYER_PIXSHUF);
    l->out_h = 2 * b->h, l->out_w = 2 * b->w, l->out_c = filters;
    add_params(b, l, 0, 0);
}

static void net_begin(builder *b, fs_net *net, const char *name, int cap, size_t off, int h, int c) {
    memset(net, 0, sizeof *net);
    snprintf(net->name, sizeof net->name, "%s", name);
    net->layers = fs_calloc((size_t)cap, sizeof(fs_layer));
    net->param_off = off;
    *b = (builder){net, cap, off, h, h, c};
}

static void build_encoder(fs_model *m, const fs_config *c) {
    builder b;
    int n = c->model.n_encoder_filters;
    net_begin(&b, &m->encoder, "encoder", n + 2 + 2 * c->model.n_encoder_upscale, 0, c->model.resolution, 3);
    for (int i = 0; i < n; i++) {
        char s[32];
        snprintf(s, sizeof s, ".conv%d", i + 1);
        add_conv(&b, s, c->model.encoder_filters[i], c->model.encoder_kernel, 2, FS_ACT_LEAKY);
    }
    int side = b.h;
    add_dense(&b, ".dense1", c->model.dense);
    add_dense(&b, ".dense2", side * side * c->model.bottleneck_filters);
    b.h = b.w = side, b.c = c->model.bottleneck_filters; /* reshape: free in NHWC */
    for (int i = 0; i < c->model.n_encoder_upscale; i++)
        add_upscale(&b, i + 1, c->model.encoder_upscale[i], c->model.upscale_kernel);
    m->encoder.param_len = b.off;
}

static void build_decoder(fs_model *m, const fs_config *c, int i, size_t off) {
    const fs_layer *last = &m->encoder.layers[m->encoder.n_layers - 1];
    char name[FS_NAME_LEN + 16];
    builder b;
    set_name(name, sizeof name, "decoder_", c->model.identities[i]);
    net_begin(&b, &m->decoders[i], name, 2 * c->model.n_decoder_filters + 1, off, last->out_h, last->out_c);
    for (int j = 0; j < c->model.n_decoder_filters; j++)
        add_upscale(&b, j + 1, c->model.decoder_filters[j], c->model.upscale_kernel);
    add_conv(&b, ".output", 3, c->model.output_kernel, 1, FS_ACT_SIGMOID);
    m->decoders[i].param_len = b.off - off;
}

int fs_model_build(fs_model *m, const fs_config *c, fs_error *e) {
    memset(m, 0, sizeof *m);
    if (fs_config_validate(c, e)) return e->code;
    m->resolution = c->model.resolution;
    m->n_decoders = c->model.n_identities;
    m->leaky_alpha = c->model.leaky_alpha;
    build_encoder(m, c);
    size_t off = m->encoder.param_len;
    for (int i = 0; i < m->n_decoders; i++) {
        build_decoder(m, c, i, off);
        off += m->decoders[i].param_len;
    }
    m->n_params = off;
    return 0;
}

/* ---------------------------------------------------------------- printing */
static void fmt_count(double v, char *out, size_t len) {
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t n = strlen(digits), j = 0;
    for (size_t i = 0; i < n && j + 2 < len; i++) {
        if (i && (n - i) % 3 == 0) out[j++] = ',';
        out[j++] = digits[i];
    }
    out[j] = 0;
}

static void print_row(FILE *f, const char *name, int h, int w, int c, double params) {
    char shape[48], count[32];
    snprintf(shape, sizeof shape, "%dx%dx%d", h, w, c);
    fmt_count(params, count, sizeof count);
    fprintf(f, "%-36s %-16s %14s\n", name, shape, count);
}

static void print_net(const fs_net *net, FILE *f) {
    for (int l = 0; l < net->n_layers; l++) {
        const fs_layer *L = &net->layers[l];
        char extra[96];
        if (L->kind == FS_LAYER_DENSE && l > 0 && net->layers[l - 1].kind != FS_LAYER_DENSE) {
            set_name(extra, sizeof extra, net->name, ".flatten");
            print_row(f, extra, 1, 1, L->in_c, 0);
        }
        if (l > 0 && net->layers[l - 1].kind == FS_LAYER_DENSE && L->kind != FS_LAYER_DENSE) {
            set_name(extra, sizeof extra, net->name, ".reshape");
            print_row(f, extra, L->in_h, L->in_w, L->in_c, 0);
        }
        print_row(f, L->name, L->out_h, L->out_w, L->out_c, (double)(L->w_len + L->b_len));
    }
    char count[32];
    char label[96];
    set_name(label, sizeof label, net->name, " total");
    fmt_count((double)net->param_len, count, sizeof count);
    fprintf(f, "%-53s %14s\n", label, count);
}

void fs_model_print(const fs_model *m, FILE *f) {
    char count[32];
    fprintf(f, "%-36s %-16s %14s\n", "layer", "output (HxWxC)", "parameters");
    print_row(f, "input", m->resolution, m->resolution, 3, 0);
    print_net(&m->encoder, f);
    for (int i = 0; i < m->n_decoders; i++) print_net(&m->decoders[i], f);
    fmt_count((double)m->encoder.param_len, count, sizeof count);
    fprintf(f, "encoder parameters: %s\n", count);
    for (int i = 0; i < m->n_decoders; i++) {
        fmt_count((double)m->decoders[i].param_len, count, sizeof count);
        fprintf(f, "%s parameters: %s\n", m->decoders[i].name, count);
    }
    fmt_count((double)m->n_params, count, sizeof count);
    fprintf(f, "total parameters: %s\n", count);
}

/* ---------------------------------------------------------------- memory */
static void net_alloc(const fs_backend *be, fs_net *net, int batch) {
    size_t biggest = 0;
    net->batch = batch;
    net->act = fs_calloc((size_t)net->n_layers, sizeof(float *));
    for (int l = 0; l < net->n_layers; l++) {
        const fs_layer *L = &net->layers[l];
        net->act[l] = be->alloc((size_t)batch * out_size(L) * sizeof(float));
        biggest = FS_MAX(biggest, FS_MAX(in_size(L), out_size(L)));
    }
    net->dact_a = be->alloc((size_t)batch * biggest * sizeof(float));
    net->dact_b = be->alloc((size_t)batch * biggest * sizeof(float));
}

static size_t latent_size(const fs_model *m) { return out_size(&m->encoder.layers[m->encoder.n_layers - 1]); }

void fs_model_alloc(fs_model *m, const fs_backend *be, int batch) {
    size_t nb = (size_t)m->n_decoders * batch, res = (size_t)m->resolution;
    m->be = be;
    m->batch = batch;
    m->params = be->alloc(m->n_params * sizeof(float));
    m->grads = be->alloc(m->n_params * sizeof(float));
    m->adam_m = be->alloc(m->n_params * sizeof(float));
    m->adam_v = be->alloc(m->n_params * sizeof(float));
    m->input = be->alloc(nb * res * res * 3 * sizeof(float));
    m->dlatent = be->alloc(nb * latent_size(m) * sizeof(float));
    net_alloc(be, &m->encoder, (int)nb);
    for (int i = 0; i < m->n_decoders; i++) net_alloc(be, &m->decoders[i], batch);
}

static void net_free(const fs_backend *be, fs_net *net) {
    if (be && net->act) {
        for (int l = 0; l < net->n_layers; l++) be->free(net->act[l]);
        be->free(net->dact_a);
        be->free(net->dact_b);
    }
    free(net->act);
    free(net->layers);
    memset(net, 0, sizeof *net);
}

void fs_model_free(fs_model *m) {
    const fs_backend *be = m->be;
    net_free(be, &m->encoder);
    for (int i = 0; i < m->n_decoders; i++) net_free(be, &m->decoders[i]);
    if (be) {
        float *bufs[] = {m->params, m->grads_external ? NULL : m->grads, m->adam_m, m->adam_v, m->input, m->dlatent};
        for (size_t i = 0; i < FS_ARRAY_LEN(bufs); i++) be->free(bufs[i]);
    }
    memset(m, 0, sizeof *m);
}

void fs_model_use_grads(fs_model *m, float *g) {
    if (g == m->grads) return;
    if (!m->grads_external) m->be->free(m->grads);
    m->grads = g;
    m->grads_external = 1;
}

/* He-uniform as Keras/faceswap: U(-limit, limit), limit = sqrt(6 / fan_in). Each layer draws
 * from its own stream (seed, layer index in buffer order), so one layer's init does not
 * depend on the others' shapes. */
static void init_net(fs_model *m, const fs_net *net, uint64_t seed, int *index, float *host) {
    for (int l = 0; l < net->n_layers; l++, (*index)++) {
        const fs_layer *L = &net->layers[l];
        if (!L->w_len) continue;
        double fan_in = L->kind == FS_LAYER_CONV ? (double)L->k * L->k * L->in_c : (double)in_size(L);
        double limit = sqrt(6.0 / fan_in);
        fs_rng r;
        fs_rng_init(&r, seed, (uint64_t)*index, 0);
        for (size_t j = 0; j < L->w_len; j++) host[j] = (float)fs_rng_range(&r, -limit, limit);
        m->be->upload(m->params + L->w_off, host, L->w_len * sizeof(float));
    }
}

static size_t max_weights(const fs_net *net) {
    size_t n = 0;
    for (int l = 0; l < net->n_layers; l++) n = FS_MAX(n, net->layers[l].w_len);
    return n;
}

void fs_model_init_params(fs_model *m, uint64_t seed) {
    size_t bytes = m->n_params * sizeof(float), most = max_weights(&m->encoder);
    for (int i = 0; i < m->n_decoders; i++) most = FS_MAX(most, max_weights(&m->decoders[i]));
    float *host = fs_aligned_alloc(FS_MAX(most, 1) * sizeof(float));
    m->be->zero(m->params, bytes); /* biases */
    m->be->zero(m->grads, bytes);
    m->be->zero(m->adam_m, bytes);
    m->be->zero(m->adam_v, bytes);
    int index = 0;
    init_net(m, &m->encoder, seed, &index, host);
    for (int i = 0; i < m->n_decoders; i++) init_net(m, &m->decoders[i], seed, &index, host);
    m->be->sync();
    free(host);
}

/* ---------------------------------------------------------------- forward */
static void layer_forward(const fs_model *m, const fs_layer *L, const float *x, float *y, int n) {
    const fs_backend *be = m->be;
    const float *w = m->params + L->w_off, *b = m->params + L->b_off;
    fs_conv_desc d;
    switch (L->kind) {
    case FS_LAYER_CONV:
        if (fs_conv_desc_init(&d, n, L->in_h, L->in_w, L->in_c, L->out_c, L->k, L->stride))
            fs_die(FS_EXIT_FAIL, "model: %s has an impossible conv shape (n=%d)", L->name, n);
        be->conv2d_fwd(&d, x, w, b, y, L->act, m->leaky_alpha);
        break;
    case FS_LAYER_DENSE:
        be->dense_fwd(n, (int)in_size(L), (int)out_size(L), x, w, b, y, L->act, m->leaky_alpha);
        break;
    case FS_LAYER_PIXSHUF: be->pixshuf_fwd(n, L->in_h, L->in_w, L->in_c, x, y); break;
    }
}

/* Runs every layer of net on n samples at sample offset off of its buffers; x is the input
 * of those samples. */
static void net_forward(const fs_model *m, const fs_net *net, const float *x, size_t off, int n) {
    for (int l = 0; l < net->n_layers; l++) {
        const fs_layer *L = &net->layers[l];
        const float *in = l ? net->act[l - 1] + off * in_size(L) : x;
        layer_forward(m, L, in, net->act[l] + off * out_size(L), n);
    }
}

static const float *latent(const fs_model *m, int identity) {
    return m->encoder.act[m->encoder.n_layers - 1] + (size_t)identity * m->batch * latent_size(m);
}

void fs_model_forward(fs_model *m, int n) {
    size_t in0 = in_size(&m->encoder.layers[0]);
    if (n == m->batch) {
        net_forward(m, &m->encoder, m->input, 0, m->n_decoders * n);
    } else {
        for (int i = 0; i < m->n_decoders; i++) {
            size_t off = (size_t)i * m->batch;
            net_forward(m, &m->encoder, m->input + off * in0, off, n);
        }
    }
    for (int i = 0; i < m->n_decoders; i++) net_forward(m, &m->decoders[i], latent(m, i), 0, n);
}

float *fs_model_output(fs_model *m, int identity) {
    const fs_net *net = &m->decoders[identity];
    return net->act[net->n_layers - 1];
}

void fs_model_infer(fs_model *m, const float *x, int n, int decoder, float *y) {
    size_t in0 = (size_t)m->resolution * m->resolution * 3;
    const fs_net *dec = &m->decoders[decoder];
    for (int done = 0; done < n;) {
        int cnt = FS_MIN(m->batch, n - done);
        net_forward(m, &m->encoder, x + (size_t)done * in0, 0, cnt);
        net_forward(m, dec, m->encoder.act[m->encoder.n_layers - 1], 0, cnt);
        m->be->copy(y + (size_t)done * in0, dec->act[dec->n_layers - 1], (size_t)cnt * in0 * sizeof(float));
        done += cnt;
    }
}

/* ---------------------------------------------------------------- backward */
/* dy (gradient w.r.t. the layer's output y) is overwritten with the gradient w.r.t. the
 * pre-activation; dx = NULL skips the input gradient (the encoder's first layer). */
static void layer_backward(const fs_model *m, const fs_layer *L, const float *x, const float *y, float *dy,
                           float *dx, int n) {
    const fs_backend *be = m->be;
    const float *w = m->params + L->w_off;
    float *dw = m->grads + L->w_off, *db = m->grads + L->b_off;
    size_t count = (size_t)n * out_size(L);
    if (L->act == FS_ACT_LEAKY) be->leaky_bwd(count, m->leaky_alpha, y, dy, dy);
    if (L->act == FS_ACT_SIGMOID) be->sigmoid_bwd(count, y, dy, dy);
    fs_conv_desc d;
    switch (L->kind) {
    case FS_LAYER_CONV:
        fs_conv_desc_init(&d, n, L->in_h, L->in_w, L->in_c, L->out_c, L->k, L->stride);
        be->conv2d_bwd_filter(&d, x, dy, dw, db);
        if (dx) be->conv2d_bwd_data(&d, dy, w, dx);
        break;
    case FS_LAYER_DENSE:
        be->dense_bwd_filter(n, (int)in_size(L), (int)out_size(L), x, dy, dw, db);
        if (dx) be->dense_bwd_data(n, (int)in_size(L), (int)out_size(L), dy, w, dx);
        break;
    case FS_LAYER_PIXSHUF:
        if (dx) be->pixshuf_bwd(n, L->in_h, L->in_w, L->in_c, dy, dx);
        break;
    }
}

/* The samples one backward pass covers: nseg segments of n samples at sample offsets offs. */
typedef struct segments {
    size_t offs[FS_MAX_IDENTITIES];
    int nseg, n;
} segments;

/* Last layer first. x0: the net's input (at sample 0), dy_top: gradient of its output
 * (overwritten), dx_bottom: where the input gradient goes (NULL: not needed). */
static void net_backward(fs_model *m, fs_net *net, const float *x0, const segments *sg, float *dy_top,
                         float *dx_bottom, fs_grad_ready_fn ready, void *ctx) {
    float *cur = dy_top, *nxt = net->dact_a;
    for (int l = net->n_layers - 1; l >= 0; l--) {
        const fs_layer *L = &net->layers[l];
        size_t is = in_size(L), os = out_size(L);
        float *dst = l ? nxt : dx_bottom;
        for (int s = 0; s < sg->nseg; s++) {
            size_t o = sg->offs[s];
            const float *x = (l ? net->act[l - 1] : x0) + o * is;
            layer_backward(m, L, x, net->act[l] + o * os, cur + o * os, dst ? dst + o * is : NULL, sg->n);
        }
        if (L->w_len && ready) ready(ctx, L->w_off);
        cur = nxt;
        nxt = cur == net->dact_a ? net->dact_b : net->dact_a;
    }
}

void fs_model_backward(fs_model *m, int n, float **dout, fs_grad_ready_fn ready, void *ctx) {
    size_t lat = latent_size(m);
    segments one = {.offs = {0}, .nseg = 1, .n = n};
    for (int i = m->n_decoders - 1; i >= 0; i--)
        net_backward(m, &m->decoders[i], latent(m, i), &one, dout[i], m->dlatent + (size_t)i * m->batch * lat,
                     ready, ctx);
    segments enc = {.offs = {0}, .nseg = 1, .n = m->n_decoders * n};
    if (n != m->batch) {
        enc.nseg = m->n_decoders, enc.n = n;
        for (int i = 0; i < m->n_decoders; i++) enc.offs[i] = (size_t)i * m->batch;
    }
    net_backward(m, &m->encoder, m->input, &enc, m->dlatent, NULL, ready, ctx);
}

/* ---------------------------------------------------------------- FLOPs */
static double net_flops(const fs_net *net) {
    double f = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const fs_layer *L = &net->layers[l];
        fs_conv_desc d;
        if (L->kind == FS_LAYER_CONV && !fs_conv_desc_init(&d, 1, L->in_h, L->in_w, L->in_c, L->out_c, L->k, L->stride))
            f += 2 * fs_conv_macs(&d);
        else if (L->kind == FS_LAYER_DENSE)
            f += 2.0 * (double)in_size(L) * (double)out_size(L);
    }
    return f;
}

double fs_model_forward_flops(const fs_model *m) {
    return net_flops(&m->encoder) + (m->n_decoders ? net_flops(&m->decoders[0]) : 0);
}
