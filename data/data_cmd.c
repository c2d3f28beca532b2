/* data_cmd.c — `faceswarm data synth|import|inspect|verify|consent`. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/import.h"
#include "data/synth.h"
#include "data/cli.h"
#include "core/limits.h"

#define SYNTH_DEFAULT_COUNT 2000

static int bad_usage(const char *sub, const char *what) {
    fprintf(stderr, "error: faceswarm data %s: %s\n  hint: faceswarm data %s --help\n", sub, what, sub);
    return FS_EXIT_BADINPUT;
}

static int report(const fs_error *e) {
    fs_log(FS_LOG_ERROR, "%s", e->msg); /* through the log: it ends an open progress line first */
    return e->code ? e->code : FS_EXIT_FAIL;
}

/* Parses an integer option into [lo, hi] or says which option is wrong. */
static int parse_long(const char *sub, const char *opt, const char *text, long lo, long hi, long *out) {
    fs_error e = {0};
    char name[64];
    snprintf(name, sizeof name, "--%s", opt);
    int rc = fs_parse_long(name, text, lo, hi, out, &e);
    if (rc) fprintf(stderr, "error: faceswarm data %s: %s\n", sub, e.msg);
    return rc;
}

/* ---------------------------------------------------------------- synth */
static const char SYNTH_HELP[] =
    "usage: faceswarm data synth --out DIR [--identities N] [--count C] [--size S] [--seed K]\n"
    "  Draws N synthetic identities (A, B, ...) of C faces of S px into DIR/<identity>.h5.\n"
    "  Defaults: --identities 2 --count 2000 --size 64 --seed 1 (about 1 s per identity on one core).\n"
    "  Files are labelled synthetic=\"true\", consent \"synthetic: no real person\", and hold each\n"
    "  face's face-region mask (/masks: skin and hair 255, background 0) for train.mask_loss.\n";

static int cmd_synth(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"identities", required_argument, 0, 'n'},
                                         {"count", required_argument, 0, 'c'},
                                         {"size", required_argument, 0, 's'},
                                         {"seed", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL;
    long n = 2, count = SYNTH_DEFAULT_COUNT, size = 64, seed = 1;
    int c, rc = 0;
    optind = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "o:n:c:s:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'n': rc = parse_long("synth", "identities", optarg, 1, FS_MAX_IDENTITIES, &n); break;
        case 'c': rc = parse_long("synth", "count", optarg, 1, 10000000, &count); break;
        case 's': rc = parse_long("synth", "size", optarg, 16, 1024, &size); break;
        case 'k': rc = parse_long("synth", "seed", optarg, 0, 0x7fffffffffffffffL, &seed); break;
        case 'h': fputs(SYNTH_HELP, stdout); return FS_EXIT_OK;
        default: return bad_usage("synth", "unknown option");
        }
    }
    if (rc) return rc;
    if (!out) return bad_usage("synth", "--out DIR is required");
    if (optind < argc) return bad_usage("synth", "unexpected argument");
    fs_error e = {0};
    double t0 = fs_now();
    if (fs_synth_write(out, (int)n, count, (int)size, (uint64_t)seed, &e)) return report(&e);
    fs_info("synth: %ld identities x %ld faces in %.2f s", n, count, fs_now() - t0);
    return FS_EXIT_OK;
}

/* ---------------------------------------------------------------- import */
static const char IMPORT_HELP[] =
    "usage: faceswarm data import --identity NAME --consent REF --source TEXT [--size S] [--strict]\n"
    "                             -o FILE.h5 PATH...\n"
    "  Reads aligned faces (PNG, JPEG; files, or directories searched recursively in name order),\n"
    "  resizes them to S px (default 64) and writes schema v2. Unreadable or non-face-sized images\n"
    "  (not square, or under 16 px) are listed and skipped, or fail the import with --strict;\n"
    "  so are truncated files and images over 16384 px a side or 64 Mpixel. JPEGs with other\n"
    "  damage are imported with a warning (--strict: refused). 16-bit PNGs, palettes, CMYK JPEGs\n"
    "  and EXIF orientation are handled; transparency is composited onto black (one warning).\n"
    "  NAME: 1 to 63 letters, digits, '_' or '-', not starting with '-'.\n"
    "  FILE.h5 appears only when the import is whole. Details: docs/data.md, \"Image import\".\n";

static int cmd_import(int argc, char **argv) {
    static const struct option opts[] = {{"identity", required_argument, 0, 'i'},
                                         {"consent", required_argument, 0, 'c'},
                                         {"source", required_argument, 0, 'S'},
                                         {"size", required_argument, 0, 's'},
                                         {"strict", no_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    fs_import_opts o = {.size = 64, .progress = isatty(2)};
    long size = 64;
    int c, rc = 0;
    optind = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "i:c:S:s:to:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': o.identity = optarg; break;
        case 'c': o.consent = optarg; break;
        case 'S': o.source = optarg; break;
        case 's': rc = parse_long("import", "size", optarg, 16, 1024, &size); break;
        case 't': o.strict = 1; break;
        case 'o': o.out = optarg; break;
        case 'h': fputs(IMPORT_HELP, stdout); return FS_EXIT_OK;
        default: return bad_usage("import", "unknown option");
        }
    }
    if (rc) return rc;
    if (!o.identity || !o.identity[0] || !o.consent || !o.consent[0] || !o.source || !o.source[0])
        return bad_usage("import", "--identity, --consent and --source are required (the schema records them)");
    if (!o.out) return bad_usage("import", "-o FILE.h5 is required");
    if (optind >= argc) return bad_usage("import", "no input PATH given");
    o.size = (int)size;
    o.inputs = (const char *const *)(argv + optind);
    o.n_inputs = argc - optind;
    fs_error e = {0};
    long done = 0, skipped = 0;
    if (fs_check_out_file("-o", o.out, &e) || fs_import(&o, &done, &skipped, &e)) return report(&e);
    fs_info("import: wrote %s: %ld faces of %d px, identity %s; %ld skipped", o.out, done, o.size, o.identity, skipped);
    return FS_EXIT_OK;
}

/* ---------------------------------------------------------------- inspect / verify */
static const char INSPECT_HELP[] =
    "usage: faceswarm data inspect|verify|consent [--dataset PATH --layout nhwc|nchw --dtype uint8|float32] FILE.h5\n"
    "  inspect prints count, size, identity, consent, source, masks, checksums, chunking and\n"
    "  compression (the attribute checksum is checked when the file is opened);\n"
    "  verify also reads every face (and mask, and landmark row) and checks each against its\n"
    "  checksum, checks /masks and /landmarks, and reads back every sealed extra dataset\n"
    "  (extract's /frames, /sources, /noface);\n"
    "  consent prints the consent record (identity, consent, source, synthetic) and exits 0 only\n"
    "  when it is complete and covered by the file's checksum (2 otherwise).\n"
    "  A file with a format attribute is checked as a faceswarm file; one without is read as a\n"
    "  foreign file through the mapping (defaults /faces nhwc uint8). Files of schema v1 (older\n"
    "  faceswarm) have no checksums: they are read with a notice.\n";

/* Shared option parsing: a mapping (any of the three options) reads a foreign file. */
static int parse_file_args(const char *sub, int argc, char **argv, fs_faces_map *map, int *mapped, const char **path) {
    static const struct option opts[] = {{"dataset", required_argument, 0, 'd'},
                                         {"layout", required_argument, 0, 'l'},
                                         {"dtype", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "d:l:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': map->dataset = optarg, *mapped = 1; break;
        case 'l': map->layout = optarg, *mapped = 1; break;
        case 't': map->dtype = optarg, *mapped = 1; break;
        case 'h': fputs(INSPECT_HELP, stdout); return -1;
        default: return bad_usage(sub, "unknown option");
        }
    }
    if (optind != argc - 1) return bad_usage(sub, "expected exactly one FILE.h5");
    *path = argv[optind];
    return 0;
}

static int open_for(const char *sub, int argc, char **argv, fs_faces **f) {
    fs_faces_map map = {0};
    int mapped = 0;
    const char *path = NULL;
    int rc = parse_file_args(sub, argc, argv, &map, &mapped, &path);
    if (rc) return rc < 0 ? -1 : rc;
    fs_error e = {0};
    if (fs_faces_open(f, path, mapped ? &map : NULL, &e)) return report(&e);
    if (fs_faces_notice(*f)) fprintf(stderr, "notice: %s: %s\n", path, fs_faces_notice(*f));
    return 0;
}

static int cmd_inspect(int argc, char **argv) {
    fs_faces *f;
    int rc = open_for("inspect", argc, argv, &f);
    if (rc) return rc < 0 ? FS_EXIT_OK : rc;
    char chunking[128], filters[256];
    fs_faces_storage(f, chunking, sizeof chunking, filters, sizeof filters);
    const char *fmt = fs_faces_attr(f, "format");
    printf("file         %s\n", fs_faces_path(f));
    if (fmt[0]) printf("format       %s version %s\n", fmt, fs_faces_attr(f, "version"));
    else printf("format       foreign (read through the dataset/layout/dtype mapping)\n");
    printf("identity     %s\n", fs_faces_attr(f, "identity"));
    printf("consent      %s\n", fs_faces_attr(f, "consent"));
    printf("source       %s\n", fs_faces_attr(f, "source"));
    printf("synthetic    %s\n", fs_faces_attr(f, "synthetic")[0] ? fs_faces_attr(f, "synthetic") : "false");
    printf("count        %ld\n", fs_faces_count(f));
    printf("masks        %s\n", fs_faces_has_masks(f) ? "yes (/masks uint8 [N,S,S])" : "no");
    printf("checksums    %s\n", fs_faces_has_checksums(f) ? "yes (attributes verified; verify checks every face)"
                                                          : "none (damage cannot be detected)");
    printf("size         %d px\n", fs_faces_size(f));
    printf("chunking     %s\n", chunking);
    printf("compression  %s\n", filters);
    fs_faces_close(f);
    return FS_EXIT_OK;
}

static int cmd_verify(int argc, char **argv) {
    fs_faces *f;
    int rc = open_for("verify", argc, argv, &f);
    if (rc) return rc < 0 ? FS_EXIT_OK : rc;
    enum { BLOCK = 256 };
    const long n = fs_faces_count(f);
    const int S = fs_faces_size(f);
    uint8_t *buf = fs_malloc((size_t)BLOCK * S * S * 3);
    fs_error e = {0};
    double t0 = fs_now();
    for (long k = 0; k < n && rc == 0; k += BLOCK) rc = fs_faces_read(f, k, FS_MIN((long)BLOCK, n - k), buf, &e);
    for (long k = 0; k < n && rc == 0 && fs_faces_has_masks(f); k += BLOCK)
        rc = fs_faces_read_masks(f, k, FS_MIN((long)BLOCK, n - k), buf, &e);
    if (rc == 0) rc = fs_faces_check_extras(f, &e);
    free(buf);
    if (rc == 0)
        printf("verify: %s ok: %ld faces of %d px%s read in %.2f s, schema %s%s%s\n", fs_faces_path(f), n, S,
               fs_faces_has_masks(f) ? " and their masks" : "", fs_now() - t0,
               fs_faces_is_schema(fs_faces_attr(f, "format")) ? "v" : "foreign (mapped)",
               fs_faces_is_schema(fs_faces_attr(f, "format")) ? fs_faces_attr(f, "version") : "",
               fs_faces_has_checksums(f) ? ", every checksum matches" : ", no checksums to check");
    fs_faces_close(f);
    return rc ? report(&e) : FS_EXIT_OK;
}

/* The consent record: identity, consent, source (and synthetic), complete and covered by
 * the attribute checksum (schema v2) — what training requires (data.require_consent). */
static int cmd_consent(int argc, char **argv) {
    fs_faces *f;
    int rc = open_for("consent", argc, argv, &f);
    if (rc) return rc < 0 ? FS_EXIT_OK : rc;
    const char *names[] = {"identity", "consent", "source"};
    int missing = 0;
    printf("file       %s\n", fs_faces_path(f));
    for (int i = 0; i < 3; i++) {
        const char *v = fs_faces_attr(f, names[i]);
        printf("%-10s %s\n", names[i], v[0] ? v : "(not recorded)");
        missing += !v[0];
    }
    printf("synthetic  %s\n", fs_faces_attr(f, "synthetic")[0] ? fs_faces_attr(f, "synthetic") : "false");
    int sealed = fs_faces_has_checksums(f);
    printf("checksum   %s\n", sealed ? "covers the record (verified)" : "none: the record could have been changed");
    fs_error e = {0};
    if (missing)
        rc = fs_errorf(&e, FS_EXIT_BADINPUT,
                       "%s: the consent record is incomplete (%d of identity, consent, source "
                       "not recorded)\n  hint: re-import with faceswarm data import --identity NAME --consent REF "
                       "--source TEXT; training refuses it unless data.require_consent: false",
                       fs_faces_path(f), missing);
    else if (!sealed)
        rc = fs_errorf(&e, FS_EXIT_BADINPUT,
                       "%s: the consent record is not covered by a checksum (%s)\n  hint: "
                       "re-create the file with this faceswarm (data import / data synth) to seal it",
                       fs_faces_path(f), fs_faces_is_schema(fs_faces_attr(f, "format")) ? "schema v1" : "foreign file");
    fs_faces_close(f);
    if (!rc) printf("consent record complete and verified\n");
    return rc ? report(&e) : FS_EXIT_OK;
}

/* ---------------------------------------------------------------- dispatch */
int cmd_data(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*fn)(int, char **);
        const char *help;
    } subs[] = {
        {"synth", cmd_synth, "draw synthetic identities into DIR/<identity>.h5"},
        {"import", cmd_import, "import aligned PNG/JPEG faces into a schema v2 file"},
        {"inspect", cmd_inspect, "print a face file's count, size, attributes and storage"},
        {"verify", cmd_verify, "read every face and check the schema and every checksum"},
        {"consent", cmd_consent, "print and check a face file's consent record"},
    };
    const char *sub = argc > 1 ? argv[1] : "";
    for (size_t i = 0; i < FS_ARRAY_LEN(subs); i++)
        if (!strcmp(sub, subs[i].name)) return subs[i].fn(argc - 1, argv + 1);
    int help = !strcmp(sub, "--help") || !strcmp(sub, "-h");
    FILE *out = help ? stdout : stderr;
    if (!help)
        fprintf(stderr, "error: faceswarm data: %s '%s'\n", sub[0] ? "unknown subcommand" : "missing subcommand", sub);
    fprintf(out, "usage: faceswarm data <subcommand> [options]\n");
    for (size_t i = 0; i < FS_ARRAY_LEN(subs); i++) fprintf(out, "  %-8s %s\n", subs[i].name, subs[i].help);
    return help ? FS_EXIT_OK : FS_EXIT_BADINPUT;
}
