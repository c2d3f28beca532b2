# structure_*: the layering of the libraries (docs/architecture.md): fs_core <- fs_kernels,
# fs_data, fs_comms <- fs_nccl <- fs_trainer <- faceswarm, one direction only.
set(FS_STRUCTURE_TESTS ${CMAKE_SOURCE_DIR}/tests/structure)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
# Nothing in core/, kernels/, data/, comms/ includes a header of a folder above it.
fs_add_test(NAME structure_includes COMMAND ${Python3_EXECUTABLE} ${FS_STRUCTURE_TESTS}/layering.py includes
            ${CMAKE_SOURCE_DIR} LABELS structure TIMEOUT 30)
# No library calls a library above it (nm of the built archives), and the coordinator's state
# (coord_state.c) never calls its poll loop (coordinator.c).
set(FS_LAYER_LIBS fs_core fs_cuda_emu fs_kernels fs_face fs_data fs_comms fs_nccl fs_trainer)
if(TARGET fs_cuda)
  list(APPEND FS_LAYER_LIBS fs_cuda)
endif()
set(FS_LAYER_ARGS)
foreach(lib ${FS_LAYER_LIBS})
  list(APPEND FS_LAYER_ARGS ${lib}=$<TARGET_FILE:${lib}>)
endforeach()
fs_add_test(NAME structure_symbols COMMAND ${Python3_EXECUTABLE} ${FS_STRUCTURE_TESTS}/layering.py symbols
            ${CMAKE_NM} ${FS_LAYER_ARGS} --one-way fs_comms:coord_state:coordinator LABELS structure TIMEOUT 60)
# The symbol check can fail: planted wrong-direction calls in tiny archives are refused.
fs_add_test(NAME structure_symbols_selftest COMMAND bash ${FS_STRUCTURE_TESTS}/selftest.sh ${CMAKE_C_COMPILER}
            ${CMAKE_NM} ${Python3_EXECUTABLE} LABELS structure TIMEOUT 30)
# Each library builds alone, in dependency order, in a fresh tree (a few minutes on two cores:
# label build_alone, not part of the fast structure label).
fs_add_test(NAME structure_build_alone COMMAND sh ${FS_STRUCTURE_TESTS}/build_alone.sh ${CMAKE_SOURCE_DIR}
            ${CMAKE_BINARY_DIR}/structure-alone 2 LABELS build_alone TIMEOUT 1200)
# scripts/format: --check lists what differs from .clang-format and changes nothing.
fs_add_test(NAME structure_format COMMAND bash ${FS_STRUCTURE_TESTS}/format.sh LABELS structure TIMEOUT 120)
set_tests_properties(structure_format PROPERTIES SKIP_RETURN_CODE 77)
# Every shell script parses (bash -n / sh -n): a broken merge of a test script fails here by name.
fs_add_test(NAME structure_shell_syntax COMMAND bash ${FS_STRUCTURE_TESTS}/shell_syntax.sh LABELS structure TIMEOUT 60)
# faceswarm's own static TLS stays under 1 KB (every thread, OpenBLAS's included, gets a copy);
# a planted 64 KB _Thread_local array is refused by name first.
fs_add_test(NAME structure_tls COMMAND bash ${FS_STRUCTURE_TESTS}/tls.sh ${CMAKE_C_COMPILER} ${CMAKE_READELF}
            $<TARGET_FILE:faceswarm> 1024 LABELS structure TIMEOUT 30)
