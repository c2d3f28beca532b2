/* ref.c — fs_backend_cpu_ref(): the plain-loop reference backend, the specification every
 * other backend is tested against (kernels/cpu/ref_*.c). Single-threaded, host memory. */
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/ref.h"

static const fs_backend g_ref = {
    .name = "cpu-ref",
    .device = FS_DEV_CPU,
    .alloc = fs_cpu_alloc,
    .free = fs_cpu_free,
    .upload = fs_cpu_memcpy,
    .download = fs_cpu_memcpy,
    .copy = fs_cpu_memcpy,
    .zero = fs_cpu_zero,
    .sync = fs_cpu_sync,
    .u8_to_float = fs_ref_u8_to_float,
    .conv2d_fwd = fs_ref_conv2d_fwd,
    .conv2d_bwd_data = fs_ref_conv2d_bwd_data,
    .conv2d_bwd_filter = fs_ref_conv2d_bwd_filter,
    .dense_fwd = fs_ref_dense_fwd,
    .dense_bwd_data = fs_ref_dense_bwd_data,
    .dense_bwd_filter = fs_ref_dense_bwd_filter,
    .leaky_fwd = fs_ref_leaky_fwd,
    .leaky_bwd = fs_ref_leaky_bwd,
    .sigmoid_fwd = fs_ref_sigmoid_fwd,
    .sigmoid_bwd = fs_ref_sigmoid_bwd,
    .pixshuf_fwd = fs_ref_pixshuf_fwd,
    .pixshuf_bwd = fs_ref_pixshuf_bwd,
    .mask_mul = fs_ref_mask_mul,
    .mse = fs_ref_mse,
    .l1 = fs_ref_l1,
    .dssim = fs_ref_dssim,
    .sumsq = fs_ref_sumsq,
    .adam = fs_ref_adam,
    .scale = fs_ref_scale,
};

const fs_backend *fs_backend_cpu_ref(void) { return &g_ref; }
