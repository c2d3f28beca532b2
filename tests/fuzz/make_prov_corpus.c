/* make_prov_corpus.c — writes the seed files of the provenance fuzz corpora
 * (tests/fuzz/corpus/labels, video_labels, alignments) with faceswarm's own writers: a
 * labelled PNG (fs_png_write_labelled), its packet in zTXt and compressed iTXt, a JPEG with
 * an APP1 packet, H.264 MP4/MOV files labelled as the video writers label them, an extract
 * file (the dataset writer, /frames and /sources sealed as extract_out.c seals them) and an
 * unsealed foreign copy. The hand-made edge cases beside them are named for what they hold.
 * Usage: make_prov_corpus OUTDIR (it makes OUTDIR/labels, OUTDIR/video_labels,
 * OUTDIR/alignments). Not built by default: ninja make_prov_corpus (tests/provenance.cmake). */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data/dataset.h"
#include "data/h5check.h"
#include "data/image.h"
#include "data/wm_attack.h"
#include "data/video_labels.h"
#include "data/xmp.h"
#include "tests/provenance/video_fixture.h"

static char g_dir[1024];

static void die(const char *what, const fs_error *e) {
    fprintf(stderr, "make_prov_corpus: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

static const char *out(const char *kind, const char *name) {
    static char path[1400];
    snprintf(path, sizeof path, "%s/%s", g_dir, kind);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", g_dir, kind, name);
    return path;
}

static void put(const char *kind, const char *name, const void *p, size_t n) {
    fs_error e = {0};
    if (fs_write_file_atomic(out(kind, name), p, n, &e)) die(name, &e);
}

static fs_provenance prov(const fs_region *r, int n) {
    fs_provenance p = {.source_type = FS_IPTC_TRAINED,
                       .run = "runs/demo <1> & \"x\"",
                       .checkpoint = "runs/demo/ckpt-100.h5",
                       .checkpoint_checksum = "0123456789abcdef",
                       .n_identities = 2,
                       .n_regions = n,
                       .region = r};
    p.identity[0] = "A", p.consent[0] = "consent/a.pdf#2026-11";
    p.identity[1] = "B\xC3\xA9", p.consent[1] = NULL;
    return p;
}

/* ---------------------------------------------------------------- images */
static void png_chunk(uint8_t *o, size_t *n, const char *type, const uint8_t *d, size_t dn) {
    uint8_t *c = o + *n;
    c[0] = (uint8_t)(dn >> 24), c[1] = (uint8_t)(dn >> 16), c[2] = (uint8_t)(dn >> 8), c[3] = (uint8_t)dn;
    memcpy(c + 4, type, 4);
    memcpy(c + 8, d, dn);
    uLong crc = crc32(0, c + 4, (uInt)(dn + 4));
    c[8 + dn] = (uint8_t)(crc >> 24), c[9 + dn] = (uint8_t)(crc >> 16), c[10 + dn] = (uint8_t)(crc >> 8);
    c[11 + dn] = (uint8_t)crc;
    *n += 12 + dn;
}

/* The unlabelled PNG's bytes with one text chunk after IHDR: zTXt (ztxt) or iTXt (compressed). */
static void png_compressed(const char *name, const uint8_t *png, size_t len, const char *xmp, int ztxt) {
    uLongf zn = compressBound((uLong)strlen(xmp));
    uint8_t *z = malloc(zn), *d = malloc(zn + 64), *o = malloc(len + zn + 128);
    compress(z, &zn, (const Bytef *)xmp, (uLong)strlen(xmp));
    size_t dn = strlen(FS_XMP_KEYWORD) + 1, n = 33;
    memcpy(d, FS_XMP_KEYWORD, dn);
    if (ztxt) d[dn++] = 0;
    else d[dn++] = 1, d[dn++] = 0, d[dn++] = 0, d[dn++] = 0; /* compressed, method 0, no language, no key */
    memcpy(d + dn, z, zn);
    memcpy(o, png, 33);
    png_chunk(o, &n, ztxt ? "zTXt" : "iTXt", d, dn + zn);
    memcpy(o + n, png + 33, len - 33);
    put("labels", name, o, n + len - 33);
    free(z), free(d), free(o);
}

static void jpeg_with(const char *name, const char *xmp) {
    uint8_t px[8 * 8 * 3];
    for (int i = 0; i < (int)sizeof px; i++) px[i] = (uint8_t)(i * 7);
    fs_error e = {0};
    const char *tmp = out("labels", "tmp.jpg");
    if (fs_jpeg_write(tmp, px, 8, 8, 50, &e)) die("jpeg", &e);
    size_t len;
    char *j = fs_read_file(tmp, &len, &e);
    remove(tmp);
    static const char ID[] = "http://ns.adobe.com/xap/1.0/";
    size_t seg = 2 + sizeof ID + strlen(xmp), n = len + 2 + seg;
    uint8_t *o = malloc(n);
    memcpy(o, j, 2);
    o[2] = 0xFF, o[3] = 0xE1, o[4] = (uint8_t)(seg >> 8), o[5] = (uint8_t)seg;
    memcpy(o + 6, ID, sizeof ID);
    memcpy(o + 6 + sizeof ID, xmp, strlen(xmp));
    memcpy(o + 4 + seg, j + 2, len - 2);
    put("labels", name, o, n);
    free(o), free(j);
}

static void labels(void) {
    static const fs_region two[] = {{0, 0, 4, 4}, {4, 2, 4, 6}};
    fs_provenance p = prov(two, 2);
    uint8_t px[8 * 8 * 3];
    for (int i = 0; i < (int)sizeof px; i++) px[i] = (uint8_t)(i * 13);
    static const char *const text[] = {"faceswarm:synthetic", "true", "Disclaimer", "SYNTHETIC \x01 media", NULL};
    fs_error e = {0};
    if (fs_png_write_labelled(out("labels", "labelled.png"), px, 8, 8, text, &p, &e)) die("png", &e);
    if (fs_png_write(out("labels", "tmp.png"), px, 8, 8, NULL, &e)) die("png", &e);
    size_t len;
    uint8_t *png = (uint8_t *)fs_read_file(out("labels", "tmp.png"), &len, &e);
    remove(out("labels", "tmp.png"));
    char *xmp = fs_xmp_build(&p, "SYNTHETIC MEDIA: generated", 0x1234, 1);
    png_compressed("xmp-ztxt.png", png, len, xmp, 1);
    png_compressed("xmp-itxt-compressed.png", png, len, xmp, 0);
    jpeg_with("xmp-app1.jpg", xmp);
    put("labels", "packet.xmp", xmp, strlen(xmp));
    free(xmp);
    /* edge cases: numbers past int, a region reaching past INT_MAX, entities, a cut packet */
    static const char wild[] = "<fsw:SyntheticRegions><rdf:Bag><rdf:li>2147483647,1,2147483647,5</rdf:li>"
                               "<rdf:li>99999999999,0,1,1</rdf:li><rdf:li>1,2,3,4</rdf:li></rdf:Bag>"
                               "</fsw:SyntheticRegions> fsw:Run=\"a&amp;b&lt;&#1;\xED\xA0\x80\xF5\x80\x80\x80\"";
    put("labels", "regions-wild.xmp", wild, sizeof wild - 1);
    static const char cut[] = "<fsw:Identities><rdf:Seq><rdf:li><fsw:Name>A</fsw:Name><fsw:Consent>r"
                              "<fsw:SyntheticRegions><rdf:Bag><rdf:li>1,2,3,";
    put("labels", "cut.xmp", cut, sizeof cut - 1);
    /* a zTXt whose keyword fills the chunk: no compression method byte after it */
    uint8_t o[256];
    size_t n = 33;
    memcpy(o, png, 33);
    png_chunk(o, &n, "zTXt", (const uint8_t *)"XML:com.adobe.xmp", 18);
    memcpy(o + n, png + len - 12, 12); /* IEND */
    put("labels", "ztxt-keyword-only.png", o, n + 12);
    /* the labelled PNG cut inside its iTXt chunk (refused: truncated), and without IEND */
    size_t ln;
    char *lab = fs_read_file(out("labels", "labelled.png"), &ln, &e);
    if (!lab) die("labelled.png", &e);
    put("labels", "truncated.png", lab, 120);
    put("labels", "no-iend.png", lab, ln - 12);
    free(lab), free(png);
}

/* ---------------------------------------------------------------- videos */
static void be32put(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void videos(void) {
    enum { N = 2, W = 16, H = 16 };
    uint8_t f[N * W * H * 3];
    for (int i = 0; i < (int)sizeof f; i++) f[i] = (uint8_t)(i * 5);
    fs_provenance p = prov(NULL, 0);
    p.source_type = FS_IPTC_COMPOSITE, p.watermark = 1;
    fs_error e = {0};
    if (fx_write_mp4(out("video_labels", "labelled.mp4"), f, N, W, H, 40, 2, NULL, &p, 1, &e)) die("mp4", &e);
    if (fx_write_mp4(out("video_labels", "labelled.mov"), f, N, W, H, 40, 2, "+faststart", &p, 1, &e)) die("mov", &e);
    if (fx_write_mp4(out("video_labels", "fragmented.mp4"), f, N, W, H, 40, 1, "+frag_keyframe+empty_moov", &p, 1, &e))
        die("fragmented", &e);
    if (fx_write_mp4(out("video_labels", "keys-only.mp4"), f, N, W, H, 40, 2, NULL, &p, 0, &e)) die("keys", &e);
    if (fx_write_mp4(out("video_labels", "labelled.mkv"), f, N, W, H, 40, 2, NULL, &p, 0, &e)) die("mkv", &e);
    /* hand-made boxes: ftyp, moov/udta/XMP_ (QuickTime's place), a last box of size 0 */
    char *xmp = fs_xmp_build(&p, NULL, 0, 0);
    size_t xn = strlen(xmp), n = 0;
    uint8_t *b = calloc(1, 128 + xn);
    be32put(b, 16), memcpy(b + 4, "ftypisom", 8), memcpy(b + 12, "isom", 4), n = 16;
    be32put(b + n, (uint32_t)(24 + xn)), memcpy(b + n + 4, "moov", 4);
    be32put(b + n + 8, (uint32_t)(16 + xn)), memcpy(b + n + 12, "udta", 4);
    be32put(b + n + 16, (uint32_t)(8 + xn)), memcpy(b + n + 20, "XMP_", 4);
    memcpy(b + n + 24, xmp, xn), n += 24 + xn;
    be32put(b + n, 0), memcpy(b + n + 4, "free", 4), memcpy(b + n + 8, "to the end", 10), n += 18;
    put("video_labels", "udta-xmp-open-end.mp4", b, n);
    /* a 64-bit box size cut off, and a uuid box cut inside its UUID */
    static const uint8_t wide[] = {0, 0, 0, 16, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0,
                                   0, 0, 0, 0,  0,   1,   'm', 'o', 'o', 'v', 0,   0,   0, 0};
    put("video_labels", "wide-size-cut.mp4", wide, sizeof wide);
    static const uint8_t cut[] = {0,   0,   0,   16,  'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0,    0,    0,    8,
                                  'm', 'o', 'o', 'v', 0,   0,   0,   28,  'u', 'u', 'i', 'd', 0xBE, 0x7A, 0xCF, 0xCB};
    put("video_labels", "uuid-cut.mp4", cut, sizeof cut);
    free(b), free(xmp);
}

/* ---------------------------------------------------------------- alignments */
static hid_t rows(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims, const void *v) {
    hid_t sp = H5Screate_simple(rank, dims, NULL), lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(f, name, type, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || (v && H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)) die(name, NULL);
    H5Dclose(d), H5Pclose(lcpl), H5Sclose(sp);
    return 0;
}

/* extract's datasets for 4 faces of two sources; sources_rank 2 / a NULL string (both in
 * ASCII, which an older reader read without a character set conversion) when asked. */
static void extract_rows(hid_t f, int sources_rank, int null_source) {
    enum { NF = 4 };
    int32_t src[NF] = {0, 1, 0, 0}, face[NF] = {0, 0, 1, 0};
    int64_t idx[NF] = {0, 0, 0, 7};
    double t[NF] = {0, 0, 0, 0.28}, m[NF][2][3];
    for (int i = 0; i < NF; i++)
        for (int k = 0; k < 6; k++) m[i][k / 3][k % 3] = k == 0 || k == 4 ? 0.5 : k == 2 ? -3 : 0;
    hsize_t n = NF, mat[3] = {NF, 2, 3};
    rows(f, "/frames/source", H5T_NATIVE_INT32, 1, &n, src);
    rows(f, "/frames/index", H5T_NATIVE_INT64, 1, &n, idx);
    rows(f, "/frames/face", H5T_NATIVE_INT32, 1, &n, face);
    rows(f, "/frames/time", H5T_NATIVE_DOUBLE, 1, &n, t);
    rows(f, "/frames/matrix", H5T_NATIVE_DOUBLE, 3, mat, m);
    hsize_t one = 1;
    int32_t nf_src = 1;
    int64_t nf_idx = 3;
    rows(f, "/noface/source", H5T_NATIVE_INT32, 1, &one, &nf_src);
    rows(f, "/noface/index", H5T_NATIVE_INT64, 1, &one, &nf_idx);
    const char *v[4] = {"/footage/clip-a.mp4", null_source ? NULL : "/footage/clip-b.mp4", "x", "y"};
    hsize_t sd[2] = {2, 2};
    hid_t t8 = H5Tcopy(H5T_C_S1);
    H5Tset_size(t8, H5T_VARIABLE);
    H5Tset_cset(t8, sources_rank == 1 && !null_source ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    rows(f, "/sources", t8, sources_rank, sd, v);
    H5Tclose(t8);
}

static void alignments(void) {
    enum { S = 8, NF = 4 };
    static const char *const extras[] = {"/frames/source", "/frames/index",  "/frames/face",  "/frames/time",
                                         "/frames/matrix", "/noface/source", "/noface/index", "/sources"};
    uint8_t faces[NF * S * S * 3] = {0}, masks[NF * S * S];
    float lm[NF * 68 * 2];
    memset(masks, 255, sizeof masks);
    for (int i = 0; i < NF * 68 * 2; i++) lm[i] = (float)(i % 8);
    fs_faces_meta meta = {.identity = "alice",
                          .consent = "consent/alice.pdf",
                          .source = "extract",
                          .masks = 1,
                          .landmarks = 1};
    fs_faces_writer *w;
    fs_error e = {0};
    if (fs_faces_create(&w, out("alignments", "extract-sealed.h5"), S, &meta, &e) ||
        fs_faces_append_full(w, faces, masks, lm, NF, &e))
        die("extract file", &e);
    fs_h5_lock();
    extract_rows((hid_t)fs_faces_writer_file(w), 1, 0);
    fs_h5_unlock();
    for (size_t i = 0; i < sizeof extras / sizeof *extras; i++)
        if (fs_faces_writer_cover(w, extras[i], &e)) die("cover", &e);
    if (fs_faces_commit(w, &e)) die("commit", &e);
    /* unsealed (a foreign file: no format attribute), so that mutations reach /frames and /sources */
    static const struct {
        const char *name;
        int rank, null_source, shuffle;
    } plain[] = {{"extract-foreign.h5", 1, 0, 0},
                 {"sources-rank2.h5", 2, 0, 0},
                 {"sources-null.h5", 1, 1, 0},
                 {"frames-out-of-order.h5", 1, 0, 1}};
    for (size_t k = 0; k < sizeof plain / sizeof *plain; k++) {
        fs_h5_lock();
        hid_t f = H5Fcreate(out("alignments", plain[k].name), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        hsize_t fd[4] = {NF, S, S, 3}, ld[3] = {NF, 68, 2};
        rows(f, "/faces", H5T_NATIVE_UINT8, 4, fd, faces);
        if (plain[k].shuffle) lm[0] = 1; /* (different bytes: the corpus keeps one file per content) */
        rows(f, "/landmarks", H5T_NATIVE_FLOAT, 3, ld, lm);
        extract_rows(f, plain[k].rank, plain[k].null_source);
        if (plain[k].shuffle) { /* frame 7 before frame 0 */
            int64_t idx[NF] = {7, 0, 0, 0};
            hid_t d = H5Dopen2(f, "/frames/index", H5P_DEFAULT);
            H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, idx);
            H5Dclose(d);
        }
        H5Fclose(f);
        fs_h5_unlock();
    }
}

int main(int argc, char **argv) {
    if (argc != 2) return fprintf(stderr, "usage: make_prov_corpus OUTDIR\n"), 2;
    snprintf(g_dir, sizeof g_dir, "%s", argv[1]);
    mkdir(g_dir, 0755);
    fs_h5_init();
    labels();
    videos();
    alignments();
    printf("corpus written under %s\n", g_dir);
    return 0;
}
