#!/bin/sh
# all.sh MODE — every `faceswarm bench` with tiny, fast options, in MODE json (--json: every
# line of stdout is JSON of the harness's one schema) or table (the '#' header, units row and
# `# wrong N`); tests/bench/check_output.py checks each one's stdout and exit status. The
# benchmarks run as one process (MPI singleton); their stderr is kept apart from stdout.
set -u
MODE=${1:?usage: all.sh json|table}
T=bench_test_tmp/$MODE
. "${FACESWARM_SOURCE_DIR:?}/tests/cli_lib.sh"
SRC=$FACESWARM_SOURCE_DIR
J=; [ "$MODE" = json ] && J=--json

"$BIN" data synth --out "$T/ds" --identities 2 --count 20 --seed 3 >"$T/synth.log" 2>&1 || fail "data synth: $(cat "$T/synth.log")"
run() { # run NAME ARGS...: one benchmark, stdout to $T/NAME.out
    name=$1; shift
    "$BIN" bench "$name" "$@" $J >"$T/$name.out" 2>"$T/$name.err"
    rc=$?
    [ "$rc" -le 1 ] || { fail "bench $name exited $rc: $(cat "$T/$name.err")"; return; }
    python3 "$SRC/tests/bench/check_output.py" "$MODE" "$name" "$T/$name.out" "$rc" ||
        { fail "bench $name ($MODE) output (above)"; cat "$T/$name.out" >&2; }
}
run kernels --reps 1 --batch 1 --config "$SRC/tests/train/tiny.yaml"
run loader --data "$T/ds" --seconds 0.05
run train "$SRC/tests/train/tiny.yaml" --steps 1
run allreduce --min 4K --max 8K --iters 1 --layers 2
run coordinator --ranks 2 --seconds 0.1 --threads 1
run watermark --trials 2 --sizes 64 --unmarked 10 --tmp "$T"
run extract --frames 1 --min-face 40 "$SRC/tests/provenance/astronaut-256.jpg"
# every subcommand of `faceswarm bench` is in the list above
# (convert needs a trained checkpoint and footage: tests/convert/footage.sh checks its table and
# its --json output the same way)
for b in $("$BIN" bench --help 2>&1 | awk '/^  [a-z]+ /{print $1}'); do
    [ "$b" = convert ] && continue
    [ -f "$T/$b.out" ] || fail "bench $b is not checked by tests/bench/all.sh"
done
[ "$fails" -eq 0 ] && echo "bench_$MODE: every benchmark's output checked"
exit "$fails"
