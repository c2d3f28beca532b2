# The training run (issue: loop, previews, checkpoints, exact resume). Shell tests drive the
# faceswarm binary on a tiny model; each asserts what a user relies on.
foreach(t loss_decreases resume_exact signal_stop crash_kill nan_guard bad_input swap preview arch_saehd)
  fs_add_test(NAME train_${t} COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/${t}.sh LABELS train TIMEOUT 300)
endforeach()
fs_add_test(NAME train_tamper COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/tamper.sh $<TARGET_FILE:ckpt_mutate>
            LABELS train TIMEOUT 300)
fs_add_test(NAME train_mpi_equivalence COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/mpi_equivalence.sh
            LABELS "train;mpi" TIMEOUT 600)
fs_add_test(NAME train_arch_mpi COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/arch_mpi.sh
            LABELS "train;mpi" TIMEOUT 600)
fs_add_test(NAME train_coordinator COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/coordinator_run.sh
            LABELS "train;mpi" TIMEOUT 300)
fs_add_test(NAME train_coordinator_restart COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/coordinator_restart.sh
            LABELS train TIMEOUT 120)
# Issue 12 (trust): metrics write failures, the run-directory lock, the progress line on a
# terminal, the thread count, "nothing to do", help and hints, the log level.
foreach(t metrics_write run_lock progress_tty threads nothing_to_do help_hints log_level adam_counter adam_legacy
          clip_norm optimizer lr_dropout memory_estimate precision kernels_record fresh_over_checkpoints)
  fs_add_test(NAME train_${t} COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/${t}.sh LABELS train TIMEOUT 300)
endforeach()
set_tests_properties(train_progress_tty train_adam_counter PROPERTIES SKIP_RETURN_CODE 77)
fs_add_test(NAME train_quickstart_ctrlc COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/quickstart_ctrlc.sh
            LABELS "train;mpi" TIMEOUT 300)
set_tests_properties(train_quickstart_ctrlc PROPERTIES SKIP_RETURN_CODE 77)
fs_add_test(NAME train_log_location SOURCES tests/train/test_log_location.c LABELS unit TIMEOUT 30)
set_property(TEST train_log_level APPEND PROPERTY ENVIRONMENT "FACESWARM_LOG_TEST=$<TARGET_FILE:train_log_location>")
