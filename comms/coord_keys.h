/* coord_keys.h — the job's CURVE key file (written by `faceswarm keys --out FILE`).
 *
 * The file is the job's shared secret (mode 0600): it holds the daemon's keypair and one
 * client keypair shared by every rank. The daemon loads the server secret and admits only
 * the client public key; clients load the server public key and the client keypair. */
#ifndef FACESWARM_COORD_KEYS_H
#define FACESWARM_COORD_KEYS_H

#include "core/common.h"

typedef struct fs_coord_keys {
    char server_public[41], server_secret[41]; /* Z85, 40 characters */
    char client_public[41], client_secret[41];
} fs_coord_keys;

/* Generates both keypairs (zmq_curve_keypair) and writes them to path, mode 0600. */
int fs_coord_keys_generate(const char *path, fs_error *e);
/* Loads and checks a key file: every key present, 40 Z85 characters, file not readable by
 * group or others. */
int fs_coord_keys_load(const char *path, fs_coord_keys *k, fs_error *e);
/* The parser of fs_coord_keys_load, on the text of a file named path (NUL-terminated, changed
 * in place): every key once or more, each 40 Z85 characters that decode. For the fuzz target too. */
int fs_coord_keys_parse(const char *path, char *text, fs_coord_keys *k, fs_error *e);

#endif
