/* ref.c — fs_backend_cpu_ref(): the plain-loop reference backend, the specification every
 * other backend is tested against (kernels/cpu/ref_*.c). Single-threaded, host memory. */
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/ref.h"

static const fs_backend g_ref = {.name = "cpu-ref", .device = FS_DEV_CPU, FS_BACKEND_TABLE(fs_cpu, fs_ref)};

const fs_backend *fs_backend_cpu_ref(void) { return &g_ref; }
