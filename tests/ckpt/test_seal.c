/* test_seal.c — a checkpoint's seal (core/seal.h) refuses every change to the file before HDF5
 * parses it: each of its bytes flipped in turn, truncation to any length, one byte appended;
 * the seal text is what seal.h documents and its CRC is the CRC-32C of the covered bytes by an
 * independent bitwise implementation (fs_crc32c too, streamed); a file from before seals reads
 * unsealed; the writer refuses a file whose user block is not empty. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "core/seal.h"
#include "trainer/checkpoint.h"

#define N 200
static const char *g_dir = "ckpt_test_tmp/seal";

/* CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), one bit at a time. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    }
    return ~c;
}

static void put(const char *path, const uint8_t *data, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n && fclose(f) == 0, "cannot write %s", path);
}

/* path must be refused (code 2) with a message naming it and holding want. */
static int refused(const char *path, const char *want, const char *why) {
    fs_ckpt_meta m;
    fs_error e = {0};
    int rc = fs_ckpt_read(path, 0, &m, NULL, NULL, NULL, NULL, &e);
    if (!rc) fs_ckpt_meta_free(&m);
    int ok = rc == FS_EXIT_BADINPUT && e.code == FS_EXIT_BADINPUT && strstr(e.msg, path) && strstr(e.msg, want) &&
             strstr(e.msg, "hint: ");
    CHECK(ok, "%s: rc %d, message '%s', expected code 2 naming the file and '%s'", why, rc, e.msg, want);
    return ok;
}

/* fs_crc32c (SSE4.2's instruction where the build has it, else tables) against the standard
 * check value and the bitwise CRC, over every length up to 100 and split anywhere (the seal
 * streams the file in blocks). */
static void crc_matches(void) {
    CHECK(fs_crc32c(0, "123456789", 9) == 0xe3069283u, "CRC-32C check value: %08x", fs_crc32c(0, "123456789", 9));
    uint8_t buf[101];
    for (int i = 0; i < 101; i++) buf[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= 100; n++) {
        uint32_t want = crc32c_bitwise(buf, n);
        CHECK(fs_crc32c(0, buf, n) == want, "length %zu", n);
        for (size_t cut = 0; cut <= n; cut += 7)
            CHECK(fs_crc32c(fs_crc32c(0, buf, cut), buf + cut, n - cut) == want, "length %zu split at %zu", n, cut);
    }
}

int main(void) {
    fs_error e = {0};
    crc_matches();
    if (fs_mkdir_p(g_dir, &e)) return fprintf(stderr, "FAIL: %s\n", e.msg), 1;
    static float p[N], m1[N], v1[N];
    for (int i = 0; i < N; i++) p[i] = 0.01f * (float)i, m1[i] = -p[i], v1[i] = p[i] * p[i];
    fs_ckpt_meta meta = {.step = 7,
                         .world_size = 1,
                         .global_batch = 2,
                         .n_params = N,
                         .config_text = "model: {}\n",
                         .model_text = "layers\n"};
    char good[256], bad[256];
    snprintf(good, sizeof good, "%s/good.h5", g_dir);
    snprintf(bad, sizeof bad, "%s/bad.h5", g_dir);
    fs_ckpt_sums ws, rs;
    CHECK(fs_ckpt_write(good, &meta, p, m1, v1, &ws, &e) == 0, "write: %s", e.msg);
    size_t len = 0;
    uint8_t *file = (uint8_t *)fs_read_file(good, &len, &e);
    CHECK(file && len > FS_SEAL_BYTES + 64, "read back: %s", e.msg);
    if (!file) return 1;

    /* The seal text, and its CRC by another implementation. */
    char want[200];
    uint32_t crc = crc32c_bitwise(file + FS_SEAL_BYTES, len - FS_SEAL_BYTES);
    int n = snprintf(want, sizeof want, "faceswarm seal 1\ncovers 512-%zu crc32c %08x\n", len, crc);
    n += snprintf(want + n, sizeof want - (size_t)n, "seal_crc32c %08x\n", crc32c_bitwise((uint8_t *)want, (size_t)n));
    CHECK(!memcmp(file, want, (size_t)n), "seal text: got '%.*s', expected '%s'", n, (char *)file, want);
    int padded = 1;
    for (int i = n; i < FS_SEAL_BYTES; i++) padded &= file[i] == 0;
    CHECK(padded, "the seal is not NUL-padded to %d bytes", FS_SEAL_BYTES);
    CHECK(!memcmp(file + FS_SEAL_BYTES, "\x89HDF\r\n\x1a\n", 8), "no HDF5 superblock after the user block");
    char sums_want[64];
    snprintf(sums_want, sizeof sums_want, "crc32c %08x of bytes 512-%zu", crc, len);
    CHECK(!strcmp(ws.seal, sums_want), "writer's sums.seal '%s', expected '%s'", ws.seal, sums_want);
    fs_ckpt_meta rm;
    CHECK(fs_ckpt_read(good, N, &rm, NULL, NULL, NULL, &rs, &e) == 0, "read: %s", e.msg);
    if (!e.code) fs_ckpt_meta_free(&rm);
    CHECK(!strcmp(rs.seal, sums_want), "reader's sums.seal '%s', expected '%s'", rs.seal, sums_want);

    /* Every byte flipped in turn: refused, by the seal (the first 512 bytes: the seal itself is
     * damaged; after them: the CRC differs). */
    uint8_t *mut = malloc(len + 1);
    long flips = 0, flips_ok = 0;
    for (size_t at = 0; at < len && failures < 20; at++) {
        memcpy(mut, file, len);
        mut[at] ^= (uint8_t)(1u << (at % 8));
        put(bad, mut, len);
        flips++;
        flips_ok += refused(bad, at < FS_SEAL_BYTES ? "its seal (the first 512 bytes" : "changed after it was written",
                            "a flipped byte");
    }
    /* Truncated to every length, and one byte appended. */
    long cuts = 0, cuts_ok = 0;
    for (size_t keep = 0; keep < len && failures < 20; keep++) {
        put(bad, file, keep);
        cuts++;
        cuts_ok += keep == 0                  ? refused(bad, "not an HDF5 file", "empty")
                   : keep < FS_SEAL_BYTES + 8 ? refused(bad, "shorter than its seal", "truncated inside the seal")
                                              : refused(bad, "truncated", "truncated");
    }
    memcpy(mut, file, len), mut[len] = 0;
    put(bad, mut, len + 1);
    refused(bad, "extended", "one byte appended");

    /* A file from before seals: read, unsealed. */
    const char *src = getenv("FACESWARM_SOURCE_DIR");
    char fixture[1024];
    snprintf(fixture, sizeof fixture, "%s/tests/fixtures/v1/ckpt-0000000002.h5", src ? src : ".");
    CHECK(fs_ckpt_read(fixture, 0, &rm, NULL, NULL, NULL, &rs, &e) == 0 && rs.seal[0] == 0, "v1 fixture: %s seal '%s'",
          e.msg, rs.seal);
    if (!e.code) fs_ckpt_meta_free(&rm);

    /* The writer seals only an empty user block followed by HDF5; a missing file is an error. */
    fs_seal s;
    fs_error se = {0};
    CHECK(fs_seal_file(good, &s, &se) == FS_EXIT_FAIL && strstr(se.msg, "zero bytes") && !s.sealed,
          "sealing a sealed file: '%s'", se.msg);
    fs_error me = {0};
    snprintf(bad, sizeof bad, "%s/missing.h5", g_dir);
    CHECK(fs_seal_file(bad, &s, &me) == FS_EXIT_FAIL && strstr(me.msg, "missing.h5"), "missing: '%s'", me.msg);
    /* Anything else is left to the parser: no seal, no HDF5 signature after 512 bytes. */
    memset(mut, 'x', len);
    snprintf(bad, sizeof bad, "%s/text.h5", g_dir);
    put(bad, mut, len);
    fs_error te = {0};
    CHECK(fs_seal_check(bad, "h", &s, &te) == 0 && !s.sealed, "a text file: '%s'", te.msg);

    free(mut);
    free(file);
    if (failures) fprintf(stderr, "ckpt_seal: %d check(s) failed\n", failures);
    else
        printf("ckpt_seal: %ld of %ld flipped bytes and %ld of %ld truncations refused by the seal; appended, "
               "refused; v1 unsealed\n",
               flips_ok, flips, cuts_ok, cuts);
    return failures ? 1 : 0;
}
