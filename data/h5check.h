/* h5check.h — the checked-call macro for HDF5 and the one process-wide lock that serialises
 * HDF5 calls (the Debian parallel build is not thread-safe, and the loader reads from its
 * prefetch threads while the trainer reads previews or writes checkpoints): any code outside
 * data/ that calls HDF5 while a loader is open must hold fs_h5_lock(). */
#ifndef FACESWARM_DATA_H5CHECK_H
#define FACESWARM_DATA_H5CHECK_H

#include <hdf5.h>

#include "trainer/common.h"

/* Silences HDF5's own error printing (once per process). */
void fs_h5_init(void);
void fs_h5_lock(void);
void fs_h5_unlock(void);

/* Fills e with "path: what (HDF5 call, HDF5's innermost reason)" and hint; returns code. */
int fs_h5_fail(fs_error *e, int code, const char *call, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* H5_CHECK(call, e, code, fmt, ...): evaluates to nonzero (and fills e) when call < 0, so
 * `if (H5_CHECK(H5Dread(...), e, FS_EXIT_FAIL, "%s: reading /faces", path)) goto fail;` */
#define H5_CHECK(x, e, code, ...) \
    ((x) < 0 ? (fs_h5_fail((e), (code), #x, __FILE__, __LINE__, __VA_ARGS__), 1) : 0)

#endif
