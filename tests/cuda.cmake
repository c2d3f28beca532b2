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
# A full training step (trainer/model.c) on the CUDA backend vs the cpu backend.
if(NOT FACESWARM_KERNELS_ONLY)
  # Two entries of one program, run in parallel: the original model, and the tiny liae-ud.
  fs_add_test(NAME cuda_step SOURCES tests/cuda/test_step.c ${FS_CT_HELPERS} LIBS fs_trainer LABELS cuda TIMEOUT 180
              ARGS original)
  fs_add_test(NAME cuda_step_liae COMMAND $<TARGET_FILE:cuda_step> liae-ud LABELS cuda TIMEOUT 180)
  if(FACESWARM_HAVE_CUDA)
    target_compile_definitions(cuda_step PRIVATE FACESWARM_TEST_HAVE_CUDA)
  endif()
endif()
# device: cuda without a GPU (or without a CUDA build) is a clear error, not a crash.
fs_add_test(NAME cuda_device SOURCES tests/cuda/test_device.c LIBS fs_kernels LABELS cuda TIMEOUT 20)
if(NOT FACESWARM_HAVE_OPENMP) # a kernels-only build without OpenMP has no emulator
  target_compile_definitions(cuda_device PRIVATE FACESWARM_TEST_NO_EMULATOR)
endif()
# The emulator runs up to 256 threads per block on a few cores: threads that sleep at a
# barrier instead of spinning leave the cores to the threads that have work (results are
# the same: the kernels are deterministic).
foreach(t cuda_conv cuda_ops cuda_emu cuda_planted cuda_step cuda_step_liae)
  if(TEST ${t})
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT OMP_WAIT_POLICY=passive)
  endif()
endforeach()
