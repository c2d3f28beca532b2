/* cuda_emu_absent.c — linked instead of the CUDA emulator in a kernels-only build without
 * OpenMP (the emulator runs a block as an OpenMP team). */
#include "kernels/ops.h"

const fs_backend *fs_backend_cuda_emulated(void) { return NULL; }
