# Tests of the benchmark harness (prefix bench_, core/bench.h): every `faceswarm bench` run
# with tiny options, its --json output parsed line by line against the one schema, and its
# table output's '#' header, units row and `# wrong N`.
set(FS_BENCH_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/bench)
fs_add_test(NAME bench_json COMMAND sh ${FS_BENCH_TEST_DIR}/all.sh json LABELS unit bench TIMEOUT 300)
fs_add_test(NAME bench_table COMMAND sh ${FS_BENCH_TEST_DIR}/all.sh table LABELS unit bench TIMEOUT 300)
fs_add_test(NAME bench_harness SOURCES tests/bench/test_harness.c LABELS unit bench TIMEOUT 30)
# bench train's batches carry what the config's loss needs: eye/mouth regions for a priority
# config, and target masks for a model with a learned mask (the mask loss and its backward).
fs_add_test(NAME bench_train_terms COMMAND $<TARGET_FILE:faceswarm> bench train ${FS_BENCH_TEST_DIR}/priority.yaml
            ${CMAKE_SOURCE_DIR}/configs/quickstart-liae.yaml --steps 2 --batch 2 LABELS unit bench TIMEOUT 60)
set_tests_properties(bench_train_terms PROPERTIES PASS_REGULAR_EXPRESSION
  "\n  priority\\.yaml +solo .* masked face \\+ eye/mouth *\n  quickstart-liae\\.yaml +solo .* masked face \\+ mask *\n# wrong 0")
# `bench train --torch` (docs/cpu.md): torch_train.py's layers against `faceswarm model` (no torch
# needed), and the PyTorch comparison itself (skips, exit 77, where torch does not import).
if(NOT FACESWARM_KERNELS_ONLY)
  fs_add_test(NAME bench_torch_layers COMMAND sh ${FS_BENCH_TEST_DIR}/torch_ratio.sh layers LABELS unit bench
              TIMEOUT 60)
  fs_add_test(NAME bench_torch_ratio COMMAND sh ${FS_BENCH_TEST_DIR}/torch_ratio.sh ratio LABELS bench TIMEOUT 600)
  set_tests_properties(bench_torch_ratio PROPERTIES SKIP_RETURN_CODE 77)
endif()
