# Tests of the data concern (prefix data_): schema, loader, augmentation, import, foreign
# layouts, bad files, and the CLI through $FACESWARM_BIN.
set(FS_DATA_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/data)
fs_add_test(NAME data_schema SOURCES ${FS_DATA_TEST_DIR}/test_schema.c LIBS fs_data LABELS unit TIMEOUT 60)
fs_add_test(NAME data_loader SOURCES ${FS_DATA_TEST_DIR}/test_loader.c LIBS fs_data LABELS unit TIMEOUT 60)
fs_add_test(NAME data_augment SOURCES ${FS_DATA_TEST_DIR}/test_augment.c LIBS fs_data LABELS unit TIMEOUT 30)
fs_add_test(NAME data_import SOURCES ${FS_DATA_TEST_DIR}/test_import.c LIBS fs_data LABELS unit TIMEOUT 30)
fs_add_test(NAME data_image SOURCES ${FS_DATA_TEST_DIR}/test_image.c LIBS fs_data LABELS unit TIMEOUT 30)
fs_add_test(NAME data_foreign SOURCES ${FS_DATA_TEST_DIR}/test_foreign.c LIBS fs_data LABELS unit TIMEOUT 30)
fs_add_test(NAME data_badfiles SOURCES ${FS_DATA_TEST_DIR}/test_badfiles.c LIBS fs_data LABELS unit TIMEOUT 30)
fs_add_test(NAME data_cli COMMAND sh ${FS_DATA_TEST_DIR}/cli.sh LABELS unit TIMEOUT 60)
# PNG/JPEG import under fuzzing: the corpus (tests/fuzz/corpus/image) and 20000 seeded
# mutations of it replayed through the fuzz target with gcc; the libFuzzer target itself:
#   cmake -S . -B build-fuzz -DFACESWARM_FUZZ=ON -DCMAKE_C_COMPILER=clang -DFACESWARM_CUDA=OFF
#   cmake --build build-fuzz --target fuzz_image
#   build-fuzz/tests/fuzz_image -max_total_time=300 -max_len=8192 -rss_limit_mb=2048 corpus-work tests/fuzz/corpus/image
fs_add_test(NAME data_fuzz_image SOURCES tests/fuzz/replay.c tests/fuzz/fuzz_image.c LIBS fs_data
            ARGS image 15 20000 LABELS unit TIMEOUT 120)
fs_add_fuzz_target(NAME fuzz_image SOURCES tests/fuzz/fuzz_image.c data/image.c ${FS_CORE_SOURCES}
                   LIBS PkgConfig::PNG PkgConfig::JPEG ${MATH_LIB})
# Checksums from every writer, tampering refused; strings as other tools write them; h5py.
fs_add_test(NAME data_checksums SOURCES ${FS_DATA_TEST_DIR}/test_checksums.c LIBS fs_data LABELS unit TIMEOUT 30)
fs_add_test(NAME data_strings SOURCES ${FS_DATA_TEST_DIR}/test_strings.c LIBS fs_data LABELS unit TIMEOUT 30)
fs_add_test(NAME data_h5py_strings COMMAND sh ${FS_DATA_TEST_DIR}/h5py_strings.sh LABELS unit TIMEOUT 60)
set_tests_properties(data_h5py_strings PROPERTIES SKIP_RETURN_CODE 77)
fs_add_test(NAME data_consent COMMAND bash ${FS_DATA_TEST_DIR}/consent.sh LABELS unit TIMEOUT 120)
# The HDF5 dataset reader's fuzz corpus replayed (gcc), and its libFuzzer target (see
# tests/ckpt.cmake for the build): build-fuzz/tests/fuzz_dataset -max_len=70000 work tests/fuzz/corpus/dataset
fs_add_test(NAME data_fuzz_corpus SOURCES tests/fuzz/replay_files.c tests/fuzz/fuzz_dataset.c
            LIBS fs_data LABELS unit ARGS dataset TIMEOUT 60)
if(FACESWARM_FUZZ)
  fs_add_h5_fuzzer(NAME fuzz_dataset SOURCES tests/fuzz/fuzz_dataset.c data/dataset.c)
endif()
# The alignments of an extract file (convert --alignments) from the seeds of its fuzz corpus:
# unsealed and sealed files read, damaged /sources and /frames refused (fuzz: tests/provenance.cmake).
fs_add_test(NAME data_alignments SOURCES ${FS_DATA_TEST_DIR}/test_alignments.c LIBS fs_data LABELS unit TIMEOUT 30)
# Eye and mouth priority's data: synth's landmarks on its features, the regions following the
# face through the augmentation and the loader, a file without /landmarks refused.
fs_add_test(NAME data_regions SOURCES ${FS_DATA_TEST_DIR}/test_regions.c LIBS fs_data LABELS unit TIMEOUT 60)
