# cuda_*: the CUDA backend's kernels (kernels/cuda) vs the CPU reference, on the GPU when
# one is usable, otherwise under the CPU emulator (each test says which it ran on).
set(FS_CT_HELPERS ${CMAKE_SOURCE_DIR}/tests/cuda/ct.c)
set(FS_CT_TESTS conv ops)
if(NOT FACESWARM_HAVE_OPENMP AND NOT FACESWARM_HAVE_CUDA)
  set(FS_CT_TESTS) # neither the emulator (kernels-only build without OpenMP) nor a GPU backend
endif()
foreach(t ${FS_CT_TESTS})
  fs_add_test(NAME cuda_${t} SOURCES tests/cuda/test_${t}.c ${FS_CT_HELPERS}
              LIBS fs_kernels LABELS cuda TIMEOUT 120)
  if(FACESWARM_HAVE_CUDA)
    target_compile_definitions(cuda_${t} PRIVATE FACESWARM_TEST_HAVE_CUDA)
  endif()
endforeach()
# The emulator's own behaviour (shared memory, barriers, shuffles, atomics): CPU only.
if(FACESWARM_HAVE_OPENMP)
  fs_add_test(NAME cuda_emu SOURCES tests/cuda/test_emu.c kernels/cuda/emu.c LIBS OpenMP::OpenMP_C
              LABELS cuda TIMEOUT 30)
endif()
# Kernels with a planted race / out-of-bounds access (tests/racecheck/run.sh runs them under
# the sanitizers); here their defect-free variants, whose results are checked.
if(FACESWARM_HAVE_OPENMP)
  fs_add_test(NAME cuda_planted SOURCES tests/cuda/test_planted.c LIBS fs_kernels ARGS clean LABELS cuda TIMEOUT 30)
  # A kernel writing one float past a device buffer: the emulator's guard zones stop it,
  # naming the kernel (in every build, not only under the racecheck label's ASan).
  fs_add_test(NAME cuda_planted_guard COMMAND $<TARGET_FILE:cuda_planted> oob_write LABELS cuda TIMEOUT 30)
  set_tests_properties(cuda_planted_guard PROPERTIES
                       PASS_REGULAR_EXPRESSION "kernel shifted_store wrote outside a device buffer of 256 bytes \\(back guard")
endif()
# The tensor-core primitives of kernels/cuda/mma.h under the emulator: ldmatrix, mma.sync and
# cp.async against the PTX layouts and a 3-stage pipelined 64x64x256 bf16 product, with planted
# defects that must be caught (a wrong A layout, missing waits: mismatches; a misaligned
# ldmatrix row, a thread ending with a copy pending, a diverged warp, a copy past the dynamic
# shared memory: the emulator stops, naming the kernel).
if(FACESWARM_HAVE_OPENMP)
  fs_add_test(NAME cuda_mma SOURCES tests/cuda/test_mma.c LIBS fs_kernels ARGS all LABELS cuda TIMEOUT 30)
  # cuda_mma_<mode>: the message each planted defect must stop the program with
  set(FS_MMA_PLANTED
      misaligned "launch of misaligned_kernel: block \\(0, 0, 0\\) thread \\(5, 0, 0\\): ldmatrix.x4 row address .* is not 16-byte aligned"
      pending "launch of pending_kernel: block \\(0, 0, 0\\) thread \\(7, 0, 0\\): the block ended with 1 cp.async copies not completed"
      diverged "launch of diverged_kernel: .*: lane [0-9]+ called ldmatrix.x4(.trans)? while lane [0-9]+ of its warp called ldmatrix.x4"
      dyn_overflow "launch of pipeline_dyn_kernel: .*: cp.async.cg of 16 bytes to .*: past the end of the launch's dynamic shared memory")
  while(FS_MMA_PLANTED)
    list(POP_FRONT FS_MMA_PLANTED fs_mma_mode fs_mma_regex)
    fs_add_test(NAME cuda_mma_${fs_mma_mode} COMMAND $<TARGET_FILE:cuda_mma> ${fs_mma_mode} LABELS cuda TIMEOUT 30)
    set_tests_properties(cuda_mma_${fs_mma_mode} PROPERTIES PASS_REGULAR_EXPRESSION "${fs_mma_regex}")
  endwhile()
  if(FACESWARM_HAVE_CUDA)
    # nvcc compiles the same test kernels (compile only: cuda_mma runs them on the emulator), so
    # that every primitive of mma.h goes through ptxas for FACESWARM_CUDA_ARCHS, warnings as errors.
    add_library(cuda_mma_nvcc OBJECT ${CMAKE_SOURCE_DIR}/tests/cuda/mma_kernels.cu)
    set_target_properties(cuda_mma_nvcc PROPERTIES CUDA_ARCHITECTURES "${FACESWARM_CUDA_ARCHS}" CUDA_STANDARD 17
                                                   CUDA_STANDARD_REQUIRED ON)
    target_compile_options(cuda_mma_nvcc PRIVATE -Xcompiler=-Wall,-Wextra,-Wno-unused-parameter,-Wshadow
                                                 -Werror=all-warnings -Xcompiler=-Werror)
    add_dependencies(cuda_mma cuda_mma_nvcc)
  endif()
endif()
# train.precision bf16: the tensor-core GEMM (kernels/cuda/gemm_tc.cu) on every conv2d / dense
# case vs cpu-ref in bf16 and in fp32, run twice (bit-identical); planted: a kernel that drops
# each block's last K slice must be reported (the flag is the emulator's: OpenMP builds only).
if(FACESWARM_HAVE_OPENMP)
  fs_add_test(NAME cuda_bf16_ops SOURCES tests/cuda/test_bf16_ops.c ${FS_CT_HELPERS}
              LIBS fs_kernels ARGS conv2d 0 4 LABELS cuda TIMEOUT 120)
  foreach(part 1 2 3)
    fs_add_test(NAME cuda_bf16_ops_conv${part} COMMAND $<TARGET_FILE:cuda_bf16_ops> conv2d ${part} 4 LABELS cuda
                TIMEOUT 120)
  endforeach()
  fs_add_test(NAME cuda_bf16_ops_dense COMMAND $<TARGET_FILE:cuda_bf16_ops> dense LABELS cuda TIMEOUT 120)
  if(FACESWARM_HAVE_CUDA)
    target_compile_definitions(cuda_bf16_ops PRIVATE FACESWARM_TEST_HAVE_CUDA)
  endif()
  fs_add_test(NAME cuda_bf16_planted COMMAND $<TARGET_FILE:cuda_bf16_ops> planted LABELS cuda TIMEOUT 60)
  set_tests_properties(cuda_bf16_planted PROPERTIES PASS_REGULAR_EXPRESSION
                       "FAIL conv2d .* fwd bf16 vs cpu-ref bf16: element .*cuda_bf16_ops: [0-9]+ checks FAILED in 3 of 3 cases \\(planted")
endif()
# train.precision bf16's activation storage (FS_PREC_BF16_ACT): every op with activation
# tensors on the CUDA backend vs cpu-ref in the same mode, bf16 stores, determinism.
if(FACESWARM_HAVE_OPENMP)
  fs_add_test(NAME cuda_bf16_act SOURCES tests/cuda/test_bf16_act.c ${FS_CT_HELPERS}
              LIBS fs_kernels LABELS cuda TIMEOUT 120)
  if(FACESWARM_HAVE_CUDA)
    target_compile_definitions(cuda_bf16_act PRIVATE FACESWARM_TEST_HAVE_CUDA)
  endif()
endif()
# A full training step (trainer/model.c) on the CUDA backend vs the cpu backend.
if(NOT FACESWARM_KERNELS_ONLY)
  # Two entries of one program, run in parallel: the original model, and the tiny liae-ud.
  fs_add_test(NAME cuda_step SOURCES tests/cuda/test_step.c tests/cuda/ct_step.c ${FS_CT_HELPERS} LIBS fs_trainer LABELS cuda TIMEOUT 180
              ARGS original)
  fs_add_test(NAME cuda_step_liae COMMAND $<TARGET_FILE:cuda_step> liae-ud LABELS cuda TIMEOUT 180)
  if(FACESWARM_HAVE_CUDA)
    target_compile_definitions(cuda_step PRIVATE FACESWARM_TEST_HAVE_CUDA)
  endif()
endif()
# train.precision bf16: one training step of a tiny liae-ud with masks on the CUDA backend with
# bf16 activation storage vs cpu-ref in the same mode (tight), the fast cpu path in bf16 vs
# cpu-ref in bf16, and vs fp32 (loose); _repeat: a tiny original's CUDA step in bf16 storage
# twice, bit for bit.
if(NOT FACESWARM_KERNELS_ONLY)
  # about 40 s alone on 2 cores under the emulator (more under load): over the 30 s aim
  fs_add_test(NAME train_bf16_step SOURCES tests/cuda/test_bf16_step.c tests/cuda/ct_step.c ${FS_CT_HELPERS}
              LIBS fs_trainer
              LABELS cuda TIMEOUT 300)
  fs_add_test(NAME train_bf16_step_repeat COMMAND $<TARGET_FILE:train_bf16_step> repeat LABELS cuda TIMEOUT 300)
  if(FACESWARM_HAVE_CUDA)
    target_compile_definitions(train_bf16_step PRIVATE FACESWARM_TEST_HAVE_CUDA)
  endif()
endif()
# bf16 activation storage in the model: the memory estimate's halving, the allocation it
# matches, the float32 outputs and inference (cpu-ref in the same mode).
if(NOT FACESWARM_KERNELS_ONLY AND FACESWARM_HAVE_OPENMP)
  fs_add_test(NAME train_bf16_model SOURCES tests/cuda/test_bf16_model.c tests/cuda/ct_step.c ${FS_CT_HELPERS}
              LIBS fs_trainer LABELS cuda TIMEOUT 30)
endif()
# device: cuda without a GPU (or without a CUDA build) is a clear error, not a crash.
fs_add_test(NAME cuda_device SOURCES tests/cuda/test_device.c LIBS fs_kernels LABELS cuda TIMEOUT 20)
if(NOT FACESWARM_HAVE_OPENMP) # a kernels-only build without OpenMP has no emulator
  target_compile_definitions(cuda_device PRIVATE FACESWARM_TEST_NO_EMULATOR)
endif()
# The emulator runs up to 256 threads per block on a few cores: threads that sleep at a
# barrier instead of spinning leave the cores to the threads that have work (results are
# the same: the kernels are deterministic).
foreach(t cuda_conv cuda_ops cuda_bf16_ops cuda_bf16_act cuda_bf16_ops_conv1 cuda_bf16_ops_conv2 cuda_bf16_ops_conv3 cuda_bf16_ops_dense
          cuda_bf16_planted train_bf16_step train_bf16_step_repeat cuda_emu cuda_planted cuda_step cuda_step_liae cuda_mma cuda_mma_misaligned
          cuda_mma_pending cuda_mma_diverged cuda_mma_dyn_overflow)
  if(TEST ${t})
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT OMP_WAIT_POLICY=passive)
  endif()
endforeach()
