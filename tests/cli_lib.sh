# cli_lib.sh — helpers of the shell tests that run the faceswarm binary (sourced, POSIX sh).
# The test sets T (its scratch directory) before sourcing; checks count in $fails and the test
# ends with `exit "$fails"`, so one run reports every failing check.
BIN=${FACESWARM_BIN:?FACESWARM_BIN not set}
rm -rf "$T" && mkdir -p "$T" || exit 1
. "${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR not set}/tests/check.sh" # fail, expect, has
lacks() { ! grep -q -- "$1" "$T/out" || { fail "output of the last command has '$1'"; cat "$T/out" >&2; }; }
