/* backend_emu.c — fs_backend_cuda_emulated(): the CUDA backend's launchers (kernels/cuda/
 * *.cu built with gcc) running under the CPU emulator. "Device" memory is host memory, so
 * the memory ops are memcpy/memset; everything else goes through the same launchers as the
 * GPU backend. Single-threaded use (launches are serialised anyway). */
#include <stdlib.h>
#include <string.h>

#include "kernels/host_mem.h"
#include "kernels/cuda/emu.h"
#include "kernels/cuda/fsk.h"

/* Device buffers, two ways (docs/cuda.md, "Racecheck and bounds checks"):
 *  - normally, each buffer sits between two guard zones of EMU_GUARD bytes filled with
 *    EMU_FILL; every launch ends by checking the zones of every live buffer (and emu_free
 *    checks its buffer's), so a kernel that writes past either end of a device buffer stops
 *    the program naming the kernel, the launch site and the buffer's size;
 *  - under AddressSanitizer (the racecheck label) each buffer is a heap block of exactly its
 *    size, so ASan's redzones catch reads too; a scratch buffer kept from a larger request has
 *    its tail poisoned. */
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

#define EMU_GUARD 64 /* bytes on each side; keeps the buffer 64-byte aligned */
#define EMU_FILL 0xA5
typedef struct emu_block { /* lies just before the front guard zone */
    struct emu_block *prev, *next;
    size_t bytes;
    char pad[64 - 2 * sizeof(void *) - sizeof(size_t)];
} emu_block;
static emu_block *live; /* every guarded buffer not yet freed */

static unsigned char *front_zone(emu_block *b) { return (unsigned char *)(b + 1); }
static unsigned char *back_zone(emu_block *b) { return front_zone(b) + EMU_GUARD + b->bytes; }

static int zone_intact(const unsigned char *z) {
    for (int i = 0; i < EMU_GUARD; i++)
        if (z[i] != EMU_FILL) return 0;
    return 1;
}

static void check_block(emu_block *b, const char *when, const fsemu_launch *l) {
    int front = zone_intact(front_zone(b)), back = zone_intact(back_zone(b));
    if (front && back) return;
    if (l)
        fs_die(FS_EXIT_FAIL,
               "%s:%d: kernel %s wrote outside a device buffer of %zu bytes (%s guard zone "
               "changed)\n  hint: an index past the buffer's end (or before its start); the racecheck label's "
               "AddressSanitizer build names the line (docs/cuda.md)",
               l->file, l->line, l->kernel, b->bytes, back ? "front" : "back");
    fs_die(FS_EXIT_FAIL,
           "emulator: a device buffer of %zu bytes was written outside its bounds (%s guard "
           "zone changed, found %s)\n  hint: a host copy past its end?",
           b->bytes, back ? "front" : "back", when);
}

static void check_all(const fsemu_launch *l) {
    for (emu_block *b = live; b; b = b->next) check_block(b, "after a launch", l);
}

static void *guarded_alloc(size_t bytes) {
#ifdef FSEMU_ASAN
    return fs_aligned_alloc(bytes);
#else
    emu_block *b = fs_aligned_alloc(sizeof(emu_block) + 2 * EMU_GUARD + bytes);
    b->bytes = bytes, b->prev = NULL, b->next = live;
    if (live) live->prev = b;
    live = b;
    memset(front_zone(b), EMU_FILL, EMU_GUARD);
    memset(back_zone(b), EMU_FILL, EMU_GUARD);
    fsemu_after_launch = check_all;
    return front_zone(b) + EMU_GUARD;
#endif
}

static void guarded_free(void *p) {
#ifdef FSEMU_ASAN
    free(p);
#else
    if (!p) return;
    emu_block *b = (emu_block *)((unsigned char *)p - EMU_GUARD) - 1;
    check_block(b, "when it was freed", NULL);
    if (b->prev) b->prev->next = b->next;
    else live = b->next;
    if (b->next) b->next->prev = b->prev;
    free(b);
#endif
}

static void *scratch_buf[FSK_SCRATCH_SLOTS];
static size_t scratch_len[FSK_SCRATCH_SLOTS];

void *FSK(scratch)(int slot, size_t bytes) {
    if (bytes > scratch_len[slot] || !scratch_buf[slot]) {
        guarded_free(scratch_buf[slot]);
        scratch_buf[slot] = guarded_alloc(bytes);
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
    void *p = guarded_alloc(bytes ? bytes : 1);
    memset(p, 0, bytes);
    return p;
}
static void emu_free(void *p) { guarded_free(p); }
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
static size_t emu_mem_available(void) { return fs_host_mem_available(); } /* the "device" is host memory */
/* fp32: the SIMT GEMM (gemm.cu); bf16: the tensor-core GEMM (gemm_tc.cu) for every conv and
 * dense op queued after this call. */
int FSK(precision) = FS_PREC_FP32;
int FSK(act_bf16) = 0; /* FS_PREC_BF16_ACT: bf16's GEMMs, activations stored in bf16 */
static int emu_set_precision(int precision) {
    if (precision != FS_PREC_FP32 && precision != FS_PREC_BF16 && precision != FS_PREC_BF16_ACT) return -1;
    FSK(precision) = precision == FS_PREC_FP32 ? FS_PREC_FP32 : FS_PREC_BF16;
    FSK(act_bf16) = precision == FS_PREC_BF16_ACT;
    return 0;
}
/* The "device" reads the host bytes directly. */
void FSK(u8_to_float)(size_t n, const uint8_t *src_host, float *dst) { FSK(u8_to_float_dev)(n, src_host, dst); }

static const fs_backend emu_backend = {
    .name = "cuda-emulated",
    .device = FS_DEV_CPU,             /* its memory is host memory */
    FS_BACKEND_TABLE(emu, FSK_PREFIX) /* emu_<memory op> above, fs_emu_<kernel> */
};

const fs_backend *fs_backend_cuda_emulated(void) { return &emu_backend; }
