#!/bin/sh
# kbench_json.sh FS_KBENCH ARGS... — runs fs_kbench --json with ARGS, checks its output against
# the bench schema (check_output.py) and that every layer got its three passes timed.
set -u
kb=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$kb" --json "$@" > "$out"
rc=$?
python3 "$(dirname "$0")/check_output.py" json kbench "$out" "$rc" || exit 1
[ "$rc" -eq 0 ] || { echo "FAIL: fs_kbench exited $rc"; exit 1; }
rows=$(grep -c '"kind":"row"' "$out")
timed=$(grep '"kind":"row"' "$out" | grep -c '"ms":[0-9]')
[ "$rows" -gt 0 ] && [ "$rows" -eq "$timed" ] || { echo "FAIL: $timed of $rows rows timed"; exit 1; }
for p in fwd bwd_data bwd_filter; do
    n=$(grep -c "\"pass\":\"$p\"" "$out")
    [ $((n * 3)) -eq "$rows" ] || { echo "FAIL: $n $p rows of $rows"; exit 1; }
done
echo "kbench_json: $rows rows, every one timed, schema ok"
