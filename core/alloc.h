/* alloc.h — checked allocation: out of memory is fatal, with the file and line that asked */
#ifndef FACESWARM_CORE_ALLOC_H
#define FACESWARM_CORE_ALLOC_H

#include <stddef.h>

void *fs_malloc_at(size_t n, const char *file, int line);
void *fs_calloc_at(size_t n, size_t size, const char *file, int line);
void *fs_realloc_at(void *p, size_t n, const char *file, int line);
/* 64-byte aligned, for float buffers handed to BLAS and SIMD loops; free with free(). */
void *fs_aligned_alloc_at(size_t n, const char *file, int line);
#define fs_malloc(n) fs_malloc_at((n), __FILE__, __LINE__)
#define fs_calloc(n, s) fs_calloc_at((n), (s), __FILE__, __LINE__)
#define fs_realloc(p, n) fs_realloc_at((p), (n), __FILE__, __LINE__)
#define fs_aligned_alloc(n) fs_aligned_alloc_at((n), __FILE__, __LINE__)
char *fs_strdup(const char *s);

#endif
