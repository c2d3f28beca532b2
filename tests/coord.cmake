# Coordinator tests: protocol, fuzz corpus, daemon + clients, restart, timeout, CURVE,
# TensorBoard files, status, bench. Daemon tests re-execute the test binary as
# `coordinator` / `status` (the same code as the faceswarm subcommands).
set(COORD_TL tests/coord/coord_testlib.c)
fs_add_test(NAME coord_protocol SOURCES tests/coord/test_protocol.c LIBS fs_comms LABELS unit TIMEOUT 20)
fs_add_test(NAME coord_fuzz_corpus SOURCES tests/coord/fuzz_dir_replay.c tests/fuzz/fuzz_protocol.c LIBS fs_comms ARGS protocol 11 LABELS unit TIMEOUT 20)
# libFuzzer target: cmake -DFACESWARM_FUZZ=ON -DCMAKE_C_COMPILER=clang ...; then
#   ./fuzz_protocol -max_total_time=300 -max_len=65536 corpus-work ../tests/fuzz/corpus/protocol
if(FACESWARM_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FACESWARM_FUZZ=ON needs clang (libFuzzer).\n"
                        "  hint: cmake -DCMAKE_C_COMPILER=clang -DFACESWARM_FUZZ=ON ...")
  endif()
  add_executable(fuzz_protocol ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_protocol.c ${CMAKE_SOURCE_DIR}/comms/protocol.c
                 ${FS_CORE_SOURCES_ABS})
  target_compile_definitions(fuzz_protocol PRIVATE FS_GIT_COMMIT="fuzz")
  target_compile_options(fuzz_protocol PRIVATE -fsanitize=fuzzer,address,undefined -g)
  target_link_options(fuzz_protocol PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_protocol PRIVATE ${MATH_LIB} Threads::Threads)
endif()
# The daemon state alone, without sockets: encoded frames in, outbox replies out.
fs_add_test(NAME coord_state SOURCES tests/coord/test_state.c LIBS fs_comms LABELS unit TIMEOUT 30)
fs_add_test(NAME coord_daemon SOURCES tests/coord/test_daemon.c ${COORD_TL} LIBS fs_comms LABELS unit TIMEOUT 30)
fs_add_test(NAME coord_restart SOURCES tests/coord/test_restart.c ${COORD_TL} LIBS fs_comms LABELS unit TIMEOUT 30)
fs_add_test(NAME coord_timeout SOURCES tests/coord/test_timeout.c ${COORD_TL} LIBS fs_comms LABELS unit TIMEOUT 30)
fs_add_test(NAME coord_host_lost SOURCES tests/coord/test_host_lost.c ${COORD_TL} LIBS fs_comms LABELS unit TIMEOUT 30)
fs_add_test(NAME coord_curve SOURCES tests/coord/test_curve.c ${COORD_TL} LIBS fs_comms LABELS unit TIMEOUT 30)
fs_add_test(NAME coord_tfevents SOURCES tests/coord/test_tfevents.c ${COORD_TL} LIBS fs_comms PkgConfig::PNG LABELS unit TIMEOUT 30)
fs_add_test(NAME coord_bench_smoke SOURCES tests/coord/bench_smoke.c ${COORD_TL} LIBS fs_comms LABELS bench TIMEOUT 30)
fs_add_test(NAME coord_overflow SOURCES tests/coord/test_overflow.c ${COORD_TL} LIBS fs_comms LABELS unit TIMEOUT 30)
fs_add_test(NAME coord_schedule SOURCES tests/coord/test_schedule.c LIBS fs_comms LABELS unit TIMEOUT 30)
fs_add_test(NAME coord_wedge SOURCES tests/coord/test_wedge.c ${COORD_TL} LIBS fs_comms LABELS unit TIMEOUT 40)
fs_add_test(NAME coord_job SOURCES tests/coord/test_job.c ${COORD_TL} LIBS fs_comms LABELS unit TIMEOUT 40)
fs_add_test(NAME coord_logs SOURCES tests/coord/test_logs.c ${COORD_TL} LIBS fs_comms LABELS unit TIMEOUT 40)
fs_add_test(NAME coord_local_restart SOURCES tests/coord/test_local.c ${COORD_TL} LIBS fs_comms LABELS unit TIMEOUT 40)
fs_add_test(NAME coord_cli SOURCES tests/coord/test_cli.c ${COORD_TL} LIBS fs_comms LABELS unit TIMEOUT 30)
# The coordinator's own files (what a restart rebuilds from) and the CURVE key-file parser:
# corpus replays built with the default compiler; libFuzzer targets with -DFACESWARM_FUZZ=ON:
#   ./fuzz_coord_rebuild -max_total_time=300 corpus-work ../tests/fuzz/corpus/coord_rebuild
#   ./fuzz_keys -max_total_time=300 corpus-work ../tests/fuzz/corpus/keys
fs_add_test(NAME coord_rebuild_fuzz_corpus SOURCES tests/coord/fuzz_dir_replay.c tests/fuzz/fuzz_coord_rebuild.c LIBS fs_comms
            ARGS coord_rebuild 20 LABELS unit TIMEOUT 60)
fs_add_test(NAME coord_keys_fuzz_corpus SOURCES tests/coord/fuzz_dir_replay.c tests/fuzz/fuzz_keys.c LIBS fs_comms
            ARGS keys 10 LABELS unit TIMEOUT 60)
if(FACESWARM_FUZZ)
  set(FS_COORD_FUZZ_SRCS comms/coord_state.c comms/tfevents.c comms/protocol.c comms/keys.c
      ${FS_CORE_SOURCES})
  foreach(t coord_rebuild keys)
    set(srcs)
    foreach(s ${FS_COORD_FUZZ_SRCS})
      list(APPEND srcs ${CMAKE_SOURCE_DIR}/${s})
    endforeach()
    add_executable(fuzz_${t} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${t}.c ${srcs})
    target_compile_definitions(fuzz_${t} PRIVATE FS_GIT_COMMIT="fuzz")
    target_compile_options(fuzz_${t} PRIVATE -fsanitize=fuzzer,address,undefined -g)
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${t} PRIVATE PkgConfig::ZMQ ${MATH_LIB} Threads::Threads)
  endforeach()
endif()
