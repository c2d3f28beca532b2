/* test_backends.c — kernels_backends: every entry of every backend's table (the rows of
 * FS_MEMORY_OPS and FS_KERNEL_OPS in kernels/ops.h) is set. The tables are generated from
 * the list, so a missing function already fails to build; this names any entry that is
 * NULL all the same (a table written by hand, a list row left out of a table). It also
 * checks the checker: a copy of the reference table with two entries cleared must be
 * reported with exactly those two names, in list order. And every kernel of the list has
 * cases in the op case table (kernels/op_cases.c) for the fast-vs-reference and the
 * CUDA-vs-reference checks: an op added without its case rows is named here. */
#include <stdio.h>
#include <string.h>

#include "kernels/op_cases.h"
#include "kernels/ops.h"

static int failures;

static void check_backend(const char *what, const fs_backend *be) {
    char missing[1024];
    int n = fs_backend_missing(be, missing, sizeof missing);
    if (n) printf("FAIL backend %s: %d op(s) NULL: %s\n", what, n, missing), failures++;
    else printf("backend %s: every op of the list is set\n", what);
}

/* Does case op `family` cover kernel `op` ("conv2d" covers conv2d_fwd, "mse" covers mse)? */
static int covers(const char *family, const char *op) {
    size_t n = strlen(family);
    return !strncmp(family, op, n) && (op[n] == '\0' || op[n] == '_');
}

static void check_cases(const fs_op_info *ops, size_t count) {
    static const struct {
        unsigned bit;
        const char *check;
    } checks[] = {{FS_OPC_FAST, "kernels_fast"}, {FS_OPC_CUDA, "cuda_conv/cuda_ops"}};
    size_t n_cases;
    const fs_op_case *cases = fs_op_cases(&n_cases);
    for (size_t i = 0; i < count; i++) {
        if (!ops[i].kernel) continue;
        for (size_t k = 0; k < FS_ARRAY_LEN(checks); k++) {
            int found = 0;
            for (size_t c = 0; c < n_cases && !found; c++)
                found = (cases[c].where & checks[k].bit) && covers(cases[c].op, ops[i].name);
            if (!found)
                printf("FAIL op %s has no case for %s in the op case table\n  hint: add its rows to "
                       "kernels/op_cases.c\n",
                       ops[i].name, checks[k].check),
                    failures++;
        }
    }
    for (size_t c = 0; c < n_cases; c++) /* and every case row has its tolerances (exits if not) */
        (void)fs_op_tol_of(cases[c].op);
}

int main(void) {
    size_t count;
    const fs_op_info *ops = fs_op_list(&count);
    /* the list covers the struct: name, device, then one function pointer per row */
    size_t first = offsetof(fs_backend, alloc);
    if (first + count * sizeof(void (*)(void)) != sizeof(fs_backend) || ops[0].offset != first)
        printf("FAIL op list: %zu rows from offset %zu do not cover sizeof(fs_backend) = %zu\n", count, first,
               sizeof(fs_backend)),
            failures++;
    check_backend("cpu-ref", fs_backend_cpu_ref());
    check_backend("cpu", fs_backend_cpu());
    const fs_backend *emu = fs_backend_cuda_emulated();
#ifdef FACESWARM_TEST_NO_EMULATOR /* a kernels-only build without OpenMP */
    if (emu) printf("FAIL fs_backend_cuda_emulated() is set in a build without OpenMP\n"), failures++;
#else
    if (!emu) printf("FAIL fs_backend_cuda_emulated() is NULL\n"), failures++;
    else check_backend("cuda-emulated", emu);
#endif
    fs_error e = {0};
    const fs_backend *gpu = fs_backend_cuda(0, &e);
    if (gpu) check_backend("cuda", gpu);
    else printf("backend cuda: not checked here (%.*s)\n", (int)strcspn(e.msg, "\n"), e.msg);

    check_cases(ops, count);

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
