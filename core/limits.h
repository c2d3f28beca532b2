/* limits.h — the sizes every folder agrees on: identity names, how many identities a model
 * and a loader take, and path buffers. */
#ifndef FACESWARM_CORE_LIMITS_H
#define FACESWARM_CORE_LIMITS_H

/* The one rule for identity names (fs_identity_ok, core/parse.h). */
#define FS_IDENTITY_MAX 63
#define FS_IDENTITY_RULE "1 to 63 letters, digits, '_' or '-', not starting with '-'"

#define FS_MAX_IDENTITIES 16              /* identities of a model (one decoder each), of a loader */
#define FS_NAME_LEN (FS_IDENTITY_MAX + 1) /* an identity name and its NUL */
#define FS_PATH_LEN 1024                  /* path buffers of configs, datasets, outputs */

#endif
