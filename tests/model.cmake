# model_*: the layer table (faceswap's parameter counts), finite-difference gradient check,
# ready-callback order, partial batches, initialisation; and `faceswarm model`.
fs_add_test(NAME model_unit SOURCES tests/model/test_model.c LIBS fs_trainer LABELS unit TIMEOUT 60)
fs_add_test(NAME model_cli COMMAND sh ${CMAKE_SOURCE_DIR}/tests/model/cli.sh LABELS unit TIMEOUT 30)
