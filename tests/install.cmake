# install_prefix: `cmake --install` into a temporary prefix gives a faceswarm that runs and
# finds its job script template and configs there.
fs_add_test(NAME install_prefix COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/install.sh ${CMAKE_BINARY_DIR}
            LABELS unit TIMEOUT 120)
