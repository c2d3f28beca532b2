/* xmp.h — machine-readable provenance labels: an XMP packet with the IPTC digital source type
 * and faceswarm's own fields (run, checkpoint, identities and their consent references, the
 * synthetic regions, the watermark payload), written into PNG as an iTXt chunk with keyword
 * "XML:com.adobe.xmp" (the XMP specification, part 3), and read back from PNG (iTXt, tEXt,
 * zTXt) and JPEG (APP1 XMP). docs/provenance.md lists the fields. */
#ifndef FACESWARM_DATA_XMP_H
#define FACESWARM_DATA_XMP_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

#define FS_IPTC_DST "http://cv.iptc.org/newscodes/digitalsourcetype/"
#define FS_IPTC_TRAINED FS_IPTC_DST "trainedAlgorithmicMedia"                /* generated faces */
#define FS_IPTC_COMPOSITE FS_IPTC_DST "compositeWithTrainedAlgorithmicMedia" /* converted frames */
#define FS_XMP_NS "http://ns.faceswarm.invalid/provenance/1.0/"              /* prefix fsw: */
#define FS_XMP_KEYWORD "XML:com.adobe.xmp"
#define FS_XMP_MAX_REGIONS 1024 /* read back from a file: a 16-identity preview has 1024 cells */
#define FS_XMP_MAX_IDS 16

typedef struct fs_region {
    int x, y, w, h; /* pixels, top-left origin */
} fs_region;

/* What an output says about itself. Strings may be NULL (the field is left out). */
typedef struct fs_provenance {
    const char *source_type;         /* FS_IPTC_TRAINED or FS_IPTC_COMPOSITE */
    const char *run;                 /* the run's id (its directory): the watermark's run tag comes from it */
    const char *checkpoint;          /* checkpoint file the pixels came from */
    const char *checkpoint_checksum; /* its checksum, hex */
    int n_identities;
    const char *identity[FS_XMP_MAX_IDS]; /* identities in the model */
    const char *consent[FS_XMP_MAX_IDS];  /* their consent references ("consent not recorded" if none) */
    int n_regions;                        /* synthetic regions; 0 = the whole image is synthetic, or for
                                             FS_IPTC_COMPOSITE the faces (a video's move frame by frame) */
    const fs_region *region;              /* [n_regions], the caller's */
    int watermark;                        /* 1: fs_png_write_labelled marks every synthetic region of at least
                       FS_WM_MIN_SIDE px a side (payload from run); smaller ones stay labelled only */
    int mark_whole;                       /* with watermark: one mark over the whole image even when regions are listed
                       (converted frames: the regions say which pixels are synthetic, the mark
                       covers the frame, whose size carries it through H.264) */
} fs_provenance;

/* What a file says, as read back; empty strings for fields it lacks. */
typedef struct fs_labels {
    int has_xmp, has_text; /* an XMP packet; faceswarm's tEXt label (faceswarm:synthetic) */
    int has_container;     /* a video's com.faceswarm.* container keys (video_labels.h) */
    char version[16];      /* fsw:Version */
    char source_type[256]; /* Iptc4xmpExt:DigitalSourceType */
    char tool[128];        /* xmp:CreatorTool */
    char run[1024], run_tag[32], checkpoint[1024], checkpoint_checksum[64], watermark[32];
    char identities[2048]; /* "A (consent: REF); B (consent: REF)" */
    int n_regions;
    fs_region region[FS_XMP_MAX_REGIONS];
    char text_synthetic[16];   /* tEXt faceswarm:synthetic */
    char text_disclaimer[512]; /* tEXt Disclaimer; a video's container comment */
} fs_labels;

#define FS_XMP_VERSION "1" /* fsw:Version this faceswarm writes and reads */

/* The XMP packet for p (malloc'd, NUL-terminated), with the payload's hex in fsw:Watermark
 * when payload_valid. */
char *fs_xmp_build(const fs_provenance *p, const char *description, uint64_t payload, int payload_valid);
/* Inserts an uncompressed iTXt chunk (keyword, text) after IHDR of the PNG file bytes png;
 * *out is malloc'd. FS_EXIT_BADINPUT when png is not a PNG. */
int fs_png_insert_itxt(const uint8_t *png, size_t len, const char *keyword, const char *text, uint8_t **out,
                       size_t *out_len, fs_error *e);
/* Writes path atomically: rgb, watermarked in each synthetic region (or the whole image) when
 * p->watermark, with the tEXt chunks of text_kv (as fs_png_write) and the XMP packet of p. */
int fs_png_write_labelled(const char *path, const uint8_t *rgb, int w, int h, const char *const *text_kv,
                          const fs_provenance *p, fs_error *e);
/* Reads the labels of a PNG or JPEG (by signature). FS_EXIT_BADINPUT when unreadable. */
int fs_labels_read(const char *path, fs_labels *L, fs_error *e);
/* Makes a field read from an untrusted file safe for terminals and JSON, in place: control
 * characters become spaces, bytes that are not well-formed UTF-8 become '?'. */
void fs_labels_clean(char *s);
/* Parses an XMP packet's faceswarm and IPTC fields into L (used by fs_labels_read). */
void fs_xmp_parse(const char *xmp, size_t len, fs_labels *L);

#endif
