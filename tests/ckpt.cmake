# Checkpoints (prefix ckpt_): the metadata checksum and its tampering cases, the format v1
# fixtures written by an older faceswarm, write failures (disk full), the CLI's help, the
# fuzz corpus replay and the byte-mutation test.
fs_add_test(NAME ckpt_meta SOURCES tests/ckpt/test_meta.c LIBS fs_trainer LABELS unit TIMEOUT 60)
fs_add_test(NAME ckpt_disk_full COMMAND bash ${CMAKE_SOURCE_DIR}/tests/ckpt/disk_full.sh LABELS unit TIMEOUT 120)
set_tests_properties(ckpt_disk_full PROPERTIES SKIP_RETURN_CODE 77)
