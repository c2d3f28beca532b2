/* test_device.c — cuda_device: asking for the cuda device is either a working GPU backend
 * or a clear error (no crash) that names what is missing and gives a hint; the emulated
 * backend is always there. */
#include <stdio.h>
#include <string.h>

#include "kernels/ops.h"

int main(void) {
    fs_error e = {0};
    const fs_backend *be = fs_backend_select("cuda", 0, &e);
    int f = 0;
    if (be) {
        printf("cuda_device: ran on GPU: fs_backend_select(\"cuda\") gave backend '%s'\n", be->name);
        if (strcmp(be->name, "cuda") != 0 || be->device != FS_DEV_CUDA)
            printf("FAIL: backend name '%s', device %d; want 'cuda', FS_DEV_CUDA\n", be->name, (int)be->device), f++;
    } else {
        printf("cuda_device: ran emulated (no GPU); the error reads:\n%s\n", e.msg);
        if (e.code == 0) printf("FAIL: NULL backend but no error code\n"), f++;
        if (!strstr(e.msg, "cuda")) printf("FAIL: the error does not name the cuda device\n"), f++;
        if (!strstr(e.msg, "hint:")) printf("FAIL: the error has no hint\n"), f++;
        if (!strstr(e.msg, "driver") && !strstr(e.msg, "without CUDA"))
            printf("FAIL: the error names neither the driver nor the build as what is missing\n"), f++;
    }
    const fs_backend *emu = fs_backend_cuda_emulated();
#ifdef FACESWARM_TEST_NO_EMULATOR /* a kernels-only build without OpenMP */
    if (emu) printf("FAIL: an emulated backend in a build without OpenMP\n"), f++;
#else
    if (!emu || strcmp(emu->name, "cuda-emulated") != 0) printf("FAIL: no emulated backend\n"), f++;
#endif
    if (f) return 1;
    printf("cuda_device: ok\n");
    return 0;
}
