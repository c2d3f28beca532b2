#!/bin/sh
# expect_fail.sh CODE FRAGMENT COMMAND... — passes when COMMAND exits with CODE and its
# stderr contains FRAGMENT (bad input must fail clearly, not crash or succeed).
want=$1 frag=$2
shift 2
err=$("$@" 2>&1 >/dev/null)
got=$?
if [ "$got" -ne "$want" ]; then
    printf 'FAIL: exit %s, expected %s: %s\n%s\n' "$got" "$want" "$*" "$err"
    exit 1
fi
case $err in
*"$frag"*) printf 'ok: exit %s and "%s" from: %s\n' "$got" "$frag" "$*" ;;
*) printf 'FAIL: stderr lacks "%s": %s\n%s\n' "$frag" "$*" "$err"; exit 1 ;;
esac
