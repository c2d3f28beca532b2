# cli_*: the command line of every subcommand, as a user types it: --help everywhere (exit 0),
# numeric options parsed whole (exit 2 naming the option and the value). The *_lead tests
# check the commands of another branch the same way (they pass once the branches are merged).
set(FS_CLI_TESTS ${CMAKE_SOURCE_DIR}/tests/cli)
fs_add_test(NAME cli_help COMMAND bash ${FS_CLI_TESTS}/help.sh LABELS unit TIMEOUT 120)
fs_add_test(NAME cli_help_lead COMMAND bash ${FS_CLI_TESTS}/help.sh --lead LABELS unit TIMEOUT 120)
fs_add_test(NAME cli_numeric_options COMMAND bash ${FS_CLI_TESTS}/numeric_options.sh LABELS unit TIMEOUT 300)
fs_add_test(NAME cli_numeric_options_lead COMMAND bash ${FS_CLI_TESTS}/numeric_options.sh --lead LABELS unit TIMEOUT 600)
fs_add_test(NAME cli_bad_output COMMAND bash ${FS_CLI_TESTS}/bad_output.sh LABELS unit TIMEOUT 60)
