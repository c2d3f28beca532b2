/* parse.c — see core/parse.h. */
#include "core/parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h" /* FS_MIN */

/* ---------------------------------------------------------------- command-line numbers */
static int bad_number(const char *opt, const char *text, const char *kind, double lo, double hi, fs_error *e) {
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s '%s' is not %s from %.15g to %.15g\n"
                     "  hint: write it in digits, e.g. %s %.15g",
                     opt, text, kind, lo, hi, opt, lo > 1 ? lo : (hi < 1 ? hi : 1));
}

/* strtol and strtod skip leading blanks and stop at the first stranger: both are refused. */
static int number_starts(const char *text) {
    return text[0] && !(text[0] == ' ' || (text[0] >= '\t' && text[0] <= '\r'));
}

int fs_parse_long(const char *opt, const char *text, long lo, long hi, long *out, fs_error *e) {
    char *end;
    errno = 0;
    long v = number_starts(text) ? strtol(text, &end, 10) : 0;
    if (!number_starts(text) || *end || errno || v < lo || v > hi)
        return bad_number(opt, text, "an integer", (double)lo, (double)hi, e);
    *out = v;
    return 0;
}

int fs_parse_int(const char *opt, const char *text, int lo, int hi, int *out, fs_error *e) {
    long v;
    int rc = fs_parse_long(opt, text, lo, hi, &v, e);
    if (!rc) *out = (int)v;
    return rc;
}

int fs_parse_double(const char *opt, const char *text, double lo, double hi, double *out, fs_error *e) {
    char *end;
    errno = 0;
    double v = number_starts(text) ? strtod(text, &end) : 0;
    /* !(in range) also refuses nan; hi bounds inf */
    if (!number_starts(text) || *end || errno == ERANGE || !(v >= lo && v <= hi))
        return bad_number(opt, text, "a number", lo, hi, e);
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------- strings */
int fs_edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 128 || lb > 128) return 1000;
    int prev[129], cur[129];
    for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = FS_MIN(sub, FS_MIN(del, ins));
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

int fs_identity_ok(const char *name) {
    size_t len = strlen(name);
    if (len == 0 || len > FS_IDENTITY_MAX || name[0] == '-') return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-'))
            return 0;
    }
    return 1;
}
