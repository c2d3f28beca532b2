# check.sh — the non-fatal checks of the shell tests (sourced; the shell twin of check.h).
# Set T (the test's scratch folder) first. fail counts in $fails; expect CODE CMD... runs CMD
# with stdout+stderr into $T/out and checks its exit code; has TEXT looks for TEXT in $T/out.
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
expect() {
    want=$1; shift
    "$@" >"$T/out" 2>&1; got=$?
    [ "$got" -eq "$want" ] || { fail "'$*' exited $got, expected $want"; cat "$T/out" >&2; }
}
has() { grep -q -- "$1" "$T/out" || { fail "output of the last command lacks '$1'"; cat "$T/out" >&2; }; }
