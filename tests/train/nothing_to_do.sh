#!/usr/bin/env bash
# Resuming a finished run is "nothing to do": it says so and exits 0 before the data, the run
# directory or a coordinator is touched (no coordinator/, no empty TensorBoard event file).
source "$(dirname "$0")/lib.sh"
make_data 40
"$FS" train "$TINY" --set train.steps=5 > first.txt 2>&1 || fail "first run: $(tail -3 first.txt)"
before=$(cd run && find . -type f | sort | xargs md5sum)
"$FS" train "$TINY" --set train.steps=5 --set coordinator.address= --resume auto > again.txt 2>&1 ||
  fail "resuming a finished run: exit $?: $(tail -3 again.txt)"
grep -q "nothing to do: already at step 5" again.txt || fail "no 'nothing to do': $(cat again.txt)"
[ ! -e run/tensorboard ] || fail "a nothing-to-do run left $(ls run/tensorboard)"
[ ! -e run/coordinator ] || fail "a nothing-to-do run started a coordinator: $(ls run/coordinator)"
[ "$(cd run && find . -type f | sort | xargs md5sum)" = "$before" ] || fail "a nothing-to-do run changed the run directory"
echo PASS
