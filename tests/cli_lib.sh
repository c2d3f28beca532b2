# cli_lib.sh — helpers of the shell tests that run the faceswarm binary (sourced, POSIX sh).
# The test sets T (its scratch directory) before sourcing; checks count in $fails and the test
# ends with `exit "$fails"`, so one run reports every failing check.
BIN=${FACESWARM_BIN:?FACESWARM_BIN not set}
rm -rf "$T" && mkdir -p "$T" || exit 1
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# expect CODE CMD...: runs CMD, stdout+stderr into $T/out, checks the exit code
expect() {
    want=$1; shift
    "$@" >"$T/out" 2>&1; got=$?
    [ "$got" -eq "$want" ] || { fail "'$*' exited $got, expected $want"; cat "$T/out" >&2; }
}
has() { grep -q -- "$1" "$T/out" || { fail "output of the last command lacks '$1'"; cat "$T/out" >&2; }; }
lacks() { ! grep -q -- "$1" "$T/out" || { fail "output of the last command has '$1'"; cat "$T/out" >&2; }; }
