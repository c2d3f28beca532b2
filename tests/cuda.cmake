# cuda_*: the CUDA backend's kernels (kernels/cuda) vs the CPU reference, on the GPU when
# one is usable, otherwise under the CPU emulator (each test says which it ran on).
set(FS_CT_HELPERS ${CMAKE_SOURCE_DIR}/tests/cuda/ct.c)
set(FS_CT_TESTS conv ops)
foreach(t ${FS_CT_TESTS})
  fs_add_test(NAME cuda_${t} SOURCES tests/cuda/test_${t}.c ${FS_CT_HELPERS}
              LIBS fs_kernels LABELS cuda TIMEOUT 120)
  if(FACESWARM_HAVE_CUDA)
    target_compile_definitions(cuda_${t} PRIVATE FACESWARM_TEST_HAVE_CUDA)
  endif()
endforeach()
# The emulator's own behaviour (shared memory, barriers, shuffles, atomics): CPU only.
fs_add_test(NAME cuda_emu SOURCES tests/cuda/test_emu.c kernels/cuda/emu.c LIBS OpenMP::OpenMP_C
            LABELS cuda TIMEOUT 30)
# A full training step (trainer/model.c) on the CUDA backend vs the cpu backend.
fs_add_test(NAME cuda_step SOURCES tests/cuda/test_step.c ${FS_CT_HELPERS} LIBS fs_trainer LABELS cuda TIMEOUT 180)
if(FACESWARM_HAVE_CUDA)
  target_compile_definitions(cuda_step PRIVATE FACESWARM_TEST_HAVE_CUDA)
endif()
# device: cuda without a GPU (or without a CUDA build) is a clear error, not a crash.
fs_add_test(NAME cuda_device SOURCES tests/cuda/test_device.c LIBS fs_kernels LABELS cuda TIMEOUT 20)
