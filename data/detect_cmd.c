/* detect_cmd.c — `faceswarm detect FILE...`: what each image or video says about itself (XMP
 * digital source type and faceswarm fields, the older tEXt label, a video's container keys) and
 * whether it carries faceswarm's watermark (payload, correlation, false-alarm bound; for a
 * video, decoded over every k-th frame with the per-frame vote). Exit 0 when any file bears a
 * faceswarm mark, 1 when none does, 2 when an input cannot be read. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "data/video.h"
#include "data/video_labels.h"
#include "data/watermark.h"
#include "data/wm_video.h"
#include "data/xmp.h"
#include "data/cli.h"

static const char HELP[] =
    "usage: faceswarm detect [--json] [--every K] [--orientations] [--run RUN]... FILE...\n"
    "  For each PNG or JPEG: its provenance labels (XMP Iptc4xmpExt:DigitalSourceType and faceswarm's\n"
    "  fields: run, checkpoint, identities and consent, synthetic regions; the tEXt faceswarm:synthetic\n"
    "  label) and faceswarm's invisible watermark, looked for in the whole image and in each synthetic\n"
    "  region the XMP lists (found or not, the 64-bit payload, its run tag, the correlation, and a\n"
    "  bound on the false-alarm probability). --orientations: also look for the mark in the 7 other\n"
    "  orientations a copy may show (mirrored, rotated by 90, 180 or 270 degrees, transposed; images\n"
    "  and videos), at 8 times the false-alarm bound.\n"
    "  For each video FFmpeg reads (MP4, MOV, MKV, ...): the XMP box and the container keys\n"
    "  (com.faceswarm.*, comment), and the watermark decoded jointly over every K-th frame (default\n"
    "  5), with how many of those frames hold it on their own.\n"
    "  --run RUN: also check each file for the mark of run RUN (the run directory its config names, as\n"
    "  detect prints it under 'run'; repeatable, up to 64): where the payload is known no decoding is\n"
    "  needed, which finds marks the blind decode cannot read (small faces through H.264). A payload\n"
    "  the file's own label states (fsw:Watermark, fsw:Run) is checked the same way. Each run adds\n"
    "  1.7e-5 to the false-alarm bound.\n"
    "  --json: one JSON object per file per line.\n"
    "  Exit status: 0 when a faceswarm mark (label or watermark) is found in any file, 1 when none is,\n"
    "  2 when a file cannot be read (whatever the others hold).\n";

typedef struct finding {
    fs_labels L;
    fs_wm_result wm;
    char where[64];     /* "all" or "x,y,w,h" of the region that held the mark */
    int label;          /* a faceswarm label: XMP from faceswarm, or the tEXt label */
    int disagree;       /* XMP's fsw:Watermark differs from the decoded payload */
    int video;          /* a video: wm is the joint decode of V */
    int every;          /* frames examined: every every-th */
    int orientations;   /* the 8 orientations were searched (--orientations) */
    int orientation;    /* the one that held the mark (fs_wm_orientation_name) */
    fs_wm_candidates C; /* payloads checked (fs_wm_confirm): --run's, then the label's */
    char cand_name[FS_WM_MAX_CANDIDATES][1100];
    fs_wm_video V;
} finding;

/* --run's runs: their names and payloads, checked in every file */
typedef struct runs {
    int n;
    const char *name[FS_WM_MAX_CANDIDATES];
} runs;

static void add_candidate(finding *f, uint64_t payload, const char *fmt, const char *what) {
    for (int i = 0; i < f->C.n; i++)
        if (f->C.payload[i] == payload) return;
    if (f->C.n >= FS_WM_MAX_CANDIDATES) return;
    snprintf(f->cand_name[f->C.n], sizeof f->cand_name[0], fmt, what);
    f->C.payload[f->C.n++] = payload;
}

/* The candidates of one file: --run's, then what its label states (read before the pixels). */
static void candidates(finding *f, const runs *R) {
    for (int i = 0; i < R->n; i++) add_candidate(f, fs_wm_payload(fs_wm_run_tag(R->name[i])), "run %s", R->name[i]);
    char *end;
    unsigned long long hex = f->L.watermark[0] ? strtoull(f->L.watermark, &end, 16) : 0;
    if (f->L.watermark[0] && !*end && fs_wm_payload_valid(hex))
        add_candidate(f, hex, "%s", "the file's label (fsw:Watermark)");
    if (f->L.run[0]) add_candidate(f, fs_wm_payload(fs_wm_run_tag(f->L.run)), "run %s (the file's label)", f->L.run);
}

/* One region: as made, or over the 8 orientations. */
static void look(finding *f, const uint8_t *px, int stride, int w, int h, fs_wm_result *r, int *o) {
    fs_wm_detect_with(px, stride, w, h, f->orientations, &f->C, r, o, NULL);
}

/* Whole image first, then each region the XMP names; the first mark found wins. */
static void find_mark(finding *f, const uint8_t *rgb, int w, int h) {
    look(f, rgb, w, w, h, &f->wm, &f->orientation);
    snprintf(f->where, sizeof f->where, "all");
    for (int i = 0; i < f->L.n_regions && !f->wm.found; i++) {
        const fs_region *r = &f->L.region[i];
        if (r->x < 0 || r->y < 0 || r->x + r->w > w || r->y + r->h > h) continue; /* a resized copy: whole only */
        fs_wm_result res;
        int o;
        look(f, rgb + ((size_t)r->y * w + r->x) * 3, w, r->w, r->h, &res, &o);
        if (res.found || res.correlation > f->wm.correlation) {
            f->wm = res, f->orientation = o;
            snprintf(f->where, sizeof f->where, "%d,%d,%d,%d", r->x, r->y, r->w, r->h);
        }
    }
}

/* PNG or JPEG by signature; anything else is given to FFmpeg as a video. */
static int is_image(const char *path) {
    uint8_t sig[8] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(sig, 1, sizeof sig, f) : 0;
    if (f) fclose(f);
    return (n >= 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8)) ||
           (n >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF);
}

/* Not an image: a video FFmpeg can open and decode (with a video stream), else unreadable. */
static int examine_video(const char *path, finding *f, int every, const runs *R, fs_error *e) {
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: cannot open: %s\n  hint: check the path", path, strerror(errno));
    fclose(probe);
    fs_error ve = {0};
    fs_video *v = NULL;
    if (fs_video_open(&v, path, &ve) == 0) fs_video_close(v);
    if (!ve.code) fs_video_labels_read(path, &f->L, &ve);
    if (ve.code) {
        size_t n = strlen(path);
        const char *why = !strncmp(ve.msg, path, n) && !strncmp(ve.msg + n, ": ", 2) ? ve.msg + n + 2 : ve.msg;
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: neither PNG nor JPEG, and as a video FFmpeg says: %s\n"
                         "  (faceswarm detect reads .png and .jpg images and videos: .mp4, .mov, .mkv, ...)",
                         path, why);
    }
    f->video = 1, f->every = every;
    candidates(f, R);
    if (fs_wm_detect_video(path, every, f->orientations, &f->C, &f->V, e)) return e->code;
    f->wm = f->V.mark, f->orientation = f->V.orientation;
    snprintf(f->where, sizeof f->where, "frames");
    return 0;
}

static int examine(const char *path, finding *f, int every, int orientations, const runs *R, fs_error *e) {
    memset(f, 0, sizeof *f);
    f->orientations = orientations;
    if (!is_image(path)) {
        if (examine_video(path, f, every, R, e)) return e->code;
    } else {
        if (fs_labels_read(path, &f->L, e)) return e->code;
        candidates(f, R);
        uint8_t *rgb;
        int w, h;
        if (fs_image_read(path, &rgb, &w, &h, e)) return e->code;
        find_mark(f, rgb, w, h);
        free(rgb);
    }
    f->label = (f->L.has_xmp && (!strncmp(f->L.tool, "faceswarm", 9) || f->L.run_tag[0] || f->L.watermark[0])) ||
               (f->L.has_text && !strcmp(f->L.text_synthetic, "true")) || f->L.has_container;
    if (f->wm.found && f->L.watermark[0]) {
        char hex[32];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)f->wm.payload);
        f->disagree = strcmp(hex, f->L.watermark) != 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- text */
static void print_fields(const fs_labels *L) {
    int composite = !strcmp(L->source_type, FS_IPTC_COMPOSITE);
    if (L->tool[0]) printf("                 creator tool %s\n", L->tool);
    if (L->run[0]) printf("                 run %s (tag %s)\n", L->run, L->run_tag[0] ? L->run_tag : "-");
    if (L->checkpoint[0] || L->checkpoint_checksum[0])
        printf("                 checkpoint %s (checksum %s)\n", L->checkpoint[0] ? L->checkpoint : "-",
               L->checkpoint_checksum[0] ? L->checkpoint_checksum : "-");
    if (L->identities[0]) printf("                 identities %s\n", L->identities);
    if (L->n_regions) printf("                 synthetic regions %d\n", L->n_regions);
    else printf("                 synthetic regions: %s\n", composite ? "the faces" : "the whole image");
    if (L->watermark[0]) printf("                 watermark payload (label) %s\n", L->watermark);
    if (L->version[0] && strcmp(L->version, FS_XMP_VERSION))
        printf("  warning        fsw:Version %s; this faceswarm reads version %s: fields may be missing or "
               "misread\n",
               L->version, FS_XMP_VERSION);
}

static void print_video(const finding *f) {
    const fs_labels *L = &f->L;
    const fs_wm_video *V = &f->V;
    printf("  video          %dx%d, %ld frames", V->width, V->height, V->frames);
    if (V->fps > 0) printf(" at %.3g frames/s", V->fps);
    printf(", %s\n", V->codec);
    if (L->has_container && !L->has_xmp) {
        printf("  container      digital source type %s\n", L->source_type[0] ? L->source_type : "(none)");
        print_fields(L);
    } else
        printf("  container      %s\n",
               L->has_container ? "faceswarm keys (com.faceswarm.*), as the XMP" : "no faceswarm keys");
    if (L->text_disclaimer[0]) printf("                 comment: %s\n", L->text_disclaimer);
}

static void print_mark(const finding *f) {
    const fs_wm_result *w = &f->wm;
    const char *cand = w->candidate >= 0 && w->candidate < f->C.n ? f->cand_name[w->candidate] : NULL;
    if (w->found && w->informed)
        printf("  watermark      found in %s by checking %s: statistic %.3f (>= %.2f), payload %016llx, run tag "
               "%012llx, p_false <= %.1e, contrast gain %.3f, scheme version %d\n",
               f->where, cand, w->statistic, FS_WM_CHECK_MIN, (unsigned long long)w->payload,
               (unsigned long long)w->run_tag, w->p_false, w->gain, w->version);
    else if (w->found)
        printf("  watermark      found in %s: payload %016llx, run tag %012llx, correlation %.3f, p_false <= %.1e, "
               "contrast gain %.3f, scheme version %d\n",
               f->where, (unsigned long long)w->payload, (unsigned long long)w->run_tag, w->correlation, w->p_false,
               w->gain, w->version);
    else printf("  watermark      not found (correlation %.3f)\n", w->correlation);
    if (w->found && !w->informed && cand) printf("                 the payload of %s\n", cand);
    else if (w->found && !w->informed && f->C.n)
        printf("                 not the payload of any run checked (%d)\n", f->C.n);
    else if (!w->found && cand)
        printf("                 checked %d payload(s): the best, %s, reads %.3f (needs %.2f)\n", f->C.n, cand,
               w->statistic, FS_WM_CHECK_MIN);
    if (w->found && f->orientation)
        printf("  orientation    the copy is the marked image %s\n", fs_wm_orientation_name(f->orientation));
    if (f->video)
        printf("  frames         %d of %ld examined (1 in %d, from frame 0); %d hold a mark on their own, %d of them "
               "this payload\n",
               f->V.examined, f->V.frames, f->every, f->V.frames_found, f->V.frames_agree);
}

static void print_text(const char *path, const finding *f) {
    const fs_labels *L = &f->L;
    printf("%s\n", path);
    if (L->has_xmp) {
        printf("  xmp            digital source type %s\n", L->source_type[0] ? L->source_type : "(none)");
        print_fields(L);
    } else printf("  xmp            none\n");
    if (f->video) print_video(f);
    if (L->has_text)
        printf("  text label     faceswarm:synthetic=%s%s%s\n", L->text_synthetic,
               L->text_disclaimer[0] ? "; Disclaimer: " : "", L->text_disclaimer);
    print_mark(f);
    if (f->disagree) printf("  warning        the label's watermark payload differs from the decoded one\n");
    printf("  verdict        %s\n", f->label && f->wm.found ? "faceswarm mark: label and watermark"
                                    : f->label              ? "faceswarm mark: label"
                                    : f->wm.found           ? "faceswarm mark: watermark"
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
    printf(", \"kind\": \"%s\", \"xmp\": %s", f->video ? "video" : "image", L->has_xmp ? "true" : "false");
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
    printf(", \"watermark\": {\"found\": %s, \"payload\": \"%016llx\", \"run_tag\": \"%012llx\", \"correlation\": "
           "%.4f, "
           "\"p_false\": %.3g, \"gain\": %.3f, \"where\": \"%s\", \"orientation\": \"%s\", \"version\": %d, "
           "\"informed\": %s, \"checked\": %d, \"statistic\": %.4f, \"candidate\": ",
           f->wm.found ? "true" : "false", (unsigned long long)f->wm.payload, (unsigned long long)f->wm.run_tag,
           f->wm.correlation, f->wm.p_false, f->wm.gain, f->where,
           f->wm.found ? fs_wm_orientation_name(f->orientation) : "", f->wm.found ? f->wm.version : 0,
           f->wm.informed ? "true" : "false", f->C.n, f->wm.candidate >= 0 ? f->wm.statistic : 0.0);
    json_str(f->wm.candidate >= 0 && f->wm.candidate < f->C.n ? f->cand_name[f->wm.candidate] : "");
    putchar('}');
    if (f->video) {
        const fs_wm_video *V = &f->V;
        printf(", \"container\": %s", L->has_container ? "true" : "false");
        json_field("comment", L->text_disclaimer);
        printf(", \"video\": {\"width\": %d, \"height\": %d, \"fps\": %.4g, \"codec\": ", V->width, V->height, V->fps);
        json_str(V->codec);
        printf(", \"frames\": %ld, \"every\": %d, \"examined\": %d, \"frames_found\": %d, \"frames_agree\": %d}",
               V->frames, f->every, V->examined, V->frames_found, V->frames_agree);
    }
    printf(", \"disagree\": %s, \"label\": %s, \"mark\": %s}\n", f->disagree ? "true" : "false",
           f->label ? "true" : "false", f->label || f->wm.found ? "true" : "false");
}

int cmd_detect(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},         {"every", required_argument, 0, 'k'},
                                         {"orientations", no_argument, 0, 'o'}, {"run", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int c, json = 0, every = FS_WM_VIDEO_EVERY, orientations = 0;
    runs R = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "jk:or:h", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'r') {
            if (R.n == FS_WM_MAX_CANDIDATES)
                return fprintf(stderr,
                               "error: faceswarm detect: --run given more than %d times\n  hint: check at most %d runs "
                               "in one call (each adds to the false-alarm bound)\n",
                               FS_WM_MAX_CANDIDATES, FS_WM_MAX_CANDIDATES),
                       FS_EXIT_BADINPUT;
            if (!optarg[0])
                return fprintf(stderr, "error: faceswarm detect: --run ''; expected a run directory\n  hint: the "
                                       "run's run.dir, as detect prints it under 'run'\n"),
                       FS_EXIT_BADINPUT;
            R.name[R.n++] = optarg;
        } else if (c == 'o') orientations = 1;
        else if (c == 'k') {
            fs_error pe = {0};
            if (fs_parse_int("--every", optarg, 1, 100000, &every, &pe))
                return fprintf(stderr, "error: faceswarm detect: %s\n", pe.msg), FS_EXIT_BADINPUT;
        } else if (c == 'h') return fputs(HELP, stdout), FS_EXIT_OK;
        else
            return fprintf(stderr, "error: faceswarm detect: unknown option\n  hint: faceswarm detect --help\n"),
                   FS_EXIT_BADINPUT;
    }
    if (optind >= argc)
        return fprintf(stderr, "error: faceswarm detect: no FILE given\n  hint: faceswarm detect --help\n"),
               FS_EXIT_BADINPUT;
    int marked = 0, unreadable = 0;
    finding *f = fs_malloc(sizeof *f);
    for (int i = optind; i < argc; i++) {
        fs_error e = {0};
        int rc = examine(argv[i], f, every, orientations, &R, &e);
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
