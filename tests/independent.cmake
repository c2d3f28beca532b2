# faceswarm's files against an independent implementation of their format (tests/independent/
# fsverify.py, h5py + numpy, written from docs/checkpoint.md and docs/data.md): it verifies what
# faceswarm writes, faceswarm accepts what it writes, and both refuse the same damage.
# SKIPs without python3-h5py (scripts/deps.sh installs it).
fs_add_test(NAME format_independent COMMAND bash ${CMAKE_SOURCE_DIR}/tests/independent/independent.sh
            LABELS unit TIMEOUT 120)
set_tests_properties(format_independent PROPERTIES SKIP_RETURN_CODE 77)
