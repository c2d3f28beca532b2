# perf_*: the fast CPU conv's direct paths (kernels/cpu/fast_conv_direct.c, the stride-1
# 3-channel loops of fast_conv_small.c) against the reference, and their thread-count
# independence.
fs_add_test(NAME perf_conv_paths SOURCES tests/perf/test_conv_paths.c ${CMAKE_SOURCE_DIR}/tests/kernels/ktest.c
            LIBS fs_kernels LABELS unit TIMEOUT 60)
# The vectorised DSSIM (fast_loss.c), LeakyReLU, Adam and sumsq (fast_elem.c, fast_vec.h)
# against the reference, bit for bit where the op allows, and their thread-count independence.
fs_add_test(NAME perf_fast_ops SOURCES tests/perf/test_fast_ops.c ${CMAKE_SOURCE_DIR}/tests/kernels/ktest.c
            LIBS fs_kernels LABELS unit TIMEOUT 60)
