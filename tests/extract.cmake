# Tests of extract (prefix extract_): alignment maths (unit), and footage made from real face
# photos (the face_recognition 1.3.0 test images, fetched by scripts/deps.sh into
# $FACESWARM_FIXTURES, default ~/.cache/faceswarm) through `faceswarm extract`.
set(FS_EXTRACT_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/extract)
fs_add_test(NAME extract_align SOURCES ${FS_EXTRACT_TEST_DIR}/test_align.c LIBS fs_data LABELS unit extract TIMEOUT 30)
# The footage maker is a program of its own, run by the footage tests.
add_executable(extract_make_video ${FS_EXTRACT_TEST_DIR}/make_video.c)
target_link_libraries(extract_make_video PRIVATE fs_data fs_core)
target_compile_definitions(extract_make_video PRIVATE FS_DLIB_LANDMARKS="${FS_DLIB_LANDMARKS}")
add_executable(extract_check_footage ${FS_EXTRACT_TEST_DIR}/check_footage.c)
target_link_libraries(extract_check_footage PRIVATE fs_data fs_core)
target_compile_definitions(extract_check_footage PRIVATE FS_DLIB_LANDMARKS="${FS_DLIB_LANDMARKS}")
fs_add_test(NAME extract_footage COMMAND sh ${FS_EXTRACT_TEST_DIR}/footage.sh $<TARGET_FILE:extract_make_video>
            $<TARGET_FILE:extract_check_footage> ${FACESWARM_FIXTURES} ${FS_MPIEXEC}
            LABELS extract slow TIMEOUT 240)
# Changes one stored value in place (the tamper cases of the bad-input test).
add_executable(extract_tamper ${FS_EXTRACT_TEST_DIR}/tamper.c)
target_link_libraries(extract_tamper PRIVATE ${HDF5_C_LIBRARIES} MPI::MPI_C)
target_include_directories(extract_tamper PRIVATE ${HDF5_C_INCLUDE_DIRS})
fs_add_test(NAME extract_badinput COMMAND sh ${FS_EXTRACT_TEST_DIR}/badinput.sh $<TARGET_FILE:extract_make_video>
            ${FACESWARM_FIXTURES} $<TARGET_FILE:extract_tamper> LABELS extract unit TIMEOUT 120)
