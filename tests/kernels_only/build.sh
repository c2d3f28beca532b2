#!/bin/sh
# build.sh SRC DIR — kernels_only_build: configures and builds `cmake -DFACESWARM_KERNELS_ONLY=ON`
# in DIR with MPI, HDF5, pkg-config (ZeroMQ, libyaml, OpenBLAS, FFmpeg...) and dlib made
# unfindable, checks that the configure did not look for any of them, and runs the tree's
# tests that are not labelled cuda (gpucheck_emulated runs those through scripts/gpu-check).
set -eu
src=$1
dir=$2
log=$dir.configure.log
rm -rf "$dir"
gen=
command -v ninja > /dev/null && gen="-G Ninja"
# PKG_CONFIG pointing at nothing: a pkg_check_modules() would fail, find_package(PkgConfig) too.
# shellcheck disable=SC2086
if ! PKG_CONFIG=/nonexistent/pkg-config cmake -S "$src" -B "$dir" $gen -DCMAKE_BUILD_TYPE=Release \
    -DFACESWARM_KERNELS_ONLY=ON -DFACESWARM_WERROR=ON -DFACESWARM_CUDA_ARCHS=80 \
    -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON -DCMAKE_DISABLE_FIND_PACKAGE_HDF5=ON \
    -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON -DCMAKE_DISABLE_FIND_PACKAGE_dlib=ON > "$log" 2>&1; then
    cat "$log"
    echo "FAIL: the kernels-only configure failed with MPI, HDF5, pkg-config and dlib hidden"
    exit 1
fi
# Nothing of the trainer's dependencies may have been looked up (a cache entry is left by
# every find_package / find_library / pkg_check_modules that ran).
looked=$(grep -E '^(MPI|MPIEXEC|HDF5|ZMQ|YAML|BLAS|PNG|JPEG|FFMPEG|PKG_CONFIG|dlib|NCCL|FS_DLIB)[_A-Za-z0-9]*[:=]' \
         "$dir/CMakeCache.txt" || true)
if [ -n "$looked" ]; then
    echo "FAIL: the kernels-only configure looked for trainer dependencies:"
    echo "$looked"
    exit 1
fi
grep -q "kernels only      ON" "$log" || { cat "$log"; echo "FAIL: no kernels-only summary"; exit 1; }
cmake --build "$dir" -j2 > "$dir.build.log" 2>&1 || { tail -40 "$dir.build.log"; echo "FAIL: build"; exit 1; }
for t in kernels/fs_kbench tests/cuda_conv tests/cuda_ops tests/cuda_emu tests/kernels_grad; do
    [ -x "$dir/$t" ] || { echo "FAIL: the kernels-only build has no $t"; exit 1; }
done
[ ! -e "$dir/trainer" ] || { echo "FAIL: the kernels-only build has a trainer/ directory"; exit 1; }
ctest --test-dir "$dir" --output-on-failure -LE cuda
echo "kernels_only_build: configured without MPI/HDF5/ZMQ/yaml/BLAS/dlib, built, tests passed"
