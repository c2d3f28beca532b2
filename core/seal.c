/* seal.c — see seal.h. */
#include "core/seal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/checksum.h"

static const char MAGIC[] = "faceswarm seal 1\n";
static const uint8_t HDF5_SIGNATURE[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* CRC-32C of [from, to) of f, read in 1 MiB blocks; -1 on a read error or a short file. */
static int crc_range(FILE *f, uint64_t from, uint64_t to, uint32_t *crc) {
    enum { BLOCK = 1 << 20 };
    uint8_t *buf = malloc(BLOCK);
    if (!buf || fseeko(f, (off_t)from, SEEK_SET)) {
        free(buf);
        return -1;
    }
    uint32_t c = 0;
    int rc = 0;
    for (uint64_t left = to - from; left > 0;) {
        size_t want = left < BLOCK ? (size_t)left : BLOCK;
        if (fread(buf, 1, want, f) != want) {
            rc = -1;
            break;
        }
        c = fs_crc32c(c, buf, want);
        left -= want;
    }
    free(buf);
    *crc = c;
    return rc;
}

/* The seal's text for [FS_SEAL_BYTES, end) with CRC crc, NUL-padded into out. */
static void seal_text(uint64_t end, uint32_t crc, uint8_t out[FS_SEAL_BYTES]) {
    char text[FS_SEAL_BYTES];
    int n = snprintf(text, sizeof text, "%scovers %d-%llu crc32c %08x\n", MAGIC, FS_SEAL_BYTES, (unsigned long long)end,
                     crc);
    n += snprintf(text + n, sizeof text - (size_t)n, "seal_crc32c %08x\n", fs_crc32c(0, text, (size_t)n));
    memset(out, 0, FS_SEAL_BYTES);
    memcpy(out, text, (size_t)n);
}

int fs_seal_file(const char *path, fs_seal *s, fs_error *e) {
    FILE *f = fopen(path, "r+b");
    if (!f) return fs_errorf(e, FS_EXIT_FAIL, "%s: cannot open it to seal it: %s", path, strerror(errno));
    uint8_t head[FS_SEAL_BYTES + 8], zero[FS_SEAL_BYTES] = {0};
    struct stat st;
    int rc = 0;
    if (fstat(fileno(f), &st) || fread(head, 1, sizeof head, f) != sizeof head) {
        rc = fs_errorf(e, FS_EXIT_FAIL, "%s: cannot read it to seal it: %s", path,
                       ferror(f) ? strerror(errno) : "shorter than a user block and a superblock");
    } else if (memcmp(head, zero, FS_SEAL_BYTES) || memcmp(head + FS_SEAL_BYTES, HDF5_SIGNATURE, 8)) {
        rc = fs_errorf(e, FS_EXIT_FAIL,
                       "%s: cannot seal it: expected %d zero bytes (an HDF5 user block) and then the HDF5 "
                       "signature\n  hint: a bug in faceswarm's writer; please report it",
                       path, FS_SEAL_BYTES);
    } else {
        s->end = (uint64_t)st.st_size;
        if (crc_range(f, FS_SEAL_BYTES, s->end, &s->crc))
            rc = fs_errorf(e, FS_EXIT_FAIL, "%s: cannot read it to seal it: %s", path, strerror(errno));
    }
    if (!rc) {
        uint8_t text[FS_SEAL_BYTES];
        seal_text(s->end, s->crc, text);
        if (fseeko(f, 0, SEEK_SET) || fwrite(text, 1, sizeof text, f) != sizeof text || fflush(f))
            rc = fs_errorf(e, FS_EXIT_FAIL, "%s: cannot write its seal: %s", path, strerror(errno));
    }
    if (fclose(f) && !rc) rc = fs_errorf(e, FS_EXIT_FAIL, "%s: cannot write its seal: %s", path, strerror(errno));
    s->sealed = !rc;
    return rc;
}

/* Reads "<digits><stop>" at *p (at most 20 digits, no sign, no leading zero but "0"). */
static int read_u64(const char **p, const char *end, char stop, uint64_t *v) {
    const char *q = *p;
    uint64_t x = 0;
    int n = 0;
    for (; q < end && *q >= '0' && *q <= '9' && n < 20; q++, n++) {
        if (x > (UINT64_MAX - (uint64_t)(*q - '0')) / 10) return -1;
        x = 10 * x + (uint64_t)(*q - '0');
    }
    if (!n || q >= end || *q != stop || (n > 1 && **p == '0')) return -1;
    *p = q + 1, *v = x;
    return 0;
}
/* Reads 8 lower-case hex digits and then stop. */
static int read_hex8(const char **p, const char *end, char stop, uint32_t *v) {
    const char *q = *p;
    uint32_t x = 0;
    for (int i = 0; i < 8; i++, q++) {
        if (q >= end) return -1;
        int d = *q >= '0' && *q <= '9' ? *q - '0' : *q >= 'a' && *q <= 'f' ? *q - 'a' + 10 : -1;
        if (d < 0) return -1;
        x = x << 4 | (uint32_t)d;
    }
    if (q >= end || *q != stop) return -1;
    *p = q + 1, *v = x;
    return 0;
}
static int read_word(const char **p, const char *end, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(end - *p) < n || memcmp(*p, word, n)) return -1;
    *p += n;
    return 0;
}

/* Parses the seal text in head: 0 and end/crc, or -1 (anything else: damaged). */
static int seal_parse(const uint8_t head[FS_SEAL_BYTES], uint64_t *end, uint32_t *crc) {
    const char *p = (const char *)head, *stop = p + FS_SEAL_BYTES;
    uint64_t from = 0;
    uint32_t self = 0;
    if (read_word(&p, stop, MAGIC) || read_word(&p, stop, "covers ") || read_u64(&p, stop, '-', &from) ||
        from != FS_SEAL_BYTES || read_u64(&p, stop, ' ', end) || read_word(&p, stop, "crc32c ") ||
        read_hex8(&p, stop, '\n', crc))
        return -1;
    size_t covered = (size_t)(p - (const char *)head);
    if (read_word(&p, stop, "seal_crc32c ") || read_hex8(&p, stop, '\n', &self) || self != fs_crc32c(0, head, covered))
        return -1;
    for (; p < stop; p++)
        if (*p) return -1;
    return 0;
}

int fs_seal_check(const char *path, const char *hint, fs_seal *s, fs_error *e) {
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "rb");
    if (!f) return 0; /* the parser says why it cannot open it */
    uint8_t head[FS_SEAL_BYTES + 8];
    struct stat st;
    size_t got = fread(head, 1, sizeof head, f);
    int rc = 0;
    if (fstat(fileno(f), &st)) {
        fclose(f);
        return 0;
    }
    /* (a file cut inside the magic is a seal cut short too) */
    const int has_magic = got > 0 && !memcmp(head, MAGIC, got < sizeof MAGIC - 1 ? got : sizeof MAGIC - 1);
    const int hdf5_after = got == sizeof head && !memcmp(head + FS_SEAL_BYTES, HDF5_SIGNATURE, 8);
    if (!has_magic && !hdf5_after) { /* no user block of ours: HDF5 at 0 (unsealed), or not HDF5 */
        fclose(f);
        return 0;
    }
    uint64_t end = 0;
    uint32_t crc = 0, now = 0;
    if (got != sizeof head) {
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: is %zu bytes, shorter than its seal and an HDF5 superblock: truncated after it was "
                       "written\n  hint: %s",
                       path, got, hint);
    } else if (seal_parse(head, &end, &crc)) {
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: its seal (the first %d bytes: the size and CRC-32C of the rest) is damaged, so "
                       "nothing in it can be trusted\n  hint: %s",
                       path, FS_SEAL_BYTES, hint);
    } else if ((uint64_t)st.st_size != end) {
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: is %lld bytes, but it was sealed at %llu bytes: %s after it was written\n  hint: %s", path,
                       (long long)st.st_size, (unsigned long long)end,
                       (uint64_t)st.st_size < end ? "truncated (a copy cut short, a full disk?)" : "extended", hint);
    } else if (crc_range(f, FS_SEAL_BYTES, end, &now)) {
        rc = fs_errorf(e, FS_EXIT_BADINPUT, "%s: cannot read it through: %s\n  hint: %s", path,
                       ferror(f) ? strerror(errno) : "shorter than its size", hint);
    } else if (now != crc) {
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: its bytes %d-%llu changed after it was written (CRC-32C %08x, sealed with %08x): "
                       "the file is damaged\n  hint: %s",
                       path, FS_SEAL_BYTES, (unsigned long long)end, now, crc, hint);
    } else {
        s->sealed = 1, s->end = end, s->crc = crc;
    }
    fclose(f);
    return rc;
}
