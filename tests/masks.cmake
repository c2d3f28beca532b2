# masks_*: the masked loss end to end. masks_data: /masks written and read (schema v1), the
# mask put through the target's transform, the loader's batch masks and train.mask_loss
# modes, synth's face-region masks. masks_step: the trainer's step core with masks (the
# loss and gradient do not see the background). masks_cli: synth writes masks, verify reads
# them, and `train` with mask_loss on refuses a file without masks, naming it.
fs_add_test(NAME masks_data SOURCES tests/data/test_masks.c LIBS fs_data LABELS unit TIMEOUT 60)
fs_add_test(NAME masks_step SOURCES tests/masks/test_masked_step.c tests/cuda/ct.c LIBS fs_trainer
            LABELS "unit;cuda" TIMEOUT 60)
if(FACESWARM_HAVE_CUDA)
  target_compile_definitions(masks_step PRIVATE FACESWARM_TEST_HAVE_CUDA)
endif()
fs_add_test(NAME masks_cli COMMAND bash ${CMAKE_SOURCE_DIR}/tests/masks/cli.sh LABELS "unit;train" TIMEOUT 120)
fs_add_test(NAME masks_train COMMAND bash ${CMAKE_SOURCE_DIR}/tests/masks/train.sh LABELS train TIMEOUT 120)
# masks_loss: trainer/loss.h on random tensors: every term's gradient against finite
# differences, eye/mouth priority and the outside weight on the gradient, the mask loss, the
# defaults bit-identical to the composition before the module, backends against the reference.
fs_add_test(NAME masks_loss SOURCES tests/masks/test_loss.c tests/cuda/ct.c LIBS fs_trainer
            LABELS "unit;cuda" TIMEOUT 60)
fs_add_test(NAME masks_priority COMMAND bash ${CMAKE_SOURCE_DIR}/tests/masks/priority.sh LABELS train TIMEOUT 120)
fs_add_test(NAME masks_head COMMAND bash ${CMAKE_SOURCE_DIR}/tests/masks/mask_head.sh LABELS train TIMEOUT 180)
fs_add_test(NAME masks_swap SOURCES tests/masks/test_swap_mask.c LIBS fs_trainer LABELS unit TIMEOUT 30)
