# kernels_only_build: the kernels-only tree (cmake -DFACESWARM_KERNELS_ONLY=ON, what a bare GPU
# machine builds) configured with the trainer's dependencies hidden, built and tested; then
# gpucheck_emulated runs scripts/gpu-check --emulated on that tree (its cuda tests on the
# emulator, fs_kbench --tiny, PyTorch on the CPU if importable, the report). docs/cuda.md.
if(NOT FACESWARM_KERNELS_ONLY)
  set(FS_KO_DIR ${CMAKE_BINARY_DIR}/kernels-only)
  fs_add_test(NAME kernels_only_build COMMAND sh ${CMAKE_SOURCE_DIR}/tests/kernels_only/build.sh
              ${CMAKE_SOURCE_DIR} ${FS_KO_DIR} LABELS cuda gpucheck TIMEOUT 900)
  set_tests_properties(kernels_only_build PROPERTIES FIXTURES_SETUP kernels_only RUN_SERIAL ON)
  fs_add_test(NAME gpucheck_emulated COMMAND ${CMAKE_SOURCE_DIR}/scripts/gpu-check --emulated --build-dir ${FS_KO_DIR}
              --report ${CMAKE_BINARY_DIR}/gpucheck-emulated.md LABELS cuda gpucheck TIMEOUT 300)
  set_tests_properties(gpucheck_emulated PROPERTIES FIXTURES_REQUIRED kernels_only)
endif()
