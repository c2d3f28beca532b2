/* ops.c — shape helpers shared by every backend, and backend selection. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "kernels/ops.h"

int fs_conv_desc_init(fs_conv_desc *d, int n, int h, int w, int cin, int cout, int k, int stride) {
    if (n < 1 || h < 1 || w < 1 || cin < 1 || cout < 1 || k < 1 || (stride != 1 && stride != 2)) return -1;
    d->n = n, d->h = h, d->w = w, d->cin = cin, d->cout = cout, d->k = k, d->stride = stride;
    d->ho = (h + stride - 1) / stride;
    d->wo = (w + stride - 1) / stride;
    int ph = (d->ho - 1) * stride + k - h, pw = (d->wo - 1) * stride + k - w;
    d->pad_top = ph > 0 ? ph / 2 : 0;
    d->pad_left = pw > 0 ? pw / 2 : 0;
    return 0;
}

double fs_conv_macs(const fs_conv_desc *d) { return (double)d->n * d->ho * d->wo * d->cout * d->k * d->k * d->cin; }

const fs_backend *fs_backend_select(const char *device, int local_rank, fs_error *e) {
    if (!strcmp(device, "cpu")) return fs_backend_cpu();
    if (!strcmp(device, "cuda")) return fs_backend_cuda(local_rank, e);
    fs_errorf(e, FS_EXIT_BADINPUT, "train.device: '%s' is not a device; expected cpu or cuda", device);
    return NULL;
}

int fs_adam_variant_parse(const char *s) {
    static const char *const names[] = {"keras", "paper", "legacy"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

#define OP_INFO(P, ret, name, params) {#name, offsetof(fs_backend, name), P},
static const fs_op_info g_ops[] = {FS_MEMORY_OPS(OP_INFO, 0) FS_KERNEL_OPS(OP_INFO, 1)};

const fs_op_info *fs_op_list(size_t *count) {
    *count = FS_ARRAY_LEN(g_ops);
    return g_ops;
}

int fs_backend_missing(const fs_backend *be, char *buf, size_t len) {
    int missing = 0;
    size_t used = 0;
    if (len) buf[0] = '\0';
    for (size_t i = 0; i < FS_ARRAY_LEN(g_ops); i++) {
        void (*fn)(void);
        memcpy(&fn, (const char *)be + g_ops[i].offset, sizeof fn); /* every entry is a function pointer */
        if (fn) continue;
        if (used < len) {
            int w = snprintf(buf + used, len - used, "%s%s", missing ? ", " : "", g_ops[i].name);
            used += w > 0 ? (size_t)w : 0;
        }
        missing++;
    }
    return missing;
}
