/* wm_attack.c — see wm_attack.h. */
#include "data/wm_attack.h"

#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/limits.h"

/* ---------------------------------------------------------------- JPEG */
typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void jerr_exit(j_common_ptr ci) {
    jerr *je = (jerr *)ci->err;
    je->mgr.format_message(ci, je->msg);
    longjmp(je->jump, 1);
}

static int jpeg_encode(const uint8_t *rgb, int w, int h, int quality, unsigned char *volatile *buf, unsigned long *len,
                       jerr *je) {
    struct jpeg_compress_struct ci;
    ci.err = jpeg_std_error(&je->mgr);
    je->mgr.error_exit = jerr_exit;
    if (setjmp(je->jump)) {
        jpeg_destroy_compress(&ci);
        return -1;
    }
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, (unsigned char **)buf, len);
    ci.image_width = (JDIMENSION)w, ci.image_height = (JDIMENSION)h;
    ci.input_components = 3, ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)ci.next_scanline * w * 3);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return 0;
}

static int jpeg_decode_mem(const unsigned char *buf, unsigned long len, uint8_t *rgb, int w, int h, jerr *je) {
    struct jpeg_decompress_struct ci;
    ci.err = jpeg_std_error(&je->mgr);
    je->mgr.error_exit = jerr_exit;
    if (setjmp(je->jump)) {
        jpeg_destroy_decompress(&ci);
        return -1;
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, len);
    jpeg_read_header(&ci, TRUE);
    ci.out_color_space = JCS_RGB;
    jpeg_start_decompress(&ci);
    if ((int)ci.output_width != w || (int)ci.output_height != h) {
        snprintf(je->msg, sizeof je->msg, "decoded %ux%u, encoded %dx%d", ci.output_width, ci.output_height, w, h);
        jpeg_destroy_decompress(&ci);
        return -1;
    }
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = rgb + (size_t)ci.output_scanline * w * 3;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    return 0;
}

int fs_jpeg_write(const char *path, const uint8_t *rgb, int w, int h, int quality, fs_error *e) {
    jerr je;
    memset(&je, 0, sizeof je);
    unsigned char *volatile buf = NULL;
    unsigned long len = 0;
    int rc = jpeg_encode(rgb, w, h, quality, &buf, &len, &je);
    if (rc) rc = fs_errorf(e, FS_EXIT_FAIL, "%s: cannot encode JPEG: %s", path, je.msg);
    else rc = fs_write_file_atomic(path, buf, len, e);
    free(buf);
    return rc;
}

int fs_attack_jpeg(uint8_t *rgb, int w, int h, int quality, fs_error *e) {
    jerr je;
    memset(&je, 0, sizeof je);
    unsigned char *volatile buf = NULL;
    unsigned long len = 0;
    int rc = jpeg_encode(rgb, w, h, quality, &buf, &len, &je);
    if (!rc) rc = jpeg_decode_mem(buf, len, rgb, w, h, &je);
    free(buf);
    if (rc) return fs_errorf(e, FS_EXIT_FAIL, "JPEG round trip of %dx%d px at quality %d: %s", w, h, quality, je.msg);
    return 0;
}

/* ---------------------------------------------------------------- H.264 */
int fs_attack_have_ffmpeg(void) {
    return system("ffmpeg -hide_banner -loglevel error -encoders 2>/dev/null | grep -q libx264") == 0;
}

static int run(const char *cmd, fs_error *e) {
    int st = system(cmd);
    if (st != 0)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "'%s' exited with status %d\n  hint: apt-get install ffmpeg (Debian's "
                         "build has libx264)",
                         cmd, st);
    return 0;
}

int fs_attack_h264(uint8_t *frames, int n, int w, int h, int crf, int luma_only, const char *tmpdir, fs_error *e) {
    return fs_attack_h264_gop(frames, n, w, h, crf, 1, luma_only, tmpdir, e);
}

int fs_attack_h264_gop(uint8_t *frames, int n, int w, int h, int crf, int gop, int luma_only, const char *tmpdir,
                       fs_error *e) {
    char raw[FS_PATH_LEN + 32], mp4[FS_PATH_LEN + 32], cmd[4 * FS_PATH_LEN];
    snprintf(raw, sizeof raw, "%s/h264-%d.rgb", tmpdir, (int)getpid());
    snprintf(mp4, sizeof mp4, "%s/h264-%d.mp4", tmpdir, (int)getpid());
    size_t bytes = (size_t)n * w * h * 3;
    int rc = fs_write_file_atomic(raw, frames, bytes, e);
    snprintf(cmd, sizeof cmd,
             "ffmpeg -y -hide_banner -loglevel error -f rawvideo -pix_fmt rgb24 -s %dx%d -r 25 -i '%s' "
             "-c:v libx264 -g %d -crf %d -pix_fmt yuv420p '%s'",
             w, h, raw, gop, crf, mp4);
    if (!rc) rc = run(cmd, e);
    snprintf(cmd, sizeof cmd, "ffmpeg -y -hide_banner -loglevel error -i '%s' -f rawvideo -pix_fmt %s '%s'", mp4,
             luma_only ? "gray" : "rgb24", raw);
    if (!rc) rc = run(cmd, e);
    size_t got = 0, want = luma_only ? bytes / 3 : bytes;
    char *back = rc ? NULL : fs_read_file(raw, &got, e);
    if (!rc && !back) rc = e->code;
    if (!rc && got != want)
        rc = fs_errorf(e, FS_EXIT_FAIL, "%s: ffmpeg decoded %zu bytes, expected %zu (%d frames of %dx%d)", mp4, got,
                       want, n, w, h);
    for (size_t i = 0; !rc && i < want; i++) /* grey: R = G = B = Y, so our luma is the decoded plane */
        if (luma_only) frames[3 * i] = frames[3 * i + 1] = frames[3 * i + 2] = (uint8_t)back[i];
    if (!rc && !luma_only) memcpy(frames, back, bytes);
    free(back);
    remove(raw);
    remove(mp4);
    return rc;
}
