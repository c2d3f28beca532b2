# nccl_*: the NCCL gradient all-reduce (comms/nccl), label cuda. They run in every build:
# without NCCL or without a GPU they check the clear errors and skip the real reduction.
fs_add_test(NAME nccl_plan SOURCES tests/nccl/test_nccl_plan.c LIBS fs_nccl LABELS cuda unit TIMEOUT 30)
fs_add_test(NAME nccl_init SOURCES tests/nccl/test_nccl_init.c LIBS fs_nccl RANKS 1 LABELS cuda mpi TIMEOUT 30)

# The real all-reduce on 2 ranks, one GPU each; exit 77 = skipped (no NCCL, no GPU, or fewer
# GPUs than ranks on the node), which ctest shows as skipped rather than passed.
if(TARGET fs_cuda)
  set(FS_NCCL_GPU_INDEX tests/nccl/gpu_index_cuda.c)
else()
  set(FS_NCCL_GPU_INDEX tests/nccl/gpu_index_none.c)
endif()
fs_add_test(NAME nccl_run_2 SOURCES tests/nccl/test_nccl_run.c ${FS_NCCL_GPU_INDEX} LIBS fs_nccl RANKS 2
            LABELS cuda mpi TIMEOUT 60)
if(TEST nccl_run_2)
  set_tests_properties(nccl_run_2 PROPERTIES SKIP_RETURN_CODE 77)
endif()
