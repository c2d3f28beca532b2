/* h5check.c — see h5check.h. */
#include "data/h5check.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>

static pthread_mutex_t g_h5_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_h5_once = PTHREAD_ONCE_INIT;

static void h5_init_once(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
void fs_h5_init(void) { pthread_once(&g_h5_once, h5_init_once); }
void fs_h5_lock(void) {
    fs_h5_init();
    pthread_mutex_lock(&g_h5_mutex);
}
void fs_h5_unlock(void) { pthread_mutex_unlock(&g_h5_mutex); }

/* The innermost (first pushed) entry of HDF5's error stack says what actually went wrong. */
static herr_t first_error(unsigned n, const H5E_error2_t *err, void *data) {
    char *out = data;
    if (n == 0 && err->desc) snprintf(out, 256, "%s", err->desc);
    return 0;
}

int fs_h5_fail(fs_error *e, int code, const char *call, const char *file, int line, const char *fmt, ...) {
    char what[1024], why[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, why);
    H5Eclear2(H5E_DEFAULT);
    const char *call_name = strchr(call, '(') ? call : "HDF5 call";
    int len = (int)(strchr(call_name, '(') ? strchr(call_name, '(') - call_name : (long)strlen(call_name));
    return fs_errorf(e, code, "%s (%.*s failed at %s:%d: %s)\n  hint: check that the file is a whole, readable HDF5 file",
                     what, len, call_name, file, line, why[0] ? why : "no detail from HDF5");
}
