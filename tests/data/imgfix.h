/* imgfix.h — image fixtures for the data_ tests, written with libpng/libjpeg: PNGs of every
 * colour type, bit depth and interlace, with gAMA, tRNS or eXIf; JPEGs of any colour space,
 * progressive, with an APP1 Exif segment; and byte-level damage (truncation, header edits). */
#ifndef FACESWARM_TESTS_DATA_IMGFIX_H
#define FACESWARM_TESTS_DATA_IMGFIX_H

#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_opts {
    int depth, type, interlace; /* PNG_COLOR_TYPE_*, PNG_INTERLACE_* */
    double gamma;               /* gAMA chunk, 0 = none */
    const uint8_t *exif;        /* eXIf chunk (TIFF block), NULL = none */
    int exif_len;
    const png_color *palette; /* PALETTE type */
    int n_palette;
    const uint8_t *trns; /* palette alpha */
    int n_trns;
    int rows; /* rows to write before stopping (a truncated file), 0 = all */
} png_opts;

static inline int png_channels(int type) {
    return type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_PALETTE ? 1
           : type == PNG_COLOR_TYPE_GRAY_ALPHA                           ? 2
           : type == PNG_COLOR_TYPE_RGB                                  ? 3
                                                                         : 4;
}

/* px: rows of samples as stored (16-bit big-endian; one byte per sample below 8 bits). */
static inline void write_png_ex(const char *path, const uint8_t *px, int w, int h, const png_opts *o) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!f || !info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "fixture %s: libpng failed\n", path);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, o->depth, o->type, o->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (o->gamma > 0) png_set_gAMA(png, info, o->gamma);
    if (o->palette) png_set_PLTE(png, info, o->palette, o->n_palette);
    if (o->trns) png_set_tRNS(png, info, o->trns, o->n_trns, NULL);
    if (o->exif) png_set_eXIf_1(png, info, (png_uint_32)o->exif_len, (png_bytep)o->exif);
    png_write_info(png, info);
    if (o->depth < 8) png_set_packing(png);
    size_t rb = (size_t)w * png_channels(o->type) * (o->depth == 16 ? 2 : 1);
    int passes = png_set_interlace_handling(png), rows = o->rows ? o->rows : h;
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < (p == passes - 1 ? rows : h); y++) png_write_row(png, (png_const_bytep)(px + rb * y));
    if (o->rows) png_write_flush(png); /* what was written reaches the file, then it stops */
    else png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

typedef struct jpeg_opts {
    int comps;                /* 1, 3 or 4 */
    J_COLOR_SPACE in, coding; /* coding: the file's colour space, JCS_UNKNOWN = libjpeg's default */
    const uint8_t *exif;      /* TIFF block, written as APP1 "Exif\0\0" + block; NULL = none */
    size_t exif_len;
    int progressive;
} jpeg_opts;

static inline void write_jpeg_ex(const char *path, const uint8_t *px, int w, int h, const jpeg_opts *o) {
    FILE *f = fopen(path, "wb");
    if (!f) exit(1);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h, c.input_components = o->comps;
    c.in_color_space = o->in;
    jpeg_set_defaults(&c);
    if (o->coding != JCS_UNKNOWN) jpeg_set_colorspace(&c, o->coding);
    jpeg_set_quality(&c, 97, TRUE);
    if (o->progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    if (o->exif) {
        uint8_t app1[1024];
        memcpy(app1, "Exif\0\0", 6);
        memcpy(app1 + 6, o->exif, o->exif_len);
        jpeg_write_marker(&c, JPEG_APP0 + 1, app1, (unsigned)(6 + o->exif_len));
    }
    for (int y = 0; y < h; y++) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)y * w * o->comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

/* A TIFF block whose IFD0 holds only the orientation tag (SHORT), in either byte order. */
static inline size_t exif_block(uint8_t *out, int orientation, int little_endian) {
    static const uint8_t be[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0,
                                 3,   0,   0, 0,  1, 0, 0, 0, 0, 0, 0,    0,    0};
    static const uint8_t le[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3,
                                 0,   1,   0,  0, 0, 0, 0, 0, 0, 0, 0,    0,    0};
    memcpy(out, little_endian ? le : be, sizeof be);
    out[little_endian ? 18 : 19] = (uint8_t)orientation;
    return sizeof be;
}

static inline long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static inline uint8_t *slurp(const char *path, long *n) {
    *n = file_size(path);
    FILE *f = fopen(path, "rb");
    uint8_t *b = malloc((size_t)*n + 1);
    if (!f || !b || fread(b, 1, (size_t)*n, f) != (size_t)*n) exit(1);
    fclose(f);
    return b;
}

static inline void spit(const char *path, const uint8_t *b, long n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, (size_t)n, f) != (size_t)n) exit(1);
    fclose(f);
}

/* Keeps the first `keep` bytes of a file. */
static inline void truncate_to(const char *path, long keep) {
    long n;
    uint8_t *b = slurp(path, &n);
    spit(path, b, keep < n ? keep : n);
    free(b);
}

/* Rewrites the width and height of a baseline JPEG's SOF0 header. */
static inline void jpeg_set_size(const char *path, unsigned w, unsigned h) {
    long n;
    uint8_t *b = slurp(path, &n);
    for (long i = 2; i + 9 < n; i++)
        if (b[i] == 0xFF && (b[i + 1] == 0xC0 || b[i + 1] == 0xC2)) {
            b[i + 5] = (uint8_t)(h >> 8), b[i + 6] = (uint8_t)h, b[i + 7] = (uint8_t)(w >> 8), b[i + 8] = (uint8_t)w;
            break;
        }
    spit(path, b, n);
    free(b);
}

/* Cuts the entropy-coded data at `keep` bytes and ends the file properly (EOI): libjpeg
 * warns "Corrupt JPEG data: premature end of data segment" and would fill the rest grey. */
static inline void jpeg_cut_scan(const char *path, long keep) {
    truncate_to(path, keep);
    FILE *f = fopen(path, "ab");
    if (!f || fwrite("\xFF\xD9", 1, 2, f) != 2) exit(1);
    fclose(f);
}

/* Four stray bytes after the APP0 (JFIF) segment: libjpeg warns "Corrupt JPEG data: 4
 * extraneous bytes before marker" and decodes the image whole. */
static inline void jpeg_stray_bytes(const char *path) {
    long n;
    uint8_t *b = slurp(path, &n);
    long at = 4 + ((long)b[4] << 8 | b[5]); /* SOI, then APP0's marker and length */
    uint8_t *o = malloc((size_t)n + 4);
    memcpy(o, b, (size_t)at);
    memcpy(o + at, "\x12\x34\x56\x78", 4);
    memcpy(o + at + 4, b + at, (size_t)(n - at));
    spit(path, o, n + 4);
    free(o);
    free(b);
}

#endif
