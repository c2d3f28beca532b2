/* ref.h — the plain-loop reference ops (kernels/cpu/ref_*.c) that fs_backend_cpu_ref()
 * gathers into its table
 * (FS_BACKEND_TABLE). Semantics are those of kernels/ops.h. */
#ifndef FACESWARM_CPU_REF_H
#define FACESWARM_CPU_REF_H

#include "kernels/ops.h"

/* fs_ref_<op> for every row of FS_KERNEL_OPS: a missing one fails to link. */
FS_KERNEL_OPS(FS_OP_DECL, fs_ref)

#endif
