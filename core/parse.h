/* parse.h — checked parsing of what users type: numbers of command-line options (never atoi/atof),
 * identity names, and the edit distance behind "did you mean" hints */
#ifndef FACESWARM_CORE_PARSE_H
#define FACESWARM_CORE_PARSE_H

#include "core/error.h"
#include "core/limits.h" /* FS_IDENTITY_MAX, FS_IDENTITY_RULE */

/* ---------------------------------------------------------------- command-line numbers
 * Every subcommand parses its numeric options with these, never atoi/atof: the whole of
 * text must be one number (digits, no blanks, no unit) in [lo, hi]. Otherwise e names the
 * option, the value and the range, with a hint, and the result is FS_EXIT_BADINPUT. */
int fs_parse_long(const char *opt, const char *text, long lo, long hi, long *out, fs_error *e);
int fs_parse_int(const char *opt, const char *text, int lo, int hi, int *out, fs_error *e);
int fs_parse_double(const char *opt, const char *text, double lo, double hi, double *out, fs_error *e);

/* ---------------------------------------------------------------- strings */
/* Levenshtein distance, for "did you mean" hints. */
int fs_edit_distance(const char *a, const char *b);
/* The one rule for identity names (model.identities, `data import --identity`, the identity
 * of a dataset file): they become file names (<name>.h5), HDF5 attributes and metric keys. */
int fs_identity_ok(const char *name);

#endif
