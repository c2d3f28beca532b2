/* checksum.h — CRC-32C and the 64-bit checksum of configs, datasets and parameters */
#ifndef FACESWARM_CORE_CHECKSUM_H
#define FACESWARM_CORE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint32_t fs_crc32c(uint32_t crc, const void *data, size_t len); /* Castagnoli, crc=0 to start */
/* 64-bit FNV-1a-style checksum over bytes, used for config hashes and dataset checksums. */
uint64_t fs_checksum64(const void *data, size_t len);
/* Checksum of a float buffer, printed as 16 hex digits by fs_checksum_hex. */
void fs_checksum_hex(uint64_t sum, char out[17]);

#endif
