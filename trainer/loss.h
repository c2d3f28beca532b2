/* loss.h — the training loss of one identity's decoder output, and its gradients.
 *
 * For prediction p and target t ([n,res,res,3], values in [0, 1]), the target's mask M (the
 * dataset's /masks, [n,res,res] in [0, 1], may be absent), the decoder's learned mask q
 * ([n,res,res,1], may be absent) and the eye and mouth regions E, U ([n,res,res] in [0, 1]
 * from the landmarks, data/regions.h, may be absent):
 *
 *   face(a, b)  = w_mse MSE(a, b) + w_dssim DSSIM(a, b) + w_l1 L1(a, b)
 *   W           = M (1 - o) + o                     o = train.mask_outside
 *   loss        = face(p W, t W)                                 (W = 1 without M)
 *               + (eye_multiplier - 1)   face(p E, t E)          (with E)
 *               + (mouth_multiplier - 1) face(p U, t U)          (with U)
 *               + w_mask MSE(q, M)                               (with q and M)
 *
 * The face loss on (p W, t W) is faceswap's penalized mask loss (its mask_prop = 1 - o):
 * o = 0 ignores everything outside the mask, as faceswarm always did; o = 1 ignores the mask.
 * Eye and mouth priority are faceswap's eye_multiplier / mouth_multiplier: the face loss
 * counted again inside the region, so that it weighs `multiplier` times there (1 = off).
 * The mask loss is SAEHD's: MSE of the learned mask against the target's mask.
 * DSSIM below 256 px is faceswap's 11 px window; from 256 px, SAEHD's two windows of
 * int(res / 11.6) and int(res / 23.2) px (at most FS_DSSIM_MAX_WIN), each at half the weight.
 * At the defaults (o = 0, multipliers 1) the arithmetic is exactly that of faceswarm before
 * this module (the same ops in the same order), so training results are unchanged. */
#ifndef FACESWARM_LOSS_H
#define FACESWARM_LOSS_H

#include "kernels/ops.h"
#include "trainer/config.h"

/* The terms, each reported with its weight applied (their sum is the loss). */
typedef enum fs_loss_term {
    FS_TERM_MSE = 0,
    FS_TERM_DSSIM,
    FS_TERM_L1, /* of the face (with W) */
    FS_TERM_EYE,
    FS_TERM_MOUTH, /* the priority terms, face() inside E and U */
    FS_TERM_MASK,  /* the learned mask vs the target's mask */
    FS_TERM_COUNT
} fs_loss_term;
/* "mse", "dssim", "l1", "eye", "mouth", "mask" (metrics keys loss_<name>). */
extern const char *const fs_loss_term_names[FS_TERM_COUNT];

/* The weights (from the config's train section: fs_loss_weights_from_config). */
typedef struct fs_loss_weights {
    float mse, dssim, l1; /* train.loss_mse, loss_dssim, loss_l1 */
    float mask;           /* train.loss_mask */
    float outside;        /* train.mask_outside, 0..1 */
    float eye, mouth;     /* train.eye_multiplier, mouth_multiplier, >= 1 (1 = off) */
} fs_loss_weights;
void fs_loss_weights_from_config(const fs_config *c, fs_loss_weights *w);
/* 1 when the weights ask for eye or mouth regions (a multiplier other than 1). */
int fs_loss_wants_regions(const fs_loss_weights *w);

/* The DSSIM windows at a resolution: count (1 or 2), each window's side and its share of the
 * DSSIM weight. */
int fs_loss_dssim_windows(int res, int win[2], float share[2]);

/* One identity's inputs for fs_loss_compute (device pointers; NULL = absent). */
typedef struct fs_loss_in {
    const float *pred, *target; /* [n,res,res,3] */
    const float *mask;          /* [n,res,res] target mask */
    const float *pred_mask;     /* [n,res,res,1] the decoder's learned mask */
    const float *eye, *mouth;   /* [n,res,res] regions */
} fs_loss_in;

/* Device scratch of the loss for up to `batch` samples of res px. */
typedef struct fs_loss {
    const fs_backend *be;
    int res, batch;
    float *weight;       /* [batch,res,res] W when 0 < outside */
    float *wpred, *wtgt; /* [batch,res,res,3] p W and t W (then p E, t E, ...) */
    float *dregion;      /* [batch,res,res,3] gradient of a priority term before its region multiply */
    float *consts;       /* [2] device: 1 - o, o (W's affine map) */
} fs_loss;

void fs_loss_init(fs_loss *L, const fs_backend *be, int res, int batch);
/* The bytes fs_loss_init allocates on the device. */
size_t fs_loss_bytes(int res, int batch);
void fs_loss_free(fs_loss *L);
/* The loss of n samples (n <= batch): returns it (a host double) and, when term is not
 * NULL, each term. dpred [n,res,res,3] gets d loss / d pred (=, overwritten); dmask
 * [n,res,res,1] (may be NULL) gets d loss / d pred_mask (=; zero without the mask loss). */
double fs_loss_compute(fs_loss *L, const fs_loss_weights *w, int n, const fs_loss_in *in, float *dpred, float *dmask,
                       double term[FS_TERM_COUNT]);

#endif
