#!/usr/bin/env bash
# layering.py can fail: two tiny archives named fs_core and fs_trainer, where the core calls
# up into the trainer, and an fs_comms whose coord_state object calls its coordinator object,
# must be refused with the caller, the symbol and the library named; the same archives
# without the wrong calls pass.  selftest.sh CC NM PYTHON
set -uo pipefail
CC=$1 NM=$2 PY=$3
L=$(cd "$(dirname "$0")" && pwd)/layering.py
W=$(mktemp -d /tmp/fs-layering-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fail() { echo "FAIL: $*"; exit 1; }
lib() { # lib NAME OBJ:SOURCE...
  local name=$1; shift
  for spec in "$@"; do printf '%s\n' "${spec#*:}" > "${spec%%:*}.c"; $CC -c "${spec%%:*}.c" -o "${spec%%:*}.o" || exit 1; done
  ar rc "lib$name.a" $(for spec in "$@"; do echo "${spec%%:*}.o"; done)
}
lib fs_trainer 'train:int cmd_train(void) { return 1; }'
lib fs_core 'up:int cmd_train(void); int fs_up(void) { return cmd_train(); }'
lib fs_comms 'coordinator:int cmd_coordinator(void) { return 0; }' \
             'coord_state:int cmd_coordinator(void); int st(void) { return cmd_coordinator(); }'
out=$($PY "$L" symbols "$NM" fs_core=libfs_core.a fs_trainer=libfs_trainer.a fs_comms=libfs_comms.a \
      --one-way fs_comms:coord_state:coordinator); rc=$?
[ "$rc" -eq 1 ] || fail "wrong-direction calls: exit $rc, expected 1: $out"
grep -q "fs_core: up.o calls cmd_train, defined by fs_trainer" <<<"$out" || fail "core -> trainer not named: $out"
grep -q "fs_comms: coord_state.o calls cmd_coordinator, defined by coordinator.o" <<<"$out" ||
  fail "state -> loop not named: $out"
rm -f ./*.a ./*.o ./*.c
lib fs_trainer 'train:int fs_up(void); int cmd_train(void) { return fs_up(); }'
lib fs_core 'up:int fs_up(void) { return 0; }'
lib fs_comms 'coordinator:int st(void); int cmd_coordinator(void) { return st(); }' 'coord_state:int st(void) { return 0; }'
out=$($PY "$L" symbols "$NM" fs_core=libfs_core.a fs_trainer=libfs_trainer.a fs_comms=libfs_comms.a \
      --one-way fs_comms:coord_state:coordinator) || fail "the right directions were refused: $out"
echo PASS
