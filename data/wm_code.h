/* wm_code.h — the channel code of watermark scheme version 3 (docs/provenance.md): the 64
 * payload bits through the tail-biting convolutional code of rate 1/3 and constraint length
 * 11 (1024 states, free distance 20; no tail bits: the encoder starts in the state it ends
 * in), decoded by soft-decision Viterbi over the circular trellis (wrap-around: the block is
 * decoded with 55 steps repeated before and after it, and the middle kept). */
#ifndef FACESWARM_DATA_WM_CODE_H
#define FACESWARM_DATA_WM_CODE_H

#include <stdint.h>

#define FS_WM3_RATE 3 /* code bits per payload bit */
#define FS_WM3_K 11   /* constraint length: 2^(K-1) states */
#define FS_WM3_CODED_BITS (64 * FS_WM3_RATE)

/* 64 payload bits (most significant first) -> FS_WM3_CODED_BITS code bits (0/1): step i's
 * FS_WM3_RATE bits at FS_WM3_RATE x i. */
void fs_wm3_encode(uint64_t payload, uint8_t coded[FS_WM3_CODED_BITS]);
/* Soft values (+1 = surely 0 .. -1 = surely 1) -> the most likely payload. */
uint64_t fs_wm3_decode(const float soft[FS_WM3_CODED_BITS]);

#endif
