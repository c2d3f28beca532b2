# model_*: the graph (faceswap's parameter counts), finite-difference gradient checks of every architecture,
# ready-callback order, partial batches, initialisation; and `faceswarm model`.
# model_unit is one program in parts, each a ctest entry (model_unit_PART) so that they run in
# parallel and each stays short; the program alone (no argument) runs every part.
fs_add_test(NAME model_unit_graph SOURCES tests/model/test_model.c LIBS fs_trainer LABELS unit TIMEOUT 120
            ARGS graph)
set_target_properties(model_unit_graph PROPERTIES OUTPUT_NAME model_unit)
foreach(part grad_original grad_df_ud grad_df_t1 grad_df_t2 grad_df_t3 grad_liae_ud grad_liae_dt partial)
  fs_add_test(NAME model_unit_${part} COMMAND $<TARGET_FILE:model_unit_graph> ${part} LABELS unit TIMEOUT 120)
endforeach()
fs_add_test(NAME model_cli COMMAND sh ${CMAKE_SOURCE_DIR}/tests/model/cli.sh LABELS unit TIMEOUT 30)
# model_bitident: original-64 and quickstart train bit for bit as recorded from main before the
# model became a graph (parameter checksums, losses, ready offsets, partial batch, infer).
fs_add_test(NAME model_bitident SOURCES tests/model/test_bitident.c LIBS fs_trainer LABELS unit TIMEOUT 120
            ARGS ${CMAKE_SOURCE_DIR})
set_tests_properties(model_bitident PROPERTIES SKIP_RETURN_CODE 77)
# The same on OpenBLAS, where auto takes the own GEMM (Intel and AMD with AVX-512F): the
# values recorded for OpenBLAS's core stay checked there (skipped where none are recorded).
fs_add_test(NAME model_bitident_openblas COMMAND env FACESWARM_CPU_GEMM=openblas $<TARGET_FILE:model_bitident>
            ${CMAKE_SOURCE_DIR} LABELS unit TIMEOUT 120)
set_tests_properties(model_bitident_openblas PROPERTIES SKIP_RETURN_CODE 77)
# The own GEMM's AVX2 kernel (6 x 16) against the values the AVX-512 one (12 x 32) recorded:
# both sum each element as one FMA chain in k order, so every bit must agree.
fs_add_test(NAME model_bitident_own_avx2 COMMAND env FACESWARM_CPU_GEMM=own-avx2 $<TARGET_FILE:model_bitident>
            ${CMAKE_SOURCE_DIR} LABELS unit TIMEOUT 120)
