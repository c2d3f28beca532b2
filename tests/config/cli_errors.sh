#!/bin/sh
# config_cli_errors: bad configs given to the binary exit with code 2 and say why on stderr.
set -u
bin=${FACESWARM_BIN:?FACESWARM_BIN is not set}
src=${FACESWARM_SOURCE_DIR:?FACESWARM_SOURCE_DIR is not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
# expect NEEDLE CMD...: CMD must exit 2 with NEEDLE on stderr
expect() {
    needle=$1; shift
    "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
    if [ $rc != 2 ]; then echo "FAIL: '$*' exited $rc, expected 2"; fail=1; fi
    if ! grep -qF -- "$needle" "$tmp/err"; then echo "FAIL: '$*': stderr lacks '$needle':"; cat "$tmp/err"; fail=1; fi
}
cfg=$src/configs/original-64.yaml
expect "$tmp/none.yaml" "$bin" model "$tmp/none.yaml"
printf 'train:\n  steps: [1, 2\n' >"$tmp/bad.yaml"
expect "malformed YAML" "$bin" model "$tmp/bad.yaml"
printf 'train:\n  setps: 5\n' >"$tmp/typo.yaml"
expect "$tmp/typo.yaml:2:3: unknown key 'train.setps'" "$bin" model "$tmp/typo.yaml"
expect "did you mean 'train.steps'?" "$bin" model "$tmp/typo.yaml"
printf 'model:\n  resolution: sixty\n' >"$tmp/type.yaml"
expect "model.resolution = 'sixty': not an integer" "$bin" model "$tmp/type.yaml"
expect "not divisible by 2^4" "$bin" model "$cfg" --set model.resolution=60
expect "model.encoder_filters = '0': out of range" "$bin" model "$cfg" --set "model.encoder_filters=[0, 1, 2, 3]"
expect "did you mean 'model.dense'?" "$bin" model "$cfg" --set model.dnse=5
expect "--set run.dir value:1:5: malformed YAML" "$bin" model "$cfg" --set 'run.dir="a b'
expect "--set data.paths.A value:1:3: malformed YAML" "$bin" model "$cfg" --set "data.paths.A='a"
[ $fail = 0 ] && echo "config cli errors ok"
exit $fail
