/* keys.c — `faceswarm keys --out FILE`: CURVE keys for a job's coordinator. */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "comms/coord_keys.h"
#include "comms/cli.h"

#define Z85_CHARS "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

static const char *key_names[4] = {"server_public", "server_secret", "client_public", "client_secret"};

static char *key_slot(fs_coord_keys *k, int i) {
    char *slots[4] = {k->server_public, k->server_secret, k->client_public, k->client_secret};
    return slots[i];
}

int fs_coord_keys_generate(const char *path, fs_error *e) {
    fs_coord_keys k;
    if (zmq_curve_keypair(k.server_public, k.server_secret) || zmq_curve_keypair(k.client_public, k.client_secret))
        return fs_errorf(e, FS_EXIT_FAIL,
                         "zmq_curve_keypair failed: %s\n  hint: libzmq must be built with libsodium (CURVE)",
                         zmq_strerror(zmq_errno()));
    char text[512];
    int n = snprintf(text, sizeof text,
                     "# faceswarm coordinator CURVE keys: the job's shared secret, keep mode 0600\n"
                     "%s = %s\n%s = %s\n%s = %s\n%s = %s\n",
                     key_names[0], k.server_public, key_names[1], k.server_secret, key_names[2], k.client_public,
                     key_names[3], k.client_secret);
    char tmp[4200];
    fs_tmp_path(path, tmp, sizeof tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { /* a directory that is missing or not writable is the caller's input */
        int err = errno;
        char dir[4200];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        int bad = err == ENOENT || err == ENOTDIR || err == EACCES || err == EROFS;
        return fs_errorf(e, bad ? FS_EXIT_BADINPUT : FS_EXIT_FAIL,
                         "%s: cannot create the key file: %s\n  hint: the directory %s must exist and be writable "
                         "(mkdir -p %s)",
                         path, strerror(err), slash ? dir : ".", slash ? dir : ".");
    }
    int bad = write(fd, text, (size_t)n) != n;
    bad |= close(fd) != 0;
    if (bad) {
        unlink(tmp);
        return fs_errorf(e, FS_EXIT_FAIL, "%s: write failed: %s\n  hint: check free space", tmp, strerror(errno));
    }
    return fs_commit_file(tmp, path, e);
}

static int parse_key_line(const char *path, int lineno, char *line, fs_coord_keys *k, int *seen, fs_error *e) {
    char name[64], val[128];
    if (line[0] == '#' || line[strspn(line, " \t\r\n")] == 0) return 0;
    int end = 0;
    if (sscanf(line, " %63[a-z_] = %127s%n", name, val, &end) != 2 || line[end + (int)strspn(line + end, " \t\r")] != 0)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s:%d: expected 'name = key'\n  hint: regenerate with 'faceswarm keys --out %s'", path,
                         lineno, path);
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, key_names[i])) continue;
        uint8_t bin[32];
        if (strlen(val) != 40)
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s:%d: %s has %zu characters; expected a 40-character Z85 key\n  hint: regenerate with "
                             "'faceswarm keys'",
                             path, lineno, name, strlen(val));
        if (strspn(val, Z85_CHARS) != 40 || !zmq_z85_decode(bin, val))
            return fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s:%d: %s is not a Z85 key (characters outside the Z85 alphabet, or a group over 2^32)\n"
                             "  hint: regenerate with 'faceswarm keys --out %s'",
                             path, lineno, name, path);
        memcpy(key_slot(k, i), val, 41);
        *seen |= 1 << i;
        return 0;
    }
    return fs_errorf(e, FS_EXIT_BADINPUT,
                     "%s:%d: unknown key name '%s'; expected one of server_public, server_secret, client_public, "
                     "client_secret",
                     path, lineno, name);
}

int fs_coord_keys_parse(const char *path, char *text, fs_coord_keys *k, fs_error *e) {
    memset(k, 0, sizeof *k);
    int seen = 0, lineno = 0, rc = 0;
    /* Lines counted as in the file: strtok_r would skip empty lines and misnumber the rest. */
    for (char *line = text, *nl; line && !rc; line = nl ? nl + 1 : NULL) {
        if ((nl = strchr(line, '\n'))) *nl = 0;
        rc = parse_key_line(path, ++lineno, line, k, &seen, e);
    }
    if (!rc && seen != 15)
        rc = fs_errorf(e, FS_EXIT_BADINPUT,
                       "%s: missing keys (found mask %x of f)\n  hint: regenerate with 'faceswarm keys --out %s'", path,
                       (unsigned)seen, path);
    return rc;
}

int fs_coord_keys_load(const char *path, fs_coord_keys *k, fs_error *e) {
    struct stat st;
    memset(k, 0, sizeof *k);
    if (stat(path, &st))
        return fs_errorf(e, FS_EXIT_BADINPUT, "%s: %s\n  hint: create it with 'faceswarm keys --out %s'", path,
                         strerror(errno), path);
    if (st.st_mode & 077)
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: mode %03o lets others read the job's secret; expected 0600\n  hint: chmod 600 %s", path,
                         (unsigned)(st.st_mode & 0777), path);
    size_t len;
    char *text = fs_read_file(path, &len, e);
    if (!text) return -1;
    int rc = strlen(text) != len
                 ? fs_errorf(e, FS_EXIT_BADINPUT,
                             "%s: has a NUL byte; not a key file\n  hint: regenerate with 'faceswarm keys --out %s'",
                             path, path)
                 : fs_coord_keys_parse(path, text, k, e);
    free(text);
    return rc;
}

int cmd_keys(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'h') {
            printf("usage: faceswarm keys --out FILE\n  writes the coordinator's CURVE keys (server and client "
                   "keypairs), mode 0600;\n"
                   "  pass the file as --keys to 'faceswarm coordinator' and to the ranks (coordinator.keys)\n");
            return FS_EXIT_OK;
        } else return FS_EXIT_BADINPUT;
    }
    if (!out) {
        fprintf(stderr, "error: faceswarm keys: --out FILE is required\n  hint: faceswarm keys --out run/coord.keys\n");
        return FS_EXIT_BADINPUT;
    }
    fs_error e = {0};
    if (fs_coord_keys_generate(out, &e)) {
        fprintf(stderr, "error: %s\n", e.msg);
        return e.code ? e.code : FS_EXIT_FAIL;
    }
    printf("wrote CURVE keys to %s (mode 0600)\n", out);
    return FS_EXIT_OK;
}
