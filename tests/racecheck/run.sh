#!/bin/sh
# run.sh STEP DIR [SRC CLANG] — the racecheck label (tests/racecheck.cmake, docs/cuda.md):
# the CUDA kernels under the emulator, built by clang with ThreadSanitizer (races; LLVM's
# Archer OMPT tool tells TSan about OpenMP's barriers, the emulator's __syncthreads) and with
# AddressSanitizer (out-of-bounds __shared__ and device-memory accesses).
#   build SRC CLANG   configures and builds the two kernels-only trees DIR/tsan and DIR/asan
#   race              the planted race (a missing __syncthreads) is reported, its fixed
#                     variant is not; the tensor-core GEMM with its stage barrier left out
#                     (cuda_bf16_ops planted_race) is reported in gemm_tc.cu
#   kernels           cuda_emu, cuda_planted clean, cuda_mma (the mma.h primitives' exchange
#                     and cp.async queues) and a small set of conv / other-op cases of
#                     cuda_conv and cuda_ops, and of the bf16 tensor-core GEMM's conv / dense
#                     cases (cuda_bf16_ops: cp.async pipeline, ldmatrix, mma.sync) under
#                     TSan: no report
#   oob               the planted out-of-bounds __shared__ write, device read and device
#                     write are reported, their in-bounds variants are not
#   bounds            cuda_emu, cuda_mma (its zero-filled cp.async tails must not read past
#                     the operands' ends), cuda_conv, cuda_ops (every case), every other
#                     case of cuda_bf16_ops (the tensor-core GEMM) and cuda_bf16_act (bf16
#                     activations read in place, exact-size inputs) under ASan: no report
set -u
step=$1
dir=$2
fail() { echo "FAIL racecheck $step: $*"; exit 1; }

# Archer and the OpenMP runtime clang links (libomp): next to clang's own libraries.
archer() {
    for d in $(dirname "$(readlink -f "$(command -v "${CLANG:-clang}")")")/../lib /usr/lib/llvm-*/lib; do
        [ -f "$d/libarcher.so" ] && { echo "$d/libarcher.so"; return; }
    done
}

tsan_run() { # tsan_run LOG PROGRAM ARGS...: exit status of PROGRAM under TSan + Archer
    log=$1
    shift
    lib=$(cat "$dir/archer.path")
    OMP_WAIT_POLICY=passive OMP_TOOL_LIBRARIES=$lib ARCHER_OPTIONS=verbose=1 \
        TSAN_OPTIONS="ignore_noninstrumented_modules=1 halt_on_error=0 exitcode=66 history_size=4" \
        "$@" > "$log" 2>&1
}

asan_run() { # asan_run LOG PROGRAM ARGS...
    log=$1
    shift
    OMP_WAIT_POLICY=passive ASAN_OPTIONS="detect_leaks=0 halt_on_error=1 exitcode=67" "$@" > "$log" 2>&1
}

case $step in
build)
    src=$3
    CLANG=$4
    lib=$(archer)
    [ -n "$lib" ] || fail "no libarcher.so next to $CLANG (hint: apt-get install libomp-14-dev)"
    mkdir -p "$dir"
    echo "$lib" > "$dir/archer.path"
    for san in tsan asan; do
        flags="-fsanitize=thread"
        [ $san = asan ] && flags="-fsanitize=address -fno-omit-frame-pointer"
        gen=
        command -v ninja > /dev/null && [ ! -f "$dir/$san/CMakeCache.txt" ] && gen="-G Ninja"
        # shellcheck disable=SC2086
        cmake -S "$src" -B "$dir/$san" $gen -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$CLANG" \
            -DFACESWARM_KERNELS_ONLY=ON -DFACESWARM_CUDA=OFF -DCMAKE_C_FLAGS="$flags -g" \
            -DCMAKE_EXE_LINKER_FLAGS="$flags" > "$dir/$san.configure.log" 2>&1 ||
            { cat "$dir/$san.configure.log"; fail "$san configure"; }
        grep -q "CUDA emulator     ON" "$dir/$san.configure.log" ||
            { cat "$dir/$san.configure.log"; fail "$san: clang found no OpenMP (hint: apt-get install libomp-14-dev)"; }
        cmake --build "$dir/$san" -j2 --target cuda_emu cuda_planted cuda_mma cuda_conv cuda_ops cuda_bf16_ops cuda_bf16_act > "$dir/$san.build.log" 2>&1 ||
            { tail -30 "$dir/$san.build.log"; fail "$san build"; }
    done
    echo "racecheck build: $dir/tsan (ThreadSanitizer, Archer $lib) and $dir/asan (AddressSanitizer)"
    ;;
race)
    p=$dir/tsan/tests/cuda_planted
    tsan_run "$dir/race.log" "$p" race
    rc=$?
    grep -q "Archer detected OpenMP application with TSan" "$dir/race.log" ||
        { cat "$dir/race.log"; fail "Archer was not loaded (OMP_TOOL_LIBRARIES=$(cat "$dir/archer.path"))"; }
    grep -q "WARNING: ThreadSanitizer: data race" "$dir/race.log" && [ "$rc" -eq 66 ] ||
        { cat "$dir/race.log"; fail "the planted race (block_sum without __syncthreads) was not reported (exit $rc)"; }
    grep -q "block_sum.*test_planted.c" "$dir/race.log" ||
        { cat "$dir/race.log"; fail "the race report does not point at block_sum in test_planted.c"; }
    tsan_run "$dir/race_clean.log" "$p" clean ||
        { cat "$dir/race_clean.log"; fail "the planted kernels WITH their __syncthreads were reported"; }
    # The same check on the real tensor-core kernel (gemm_tc.cu) with its stage barrier left out.
    b=$dir/tsan/tests/cuda_bf16_ops
    tsan_run "$dir/race_tc.log" "$b" planted_race
    rc=$?
    grep -q "WARNING: ThreadSanitizer: data race" "$dir/race_tc.log" && [ "$rc" -eq 66 ] &&
        grep -q "gemm_tc.cu" "$dir/race_tc.log" ||
        { cat "$dir/race_tc.log"; fail "the tensor-core GEMM without its stage __syncthreads was not reported in gemm_tc.cu (exit $rc)"; }
    echo "racecheck race: the missing __syncthreads is reported ($(grep -c "WARNING: ThreadSanitizer" "$dir/race.log") report(s)); the fixed kernel is clean; the tensor-core GEMM without its stage barrier is reported ($(grep -c "WARNING: ThreadSanitizer" "$dir/race_tc.log") report(s) in gemm_tc.cu)"
    ;;
kernels)
    t=$dir/tsan/tests
    for run in "cuda_emu" "cuda_planted clean" "cuda_mma all" "cuda_conv --racecheck" "cuda_ops --racecheck" "cuda_bf16_ops --racecheck"; do
        name=${run%% *}
        # shellcheck disable=SC2086
        tsan_run "$dir/tsan_$name.log" $t/$run
        rc=$?
        [ "$rc" -eq 0 ] || { cat "$dir/tsan_$name.log"; fail "$run under TSan (exit $rc)"; }
        grep -q "ThreadSanitizer" "$dir/tsan_$name.log" && { cat "$dir/tsan_$name.log"; fail "$run: TSan report"; }
        echo "  $run: clean ($(grep -m1 -E 'all|ok|match|right' "$dir/tsan_$name.log"))"
    done
    echo "racecheck kernels: no race reported"
    ;;
oob)
    p=$dir/asan/tests/cuda_planted
    asan_run "$dir/oob_shared.log" "$p" oob_shared
    grep -q "ERROR: AddressSanitizer: global-buffer-overflow" "$dir/oob_shared.log" &&
        grep -q "shared_tile.*test_planted.c" "$dir/oob_shared.log" ||
        { cat "$dir/oob_shared.log"; fail "the __shared__ write past the tile's end was not reported"; }
    asan_run "$dir/oob_global.log" "$p" oob_global
    grep -q "ERROR: AddressSanitizer: heap-buffer-overflow" "$dir/oob_global.log" &&
        grep -q "neighbour_sum.*test_planted.c" "$dir/oob_global.log" ||
        { cat "$dir/oob_global.log"; fail "the device-buffer read past its end was not reported"; }
    asan_run "$dir/oob_write.log" "$p" oob_write
    grep -q "ERROR: AddressSanitizer: heap-buffer-overflow" "$dir/oob_write.log" &&
        grep -q "shifted_store.*test_planted.c" "$dir/oob_write.log" ||
        { cat "$dir/oob_write.log"; fail "the device-buffer write past its end was not reported"; }
    asan_run "$dir/oob_clean.log" "$p" clean || { cat "$dir/oob_clean.log"; fail "the in-bounds variants were reported"; }
    echo "racecheck oob: the __shared__ overflow and the device-buffer read and write overflows are reported; the fixed kernels are clean"
    ;;
bounds)
    t=$dir/asan/tests
    for run in cuda_emu cuda_mma cuda_conv cuda_ops "cuda_bf16_ops --racecheck" cuda_bf16_act; do
        name=${run%% *}
        # shellcheck disable=SC2086
        asan_run "$dir/asan_$name.log" $t/$run || { cat "$dir/asan_$name.log"; fail "$name under ASan"; }
        echo "  $name: $(tail -1 "$dir/asan_$name.log")"
    done
    echo "racecheck bounds: every kernel of the cuda tests stays in bounds"
    ;;
*) fail "unknown step (expected build, race, kernels, oob or bounds)" ;;
esac
