# Tests of convert (prefix convert_): a tiny model trained on faces extracted from footage made
# of real photos (extract's make_video and fixtures, tests/extract.cmake), then `faceswarm
# convert` through the binary: frames, size and duration kept, pixels outside the synthetic
# regions unchanged up to the mark and codec error, two ranks equal to one, the labels, the
# bad inputs, bench convert.
set(FS_CONVERT_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/convert)
add_executable(convert_check ${FS_CONVERT_TEST_DIR}/check_convert.c)
target_link_libraries(convert_check PRIVATE fs_data fs_core)
fs_add_test(NAME convert_footage COMMAND sh ${FS_CONVERT_TEST_DIR}/footage.sh $<TARGET_FILE:extract_make_video>
            $<TARGET_FILE:convert_check> ${FACESWARM_FIXTURES} ${FS_MPIEXEC} LABELS convert TIMEOUT 300)
fs_add_test(NAME convert_blend SOURCES ${FS_CONVERT_TEST_DIR}/test_blend.c LIBS fs_data LABELS unit convert TIMEOUT 30)
