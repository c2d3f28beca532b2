# kernels_*: the CPU backends of kernels/ops.h (reference gradient checks, fast path vs the
# reference, determinism, Adam) and `faceswarm bench kernels`.
set(FS_KTEST_HELPERS ${CMAKE_SOURCE_DIR}/tests/kernels/ktest.c)
fs_add_test(NAME kernels_grad SOURCES tests/kernels/test_grad.c ${FS_KTEST_HELPERS}
            LIBS fs_kernels LABELS unit TIMEOUT 60)
fs_add_test(NAME kernels_fast SOURCES tests/kernels/test_fast.c ${FS_KTEST_HELPERS}
            LIBS fs_kernels LABELS unit TIMEOUT 60)
fs_add_test(NAME kernels_adam SOURCES tests/kernels/test_adam.c ${FS_KTEST_HELPERS}
            LIBS fs_kernels LABELS unit TIMEOUT 30)
fs_add_test(NAME kernels_bench COMMAND $<TARGET_FILE:faceswarm> bench kernels --reps 1 --batch 2
            LABELS bench TIMEOUT 120)
