/* test_dssim_window.c — kernels_dssim_window: every backend's dssim refuses a window it
 * cannot use (fs_dssim_check, kernels/ops.h): a size outside 1..FS_DSSIM_MAX_WIN, or images
 * smaller than the window in h or in w, exits 1 with a message naming the sizes and a
 * hint; the largest window that fits (h == w == win: one window) and FS_DSSIM_MAX_WIN run
 * and agree with the reference. Each refusal runs in a child process. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernels/op_cases.h"
#include "kernels/ops.h"
#include "tests/kernels/ktest.h"

/* dssim(h x w images, win) in a child; it must exit 1 and print `expect` to stderr. */
static void refused(const fs_backend *be, int h, int w, int win, const char *expect) {
    int fd[2];
    if (pipe(fd) != 0) fs_die(FS_EXIT_FAIL, "pipe failed");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2), close(fd[0]);
        float *x = calloc((size_t)h * w, sizeof(float));
        be->dssim(1, h, w, 1, win, x, x, NULL, 1.0f);
        _exit(0); /* not refused */
    }
    close(fd[1]);
    char err[1024] = {0};
    size_t len = 0;
    ssize_t r;
    while (len < sizeof err - 1 && (r = read(fd[0], err + len, sizeof err - 1 - len)) > 0) len += (size_t)r;
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code != FS_EXIT_FAIL || !strstr(err, expect) || !strstr(err, "hint:"))
        printf("FAIL %s dssim %dx%d win %d: exit %d, stderr \"%s\"; want exit %d and \"%s\" with a hint\n", be->name, h,
               w, win, code, err, FS_EXIT_FAIL, expect),
            kt_failures++;
}

/* A window that just fits, and the largest, against the reference. */
static void fits(const fs_backend *be, const fs_backend *ref, int h, int w, int win) {
    size_t n = (size_t)h * w * 2;
    float *p = kt_rand(n, 51, 1, 0, 1), *t = kt_rand(n, 51, 2, 0, 1);
    double v = be->dssim(1, h, w, 2, win, p, t, NULL, 1.0f), want = ref->dssim(1, h, w, 2, win, p, t, NULL, 1.0f);
    char what[96];
    snprintf(what, sizeof what, "%s dssim %dx%d win %d", be->name, h, w, win);
    kt_check_scalar(what, v, want, 1e-5, 1e-6);
    if (!(v > 0.0 && v < 1.0)) printf("FAIL %s: %g is not in (0, 1)\n", what, v), kt_failures++;
    free(p), free(t);
}

int main(void) {
    const fs_backend *ref = fs_backend_cpu_ref(), *bes[3] = {ref, fs_backend_cpu(), fs_backend_cuda_emulated()};
    for (int b = 0; b < 3; b++) {
        refused(bes[b], 16, 16, 0, "window size 0; expected 1 to 64");
        refused(bes[b], 80, 80, FS_DSSIM_MAX_WIN + 1, "window size 65; expected 1 to 64");
        refused(bes[b], 11, 13, 12, "images of 11x13 px have no 12x12 window");
        refused(bes[b], 23, 21, 22, "images of 23x21 px have no 22x22 window");
        fits(bes[b], ref, 22, 22, 22);
        fits(bes[b], ref, FS_DSSIM_MAX_WIN, FS_DSSIM_MAX_WIN + 3, FS_DSSIM_MAX_WIN);
    }
    return kt_finish("kernels_dssim_window");
}
