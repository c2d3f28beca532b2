/* train.h — one training run: the loop that puts config, data loader, model, all-reduce,
 * optimizer, metrics, previews, checkpoints and the coordinator together. */
#ifndef FACESWARM_TRAIN_H
#define FACESWARM_TRAIN_H

#include "kernels/ops.h"
#include "trainer/config.h"
#include "trainer/loss.h"
#include "trainer/model.h"

/* The per-step core shared by `faceswarm train` and `faceswarm bench train`: loss of every
 * identity on the uploaded batch (model->input / target) and the backward pass. */
typedef struct fs_step_buffers {
    float *target;      /* [n_identities * batch, res, res, 3] on the device */
    float *mask;        /* [n_identities * batch, res, res] on the device, in [0, 1]: the targets' masks
                       * (u8_to_float of fs_batch.mask); read only when have_mask */
    int have_mask;      /* 1 = the face loss is weighted by the mask (trainer/loss.h) */
    float *eye, *mouth; /* [n_identities * batch, res, res] on the device, in [0, 1]: the targets' eye and
                         * mouth regions (fs_batch.eye, .mouth); read only when have_regions */
    int have_regions;
    float **dout;     /* dout[i]: [batch, res, res, 3] loss gradient of decoder i */
    float **dmask;    /* dmask[i]: [batch, res, res, 1] loss gradient of decoder i's learned mask (0 when
                       * the model has none: fs_model_mask gives NULL) */
    int mask_output;  /* 1 when the model gives learned masks (fs_model_mask) */
    int mask_loss_on; /* 1 when the last step's mask loss applied (a learned mask, target masks, loss_mask > 0) */
    double *loss;     /* [n_identities] host, this rank's loss of each identity */
    double (*terms)[FS_TERM_COUNT]; /* [n_identities] host, this rank's loss terms of each identity */
    fs_loss lossfn;                 /* the loss's device scratch */
} fs_step_buffers;

void fs_step_buffers_alloc(fs_step_buffers *b, const fs_model *m);
/* The device bytes fs_step_buffers_alloc allocates for m's batch (m planned: fs_model_plan):
 * targets, masks, regions and output gradients; *loss_bytes gets the loss's scratch. */
size_t fs_step_buffers_bytes(const fs_model *m, size_t *loss_bytes);
void fs_step_buffers_free(fs_step_buffers *b, const fs_model *m);
/* Forward, losses (trainer/loss.h, weights from cfg->train) and their gradients for n
 * samples per identity: the face loss weighted by the mask when have_mask, eye and mouth
 * priority when have_regions. Returns the total loss (sum over identities). */
double fs_step_forward_loss(fs_model *m, const fs_config *cfg, fs_step_buffers *b, int n);
/* The mask gradients for fs_model_backward: b->dmask when the last fs_step_forward_loss
 * applied the mask loss, else NULL (the mask branch then does no backward work). */
float **fs_step_dmask(const fs_step_buffers *b);

/* Entry of `faceswarm train` (trainer/train.c). */
typedef struct fs_train_args {
    const char *config_path;
    const char **sets; /* "section.key=value" */
    int n_sets;
    long steps;         /* --steps: overrides train.steps when > 0 */
    const char *resume; /* NULL/"none", "auto" or a checkpoint path */
    int print_config;
} fs_train_args;
int fs_train_main(const fs_train_args *a, int *argc, char ***argv);
/* Whether rank 0's progress line is redrawn in place ("\r"): only on a terminal and only
 * when no launcher started the process (launched: seen before MPI_Init). */
int fs_progress_in_place(int rank, int stdout_is_tty, int launched);

#endif
