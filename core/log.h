/* log.h — levelled logging with a rank prefix, fs_die, the source location of errors
 * (fs_where) and progress lines */
#ifndef FACESWARM_CORE_LOG_H
#define FACESWARM_CORE_LOG_H

#include <stddef.h>
#include <stdio.h>

typedef enum { FS_LOG_DEBUG = 0, FS_LOG_INFO, FS_LOG_WARN, FS_LOG_ERROR } fs_log_level;
void fs_log_set_rank(int rank, int world); /* errors gain "[rank N host]" when world > 1 */
void fs_log_set_level(fs_log_level lvl);
fs_log_level fs_log_get_level(void);
/* "debug" | "info" | "warning" (or "warn") | "error" -> its level; -1 for anything else. */
int fs_log_parse_level(const char *s);
/* The level from FACESWARM_LOG when set (debug also prints the source location of errors,
 * which users never see otherwise); -1 after saying why for an unknown value. */
int fs_log_init_from_env(void);
void fs_log(fs_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define fs_info(...) fs_log(FS_LOG_INFO, __VA_ARGS__)
#define fs_warn(...) fs_log(FS_LOG_WARN, __VA_ARGS__)
#define fs_debug(...) fs_log(FS_LOG_DEBUG, __VA_ARGS__)
/* " (file:line)" at debug level, "" otherwise: where an error was raised, for the messages
 * users see (which show no source paths unless asked with -v / FACESWARM_LOG=debug). */
void fs_where(char *out, size_t len, const char *file, int line);
/* Prints the message (with rank prefix) to stderr and exits with code. */
_Noreturn void fs_die_at(const char *file, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define fs_die(code, ...) fs_die_at(__FILE__, __LINE__, code, __VA_ARGS__)
const char *fs_hostname(void);
/* A progress line: on a terminal (in_place) it is redrawn in place ("\r", erase, text, no
 * newline); elsewhere each call is a line of its own. fs_log and fs_die first end an open
 * progress line, so that no message lands on it; fs_progress_end ends it for other output. */
void fs_progress(FILE *f, int in_place, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fs_progress_end(void);

#endif
