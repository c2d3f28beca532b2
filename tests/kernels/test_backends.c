/* test_backends.c — kernels_backends: every entry of every backend's table (the rows of
 * FS_MEMORY_OPS and FS_KERNEL_OPS in kernels/ops.h) is set. The tables are generated from
 * the list, so a missing function already fails to build; this names any entry that is
 * NULL all the same (a table written by hand, a list row left out of a table). It also
 * checks the checker: a copy of the reference table with two entries cleared must be
 * reported with exactly those two names, in list order. */
#include <stdio.h>
#include <string.h>

#include "kernels/ops.h"

static int failures;

static void check_backend(const char *what, const fs_backend *be) {
    char missing[1024];
    int n = fs_backend_missing(be, missing, sizeof missing);
    if (n) printf("FAIL backend %s: %d op(s) NULL: %s\n", what, n, missing), failures++;
    else printf("backend %s: every op of the list is set\n", what);
}

int main(void) {
    size_t count;
    const fs_op_info *ops = fs_op_list(&count);
    /* the list covers the struct: name, device, then one function pointer per row */
    size_t first = offsetof(fs_backend, alloc);
    if (first + count * sizeof(void (*)(void)) != sizeof(fs_backend) || ops[0].offset != first)
        printf("FAIL op list: %zu rows from offset %zu do not cover sizeof(fs_backend) = %zu\n", count, first,
               sizeof(fs_backend)), failures++;
    check_backend("cpu-ref", fs_backend_cpu_ref());
    check_backend("cpu", fs_backend_cpu());
    const fs_backend *emu = fs_backend_cuda_emulated();
    if (!emu) printf("FAIL fs_backend_cuda_emulated() is NULL\n"), failures++;
    else check_backend("cuda-emulated", emu);
    fs_error e = {0};
    const fs_backend *gpu = fs_backend_cuda(0, &e);
    if (gpu) check_backend("cuda", gpu);
    else printf("backend cuda: not checked here (%.*s)\n", (int)strcspn(e.msg, "\n"), e.msg);

    fs_backend broken = *fs_backend_cpu_ref();
    broken.upload = NULL, broken.dssim = NULL;
    char missing[256];
    int n = fs_backend_missing(&broken, missing, sizeof missing);
    if (n != 2 || strcmp(missing, "upload, dssim") != 0)
        printf("FAIL fs_backend_missing on a table without upload and dssim: %d, \"%s\"\n", n, missing), failures++;
    if (failures) printf("kernels_backends: %d check(s) FAILED\n", failures);
    else printf("kernels_backends: all %zu ops set in every backend\n", count);
    return failures != 0;
}
