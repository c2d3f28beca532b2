# kernels_*: the CPU backends of kernels/ops.h (reference gradient checks, fast path vs the
# reference, determinism, Adam, AdaBelief) and `faceswarm bench kernels`.
set(FS_KTEST_HELPERS ${CMAKE_SOURCE_DIR}/tests/kernels/ktest.c)
fs_add_test(NAME kernels_grad SOURCES tests/kernels/test_grad.c ${FS_KTEST_HELPERS}
            LIBS fs_kernels LABELS unit TIMEOUT 60)
fs_add_test(NAME kernels_backends SOURCES tests/kernels/test_backends.c LIBS fs_kernels LABELS unit TIMEOUT 20)
if(NOT FACESWARM_HAVE_OPENMP) # a kernels-only build without OpenMP has no emulator
  target_compile_definitions(kernels_backends PRIVATE FACESWARM_TEST_NO_EMULATOR)
endif()
# The fast CPU path (BLAS) and `faceswarm bench kernels`: not in a kernels-only build.
if(NOT FACESWARM_KERNELS_ONLY)
fs_add_test(NAME kernels_bf16 SOURCES tests/kernels/test_bf16.c LIBS fs_kernels LABELS unit TIMEOUT 30)
fs_add_test(NAME kernels_fast_bf16 SOURCES tests/kernels/test_fast_bf16.c ${FS_KTEST_HELPERS}
            LIBS fs_kernels LABELS unit TIMEOUT 60)
fs_add_test(NAME kernels_fast SOURCES tests/kernels/test_fast.c ${FS_KTEST_HELPERS}
            LIBS fs_kernels LABELS unit TIMEOUT 60)
# The same op table on each fp32 GEMM forced (own: the best own kernel; own-avx512 and
# own-avx2: that kernel, skipped on a CPU without it), and the own GEMM alone against a double
# reference (kernels/cpu/fast_sgemm.c).
foreach(gemm own own-avx512 own-avx2 openblas)
  fs_add_test(NAME kernels_fast_gemm_${gemm} COMMAND $<TARGET_FILE:kernels_fast> ${gemm} LABELS unit TIMEOUT 60)
  set_tests_properties(kernels_fast_gemm_${gemm} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
fs_add_test(NAME kernels_sgemm SOURCES tests/kernels/test_sgemm.c ${FS_KTEST_HELPERS}
            LIBS fs_kernels LABELS unit TIMEOUT 60)
set_tests_properties(kernels_sgemm PROPERTIES SKIP_RETURN_CODE 77)
# FACESWARM_CPU_GEMM is read, and said in the header (--gemm too); a bad value exits 2 naming it.
fs_add_test(NAME kernels_bench_gemm_env COMMAND env FACESWARM_CPU_GEMM=openblas $<TARGET_FILE:faceswarm> bench
            kernels --check-only LABELS unit TIMEOUT 60)
set_tests_properties(kernels_bench_gemm_env PROPERTIES PASS_REGULAR_EXPRESSION
                     "# gemm: openblas \\(FACESWARM_CPU_GEMM=openblas\\).*# wrong 0")
fs_add_test(NAME kernels_bench_gemm_opt COMMAND env FACESWARM_CPU_GEMM=own $<TARGET_FILE:faceswarm> bench
            kernels --check-only --gemm openblas LABELS unit TIMEOUT 60)
set_tests_properties(kernels_bench_gemm_opt PROPERTIES PASS_REGULAR_EXPRESSION "# gemm: openblas \\(chosen\\).*# wrong 0")
# auto: own on Intel and AMD CPUs with AVX-512F, OpenBLAS elsewhere (expected from /proc/cpuinfo).
fs_add_test(NAME kernels_bench_gemm_auto COMMAND sh ${CMAKE_SOURCE_DIR}/tests/kernels/gemm_auto.sh
            $<TARGET_FILE:faceswarm> LABELS unit TIMEOUT 60)
set_tests_properties(kernels_bench_gemm_auto PROPERTIES SKIP_RETURN_CODE 77)
fs_add_test(NAME kernels_bench_gemm_bad COMMAND env FACESWARM_CPU_GEMM=nope $<TARGET_FILE:faceswarm> bench
            kernels --check-only LABELS unit TIMEOUT 20)
set_tests_properties(kernels_bench_gemm_bad PROPERTIES PASS_REGULAR_EXPRESSION "FACESWARM_CPU_GEMM=nope: unknown GEMM")
fs_add_test(NAME kernels_adam SOURCES tests/kernels/test_adam.c ${FS_KTEST_HELPERS}
            LIBS fs_kernels LABELS unit TIMEOUT 30)
fs_add_test(NAME kernels_adabelief SOURCES tests/kernels/test_adabelief.c ${FS_KTEST_HELPERS}
            LIBS fs_kernels LABELS unit TIMEOUT 30)
fs_add_test(NAME kernels_dssim_window SOURCES tests/kernels/test_dssim_window.c ${FS_KTEST_HELPERS}
            LIBS fs_kernels LABELS unit TIMEOUT 30)
fs_add_test(NAME kernels_bench COMMAND $<TARGET_FILE:faceswarm> bench kernels --reps 1 --batch 2
            LABELS bench TIMEOUT 120)
# The bench's self-check (the op case table's bench cases) on the CUDA kernels under the
# emulator, and a backend that does not exist (exit 2, naming it).
fs_add_test(NAME kernels_bench_emulated COMMAND $<TARGET_FILE:faceswarm> bench kernels --backend cuda-emulated
            --check-only LABELS bench TIMEOUT 120)
set_tests_properties(kernels_bench_emulated PROPERTIES PASS_REGULAR_EXPRESSION "cuda-emulated vs cpu-ref.*# wrong 0")
fs_add_test(NAME kernels_bench_bad_backend COMMAND $<TARGET_FILE:faceswarm> bench kernels --backend nope
            LABELS bench TIMEOUT 20)
set_tests_properties(kernels_bench_bad_backend PROPERTIES WILL_FAIL TRUE)
endif()
# A backend lacking an op does not build: the test links a table generated from the op list
# without its functions and expects the linker to name the missing op (t_dssim).
add_executable(kernels_table_missing_op EXCLUDE_FROM_ALL ${CMAKE_SOURCE_DIR}/tests/kernels/table_missing_op.c)
target_link_libraries(kernels_table_missing_op PRIVATE fs_core)
add_test(NAME kernels_table_missing_op
         COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target kernels_table_missing_op)
set_tests_properties(kernels_table_missing_op PROPERTIES LABELS unit TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "undefined reference to [`']t_dssim'")
# (the fast CPU path and faceswarm: not in a kernels-only build)
if(NOT FACESWARM_KERNELS_ONLY)
  # The FMA peak loops of `bench kernels` keep their 12 chains apart (kernels/cpu/fma_peak.c):
  # counted in the built library's code, and on a planted copy with merged chains (must be caught).
  add_library(kernels_fma_merged OBJECT EXCLUDE_FROM_ALL ${CMAKE_SOURCE_DIR}/tests/kernels/fma_merged.c)
  target_compile_options(kernels_fma_merged PRIVATE -O2)
  foreach(bits 256 512)
    fs_add_test(NAME kernels_fma_chains_${bits} COMMAND sh ${CMAKE_SOURCE_DIR}/tests/kernels/fma_chains.sh
                $<TARGET_FILE:fs_kernels> fma_loop_${bits} 12 LABELS unit TIMEOUT 20)
  endforeach()
  add_test(NAME kernels_fma_chains_planted
           COMMAND sh -c "${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target kernels_fma_merged >/dev/null && sh ${CMAKE_SOURCE_DIR}/tests/kernels/fma_chains.sh \"$<TARGET_OBJECTS:kernels_fma_merged>\" fma_loop_256 12")
  set_tests_properties(kernels_fma_chains_planted PROPERTIES LABELS unit TIMEOUT 60
                       PASS_REGULAR_EXPRESSION "fma_loop_256 in .*: [1-9] vector FMA.*FAIL: fma_loop_256.s FMA chains were merged")
  # --cpu-time: the cpu backend timed by CPU time (stated in the header); refused for the others.
  fs_add_test(NAME kernels_bench_cpu_time COMMAND $<TARGET_FILE:faceswarm> bench kernels --cpu-time --reps 1 --batch 1
              --config ${CMAKE_SOURCE_DIR}/tests/train/tiny.yaml LABELS bench TIMEOUT 120)
  set_tests_properties(kernels_bench_cpu_time PROPERTIES
                       PASS_REGULAR_EXPRESSION "# clock: process CPU time / threads.*# FP32 peak: 12 independent.*# wrong 0")
  # --precision bf16: the cpu backend's bf16 path timed and checked against the bf16 reference;
  # an unknown precision is refused, naming it.
  fs_add_test(NAME kernels_bench_bf16 COMMAND $<TARGET_FILE:faceswarm> bench kernels --precision bf16 --reps 1
              --batch 1 --config ${CMAKE_SOURCE_DIR}/tests/train/tiny.yaml LABELS bench TIMEOUT 120)
  set_tests_properties(kernels_bench_bf16 PROPERTIES PASS_REGULAR_EXPRESSION "# precision: bf16 .*# wrong 0")
  fs_add_test(NAME kernels_bench_bad_precision COMMAND $<TARGET_FILE:faceswarm> bench kernels --precision fp16
              LABELS bench TIMEOUT 20)
  set_tests_properties(kernels_bench_bad_precision PROPERTIES PASS_REGULAR_EXPRESSION "--precision 'fp16': expected fp32 or bf16")
  # --config times every layer of a SAEHD config: conv, dense, pixel norm, pixel shuffle, the
  # residual add and leaky, the output concats and sigmoid, and the mask head (upscalem*,
  # out_convm), each row with its times (tiny batch, one rep; the two configs in parallel).
  foreach(cfg quickstart-liae df-ud-128)
    fs_add_test(NAME kernels_bench_config_${cfg} COMMAND $<TARGET_FILE:faceswarm> bench kernels --reps 1 --batch 1
                --config ${CMAKE_SOURCE_DIR}/configs/${cfg}.yaml LABELS bench TIMEOUT 120)
    set_tests_properties(kernels_bench_config_${cfg} PROPERTIES PASS_REGULAR_EXPRESSION
      "\n  encoder\\.down1 +[0-9]+x[0-9]+x3 -> [0-9]+ k5 s2 .*\n  encoder\\.pixnorm +1x1x[0-9]+ pixel norm +[0-9]+ +- +[0-9.]+ +[0-9.]+ .*\n  [a-z_AB]+\\.dense1 .*\\.upscale0\\.shuffle +[0-9x]+ pixel shuffle .*\\.res0\\.add +[0-9x]+ add .*\\.res0\\.leaky .*\\.concat1 +[0-9x]+\\([0-9]+\\+[0-9]+\\) concat .*\\.sigmoid +[0-9x]+ sigmoid .*\\.upscalem0\\.conv .*\\.upscalem3\\.shuffle .*\\.out_convm +[0-9x]+ -> 1 k1 s1 .*# wrong 0")
  endforeach()
  fs_add_test(NAME kernels_bench_cpu_time_gpu COMMAND $<TARGET_FILE:faceswarm> bench kernels --cpu-time
              --backend cuda-emulated --check-only LABELS bench TIMEOUT 20)
  set_tests_properties(kernels_bench_cpu_time_gpu PROPERTIES PASS_REGULAR_EXPRESSION "--cpu-time times the cpu backend only")
endif()
