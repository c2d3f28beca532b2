#!/usr/bin/env bash
# Every command and sub-command answers --help with exit 0 and its usage on stdout, as a user
# types it: the commands come from `faceswarm --help`, the sub-commands from each command's
# own help (as shared/hooks/before-stop finds them).
#   help.sh [--lead] [FACESWARM]
# The sub-commands in LEAD belong to another branch (trainer/checkpoint_cmd.c,
# comms/bench_coordinator.c): --lead checks only those (ctest cli_help_lead), the default
# all the others.
set -uo pipefail
lead=0
[ "${1:-}" = --lead ] && { lead=1; shift; }
FS=${1:-${FACESWARM_BIN:?FACESWARM_BIN must name the faceswarm binary}}
LEAD=" checkpoint:inspect checkpoint:verify checkpoint:diff bench:coordinator "
WORK=$(mktemp -d /tmp/faceswarm-help-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

failures=0 n=0
check() { # check WORDS...: `faceswarm WORDS --help` exits 0 with a usage on stdout
  local key=${1}:${2:-}
  [[ "$LEAD" == *" $key "* ]] && mine=0 || mine=1
  [ "$mine" -ne "$lead" ] || return 0
  n=$((n + 1))
  timeout 20 "$FS" "$@" --help >out.txt 2>err.txt
  local rc=$? why=""
  [ "$rc" -eq 0 ] || why="exit $rc"
  [ -z "$why" ] && ! grep -qi "usage" out.txt && why="no usage on stdout"
  if [ -n "$why" ]; then
    echo "FAIL: faceswarm $* --help: $why: $(head -c 300 err.txt out.txt | tr '\n' ' ')"
    failures=$((failures + 1))
  fi
}

cmds=$("$FS" --help 2>&1 | awk '/^commands:/{on=1;next} on && /^  [a-z]/{print $1}')
[ "$(wc -w <<<"$cmds")" -ge 8 ] || { echo "FAIL: faceswarm --help lists only: $cmds"; exit 1; }
for c in $cmds; do
  [ "$lead" -eq 1 ] || check "$c"
  h=$("$FS" "$c" --help 2>&1)
  subs=$({ grep -oE "faceswarm $c [a-z]+" <<<"$h" | awk '{print $3}'; grep -oE '^  [a-z]+ ' <<<"$h" | awk '{print $1}'; } | sort -u)
  for sc in $subs; do
    case "$sc" in faceswarm | "$c") continue ;; esac
    check "$c" "$sc"
  done
done
[ "$failures" -eq 0 ] || { echo "FAIL: $failures of $n"; exit 1; }
echo "PASS: $n commands and sub-commands answer --help with exit 0"
