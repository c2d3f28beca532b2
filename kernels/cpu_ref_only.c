/* cpu_ref_only.c — a kernels-only build (FACESWARM_KERNELS_ONLY) has no BLAS, so no fast CPU
 * path: fs_backend_cpu() is the plain-loop reference there. */
#include "kernels/ops.h"

const fs_backend *fs_backend_cpu(void) { return fs_backend_cpu_ref(); }
