# Tests of the benchmark harness (prefix bench_, core/bench.h): every `faceswarm bench` run
# with tiny options, its --json output parsed line by line against the one schema, and its
# table output's '#' header, units row and `# wrong N`.
set(FS_BENCH_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/bench)
fs_add_test(NAME bench_json COMMAND sh ${FS_BENCH_TEST_DIR}/all.sh json LABELS unit bench TIMEOUT 300)
fs_add_test(NAME bench_table COMMAND sh ${FS_BENCH_TEST_DIR}/all.sh table LABELS unit bench TIMEOUT 300)
fs_add_test(NAME bench_harness SOURCES tests/bench/test_harness.c LABELS unit bench TIMEOUT 30)
