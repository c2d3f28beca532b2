# model_*: the graph (faceswap's parameter counts), finite-difference gradient checks of every architecture,
# ready-callback order, partial batches, initialisation; and `faceswarm model`.
fs_add_test(NAME model_unit SOURCES tests/model/test_model.c LIBS fs_trainer LABELS unit TIMEOUT 120)
fs_add_test(NAME model_cli COMMAND sh ${CMAKE_SOURCE_DIR}/tests/model/cli.sh LABELS unit TIMEOUT 30)
# model_bitident: original-64 and quickstart train bit for bit as recorded from main before the
# model became a graph (parameter checksums, losses, ready offsets, partial batch, infer).
fs_add_test(NAME model_bitident SOURCES tests/model/test_bitident.c LIBS fs_trainer LABELS unit TIMEOUT 120
            ARGS ${CMAKE_SOURCE_DIR})
set_tests_properties(model_bitident PROPERTIES SKIP_RETURN_CODE 77)
