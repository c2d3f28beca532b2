# Tests of provenance (prefix provenance_): the watermark's layers, XMP labels, `faceswarm
# detect` and exiftool on labelled files, and the watermark's rates (bench watermark).
set(FS_PROV_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/provenance)
fs_add_test(NAME provenance_watermark SOURCES ${FS_PROV_TEST_DIR}/test_watermark.c LIBS fs_data LABELS unit TIMEOUT 180)
fs_add_test(NAME provenance_xmp SOURCES ${FS_PROV_TEST_DIR}/test_xmp.c LIBS fs_data LABELS unit TIMEOUT 60)
fs_add_test(NAME provenance_informed SOURCES ${FS_PROV_TEST_DIR}/test_informed.c LIBS fs_data LABELS unit TIMEOUT 120)
fs_add_test(NAME provenance_informed_cli COMMAND sh ${FS_PROV_TEST_DIR}/informed.sh $<TARGET_FILE:provenance_informed>
            LABELS unit TIMEOUT 120)
fs_add_test(NAME provenance_cli COMMAND sh ${FS_PROV_TEST_DIR}/cli.sh $<TARGET_FILE:provenance_xmp> LABELS unit TIMEOUT 120)
fs_add_test(NAME provenance_rates COMMAND sh ${FS_PROV_TEST_DIR}/rates.sh ${FS_PROV_TEST_DIR}/astronaut-256.jpg
            LABELS unit TIMEOUT 400)
fs_add_test(NAME provenance_orientations COMMAND sh ${FS_PROV_TEST_DIR}/orientations.sh ${FS_PROV_TEST_DIR}/astronaut-256.jpg
            LABELS unit TIMEOUT 180)
if(TEST provenance_cli)
  set_tests_properties(provenance_cli PROPERTIES SKIP_RETURN_CODE 77)
endif()
if(TEST provenance_rates)
  set_tests_properties(provenance_rates PROPERTIES SKIP_RETURN_CODE 77)
endif()
fs_add_test(NAME provenance_video_labels SOURCES ${FS_PROV_TEST_DIR}/test_video_labels.c ${FS_PROV_TEST_DIR}/video_fixture.c
            LIBS fs_data LABELS unit TIMEOUT 60)
# provenance_video_detect leaves its videos for provenance_video (the ctest fixture video_media).
fs_add_test(NAME provenance_video_detect SOURCES ${FS_PROV_TEST_DIR}/test_video_detect.c ${FS_PROV_TEST_DIR}/video_fixture.c
            LIBS fs_data ARGS provenance_test_tmp/video_detect ${FS_PROV_TEST_DIR}/astronaut-256.jpg LABELS unit TIMEOUT 300)
fs_add_test(NAME provenance_video COMMAND sh ${FS_PROV_TEST_DIR}/video.sh $<TARGET_FILE:provenance_video_labels>
            provenance_test_tmp/video_detect LABELS unit TIMEOUT 300)
if(TEST provenance_video)
  set_tests_properties(provenance_video_detect PROPERTIES FIXTURES_SETUP video_media)
  set_tests_properties(provenance_video PROPERTIES SKIP_RETURN_CODE 77 FIXTURES_REQUIRED video_media)
endif()
# The provenance parsers under fuzzing: each corpus (tests/fuzz/corpus/labels, video_labels,
# alignments; seeds from make_prov_corpus and hand-made edge cases) replayed through its fuzz
# target with gcc, the first two with seeded mutations. The libFuzzer targets:
#   cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DFACESWARM_FUZZ=ON -DFACESWARM_CUDA=OFF
#   ninja -C build-fuzz fuzz_labels fuzz_video_labels fuzz_alignments
#   build-fuzz/tests/fuzz_labels -max_total_time=300 -max_len=8192 work tests/fuzz/corpus/labels
#   build-fuzz/tests/fuzz_video_labels -max_total_time=300 -max_len=16384 -rss_limit_mb=6144 work \
#     tests/fuzz/corpus/video_labels
#   ASAN_OPTIONS=halt_on_error=0:allocator_may_return_null=1:detect_leaks=0 build-fuzz/tests/fuzz_alignments \
#     -max_total_time=300 -max_len=70000 work tests/fuzz/corpus/alignments
# (FFmpeg 5.1's mov demuxer allocates gigabytes for some 4 kB files; libhdf5 1.10 overruns in
# H5HG_read on a damaged global heap and leaks on some damaged files: theirs, not faceswarm's.)
# make_prov_corpus (not built by default: ninja -C build make_prov_corpus) writes the seeds again.
fs_add_test(NAME provenance_fuzz_labels SOURCES tests/fuzz/replay.c tests/fuzz/fuzz_labels.c LIBS fs_data
            ARGS labels 10 20000 LABELS unit TIMEOUT 60)
fs_add_test(NAME provenance_fuzz_video_labels SOURCES tests/fuzz/replay.c tests/fuzz/fuzz_video_labels.c LIBS fs_data
            ARGS video_labels 8 2000 LABELS unit TIMEOUT 60)
fs_add_test(NAME provenance_fuzz_alignments SOURCES tests/fuzz/replay_files.c tests/fuzz/fuzz_alignments.c
            LIBS fs_data ARGS alignments LABELS unit TIMEOUT 60)
add_executable(make_prov_corpus EXCLUDE_FROM_ALL ${CMAKE_SOURCE_DIR}/tests/fuzz/make_prov_corpus.c
                                ${FS_PROV_TEST_DIR}/video_fixture.c)
target_link_libraries(make_prov_corpus PRIVATE fs_data fs_core)
set(FS_PROV_FUZZ_SOURCES data/xmp.c data/image.c data/watermark.c data/wm_code.c ${FS_CORE_SOURCES})
fs_add_fuzz_target(NAME fuzz_labels SOURCES tests/fuzz/fuzz_labels.c ${FS_PROV_FUZZ_SOURCES}
                   LIBS PkgConfig::PNG PkgConfig::JPEG z ${MATH_LIB} Threads::Threads)
fs_add_fuzz_target(NAME fuzz_video_labels SOURCES tests/fuzz/fuzz_video_labels.c data/video_labels.c
                   ${FS_PROV_FUZZ_SOURCES} LIBS PkgConfig::FFMPEG PkgConfig::PNG PkgConfig::JPEG z ${MATH_LIB}
                   Threads::Threads)
if(FACESWARM_FUZZ)
  fs_add_h5_fuzzer(NAME fuzz_alignments SOURCES tests/fuzz/fuzz_alignments.c data/alignments.c data/dataset.c)
endif()
