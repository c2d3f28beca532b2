/* model.c — the model graph (see model.h): the node calls builders use (arch.h), the
 * memory and gradient plan, initialisation, forward, backward, printing and FLOPs. The
 * architectures themselves are in trainer/arch_*.c. */
#include "trainer/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/arch.h"

/* ---------------------------------------------------------------- building nodes */
static size_t node_size(const fs_node *X) { return (size_t)X->h * X->w * X->c; }
static int is_view(const fs_node *X) { return X->kind == FS_NODE_RESHAPE || X->kind == FS_NODE_SLICE; }
static int has_params(const fs_node *X) { return X->w_len > 0 || X->shares >= 0; }
/* Bytes of one stored activation value, and p advanced by `values` of them. */
static size_t act_size(const fs_model *m) { return m->act_bf16 ? 2 : sizeof(float); }
static float *act_at(const fs_model *m, float *p, size_t values) { return (float *)((char *)p + values * act_size(m)); }

static const char *kind_name(fs_node_kind k) {
    static const char *const names[] = {"input", "conv",    "dense", "reshape", "slice",  "pixshuf",
                                        "leaky", "sigmoid", "add",   "concat",  "pixnorm"};
    return (size_t)k < FS_ARRAY_LEN(names) ? names[k] : "?";
}

static fs_node *new_node(fs_model *m, const char *prefix, const char *suffix, fs_node_kind kind, int a, int b) {
    if (m->n_nodes == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        fs_node *grown = realloc(m->nodes, (size_t)m->cap * sizeof *grown);
        if (!grown) fs_die(FS_EXIT_FAIL, "model: out of memory for %d nodes", m->cap);
        m->nodes = grown;
    }
    if ((a >= m->n_nodes) || (b >= m->n_nodes))
        fs_die(FS_EXIT_FAIL, "model: %s%s names node %d, which does not exist yet", prefix, suffix, a > b ? a : b);
    fs_node *X = &m->nodes[m->n_nodes++];
    memset(X, 0, sizeof *X);
    snprintf(X->name, sizeof X->name, "%s%s", prefix, suffix);
    X->kind = kind;
    X->in[0] = a, X->in[1] = b, X->n_in = (a >= 0) + (b >= 0);
    X->shares = -1, X->out_of = X->mask_of = -1, X->gbuf = -1, X->root = m->n_nodes - 1;
    if (a >= 0) {
        const fs_node *A = &m->nodes[a];
        X->h = A->h, X->w = A->w, X->c = A->c, X->slot0 = A->slot0, X->nslots = A->nslots, X->init = A->init;
    }
    if (b >= 0 && (m->nodes[b].slot0 != X->slot0 || m->nodes[b].nslots != X->nslots))
        fs_die(FS_EXIT_FAIL, "model: %s joins nodes over different identity slots", X->name);
    return X;
}

static int id_of(const fs_model *m, const fs_node *X) { return (int)(X - m->nodes); }

static void add_params(fs_model *m, fs_node *X, size_t w_len, size_t b_len) {
    X->w_off = m->n_params, X->w_len = w_len;
    X->b_off = m->n_params + w_len, X->b_len = b_len;
    m->n_params += w_len + b_len;
}

int fs_graph_input(fs_model *m, int h, int w, int c) {
    fs_node *X = new_node(m, "input", "", FS_NODE_INPUT, -1, -1);
    X->h = h, X->w = w, X->c = c, X->slot0 = 0, X->nslots = m->n_decoders;
    return id_of(m, X);
}

int fs_graph_conv(fs_model *m, const char *prefix, const char *suffix, int in, int cout, int k, int stride, fs_act act,
                  float alpha) {
    fs_node *X = new_node(m, prefix, suffix, FS_NODE_CONV, in, -1);
    int cin = X->c;
    X->k = k, X->stride = stride, X->act = act, X->alpha = alpha;
    X->h = (X->h + stride - 1) / stride, X->w = (X->w + stride - 1) / stride, X->c = cout;
    add_params(m, X, (size_t)k * k * cin * cout, (size_t)cout);
    return id_of(m, X);
}

int fs_graph_dense(fs_model *m, const char *prefix, const char *suffix, int in, int out, fs_act act, float alpha) {
    fs_node *X = new_node(m, prefix, suffix, FS_NODE_DENSE, in, -1);
    size_t nin = node_size(X);
    X->act = act, X->alpha = alpha, X->h = X->w = 1, X->c = out;
    add_params(m, X, nin * (size_t)out, (size_t)out);
    return id_of(m, X);
}

int fs_graph_reshape(fs_model *m, const char *prefix, const char *suffix, int in, int h, int w, int c) {
    fs_node *X = new_node(m, prefix, suffix, FS_NODE_RESHAPE, in, -1);
    if ((size_t)h * w * c != node_size(X))
        fs_die(FS_EXIT_FAIL, "model: %s reshapes %zu values to %dx%dx%d", X->name, node_size(X), h, w, c);
    X->h = h, X->w = w, X->c = c;
    return id_of(m, X);
}

int fs_graph_flatten(fs_model *m, const char *prefix, const char *suffix, int in) {
    const fs_node *A = &m->nodes[in];
    return fs_graph_reshape(m, prefix, suffix, in, 1, 1, A->h * A->w * A->c);
}

int fs_graph_slice(fs_model *m, const char *prefix, const char *suffix, int in, int slot) {
    fs_node *X = new_node(m, prefix, suffix, FS_NODE_SLICE, in, -1);
    if (slot < X->slot0 || slot >= X->slot0 + X->nslots)
        fs_die(FS_EXIT_FAIL, "model: %s takes identity slot %d outside its input's", X->name, slot);
    X->slot = slot, X->slot0 = slot, X->nslots = 1;
    return id_of(m, X);
}

int fs_graph_pixshuf(fs_model *m, const char *prefix, const char *suffix, int in) {
    fs_node *X = new_node(m, prefix, suffix, FS_NODE_PIXSHUF, in, -1);
    if (X->c % 4) fs_die(FS_EXIT_FAIL, "model: %s shuffles %d channels (not a multiple of 4)", X->name, X->c);
    X->h *= 2, X->w *= 2, X->c /= 4;
    return id_of(m, X);
}

int fs_graph_leaky(fs_model *m, const char *prefix, const char *suffix, int in, float alpha) {
    fs_node *X = new_node(m, prefix, suffix, FS_NODE_LEAKY, in, -1);
    X->alpha = alpha;
    return id_of(m, X);
}

int fs_graph_sigmoid(fs_model *m, const char *prefix, const char *suffix, int in) {
    return id_of(m, new_node(m, prefix, suffix, FS_NODE_SIGMOID, in, -1));
}

int fs_graph_add(fs_model *m, const char *prefix, const char *suffix, int a, int b) {
    fs_node *X = new_node(m, prefix, suffix, FS_NODE_ADD, a, b);
    const fs_node *B = &m->nodes[b];
    if (B->h != X->h || B->w != X->w || B->c != X->c) fs_die(FS_EXIT_FAIL, "model: %s adds different shapes", X->name);
    return id_of(m, X);
}

int fs_graph_concat(fs_model *m, const char *prefix, const char *suffix, int a, int b) {
    fs_node *X = new_node(m, prefix, suffix, FS_NODE_CONCAT, a, b);
    const fs_node *B = &m->nodes[b];
    if (B->h != X->h || B->w != X->w) fs_die(FS_EXIT_FAIL, "model: %s concatenates different sizes", X->name);
    X->c += B->c;
    return id_of(m, X);
}

int fs_graph_pixnorm(fs_model *m, const char *prefix, const char *suffix, int in) {
    return id_of(m, new_node(m, prefix, suffix, FS_NODE_PIXNORM, in, -1));
}

int fs_graph_share(fs_model *m, int first, int last, int from, int to, const char *prefix, int *map_out) {
    int count = last - first + 1, *map = fs_malloc((size_t)count * sizeof(int));
    for (int j = first; j <= last; j++) {
        fs_node src = m->nodes[j]; /* copied: new_node may move the array */
        int in[2];
        for (int k = 0; k < 2; k++) {
            int v = src.in[k];
            in[k] = v == from ? to : (v >= first && v <= last) ? map[v - first] : v;
        }
        const char *dot = strchr(src.name, '.');
        fs_node *X = new_node(m, prefix, dot ? dot : "", src.kind, in[0], in[1]);
        int slot0 = X->slot0, nslots = X->nslots;
        char name[sizeof X->name];
        memcpy(name, X->name, sizeof name);
        *X = src;
        memcpy(X->name, name, sizeof name);
        X->in[0] = in[0], X->in[1] = in[1], X->slot0 = slot0, X->nslots = nslots;
        X->root = id_of(m, X), X->out_of = X->mask_of = -1;
        if (src.kind == FS_NODE_SLICE) fs_die(FS_EXIT_FAIL, "model: %s: a shared range cannot hold a slice", X->name);
        if (has_params(&src)) X->shares = src.shares >= 0 ? src.shares : j, X->w_len = X->b_len = 0;
        map[j - first] = id_of(m, X);
    }
    int back = map[count - 1];
    if (map_out) memcpy(map_out, map, (size_t)count * sizeof(int));
    free(map);
    return back;
}

void fs_graph_set_init(fs_model *m, int first, fs_init init) {
    for (int j = first; j < m->n_nodes; j++) m->nodes[j].init = init;
}

typedef int (*arch_fn)(fs_model *, const fs_config *, fs_error *);
static const struct {
    const char *name;
    arch_fn build;
} ARCHS[] = {{"original", fs_arch_original}, {"df", fs_arch_df}, {"liae", fs_arch_liae}};

int fs_model_build(fs_model *m, const fs_config *c, fs_error *e) {
    memset(m, 0, sizeof *m);
    if (fs_config_validate(c, e)) return e->code;
    snprintf(m->arch, sizeof m->arch, "%s", c->model.arch);
    m->resolution = c->model.resolution;
    m->n_decoders = c->model.n_identities;
    m->leaky_alpha = c->model.leaky_alpha;
    for (int i = 0; i < FS_MAX_IDENTITIES; i++) m->output[i] = m->mask[i] = -1;
    arch_fn build = NULL;
    for (size_t i = 0; i < FS_ARRAY_LEN(ARCHS); i++)
        if (!strcmp(ARCHS[i].name, c->model.arch)) build = ARCHS[i].build;
    if (!build)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: model.arch = %s is not an architecture; expected original, df or liae",
                         c->source[0] ? c->source : "config", c->model.arch);
    int rc = build(m, c, e);
    if (rc) {
        fs_model_free(m);
        return rc;
    }
    for (int i = 0; i < m->n_decoders; i++) {
        if (m->output[i] < 0) fs_die(FS_EXIT_FAIL, "model: the %s builder gave identity %d no output", m->arch, i);
        m->nodes[m->output[i]].out_of = i;
        if (m->mask[i] >= 0) m->nodes[m->mask[i]].mask_of = i;
    }
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

static size_t part_len(const char *name) {
    const char *dot = strchr(name, '.');
    return dot ? (size_t)(dot - name) : strlen(name);
}

size_t fs_model_part_params(const fs_model *m, const char *part) {
    size_t n = 0, len = strlen(part);
    for (int j = 0; j < m->n_nodes; j++) {
        const fs_node *X = &m->nodes[j];
        if (part_len(X->name) == len && !strncmp(X->name, part, len)) n += X->w_len + X->b_len;
    }
    return n;
}

void fs_model_print(const fs_model *m, FILE *f) {
    char count[32], shape[48], ins[32];
    fprintf(f, "%-4s %-40s %-8s %-9s %-16s %14s\n", "id", "node", "kind", "inputs", "output (HxWxC)", "parameters");
    for (int j = 0; j < m->n_nodes; j++) {
        const fs_node *X = &m->nodes[j];
        snprintf(shape, sizeof shape, "%dx%dx%d", X->h, X->w, X->c);
        if (X->n_in == 2) snprintf(ins, sizeof ins, "%d,%d", X->in[0], X->in[1]);
        else if (X->n_in == 1) snprintf(ins, sizeof ins, "%d", X->in[0]);
        else snprintf(ins, sizeof ins, "-");
        if (X->shares >= 0) snprintf(count, sizeof count, "=%d", X->shares);
        else fmt_count((double)(X->w_len + X->b_len), count, sizeof count);
        fprintf(f, "%-4d %-40s %-8s %-9s %-16s %14s\n", j, X->name, kind_name(X->kind), ins, shape, count);
    }
    for (int j = 0; j < m->n_nodes; j++) { /* one line per part, in order of first appearance */
        const char *name = m->nodes[j].name;
        size_t len = part_len(name);
        int seen = 0;
        for (int k = 0; k < j && !seen; k++)
            seen = part_len(m->nodes[k].name) == len && !strncmp(m->nodes[k].name, name, len);
        if (seen || !strcmp(name, "input")) continue;
        char part[64];
        snprintf(part, sizeof part, "%.*s", (int)len, name);
        size_t n = fs_model_part_params(m, part);
        if (!n) continue;
        fmt_count((double)n, count, sizeof count);
        fprintf(f, "%s parameters: %s\n", part, count);
    }
    fmt_count((double)m->n_params, count, sizeof count);
    fprintf(f, "total parameters: %s\n", count);
}

/* ---------------------------------------------------------------- memory and the plan */
static const fs_node *in_node(const fs_model *m, const fs_node *X, int k) { return &m->nodes[X->in[k]]; }

/* The gradient buffers: a root's gradient lives from the backward of its last consumer (in
 * node order) to its own; greedy reuse of buffers whose occupant is dead. */
static void plan_gradients(fs_model *m) {
    int n = m->n_nodes, *last = fs_malloc((size_t)n * sizeof(int));
    for (int j = 0; j < n; j++) last[j] = -1;
    for (int j = 0; j < n; j++) {
        const fs_node *Y = &m->nodes[j];
        for (int k = 0; k < Y->n_in; k++) {
            const fs_node *V = in_node(m, Y, k);
            if (V->needs_grad) last[V->root] = FS_MAX(last[V->root], j);
        }
    }
    size_t *size = fs_calloc((size_t)n, sizeof(size_t));
    int *busy_until = fs_malloc((size_t)n * sizeof(int)), nb = 0; /* node id whose backward frees it */
    for (int j = n - 1; j >= 0; j--) {                            /* in backward order of the first contribution */
        for (int r = 0; r < n; r++) {
            fs_node *R = &m->nodes[r];
            if (last[r] != j || R->root != r || !R->needs_grad || R->out_of >= 0 || R->mask_of >= 0) continue;
            size_t need = (size_t)R->nslots * m->batch * node_size(R);
            int pick = -1;
            for (int b = 0; b < nb; b++) /* free: its occupant's backward (at busy_until) is before j's */
                if (busy_until[b] > j && (pick < 0 || (size[b] >= need) > (size[pick] >= need) ||
                                          ((size[b] >= need) == (size[pick] >= need) && size[b] < size[pick])))
                    pick = b;
            if (pick < 0) pick = nb++;
            size[pick] = FS_MAX(size[pick], need);
            busy_until[pick] = r;
            R->gbuf = pick;
        }
    }
    m->n_gbufs = nb;
    free(m->gbuf_floats);
    m->gbuf_floats = size; /* fs_model_alloc allocates them */
    free(last), free(busy_until);
}

/* Roots, views and which outputs need a gradient; the fan-in scratch; the gradient buffers.
 * Sizes only: fs_model_alloc allocates exactly these, and fs_model_plan reports them. */
static void plan_layout(fs_model *m, int batch) {
    m->batch = batch;
    free(m->last_use);
    m->last_use = fs_malloc((size_t)m->n_nodes * sizeof(int));
    for (int j = 0; j < m->n_nodes; j++) {
        fs_node *X = &m->nodes[j];
        m->last_use[j] = j;
        if (X->shares >= 0) m->last_use[X->shares] = FS_MIN(m->last_use[X->shares], j);
        X->needs_grad = has_params(X);
        for (int k = 0; k < X->n_in; k++) X->needs_grad |= in_node(m, X, k)->needs_grad;
        if (is_view(X)) {
            const fs_node *A = in_node(m, X, 0);
            X->root = A->root;
            X->view_off = A->view_off + (X->kind == FS_NODE_SLICE ? (size_t)(X->slot - A->slot0) * batch : 0);
        } else {
            X->root = j, X->view_off = 0;
            if ((X->out_of >= 0 || X->mask_of >= 0) && X->nslots != 1)
                fs_die(FS_EXIT_FAIL, "model: output %s covers %d identities", X->name, X->nslots);
        }
    }
    /* The scratch buffer holds a contribution to a gradient slot that already has one: only
     * roots with two contributing edges onto one identity slot need it (original has none). */
    unsigned char(*uses)[FS_MAX_IDENTITIES] = fs_calloc((size_t)m->n_nodes, sizeof *uses);
    size_t scratch = 1;
    for (int j = 0; j < m->n_nodes; j++) {
        const fs_node *Y = &m->nodes[j];
        for (int k = 0; k < Y->n_in && !is_view(Y); k++) {
            const fs_node *V = in_node(m, Y, k);
            for (int t = V->slot0; V->needs_grad && t < V->slot0 + V->nslots; t++)
                if (++uses[V->root][t] > 1) scratch = FS_MAX(scratch, (size_t)Y->nslots * batch * node_size(V));
        }
    }
    free(uses);
    m->scratch_floats = scratch;
    plan_gradients(m);
}

static size_t output_floats(const fs_model *m, const fs_node *X) { return (size_t)X->nslots * m->batch * node_size(X); }

/* act_bf16: the float32 input, and per output (image, mask) its float32 copy and the bf16
 * copy of its gradient, values. */
static size_t boundary_values(const fs_model *m, size_t *outputs) {
    *outputs = 0;
    if (!m->act_bf16) return 0;
    for (int j = 0; j < m->n_nodes; j++)
        if (m->nodes[j].out_of >= 0 || m->nodes[j].mask_of >= 0) *outputs += output_floats(m, &m->nodes[j]);
    return output_floats(m, &m->nodes[0]);
}

void fs_model_plan(fs_model *m, int batch, fs_model_mem *mem) {
    plan_layout(m, batch);
    memset(mem, 0, sizeof *mem);
    mem->params = mem->grads = m->n_params * sizeof(float);
    mem->moments = 2 * m->n_params * sizeof(float);
    for (int j = 0; j < m->n_nodes; j++)
        if (!is_view(&m->nodes[j])) mem->activations += output_floats(m, &m->nodes[j]) * act_size(m);
    for (int b = 0; b < m->n_gbufs; b++) mem->gradients += m->gbuf_floats[b] * act_size(m);
    mem->gradients += m->scratch_floats * act_size(m);
    size_t outputs, input = boundary_values(m, &outputs);
    mem->activations += (input + outputs) * sizeof(float);
    mem->gradients += outputs * act_size(m);
}

void fs_model_alloc(fs_model *m, const fs_backend *be, int batch) {
    plan_layout(m, batch);
    m->be = be;
    m->params = be->alloc(m->n_params * sizeof(float));
    m->grads = be->alloc(m->n_params * sizeof(float));
    m->adam_m = be->alloc(m->n_params * sizeof(float));
    m->adam_v = be->alloc(m->n_params * sizeof(float));
    for (int j = 0; j < m->n_nodes; j++) { /* a view's root is an earlier node */
        fs_node *X = &m->nodes[j];
        if (is_view(X)) X->y = act_at(m, m->nodes[X->root].y, X->view_off * node_size(X));
        else X->y = be->alloc(output_floats(m, X) * act_size(m));
        if (m->act_bf16 && X->out_of >= 0) { /* the float32 side of the boundary (boundary_values) */
            m->out32[X->out_of] = be->alloc(output_floats(m, X) * sizeof(float));
            m->dout16[X->out_of] = be->alloc(output_floats(m, X) * act_size(m));
        }
        if (m->act_bf16 && X->mask_of >= 0) {
            m->mask32[X->mask_of] = be->alloc(output_floats(m, X) * sizeof(float));
            m->dmask16[X->mask_of] = be->alloc(output_floats(m, X) * act_size(m));
        }
    }
    m->input = m->act_bf16 ? be->alloc(output_floats(m, &m->nodes[0]) * sizeof(float)) : m->nodes[0].y;
    m->scratch = be->alloc(m->scratch_floats * act_size(m));
    m->gbufs = fs_calloc((size_t)FS_MAX(m->n_gbufs, 1), sizeof(float *));
    for (int b = 0; b < m->n_gbufs; b++) m->gbufs[b] = be->alloc(m->gbuf_floats[b] * act_size(m));
}

void fs_model_free(fs_model *m) {
    const fs_backend *be = m->be;
    if (be) {
        for (int j = 0; j < m->n_nodes; j++)
            if (!is_view(&m->nodes[j])) be->free(m->nodes[j].y);
        for (int b = 0; b < m->n_gbufs; b++) be->free(m->gbufs[b]);
        float *bufs[] = {m->params,  m->grads_external ? NULL : m->grads, m->adam_m, m->adam_v,
                         m->scratch, m->act_bf16 ? m->input : NULL};
        for (size_t i = 0; i < FS_ARRAY_LEN(bufs); i++) be->free(bufs[i]);
        for (int i = 0; i < FS_MAX_IDENTITIES; i++)
            be->free(m->out32[i]), be->free(m->mask32[i]), be->free(m->dout16[i]), be->free(m->dmask16[i]);
    }
    free(m->gbufs);
    free(m->gbuf_floats);
    free(m->last_use);
    free(m->nodes);
    memset(m, 0, sizeof *m);
}

void fs_model_use_grads(fs_model *m, float *g) {
    if (g == m->grads) return;
    if (!m->grads_external) m->be->free(m->grads);
    m->grads = g;
    m->grads_external = 1;
}

/* Weights are drawn on the host and uploaded in chunks of this many floats (1 MiB): a whole
 * layer's staging copy would add the largest layer's weights (75 MB for original-64's dense
 * layers) to the peak of a run, on top of the parameters and the optimizer state. */
#define INIT_CHUNK ((size_t)1 << 18)
/* Each node with weights draws from its own stream (seed, its index among the conv, dense and
 * pixel-shuffle nodes: the layer numbering of faceswarm's original chain), so one node's init
 * does not depend on the others' shapes. */
void fs_model_init_params(fs_model *m, uint64_t seed) {
    size_t bytes = m->n_params * sizeof(float), most = 1;
    for (int j = 0; j < m->n_nodes; j++) most = FS_MAX(most, m->nodes[j].w_len);
    float *host = fs_aligned_alloc(FS_MIN(most, INIT_CHUNK) * sizeof(float));
    m->be->zero(m->params, bytes); /* biases */
    m->be->zero(m->grads, bytes);
    m->be->zero(m->adam_m, bytes);
    m->be->zero(m->adam_v, bytes);
    int index = 0;
    for (int j = 0; j < m->n_nodes; j++) {
        const fs_node *X = &m->nodes[j];
        int layer = X->kind == FS_NODE_CONV || X->kind == FS_NODE_DENSE || X->kind == FS_NODE_PIXSHUF;
        if (!layer) continue;
        int stream = index++;
        if (!X->w_len) continue;
        const fs_node *A = in_node(m, X, 0);
        double fan_in = X->kind == FS_NODE_CONV ? (double)X->k * X->k * A->c : (double)node_size(A);
        double fan_out = X->kind == FS_NODE_CONV ? (double)X->k * X->k * X->c : (double)X->c;
        double limit = X->init == FS_INIT_GLOROT_UNIFORM ? sqrt(6.0 / (fan_in + fan_out)) : sqrt(6.0 / fan_in);
        fs_rng r;
        fs_rng_init(&r, seed, (uint64_t)stream, 0);
        for (size_t i0 = 0; i0 < X->w_len; i0 += INIT_CHUNK) { /* one stream in order: chunks change no value */
            size_t len = FS_MIN(INIT_CHUNK, X->w_len - i0);
            for (size_t i = 0; i < len; i++) host[i] = (float)fs_rng_range(&r, -limit, limit);
            m->be->upload(m->params + X->w_off + i0, host, len * sizeof(float));
        }
    }
    m->be->sync();
    free(host);
}

/* ---------------------------------------------------------------- segments
 * The calls a node's op is split into: one over all its samples with a full batch, one per
 * identity slot otherwise (slot j's n samples at sample (j - slot0) * batch), or only slot
 * `only` (inference). Offsets are in samples of the node's buffer. */
typedef struct seg {
    size_t off;
    int n;
} seg;

static int segments(const fs_model *m, const fs_node *X, int n, int only, seg *out) {
    if (only >= 0) {
        if (only < X->slot0 || only >= X->slot0 + X->nslots) return 0;
        out[0] = (seg){(size_t)(only - X->slot0) * m->batch, n};
        return 1;
    }
    if (n == m->batch) {
        out[0] = (seg){0, X->nslots * n};
        return 1;
    }
    for (int j = 0; j < X->nslots; j++) out[j] = (seg){(size_t)j * m->batch, n};
    return X->nslots;
}

/* ---------------------------------------------------------------- forward */
static void node_forward(const fs_model *m, const fs_node *X, seg s) {
    const fs_backend *be = m->be;
    if (X->kind == FS_NODE_INPUT || is_view(X)) return;
    const fs_node *A = in_node(m, X, 0), *B = X->n_in > 1 ? in_node(m, X, 1) : NULL;
    const float *a = act_at(m, A->y, s.off * node_size(A)), *b = B ? act_at(m, B->y, s.off * node_size(B)) : NULL;
    const float *w = m->params + X->w_off, *bias = m->params + X->b_off;
    float *y = act_at(m, X->y, s.off * node_size(X));
    size_t count = (size_t)s.n * node_size(X), rows = (size_t)s.n * X->h * X->w;
    fs_conv_desc d;
    switch (X->kind) {
    case FS_NODE_CONV:
        if (fs_conv_desc_init(&d, s.n, A->h, A->w, A->c, X->c, X->k, X->stride))
            fs_die(FS_EXIT_FAIL, "model: %s has an impossible conv shape (n=%d)", X->name, s.n);
        be->conv2d_fwd(&d, a, w, bias, y, X->act, X->alpha);
        break;
    case FS_NODE_DENSE: be->dense_fwd(s.n, (int)node_size(A), X->c, a, w, bias, y, X->act, X->alpha); break;
    case FS_NODE_PIXSHUF: be->pixshuf_fwd(s.n, A->h, A->w, A->c, a, y); break;
    case FS_NODE_LEAKY: be->leaky_fwd(count, X->alpha, a, y); break;
    case FS_NODE_SIGMOID: be->sigmoid_fwd(count, a, y); break;
    case FS_NODE_ADD: be->add(count, a, b, y); break;
    case FS_NODE_CONCAT: be->concat_fwd(rows, A->c, B->c, a, b, y); break;
    case FS_NODE_PIXNORM: be->pixnorm_fwd(rows, X->c, a, y); break;
    default: break;
    }
}

/* Forward of every node (only < 0) or of the nodes on identity `only`'s path that lead to
 * its image (and mask when with_mask). */
static void forward(fs_model *m, int n, int only, int with_mask) {
    char *need = NULL;
    if (only >= 0) {
        need = fs_calloc((size_t)m->n_nodes, 1);
        need[m->output[only]] = 1;
        if (with_mask && m->mask[only] >= 0) need[m->mask[only]] = 1;
        for (int j = m->n_nodes - 1; j >= 0; j--)
            if (need[j])
                for (int k = 0; k < m->nodes[j].n_in; k++) need[m->nodes[j].in[k]] = 1;
    }
    seg sg[FS_MAX_IDENTITIES];
    if (m->act_bf16) m->be->bf16_pack(output_floats(m, &m->nodes[0]), m->input, m->nodes[0].y);
    for (int j = 0; j < m->n_nodes; j++) {
        if (need && !need[j]) continue;
        int ns = segments(m, &m->nodes[j], n, only, sg);
        for (int s = 0; s < ns; s++) node_forward(m, &m->nodes[j], sg[s]);
    }
    for (int j = 0; j < m->n_nodes && m->act_bf16; j++) { /* the float32 outputs */
        const fs_node *X = &m->nodes[j];
        if (need ? !need[j] : !(X->out_of >= 0 || X->mask_of >= 0)) continue;
        if (X->out_of >= 0) m->be->bf16_unpack(output_floats(m, X), X->y, m->out32[X->out_of]);
        if (X->mask_of >= 0) m->be->bf16_unpack(output_floats(m, X), X->y, m->mask32[X->mask_of]);
    }
    free(need);
}

void fs_model_forward(fs_model *m, int n) { forward(m, n, -1, 1); }

float *fs_model_output(fs_model *m, int identity) {
    return m->act_bf16 ? m->out32[identity] : m->nodes[m->output[identity]].y;
}

float *fs_model_mask(fs_model *m, int identity) {
    if (m->mask[identity] < 0) return NULL;
    return m->act_bf16 ? m->mask32[identity] : m->nodes[m->mask[identity]].y;
}

void fs_model_infer_mask(fs_model *m, const float *x, int n, int to, float *y, float *ymask) {
    size_t img = (size_t)m->resolution * m->resolution * 3, plane = img / 3;
    float *slot = m->input + (size_t)to * m->batch * img;
    for (int done = 0; done < n;) {
        int cnt = FS_MIN(m->batch, n - done);
        if (x + (size_t)done * img != slot)
            m->be->copy(slot, x + (size_t)done * img, (size_t)cnt * img * sizeof(float));
        forward(m, cnt, to, ymask != NULL);
        m->be->copy(y + (size_t)done * img, fs_model_output(m, to), (size_t)cnt * img * sizeof(float));
        const float *mk = fs_model_mask(m, to);
        if (ymask && mk) m->be->copy(ymask + (size_t)done * plane, mk, (size_t)cnt * plane * sizeof(float));
        done += cnt;
    }
}

void fs_model_infer(fs_model *m, const float *x, int n, int to, float *y) { fs_model_infer_mask(m, x, n, to, y, NULL); }

/* ---------------------------------------------------------------- backward */
typedef struct bwd {
    fs_model *m;
    int n;
    float **dout, **dmask;
    uint32_t *written; /* per root: identity slots whose gradient holds a value this step */
    char *active;      /* per node: a gradient reaches it this step */
} bwd;

/* The gradient of node X's output at sample offset off of X's buffer. */
static float *grad_at(const bwd *b, const fs_node *X, size_t off) {
    const fs_model *m = b->m;
    const fs_node *R = &m->nodes[X->root];
    float *base = R->out_of >= 0    ? (m->act_bf16 ? m->dout16 : b->dout)[R->out_of]
                  : R->mask_of >= 0 ? (m->act_bf16 ? m->dmask16 : b->dmask)[R->mask_of]
                                    : m->gbufs[R->gbuf];
    return act_at(m, base, (X->view_off + off) * node_size(X));
}

static uint32_t seg_slots(const bwd *b, const fs_node *V, seg s) {
    int first = V->slot0 + (int)(s.off / (size_t)b->m->batch),
        last = V->slot0 + (int)((s.off + s.n - 1) / (size_t)b->m->batch);
    uint32_t bits = 0;
    for (int j = first; j <= last; j++) bits |= 1u << j;
    return bits;
}

/* Where the "=" result of a contribution to input V's gradient over segment s goes: the
 * gradient itself when none of its slots holds a value yet, else the scratch buffer. */
static float *contrib_begin(bwd *b, const fs_node *V, seg s) {
    b->active[V - b->m->nodes] = 1;
    return (b->written[V->root] & seg_slots(b, V, s)) ? b->m->scratch : grad_at(b, V, s.off);
}

static void contrib_end(bwd *b, const fs_node *V, seg s, const float *p) {
    uint32_t bits = seg_slots(b, V, s);
    if (p == b->m->scratch) {
        size_t per = (size_t)b->n * node_size(V); /* each slot's part of the segment */
        int first = V->slot0 + (int)(s.off / (size_t)b->m->batch);
        for (int j = first; bits >> j; j++) {
            if (!(bits >> j & 1u)) continue;
            const float *src = act_at(b->m, (float *)p, (size_t)(j - first) * per);
            float *dst = grad_at(b, V, (size_t)(j - V->slot0) * b->m->batch);
            if (b->written[V->root] >> j & 1u) b->m->be->acc(per, src, dst);
            else b->m->be->copy(dst, src, per * act_size(b->m));
        }
    }
    b->written[V->root] |= bits;
}

static void node_backward(bwd *b, const fs_node *X, seg s) {
    fs_model *m = b->m;
    const fs_backend *be = m->be;
    const fs_node *A = X->n_in ? in_node(m, X, 0) : NULL, *B = X->n_in > 1 ? in_node(m, X, 1) : NULL;
    const float *a = A ? act_at(m, A->y, s.off * node_size(A)) : NULL;
    const float *y = act_at(m, X->y, s.off * node_size(X));
    float *dy = grad_at(b, X, s.off), *da = NULL, *db = NULL;
    size_t count = (size_t)s.n * node_size(X), rows = (size_t)s.n * X->h * X->w;
    int ga = A && A->needs_grad, gb = B && B->needs_grad;
    float *dw = m->grads + X->w_off, *dbias = m->grads + X->b_off;
    const float *w = m->params + X->w_off;
    fs_conv_desc d;
    if (X->kind == FS_NODE_CONV || X->kind == FS_NODE_DENSE) { /* dy becomes the pre-activation gradient */
        if (X->act == FS_ACT_LEAKY) be->leaky_bwd(count, X->alpha, y, dy, dy);
        if (X->act == FS_ACT_SIGMOID) be->sigmoid_bwd(count, y, dy, dy);
    }
    switch (X->kind) {
    case FS_NODE_CONV:
        fs_conv_desc_init(&d, s.n, A->h, A->w, A->c, X->c, X->k, X->stride);
        be->conv2d_bwd_filter(&d, a, dy, dw, dbias);
        if (ga) be->conv2d_bwd_data(&d, dy, w, da = contrib_begin(b, A, s));
        break;
    case FS_NODE_DENSE:
        be->dense_bwd_filter(s.n, (int)node_size(A), X->c, a, dy, dw, dbias);
        if (ga) be->dense_bwd_data(s.n, (int)node_size(A), X->c, dy, w, da = contrib_begin(b, A, s));
        break;
    case FS_NODE_PIXSHUF:
        if (ga) be->pixshuf_bwd(s.n, A->h, A->w, A->c, dy, da = contrib_begin(b, A, s));
        break;
    case FS_NODE_LEAKY:
        if (ga) be->leaky_bwd(count, X->alpha, y, dy, da = contrib_begin(b, A, s));
        break;
    case FS_NODE_SIGMOID:
        if (ga) be->sigmoid_bwd(count, y, dy, da = contrib_begin(b, A, s));
        break;
    case FS_NODE_PIXNORM:
        if (ga) be->pixnorm_bwd(rows, X->c, a, dy, da = contrib_begin(b, A, s));
        break;
    case FS_NODE_ADD:
        if (ga) be->copy(da = contrib_begin(b, A, s), dy, count * act_size(m));
        if (ga) contrib_end(b, A, s, da), da = NULL;
        if (gb) be->copy(db = contrib_begin(b, B, s), dy, count * act_size(m));
        break;
    case FS_NODE_CONCAT: /* one input at a time: each may need the scratch buffer */
        if (ga) be->concat_bwd(rows, A->c, B->c, dy, da = contrib_begin(b, A, s), NULL);
        if (ga) contrib_end(b, A, s, da), da = NULL;
        if (gb) be->concat_bwd(rows, A->c, B->c, dy, NULL, db = contrib_begin(b, B, s));
        break;
    default: break;
    }
    if (da) contrib_end(b, A, s, da);
    if (db) contrib_end(b, B, s, db);
}

/* A view passes its gradient on untouched (it is its input's, at an offset): it only marks
 * that its input receives one. */
static void view_backward(bwd *b, const fs_node *X) {
    const fs_node *A = in_node(b->m, X, 0);
    if (A->needs_grad) b->active[X->in[0]] = 1;
}

typedef struct block {
    size_t off;
    int owner;
} block;

static int by_offset_desc(const void *p, const void *q) {
    const block *a = p, *b = q;
    return a->off < b->off ? 1 : a->off > b->off ? -1 : 0;
}

void fs_model_backward(fs_model *m, int n, float **dout, float **dmask, fs_grad_ready_fn ready, void *ctx) {
    int nn = m->n_nodes, nblocks = 0;
    bwd b = {m, n, dout, dmask, fs_calloc((size_t)nn, sizeof(uint32_t)), fs_calloc((size_t)nn, 1)};
    block *blocks = fs_malloc((size_t)nn * sizeof(block));
    for (int j = 0; j < nn; j++)
        if (m->nodes[j].w_len) blocks[nblocks++] = (block){m->nodes[j].w_off, j};
    qsort(blocks, (size_t)nblocks, sizeof(block), by_offset_desc);
    for (int i = 0; i < m->n_decoders; i++) {
        const fs_node *O = &m->nodes[m->output[i]];
        if (dout && dout[i]) b.active[m->output[i]] = 1, b.written[O->root] = ~0u;
        if (m->mask[i] >= 0 && dmask && dmask[i]) b.active[m->mask[i]] = 1, b.written[m->nodes[m->mask[i]].root] = ~0u;
        if (m->act_bf16 && dout && dout[i]) /* the float32 gradients into the bf16 ones */
            m->be->bf16_pack((size_t)n * node_size(O), dout[i], m->dout16[i]);
        if (m->act_bf16 && m->mask[i] >= 0 && dmask && dmask[i])
            m->be->bf16_pack((size_t)n * node_size(&m->nodes[m->mask[i]]), dmask[i], m->dmask16[i]);
    }
    int next = 0; /* blocks[0..next) are final */
    seg sg[FS_MAX_IDENTITIES];
    for (int j = nn - 1; j >= 0; j--) {
        const fs_node *X = &m->nodes[j];
        if (b.active[j] && X->needs_grad && X->kind != FS_NODE_INPUT) {
            if (is_view(X)) {
                view_backward(&b, X);
            } else {
                for (int t = X->slot0; t < X->slot0 + X->nslots; t++) /* slots no consumer wrote: zero */
                    if (!(b.written[j] >> t & 1u))
                        m->be->zero(grad_at(&b, X, (size_t)(t - X->slot0) * m->batch),
                                    (size_t)n * node_size(X) * act_size(m));
                b.written[j] = ~0u;
                int ns = segments(m, X, n, -1, sg);
                for (int s = 0; s < ns; s++) node_backward(&b, X, sg[s]);
            }
        }
        int before = next;
        while (next < nblocks && m->last_use[blocks[next].owner] >= j) next++;
        if (ready && next > before) ready(ctx, blocks[next - 1].off);
    }
    if (ready && next == nblocks && nblocks && blocks[nblocks - 1].off != 0) ready(ctx, 0);
    free(blocks), free(b.written), free(b.active);
}

/* ---------------------------------------------------------------- FLOPs */
double fs_model_forward_flops(const fs_model *m) {
    double f = 0;
    for (int j = 0; j < m->n_nodes; j++) {
        const fs_node *X = &m->nodes[j];
        if (X->slot0 != 0) continue; /* identity 0's path */
        fs_conv_desc d;
        if (X->kind == FS_NODE_CONV) {
            const fs_node *A = in_node(m, X, 0);
            if (!fs_conv_desc_init(&d, 1, A->h, A->w, A->c, X->c, X->k, X->stride)) f += 2 * fs_conv_macs(&d);
        } else if (X->kind == FS_NODE_DENSE) {
            f += 2.0 * (double)node_size(in_node(m, X, 0)) * (double)X->c;
        }
    }
    return f;
}
