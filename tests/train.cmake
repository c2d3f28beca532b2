# The training run (issue: loop, previews, checkpoints, exact resume). Shell tests drive the
# faceswarm binary on a tiny model; each asserts what a user relies on.
foreach(t loss_decreases resume_exact signal_stop crash_kill nan_guard tamper bad_input swap preview)
  fs_add_test(NAME train_${t} COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/${t}.sh LABELS train TIMEOUT 300)
endforeach()
fs_add_test(NAME train_mpi_equivalence COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/mpi_equivalence.sh
            LABELS "train;mpi" TIMEOUT 600)
fs_add_test(NAME train_coordinator COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/coordinator_run.sh
            LABELS "train;mpi" TIMEOUT 300)
fs_add_test(NAME train_coordinator_restart COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/coordinator_restart.sh
            LABELS train TIMEOUT 120)
