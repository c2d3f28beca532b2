/* status.c — `faceswarm status`: asks the coordinator for the job's state (ranks, host,
 * step, images/s, last checkpoint, warnings), or reads the snapshot it rewrites every second
 * in <run>/coordinator/ when it is unreachable. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "comms/coord_keys.h"
#include "comms/protocol.h"
#include "comms/cli.h"

typedef struct status_opts {
    const char *address, *run, *keys;
    int json;
    double timeout_s;
} status_opts;

static int set_curve(void *s, const char *keyfile, fs_error *e) {
    fs_coord_keys k;
    if (fs_coord_keys_load(keyfile, &k, e)) return -1;
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, k.server_public, 40) ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, k.client_public, 40) ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k.client_secret, 40))
        return fs_errorf(e, FS_EXIT_FAIL, "cannot use the CURVE keys of %s: %s", keyfile, zmq_strerror(zmq_errno()));
    return 0;
}

/* One request, one reply within timeout_s; prints the reply. */
static int query(void *s, const char *address, const status_opts *o, fs_error *e) {
    uint8_t req[64];
    char why[256];
    fs_msg m = {.type = FS_MSG_STATUS_REQ, .rank = FS_PROTO_NO_RANK};
    m.u.sreq.json = (uint8_t)o->json;
    long n = fs_proto_encode(&m, req, sizeof req, why, sizeof why);
    if (n < 0 || zmq_connect(s, address) || zmq_send(s, req, (size_t)n, ZMQ_DONTWAIT) < 0)
        return fs_errorf(e, FS_EXIT_BADINPUT, "coordinator '%s': %s\n  hint: expected tcp://HOST:PORT", address,
                         n < 0 ? why : zmq_strerror(zmq_errno()));
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, (long)(o->timeout_s * 1000)) <= 0)
        return fs_errorf(e, FS_EXIT_FAIL,
                         "no answer from the coordinator at %s within %.1f s\n  hint: is it running? with CURVE pass "
                         "--keys; "
                         "--run DIR reads its last snapshot",
                         address, o->timeout_s);
    zmq_msg_t r;
    zmq_msg_init(&r);
    int rc = zmq_msg_recv(&r, s, 0) < 0 || fs_proto_decode(zmq_msg_data(&r), zmq_msg_size(&r), &m, why, sizeof why) ||
             m.type != FS_MSG_STATUS;
    if (rc) fs_errorf(e, FS_EXIT_FAIL, "bad status reply from %s: %s", address, why);
    else fwrite(m.u.status.text, 1, m.u.status.len, stdout);
    zmq_msg_close(&r);
    return rc ? -1 : 0;
}

static int ask_daemon(const char *address, const status_opts *o, fs_error *e) {
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, rc;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    rc = (o->keys && o->keys[0] && set_curve(s, o->keys, e)) ? -1 : query(s, address, o, e);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}

static int print_snapshot(const status_opts *o, fs_error *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/coordinator/%s", o->run, o->json ? "status.json" : "status.txt");
    struct stat st;
    if (stat(path, &st))
        return fs_errorf(e, FS_EXIT_BADINPUT,
                         "%s: no status snapshot\n  hint: is %s a run directory with a coordinator?", path, o->run);
    char *text = fs_read_file(path, NULL, e);
    if (!text) return -1;
    if (!o->json)
        printf("(coordinator unreachable: snapshot written %.0f s ago by the last coordinator)\n",
               fs_wall_time() - (double)st.st_mtime);
    fputs(text, stdout);
    free(text);
    return 0;
}

/* --run without --keys: the key file the run's daemon uses (it writes the path into
 * coordinator/keyfile), else the one `faceswarm submit` keeps in job/coordinator.keys. */
static void run_keys(const char *run, char *out, size_t cap) {
    char path[4200];
    snprintf(path, sizeof path, "%s/coordinator/keyfile", run);
    char *text = fs_exists(path) ? fs_read_file(path, NULL, NULL) : NULL;
    if (text) snprintf(out, cap, "%.*s", (int)strcspn(text, "\n"), text);
    free(text);
    if (out[0]) return;
    snprintf(path, sizeof path, "%s/job/coordinator.keys", run);
    if (fs_exists(path)) snprintf(out, cap, "%s", path);
}

/* The daemon's address: --coordinator, else the one it wrote into the run directory. */
static int run_status(const status_opts *o_in, fs_error *e) {
    status_opts run_o = *o_in, *o = &run_o;
    char keys[4200] = "";
    if (!o->keys && o->run) run_keys(o->run, keys, sizeof keys), o->keys = keys[0] ? keys : NULL;
    char addr[300] = "";
    if (o->address) snprintf(addr, sizeof addr, "%s", o->address);
    else {
        char path[4200];
        snprintf(path, sizeof path, "%s/coordinator/address", o->run);
        char *text = fs_exists(path) ? fs_read_file(path, NULL, NULL) : NULL;
        if (text) snprintf(addr, sizeof addr, "%.*s", (int)strcspn(text, "\n"), text);
        free(text);
    }
    if (addr[0] && !ask_daemon(addr, o, e)) return 0;
    if (!o->run) return -1;
    if (addr[0]) fprintf(stderr, "warning: %s\n", e->msg);
    return print_snapshot(o, e);
}

static void usage(FILE *f) {
    fprintf(f, "usage: faceswarm status (--coordinator ADDR | --run DIR) [--keys FILE] [--json] [--timeout S]\n"
               "  --coordinator ADDR  ask the daemon (tcp://HOST:PORT)\n"
               "  --run DIR           the run directory: ask its coordinator, or read its last snapshot\n"
               "  --keys FILE         the job's CURVE key file, when the coordinator requires it (with --run: the "
               "run's own,\n"
               "                      as its coordinator recorded it in DIR/coordinator/keyfile, or "
               "DIR/job/coordinator.keys)\n"
               "  --json              machine-readable output\n"
               "  --timeout S         wait for an answer this long (default 2)\n");
}

int cmd_status(int argc, char **argv) {
    static const struct option opts[] = {{"coordinator", required_argument, 0, 'c'},
                                         {"run", required_argument, 0, 'r'},
                                         {"keys", required_argument, 0, 'k'},
                                         {"json", no_argument, 0, 'j'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    status_opts o = {.timeout_s = 2};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:r:k:jt:h", opts, NULL)) != -1) {
        if (ch == 'c') o.address = optarg;
        else if (ch == 'r') o.run = optarg;
        else if (ch == 'k') o.keys = optarg;
        else if (ch == 'j') o.json = 1;
        else if (ch == 't') {
            fs_error pe = {0};
            if (fs_parse_double("--timeout", optarg, 0.001, 600, &o.timeout_s, &pe))
                return fprintf(stderr, "error: faceswarm status: %s\n", pe.msg), FS_EXIT_BADINPUT;
        } else if (ch == 'h') return usage(stdout), FS_EXIT_OK;
        else return usage(stderr), FS_EXIT_BADINPUT;
    }
    if ((!o.address && !o.run) || !(o.timeout_s > 0 && o.timeout_s <= 600)) {
        fprintf(stderr, "error: faceswarm status: need --coordinator ADDR or --run DIR, and --timeout in (0, 600]\n  "
                        "hint: faceswarm status --run runs/demo\n");
        return FS_EXIT_BADINPUT;
    }
    fs_error e = {0};
    if (run_status(&o, &e)) {
        fprintf(stderr, "error: faceswarm status: %s\n", e.msg);
        return e.code ? e.code : FS_EXIT_FAIL;
    }
    return FS_EXIT_OK;
}
