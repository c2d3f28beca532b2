# kbench_*: fs_kbench (kernels/kbench.c), the kernel benchmark without the trainer: its shape
# list, a tiny timed run on the emulated CUDA backend (JSON lines checked by the bench schema
# checker), and a bad option (exit 2).
fs_add_test(NAME kbench_list COMMAND $<TARGET_FILE:fs_kbench> --list LABELS unit bench TIMEOUT 20)
set_tests_properties(kbench_list PROPERTIES PASS_REGULAR_EXPRESSION "liae-ud-256 +dec.out_convm +bwd_filter")
if(FACESWARM_HAVE_OPENMP)
  fs_add_test(NAME kbench_emulated COMMAND sh ${CMAKE_SOURCE_DIR}/tests/bench/kbench_json.sh $<TARGET_FILE:fs_kbench>
              --backend cuda-emulated --tiny --model original-64 --reps 1 LABELS bench cuda TIMEOUT 120)
endif()
fs_add_test(NAME kbench_bad_option COMMAND $<TARGET_FILE:fs_kbench> --precision fp8 LABELS unit bench TIMEOUT 20)
set_tests_properties(kbench_bad_option PROPERTIES WILL_FAIL TRUE)
# scripts/gpu-check's report writer on made-up kbench and PyTorch rows (PyTorch is not on CI).
fs_add_test(NAME gpucheck_report COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/bench/test_gpu_check_report.py
            LABELS unit gpucheck TIMEOUT 30)
