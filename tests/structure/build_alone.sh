#!/bin/sh
# build_alone.sh SRC DIR [JOBS] — each library builds alone, in dependency order, in a fresh
# CMake tree DIR: building a library's target builds it and the libraries below it, and no
# other: core, then data, comms and kernels (each needs only core), then nccl (so the CMake dependencies are the layering of tests/structure/layering.py). CUDA off
# and -O0 keep it short; the warnings stay those of the real build.
set -eu
src=$1 dir=$2 jobs=${3:-2}
rm -rf "$dir"
cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS=-O0 -DCMAKE_CXX_FLAGS=-O0 \
      -DFACESWARM_CUDA=OFF >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
fail=0
built() { (cd "$dir" && find . -name 'lib*.a' | sed 's|.*/lib||; s|\.a$||' | sort | tr '\n' ' '); }
step() { # step TARGET "expected libraries after it, sorted"
    if ! cmake --build "$dir" --target "$1" -j "$jobs" >"$dir.$1.log" 2>&1; then
        echo "FAIL: $1 does not build alone (after the libraries below it):"; tail -30 "$dir.$1.log"; exit 1
    fi
    got=$(built)
    if [ "$got" = "$2 " ]; then echo "ok: $1 alone -> $got"
    else echo "FAIL: building $1 built [$got], expected [$2 ]"; fail=1; fi
}
# core first; data, comms and kernels each on core alone; nccl on comms and kernels.
step fs_core "fs_core"
step fs_data "fs_core fs_data fs_face"
step fs_comms "fs_comms fs_core fs_data fs_face"
step fs_kernels "fs_comms fs_core fs_cuda_emu fs_data fs_face fs_kernels"
step fs_nccl "fs_comms fs_core fs_cuda_emu fs_data fs_face fs_kernels fs_nccl"
rm -rf "$dir" "$dir".*.log
exit $fail
