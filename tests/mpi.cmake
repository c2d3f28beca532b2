# MPI world, bucketed gradient all-reduce and `faceswarm bench allreduce` (label mpi).
# Each program is built once and run at several world sizes (oversubscribed: keep them short).
set(FS_MPI_TESTS ${CMAKE_CURRENT_SOURCE_DIR}/mpi)

fs_add_test(NAME mpi_world_1 SOURCES ${FS_MPI_TESTS}/test_world.c LIBS fs_comms RANKS 1 LABELS mpi TIMEOUT 60)
fs_add_test(NAME mpi_world_2 COMMAND $<TARGET_FILE:mpi_world_1> RANKS 2 LABELS mpi TIMEOUT 60)
fs_add_test(NAME mpi_world_4 COMMAND $<TARGET_FILE:mpi_world_1> RANKS 4 LABELS mpi TIMEOUT 60)

fs_add_test(NAME mpi_allreduce_1 SOURCES ${FS_MPI_TESTS}/test_allreduce.c LIBS fs_comms RANKS 1 LABELS mpi TIMEOUT 60)
fs_add_test(NAME mpi_allreduce_2 COMMAND $<TARGET_FILE:mpi_allreduce_1> RANKS 2 LABELS mpi TIMEOUT 60)
fs_add_test(NAME mpi_allreduce_4 COMMAND $<TARGET_FILE:mpi_allreduce_1> RANKS 4 LABELS mpi TIMEOUT 90)
# Two "nodes" of two ranks: the shm path's node-local sums plus MPI between the nodes.
fs_add_test(NAME mpi_allreduce_4_two_nodes COMMAND $<TARGET_FILE:mpi_allreduce_1> RANKS 4 LABELS mpi TIMEOUT 90)
set_property(TEST mpi_allreduce_4_two_nodes APPEND PROPERTY ENVIRONMENT FACESWARM_TEST_RANKS_PER_NODE=2)

fs_add_test(NAME mpi_checks_2 SOURCES ${FS_MPI_TESTS}/test_checks.c LIBS fs_comms RANKS 2 LABELS mpi TIMEOUT 60)
fs_add_test(NAME mpi_checks_4 COMMAND $<TARGET_FILE:mpi_checks_2> RANKS 4 LABELS mpi TIMEOUT 60)

fs_add_test(NAME mpi_barrier_timeout_2 SOURCES ${FS_MPI_TESTS}/test_timeout.c LIBS fs_comms RANKS 2
            ARGS barrier LABELS mpi TIMEOUT 60)
fs_add_test(NAME mpi_barrier_timeout_4 COMMAND $<TARGET_FILE:mpi_barrier_timeout_2> RANKS 4
            ARGS barrier LABELS mpi TIMEOUT 60)
fs_add_test(NAME mpi_allreduce_timeout_2 COMMAND $<TARGET_FILE:mpi_barrier_timeout_2> RANKS 2
            ARGS allreduce LABELS mpi TIMEOUT 60)
fs_add_test(NAME mpi_allreduce_shm_timeout_3 COMMAND $<TARGET_FILE:mpi_barrier_timeout_2> RANKS 3
            ARGS allreduce-shm LABELS mpi TIMEOUT 60)
fs_add_test(NAME mpi_sum_timeout_3 COMMAND $<TARGET_FILE:mpi_barrier_timeout_2> RANKS 3
            ARGS sum LABELS mpi TIMEOUT 60)

fs_add_test(NAME mpi_bench_allreduce_2 COMMAND $<TARGET_FILE:faceswarm> bench allreduce
            --min 4K --max 1M --iters 3 --layers 8 RANKS 2 LABELS mpi bench TIMEOUT 120)
fs_add_test(NAME mpi_bench_allreduce_badinput COMMAND sh ${FS_MPI_TESTS}/expect_fail.sh 2 "expected a size"
            $<TARGET_FILE:faceswarm> bench allreduce --max 12Q LABELS mpi TIMEOUT 30)
fs_add_test(NAME mpi_bench_train_2 COMMAND sh ${FS_MPI_TESTS}/bench_train.sh $<TARGET_FILE:faceswarm>
            ${CMAKE_SOURCE_DIR}/tests/train/tiny.yaml RANKS 2 LABELS mpi bench TIMEOUT 120)
