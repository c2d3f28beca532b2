# Checkpoints (prefix ckpt_): the metadata checksum and its tampering cases, the format v1
# fixtures written by an older faceswarm, write failures (disk full), the CLI's help, the
# fuzz corpus replay and the byte-mutation test.
fs_add_test(NAME ckpt_meta SOURCES tests/ckpt/test_meta.c LIBS fs_trainer LABELS unit TIMEOUT 60)
fs_add_test(NAME ckpt_disk_full COMMAND bash ${CMAKE_SOURCE_DIR}/tests/ckpt/disk_full.sh LABELS unit TIMEOUT 120)
set_tests_properties(ckpt_disk_full PROPERTIES SKIP_RETURN_CODE 77)
add_executable(ckpt_mutate ${CMAKE_SOURCE_DIR}/tests/ckpt/mutate.c)
target_link_libraries(ckpt_mutate PRIVATE fs_trainer fs_core)
fs_add_test(NAME ckpt_mutation COMMAND bash ${CMAKE_SOURCE_DIR}/tests/ckpt/mutation.sh $<TARGET_FILE:ckpt_mutate>
            LABELS unit TIMEOUT 120)
# The checkpoint reader's fuzz corpus replayed (gcc), and its libFuzzer target:
#   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DFACESWARM_FUZZ=ON -DFACESWARM_CUDA=OFF
#   cmake --build build-fuzz --target fuzz_checkpoint
#   ASAN_OPTIONS=allocator_may_return_null=1 build-fuzz/tests/fuzz_checkpoint -max_total_time=300 \
#     -max_len=70000 work tests/fuzz/corpus/checkpoint
fs_add_test(NAME ckpt_fuzz_corpus SOURCES tests/fuzz/replay_files.c tests/fuzz/fuzz_checkpoint.c
            LIBS fs_trainer LABELS unit ARGS checkpoint TIMEOUT 60)
if(FACESWARM_FUZZ)
  fs_add_h5_fuzzer(NAME fuzz_checkpoint SOURCES tests/fuzz/fuzz_checkpoint.c trainer/checkpoint.c)
endif()
# The seal: every byte flipped, every truncation, an appended byte refused before HDF5 parses.
fs_add_test(NAME ckpt_seal SOURCES tests/ckpt/test_seal.c LIBS fs_trainer LABELS unit TIMEOUT 60)
foreach(t fixtures_v1 cli h5_reason)
  fs_add_test(NAME ckpt_${t} COMMAND bash ${CMAKE_SOURCE_DIR}/tests/ckpt/${t}.sh LABELS unit TIMEOUT 120)
endforeach()
fs_add_test(NAME ckpt_resume_tamper COMMAND bash ${CMAKE_SOURCE_DIR}/tests/ckpt/resume_tamper.sh
            $<TARGET_FILE:ckpt_mutate> LABELS unit TIMEOUT 120)
fs_add_test(NAME ckpt_consent_chain COMMAND bash ${CMAKE_SOURCE_DIR}/tests/ckpt/consent_chain.sh
            $<TARGET_FILE:ckpt_mutate> LABELS unit TIMEOUT 120)
