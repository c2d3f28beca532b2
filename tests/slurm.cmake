# Slurm: `faceswarm submit`, the job script, preemption -> checkpoint -> requeue -> resume.
# slurm_submit_cli(_outside) need no Slurm. The others bring up a private one-node Slurm cluster on
# localhost (slurm/cluster.sh; it installs slurm-wlm, munge and libpmix-dev when missing) and
# skip (exit 77) only when Slurm cannot be installed. One cluster at a time: they hold
# /tmp/faceswarm-slurm.lock and share a ctest RESOURCE_LOCK.
set(FS_SLURM_TESTS ${CMAKE_SOURCE_DIR}/tests/slurm)
fs_add_test(NAME slurm_submit_cli COMMAND bash ${FS_SLURM_TESTS}/submit_cli.sh LABELS "slurm;unit" TIMEOUT 60)
# The same with the binary outside the source tree (a build directory anywhere).
fs_add_test(NAME slurm_submit_cli_outside COMMAND bash ${FS_SLURM_TESTS}/submit_cli_outside.sh LABELS "slurm;unit" TIMEOUT 60)
fs_add_test(NAME slurm_submit_cli_outside_build COMMAND bash ${FS_SLURM_TESTS}/submit_cli_outside.sh --build
            LABELS "slurm;slow" TIMEOUT 1200)
# The job script's protocol with a stand-in trainer (fake_faceswarm.sh).
fs_add_test(NAME slurm_protocol COMMAND bash ${FS_SLURM_TESTS}/protocol.sh LABELS slurm TIMEOUT 240)
# `slurm/cluster.sh down` without DIR stops the cluster SLURM_CONF names.
fs_add_test(NAME slurm_cluster_down COMMAND bash ${FS_SLURM_TESTS}/cluster_down.sh LABELS slurm TIMEOUT 120)
# The real trainer under srun --mpi=pmix, 2 CPU ranks (train_e2e.sh says what each checks;
# slurm_train_watch needs `status --run` to use the run's CURVE keys).
foreach(s complete preempt kill watch)
  fs_add_test(NAME slurm_train_${s} COMMAND bash ${FS_SLURM_TESTS}/train_e2e.sh ${s} LABELS slurm TIMEOUT 300)
endforeach()
set_tests_properties(slurm_protocol slurm_cluster_down slurm_train_complete slurm_train_preempt slurm_train_kill slurm_train_watch PROPERTIES
                     SKIP_RETURN_CODE 77 RESOURCE_LOCK faceswarm_slurm_cluster)
