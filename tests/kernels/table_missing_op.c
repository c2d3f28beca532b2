/* table_missing_op.c — built only by the kernels_table_missing_op test, which expects the
 * link to FAIL: a backend "t" whose table is generated from the op list (kernels/ops.h)
 * but which defines none of its t_<op> functions. The test passes when the linker names
 * t_dssim (one of the ops) as undefined: a backend lacking an op does not build. */
#include "kernels/ops.h"

FS_MEMORY_OPS(FS_OP_DECL, t)
FS_KERNEL_OPS(FS_OP_DECL, t)

const fs_backend t_backend = {.name = "t", .device = FS_DEV_CPU, FS_BACKEND_TABLE(t, t)};

int main(void) { return t_backend.dssim != 0; }
