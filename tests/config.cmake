# config_*: the YAML config loader (bad input, --set, dump round trip, shipped configs), the
# fuzz corpus replay, and the config errors of the faceswarm binary (exit code 2).
fs_add_test(NAME config_load SOURCES tests/config/test_config.c LIBS fs_trainer LABELS unit TIMEOUT 30)
fs_add_test(NAME config_fuzz_corpus SOURCES tests/config/fuzz_corpus.c tests/fuzz/fuzz_config.c
            LIBS fs_trainer LABELS unit TIMEOUT 30)
fs_add_test(NAME config_cli_errors COMMAND sh ${CMAKE_SOURCE_DIR}/tests/config/cli_errors.sh
            LABELS unit TIMEOUT 30)
fs_add_test(NAME config_doc_table COMMAND sh ${CMAKE_SOURCE_DIR}/tests/config/doc_table.sh
            LABELS unit TIMEOUT 30)

# libFuzzer target: cmake -DFACESWARM_FUZZ=ON -DCMAKE_C_COMPILER=clang ...; then
#   ./fuzz_config -max_total_time=300 -max_len=4096 corpus-work ../tests/fuzz/corpus/config
if(FACESWARM_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "FACESWARM_FUZZ=ON needs clang (libFuzzer).\n"
                        "  hint: cmake -DCMAKE_C_COMPILER=clang -DFACESWARM_FUZZ=ON ...")
  endif()
  add_executable(fuzz_config ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_config.c ${CMAKE_SOURCE_DIR}/trainer/config.c
                ${FS_CORE_SOURCES_ABS})
  target_compile_options(fuzz_config PRIVATE -fsanitize=fuzzer,address,undefined -g)
  target_link_options(fuzz_config PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_config PRIVATE PkgConfig::YAML ${MATH_LIB})
endif()
