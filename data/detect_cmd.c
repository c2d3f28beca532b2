/* detect_cmd.c — `faceswarm detect FILE...`: what each image says about itself (XMP digital
 * source type and faceswarm fields, the older tEXt label) and whether it carries faceswarm's
 * watermark (payload, correlation, false-alarm bound). Exit 0 when any file bears a faceswarm
 * mark, 1 when none does, 2 when an input cannot be read. Images only (PNG, JPEG) for now. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "data/watermark.h"
#include "data/xmp.h"
#include "data/cli.h"

static const char HELP[] =
    "usage: faceswarm detect [--json] FILE...\n"
    "  For each PNG or JPEG: its provenance labels (XMP Iptc4xmpExt:DigitalSourceType and faceswarm's\n"
    "  fields: run, checkpoint, identities and consent, synthetic regions; the tEXt faceswarm:synthetic\n"
    "  label) and faceswarm's invisible watermark, looked for in the whole image and in each synthetic\n"
    "  region the XMP lists (found or not, the 64-bit payload, its run tag, the correlation, and a\n"
    "  bound on the false-alarm probability). --json: one JSON object per file per line.\n"
    "  Exit status: 0 when a faceswarm mark (label or watermark) is found in any file, 1 when none is,\n"
    "  2 when a file cannot be read (whatever the others hold).\n";

typedef struct finding {
    fs_labels L;
    fs_wm_result wm;
    char where[64];  /* "all" or "x,y,w,h" of the region that held the mark */
    int label;       /* a faceswarm label: XMP from faceswarm, or the tEXt label */
    int disagree;    /* XMP's fsw:Watermark differs from the decoded payload */
} finding;

/* Whole image first, then each region the XMP names; the first mark found wins. */
static void find_mark(finding *f, const uint8_t *rgb, int w, int h) {
    fs_wm_detect(rgb, w, w, h, &f->wm);
    snprintf(f->where, sizeof f->where, "all");
    for (int i = 0; i < f->L.n_regions && !f->wm.found; i++) {
        const fs_region *r = &f->L.region[i];
        if (r->x < 0 || r->y < 0 || r->x + r->w > w || r->y + r->h > h) continue; /* a resized copy: whole only */
        fs_wm_result res;
        fs_wm_detect(rgb + ((size_t)r->y * w + r->x) * 3, w, r->w, r->h, &res);
        if (res.found || res.correlation > f->wm.correlation) {
            f->wm = res;
            snprintf(f->where, sizeof f->where, "%d,%d,%d,%d", r->x, r->y, r->w, r->h);
        }
    }
}

static int examine(const char *path, finding *f, fs_error *e) {
    memset(f, 0, sizeof *f);
    if (fs_labels_read(path, &f->L, e)) return e->code;
    uint8_t *rgb;
    int w, h;
    if (fs_image_read(path, &rgb, &w, &h, e)) return e->code;
    find_mark(f, rgb, w, h);
    free(rgb);
    f->label = (f->L.has_xmp && (!strncmp(f->L.tool, "faceswarm", 9) || f->L.run_tag[0] || f->L.watermark[0])) ||
               (f->L.has_text && !strcmp(f->L.text_synthetic, "true"));
    if (f->wm.found && f->L.watermark[0]) {
        char hex[32];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)f->wm.payload);
        f->disagree = strcmp(hex, f->L.watermark) != 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- text */
static void print_text(const char *path, const finding *f) {
    const fs_labels *L = &f->L;
    printf("%s\n", path);
    if (L->has_xmp) {
        printf("  xmp            digital source type %s\n", L->source_type[0] ? L->source_type : "(none)");
        if (L->tool[0]) printf("                 creator tool %s\n", L->tool);
        if (L->run[0]) printf("                 run %s (tag %s)\n", L->run, L->run_tag[0] ? L->run_tag : "-");
        if (L->checkpoint[0] || L->checkpoint_checksum[0])
            printf("                 checkpoint %s (checksum %s)\n", L->checkpoint[0] ? L->checkpoint : "-",
                   L->checkpoint_checksum[0] ? L->checkpoint_checksum : "-");
        if (L->identities[0]) printf("                 identities %s\n", L->identities);
        if (L->n_regions) printf("                 synthetic regions %d\n", L->n_regions);
        else printf("                 synthetic regions: the whole image\n");
        if (L->watermark[0]) printf("                 watermark payload (label) %s\n", L->watermark);
        if (L->version[0] && strcmp(L->version, FS_XMP_VERSION))
            printf("  warning        fsw:Version %s; this faceswarm reads version %s: fields may be missing or "
                   "misread\n", L->version, FS_XMP_VERSION);
    } else
        printf("  xmp            none\n");
    if (L->has_text) printf("  text label     faceswarm:synthetic=%s%s%s\n", L->text_synthetic,
                            L->text_disclaimer[0] ? "; Disclaimer: " : "", L->text_disclaimer);
    if (f->wm.found)
        printf("  watermark      found in %s: payload %016llx, run tag %012llx, correlation %.3f, p_false <= %.1e, "
               "contrast gain %.3f\n", f->where, (unsigned long long)f->wm.payload, (unsigned long long)f->wm.run_tag,
               f->wm.correlation, f->wm.p_false, f->wm.gain);
    else
        printf("  watermark      not found (correlation %.3f)\n", f->wm.correlation);
    if (f->disagree) printf("  warning        the XMP's watermark payload differs from the decoded one\n");
    printf("  verdict        %s\n", f->label && f->wm.found ? "faceswarm mark: label and watermark"
                                    : f->label             ? "faceswarm mark: label"
                                    : f->wm.found          ? "faceswarm mark: watermark"
                                                           : "no faceswarm mark");
}

/* ---------------------------------------------------------------- JSON */
static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void json_field(const char *key, const char *value) {
    printf(", \"%s\": ", key);
    json_str(value);
}

static void print_json(const char *path, const finding *f, const fs_error *e) {
    printf("{\"file\": ");
    json_str(path);
    if (e) {
        json_field("error", e->msg);
        printf("}\n");
        return;
    }
    const fs_labels *L = &f->L;
    printf(", \"xmp\": %s", L->has_xmp ? "true" : "false");
    json_field("digital_source_type", L->source_type);
    json_field("creator_tool", L->tool);
    json_field("fsw_version", L->version);
    json_field("run", L->run);
    json_field("run_tag", L->run_tag);
    json_field("checkpoint", L->checkpoint);
    json_field("checkpoint_checksum", L->checkpoint_checksum);
    json_field("identities", L->identities);
    printf(", \"synthetic_regions\": %d, \"text_label\": %s", L->n_regions, L->has_text ? "true" : "false");
    json_field("text_synthetic", L->text_synthetic);
    json_field("label_watermark", L->watermark);
    printf(", \"watermark\": {\"found\": %s, \"payload\": \"%016llx\", \"run_tag\": \"%012llx\", \"correlation\": %.4f, "
           "\"p_false\": %.3g, \"gain\": %.3f, \"where\": \"%s\"}", f->wm.found ? "true" : "false",
           (unsigned long long)f->wm.payload, (unsigned long long)f->wm.run_tag, f->wm.correlation, f->wm.p_false,
           f->wm.gain, f->where);
    printf(", \"disagree\": %s, \"label\": %s, \"mark\": %s}\n", f->disagree ? "true" : "false",
           f->label ? "true" : "false", f->label || f->wm.found ? "true" : "false");
}

int cmd_detect(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c, json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'h') return fputs(HELP, stdout), FS_EXIT_OK;
        else return fprintf(stderr, "error: faceswarm detect: unknown option\n  hint: faceswarm detect --help\n"), FS_EXIT_BADINPUT;
    }
    if (optind >= argc)
        return fprintf(stderr, "error: faceswarm detect: no FILE given\n  hint: faceswarm detect --help\n"), FS_EXIT_BADINPUT;
    int marked = 0, unreadable = 0;
    finding *f = fs_malloc(sizeof *f);
    for (int i = optind; i < argc; i++) {
        fs_error e = {0};
        int rc = examine(argv[i], f, &e);
        if (rc) {
            unreadable++;
            if (json) print_json(argv[i], f, &e);
            fprintf(stderr, "error: %s\n", e.msg);
            continue;
        }
        marked += f->label || f->wm.found;
        if (json) print_json(argv[i], f, NULL);
        else print_text(argv[i], f);
        fflush(stdout);
    }
    free(f);
    return unreadable ? FS_EXIT_BADINPUT : marked ? FS_EXIT_OK : FS_EXIT_FAIL;
}
