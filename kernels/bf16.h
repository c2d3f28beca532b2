/* bf16.h — bfloat16 (the top 16 bits of an IEEE float32: 1 sign, 8 exponent, 7 mantissa
 * bits) and the one rounding rule every backend uses: round to nearest, ties to even; a NaN
 * stays a (quiet) NaN, infinities and signed zeros are kept, and a finite value whose
 * rounding overflows becomes an infinity of its sign (as the hardware's cvt.rn.bf16.f32).
 *
 * Inline and free of CUDA types so that the CPU backends, the CUDA kernels (nvcc) and the
 * emulator compile the same code. */
#ifndef FACESWARM_BF16_H
#define FACESWARM_BF16_H

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define FS_BF16_FN static inline __host__ __device__
#else
#define FS_BF16_FN static inline
#endif

typedef uint16_t fs_bf16;

FS_BF16_FN uint32_t fs_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
FS_BF16_FN float fs_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
/* float32 -> bf16, round to nearest even. */
FS_BF16_FN fs_bf16 fs_bf16_from_f32(float f) {
    uint32_t u = fs_f32_bits(f);
    if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu)) return (fs_bf16)((u >> 16) | 0x0040u); /* NaN */
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (fs_bf16)(u >> 16);
}
FS_BF16_FN float fs_bf16_to_f32(fs_bf16 h) { return fs_bits_f32((uint32_t)h << 16); }
/* f rounded to the nearest bf16 value, as a float. */
FS_BF16_FN float fs_bf16_round(float f) { return fs_bf16_to_f32(fs_bf16_from_f32(f)); }

#endif
