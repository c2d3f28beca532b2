/* backend_emu.c — fs_backend_cuda_emulated(): the CUDA backend's launchers (kernels/cuda/
 * *.cu built with gcc) running under the CPU emulator. "Device" memory is host memory, so
 * the memory ops are memcpy/memset; everything else goes through the same launchers as the
 * GPU backend. Single-threaded use (launches are serialised anyway). */
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/fsk.h"

/* Under AddressSanitizer (the racecheck label's bounds check, docs/cuda.md) every "device"
 * buffer is a heap block of exactly its size, so ASan's redzones catch a kernel's access past
 * either end; a scratch buffer kept from a larger request has its tail poisoned. */
#if defined(__SANITIZE_ADDRESS__)
#define FSEMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FSEMU_ASAN 1
#endif
#endif
#ifdef FSEMU_ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

static void *scratch_buf[FSK_SCRATCH_SLOTS];
static size_t scratch_len[FSK_SCRATCH_SLOTS];

void *FSK(scratch)(int slot, size_t bytes) {
    if (bytes > scratch_len[slot]) {
        free(scratch_buf[slot]);
        scratch_buf[slot] = fs_aligned_alloc(bytes);
        scratch_len[slot] = bytes;
    }
    ASAN_UNPOISON_MEMORY_REGION(scratch_buf[slot], scratch_len[slot]);
    ASAN_POISON_MEMORY_REGION((char *)scratch_buf[slot] + bytes, scratch_len[slot] - bytes);
    return scratch_buf[slot];
}

void FSK(to_host)(void *dst_host, const void *src_dev, size_t bytes) { memcpy(dst_host, src_dev, bytes); }

/* Every block costs a barrier of the whole team: few blocks, long grid-stride loops. */
int FSK(max_grid)(void) { return 8; }

static void *emu_alloc(size_t bytes) {
    void *p = fs_aligned_alloc(bytes ? bytes : 1);
    memset(p, 0, bytes);
    return p;
}
static void emu_free(void *p) { free(p); }
static void emu_memcpy(void *dst, const void *src, size_t bytes) {
    if (bytes) memmove(dst, src, bytes);
}
static void emu_upload(void *dst, const void *src, size_t bytes) { emu_memcpy(dst, src, bytes); }
static void emu_download(void *dst, const void *src, size_t bytes) { emu_memcpy(dst, src, bytes); }
static void emu_copy(void *dst, const void *src, size_t bytes) { emu_memcpy(dst, src, bytes); }
static void emu_zero(void *p, size_t bytes) {
    if (bytes) memset(p, 0, bytes);
}
static void emu_sync(void) {}
/* The "device" reads the host bytes directly. */
void FSK(u8_to_float)(size_t n, const uint8_t *src_host, float *dst) { FSK(u8_to_float_dev)(n, src_host, dst); }

static const fs_backend emu_backend = {
    .name = "cuda-emulated",
    .device = FS_DEV_CPU, /* its memory is host memory */
    FS_BACKEND_TABLE(emu, FSK_PREFIX) /* emu_<memory op> above, fs_emu_<kernel> */
};

const fs_backend *fs_backend_cuda_emulated(void) { return &emu_backend; }
