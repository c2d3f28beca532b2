/* bench.h — the one output harness of every `faceswarm bench` (nccl-tests' util.h shape).
 *
 * A benchmark opens it with its name and command line, states header facts (world size,
 * devices, settings), declares a column table (key, heading, unit, width, decimals), adds
 * rows, counts what it found wrong, and ends it: the `wrong` count becomes the exit status.
 *
 * Table mode (default): '#' lines only before and after the rows —
 *   # faceswarm 0.1.0 (commit abc1234) bench NAME
 *   # command: faceswarm bench NAME --opts ...
 *   # key: value            (one per fact, in the order given; notes as "# text")
 *   # heading heading ...   (column headings, fixed width)
 *   # (unit)  (unit)  ...   (the units row)
 *     value   value   ...   (rows, indented two spaces so that they line up under "# ")
 *   # key: value            (summary facts)
 *   # wrong N (what wrong counts)
 * JSON mode (--json): every line of stdout is one JSON object with a "kind" and a "bench":
 *   header  (first line) version, commit, command and every header fact; "notes": [...]
 *   table   a column table begins: "table" (its name), "columns": [{"key","unit"}...]
 *   row     "table" and one key per column (absent cells are null; no nested objects)
 *   note    "text": a remark made after the header (e.g. a path that was not run)
 *   summary (last line) every summary fact and "wrong"
 * No key means two things: "kind" is the line's kind, "table" the table's name; a column
 * may not be called kind, bench or table. docs/bench.md is the reference.
 *
 * Only the printing rank prints (fs_bench.quiet = rank != 0); every call is still safe
 * on the others. */
#ifndef FACESWARM_BENCH_H
#define FACESWARM_BENCH_H

#include <stddef.h>

typedef enum { FS_COL_INT, FS_COL_NUM, FS_COL_STR } fs_col_type;

typedef struct fs_bench_col {
    const char *key;  /* JSON key; the heading too unless head is set */
    const char *head; /* table heading (NULL: key) */
    const char *unit; /* units row, printed in parentheses (NULL or "": none) */
    int width;        /* table width; negative: left-aligned */
    fs_col_type type;
    int prec;  /* FS_COL_NUM: decimals in the table */
    int jprec; /* FS_COL_NUM: decimals in JSON */
    int pct;   /* FS_COL_NUM: the table shows 100 x value and '%'; JSON the fraction */
} fs_bench_col;

/* Column table rows: a string, an integer, a number (decimals in the table and in JSON),
 * a fraction shown as a percentage in the table. head and unit may be NULL. */
#define FS_COL_S(k, h, u, w)                                                                                           \
    { .key = k, .head = h, .unit = u, .width = w, .type = FS_COL_STR }
#define FS_COL_I(k, h, u, w)                                                                                           \
    { .key = k, .head = h, .unit = u, .width = w, .type = FS_COL_INT }
#define FS_COL_N(k, h, u, w, p, jp)                                                                                    \
    { .key = k, .head = h, .unit = u, .width = w, .type = FS_COL_NUM, .prec = p, .jprec = jp }
#define FS_COL_P(k, h, w, p, jp)                                                                                       \
    { .key = k, .head = h, .unit = "%", .width = w, .type = FS_COL_NUM, .prec = p, .jprec = jp, .pct = 1 }

/* One cell; build it with FS_INT / FS_NUM / FS_STR / FS_NONE (printed "-" and null). */
typedef struct fs_bench_val {
    int set;
    fs_col_type type;
    long long i;
    double d;
    const char *s;
} fs_bench_val;
#define FS_INT(x) ((fs_bench_val){.set = 1, .type = FS_COL_INT, .i = (long long)(x)})
#define FS_NUM(x) ((fs_bench_val){.set = 1, .type = FS_COL_NUM, .d = (double)(x)})
#define FS_STR(x) ((fs_bench_val){.set = 1, .type = FS_COL_STR, .s = (x)})
#define FS_NONE ((fs_bench_val){.set = 0})

typedef struct fs_bench {
    const char *name; /* "kernels" */
    int json;         /* JSON lines instead of the table */
    int quiet;        /* 1: print nothing (ranks other than 0) */
    long long wrong;  /* results found wrong; fs_bench_end turns it into the exit status */
    char *command;    /* "faceswarm bench NAME ARGS..." */
    int phase;        /* 0 header, 1 rows, 2 done */
    char *hdr;        /* JSON mode: header facts, buffered until the first table */
    size_t hdr_len;
    char *notes, *sum; /* JSON mode: header notes; summary facts */
    size_t notes_len, sum_len;
    const fs_bench_col *cols;
    int n_cols;
    const char *table;
} fs_bench;

/* Starts the harness; argv[0] is the bench's name (argv as the subcommand got it, before
 * getopt permutes it). Set json and quiet before anything is printed. */
void fs_bench_init(fs_bench *b, const char *name, int argc, char *const *argv);
/* Facts: in the header before the first table, in the summary after it. A key the harness
 * prints itself (kind, bench, table, version, commit, command, notes, wrong) is a bug (fs_die). */
void fs_bench_fact_str(fs_bench *b, const char *key, const char *value);
void fs_bench_fact_int(fs_bench *b, const char *key, long long value);
/* A number: "# key: value unit" in the table (unit may be NULL); key: value in JSON. */
void fs_bench_fact_num(fs_bench *b, const char *key, double value, int prec, const char *unit);
/* A remark: "# text" in the table; the header's "notes" or a "note" line in JSON. */
void fs_bench_note(fs_bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Begins a column table named table (emits the header first, once): headings and the units
 * row, or a "table" line. cols must outlive the rows. */
void fs_bench_columns(fs_bench *b, const char *table, const fs_bench_col *cols, int n_cols);
/* One row: n_cols cells in column order; a cell of the wrong type is a bug (fs_die). */
void fs_bench_row(fs_bench *b, const fs_bench_val *vals);
/* The stage table of a pipeline benchmark (bench extract, bench convert): a table "stages"
 * with one row a stage: its name, seconds, ms per frame (0 when frames is 0) and its share
 * of the stages' sum (0 when that is 0). */
void fs_bench_stages(fs_bench *b, const char *const *names, const double *seconds, int n, long frames);
/* Adds n to the wrong count. */
void fs_bench_wrong(fs_bench *b, long long n);
/* Prints the summary ("# wrong N (what)" / the summary line), frees, and returns
 * FS_EXIT_FAIL when anything was wrong, FS_EXIT_OK otherwise. */
int fs_bench_end(fs_bench *b, const char *what);
/* Frees without printing a summary: the bench failed (its error is on stderr). */
void fs_bench_free(fs_bench *b);

#endif
