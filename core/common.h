/* common.h — what every part of faceswarm shares (the library fs_core, folder core/): errors
 * with a hint, checked allocation and file calls, levelled logging with a rank prefix, a
 * counter-based RNG, checksums, atomic file writes, a monotonic clock, checked parsing of
 * command-line numbers and the limits every folder agrees on. Each part has its own header;
 * this one includes them all. core/json.h (the JSON writer) and core/bench.h (the benchmark
 * harness) are included where they are used.
 *
 * Conventions (STYLE.md):
 *  - library-like code (comms, coordinator, data readers, config) returns an int status
 *    (0 = ok) and fills an fs_error so that its caller can clean up and report;
 *  - leaf code in the training path may call fs_die();
 *  - every message names the file/key/field, the value, what was expected and a hint. */
#ifndef FACESWARM_COMMON_H
#define FACESWARM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/checksum.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/file.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/rng.h"

#define FS_VERSION "0.1.0"

/* Git commit baked in at configure time ("unknown" outside a checkout). */
const char *fs_git_commit(void);

#define FS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FS_MAX(a, b) ((a) > (b) ? (a) : (b))
#define FS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
