# racecheck_*: the CUDA kernels under the emulator built by clang with ThreadSanitizer (+ LLVM's
# Archer, which tells TSan about OpenMP barriers) and with AddressSanitizer, in two kernels-only
# trees under build/racecheck (tests/racecheck/run.sh, docs/cuda.md). A planted race and two
# planted out-of-bounds accesses (tests/cuda/test_planted.c) must be reported; the backend's
# kernels must be clean.
if(NOT FACESWARM_KERNELS_ONLY)
  find_program(FS_RACECHECK_CLANG NAMES clang clang-14)
  if(FS_RACECHECK_CLANG)
    set(FS_RC_DIR ${CMAKE_BINARY_DIR}/racecheck)
    set(FS_RC sh ${CMAKE_SOURCE_DIR}/tests/racecheck/run.sh)
    fs_add_test(NAME racecheck_build COMMAND ${FS_RC} build ${FS_RC_DIR} ${CMAKE_SOURCE_DIR} ${FS_RACECHECK_CLANG}
                LABELS racecheck TIMEOUT 900)
    set_tests_properties(racecheck_build PROPERTIES FIXTURES_SETUP racecheck RUN_SERIAL ON)
    foreach(step race kernels oob bounds)
      fs_add_test(NAME racecheck_${step} COMMAND ${FS_RC} ${step} ${FS_RC_DIR} LABELS racecheck TIMEOUT 300)
      set_tests_properties(racecheck_${step} PROPERTIES FIXTURES_REQUIRED racecheck)
    endforeach()
  else()
    message(STATUS "racecheck: no clang found, the racecheck tests are not registered (hint: apt-get install clang)")
  endif()
endif()
