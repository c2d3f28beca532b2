#!/usr/bin/env bash
# Help and hints: `train --help` lists the whole run directory; every config key that a hint
# names exists (the hints are read from the sources and checked against --help-config); a
# run.dir that is a file and a --resume that is a directory get exit 2 and a hint; an empty
# config trains on the defaults with a notice naming it.
source "$(dirname "$0")/lib.sh"
help=$("$FS" train --help)
for d in config.yaml metrics.jsonl checkpoints/ previews/ coordinator/ tensorboard/ run.lock; do
  grep -q -- "$d" <<< "$help" || fail "train --help does not list $d"
done
"$FS" train --help-config | awk 'NR > 1 { print $1 }' > known.txt
[ "$(wc -l < known.txt)" -gt 40 ] || fail "--help-config lists only $(wc -l < known.txt) keys"
(cd "$SRC" && find trainer kernels comms data slurm \( -name '*.c' -o -name '*.cu' -o -name '*.h' \) -print0 |
  xargs -0 perl -0777 -n "$SRC/tests/train/hint_keys.pl") > hinted.txt
[ "$(wc -l < hinted.txt)" -gt 20 ] || fail "found only $(wc -l < hinted.txt) keys in hints: the scan is broken"
bad=$(awk '{ print $2 }' hinted.txt | sort -u | grep -vxFf known.txt || true)
[ -z "$bad" ] || fail "hints name keys that do not exist: $(for k in $bad; do grep " $k\$" hinted.txt; done | tr '\n' ';')"
make_data 40
touch afile
set +e; "$FS" train "$TINY" --set run.dir=afile > out.txt 2> err.txt; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "run.dir: afile: exists and is not a directory" err.txt && grep -q "hint:" err.txt ||
  fail "run.dir a file: exit $rc: $(cat err.txt)"
mkdir adir
set +e; "$FS" train "$TINY" --resume adir > out.txt 2> err.txt; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "is a directory; expected a checkpoint file" err.txt && grep -q "hint:" err.txt ||
  fail "--resume a directory: exit $rc: $(cat err.txt)"
printf '# nothing but a comment\n' > empty.yaml
"$FS" train empty.yaml --print-config > out.txt 2> err.txt || fail "--print-config of an empty config: $(cat err.txt)"
grep -q "empty.yaml is empty (it sets no key): training on the built-in defaults" err.txt ||
  fail "an empty config gives no notice: $(cat err.txt)"
echo PASS
