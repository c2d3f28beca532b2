#!/usr/bin/env bash
# `cmake --install BUILD --prefix P` puts faceswarm on P/bin and what it reads from the
# source tree under P/share/faceswarm (job script template, cluster.sh, configs), docs under
# P/share/doc/faceswarm; the installed binary runs from anywhere and uses its own
# share/faceswarm, not the source tree.
#   install.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: install.sh BUILD_DIR}
SRC=${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR must name the source tree}
P=$(mktemp -d /tmp/faceswarm-prefix-XXXXXX)
trap 'rm -rf "$P"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$P" >"$P.log" 2>&1 || fail "cmake --install failed: $(tail -n 5 "$P.log")"
rm -f "$P.log"
for f in bin/faceswarm share/faceswarm/slurm/faceswarm.sbatch share/faceswarm/slurm/cluster.sh \
  share/faceswarm/configs/quickstart.yaml share/faceswarm/configs/original-64.yaml \
  share/doc/faceswarm/README.md share/doc/faceswarm/config.md; do
  [ -e "$P/$f" ] || fail "cmake --install did not install $f: $(cd "$P" && find . -type f | tr '\n' ' ')"
done
[ -x "$P/bin/faceswarm" ] && [ -x "$P/share/faceswarm/slurm/cluster.sh" ] || fail "installed programs are not executable"

cd "$P"
"$P/bin/faceswarm" --version | grep -q "^faceswarm " || fail "$P/bin/faceswarm --version: $("$P/bin/faceswarm" --version 2>&1)"
cp "$SRC/tests/slurm/tiny.yaml" tiny.yaml
"$P/bin/faceswarm" submit tiny.yaml --dry-run >job.sh 2>err.txt || fail "installed submit --dry-run failed: $(cat err.txt)"
grep -q "rendered from $P/share/faceswarm/slurm/faceswarm.sbatch" err.txt ||
  fail "the installed binary did not use its installed template: $(cat err.txt)"
grep -qx "FACESWARM='$P/bin/faceswarm'   # the binary that submitted the job" job.sh || fail "the job does not run the installed binary"
"$P/bin/faceswarm" model "$P/share/faceswarm/configs/quickstart.yaml" >/dev/null || fail "the installed config does not load"
echo "PASS: installed into $P; faceswarm runs and uses $P/share/faceswarm"
