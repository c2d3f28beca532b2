# Several hosts on one machine (tests/multinode/hosts.sh: network + UTS + mount namespaces
# linked by veth pairs to a bridge, 198.18.0.0/24 only, Open MPI launched through an rsh
# agent). Root only: elsewhere they skip (exit 77) and say why. docs/multinode.md.
set(FS_MN_TESTS ${CMAKE_SOURCE_DIR}/tests/multinode)
# delaylink: a link delay in userspace for kernels without netem (hosts.sh shape, through
# $FS_DELAYLINK). A test tool, not installed; its queue and timing are tested without root.
add_executable(delaylink ${FS_MN_TESTS}/delaylink.c)
find_package(Threads REQUIRED)
target_link_libraries(delaylink PRIVATE Threads::Threads)
fs_add_test(NAME multinode_delaylink_selftest COMMAND $<TARGET_FILE:delaylink> --selftest LABELS "unit;multinode"
            TIMEOUT 30)
foreach(t harness equivalence coordinator slow_links)
  fs_add_test(NAME multinode_${t} COMMAND bash ${FS_MN_TESTS}/${t}.sh LABELS multinode TIMEOUT 240)
  # RUN_SERIAL: the harness test counts the host's network namespaces before and after
  set_tests_properties(multinode_${t} PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL ON)
  set_property(TEST multinode_${t} APPEND PROPERTY ENVIRONMENT "FS_DELAYLINK=$<TARGET_FILE:delaylink>")
endforeach()
# slurmctld + munged on node0, a slurmd per host; submit --nodes 2, USR1 -> requeue -> resume.
# Installs slurm-wlm like tests/slurm (slurm/cluster.sh install) or skips.
fs_add_test(NAME multinode_slurm COMMAND bash ${FS_MN_TESTS}/slurm.sh LABELS "multinode;slurm" TIMEOUT 300)
set_tests_properties(multinode_slurm PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL ON)
# A node lost under Slurm (submit --nodes 1-2): node1 killed, or its link cut -> requeued ->
# resumed on node0 at world size 1, the same global batch, on the trajectory.
foreach(m kill cut)
  if(m STREQUAL kill)
    set(n multinode_slurm_nodeloss)
  else()
    set(n multinode_slurm_nodeloss_${m})
  endif()
  fs_add_test(NAME ${n} COMMAND bash ${FS_MN_TESTS}/slurm_nodeloss.sh ${m} LABELS "multinode;slurm" TIMEOUT 240)
  set_tests_properties(${n} PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL ON)
endforeach()
foreach(m kill cut)
  fs_add_test(NAME multinode_node_lost_${m} COMMAND bash ${FS_MN_TESTS}/node_lost.sh ${m} LABELS multinode TIMEOUT 180)
  set_tests_properties(multinode_node_lost_${m} PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL ON)
endforeach()
