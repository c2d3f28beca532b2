/* coord_daemon.h — the coordinator daemon's state (coord_state.c: messages, files, rebuild,
 * cron, status, its log). The dependency is one-way, as in redis: the poll loop
 * (coordinator.c: sockets, CURVE/ZAP, signals) knows the state; the state knows no socket and
 * no ZeroMQ call. It answers into an outbox of encoded frames that the loop sends, so that the
 * state can be driven and checked without a network (tests/coord/test_state.c). */
#ifndef FACESWARM_COORD_DAEMON_H
#define FACESWARM_COORD_DAEMON_H

#include <stdint.h>
#include <stdio.h>

#include "core/json.h"
#include "comms/protocol.h"
#include "comms/tfevents.h"
#include "core/common.h"

#define COORD_PATH 4096

typedef struct coord_opts {
    char bind[256];                 /* zmq endpoint; "tcp://127.0.0.1:*" picks a free port */
    char state_dir[COORD_PATH];     /* the run directory */
    char keys[COORD_PATH];          /* CURVE key file, "" = none */
    double timeout_s;               /* heartbeat / collective timeout */
    double straggler_k;             /* step time above k x median flags a straggler */
    double idle_exit_s;             /* > 0: exit once no rank has been alive this long */
    int verbose;                    /* info lines to stderr too (warnings always) */
    int insecure;                   /* --insecure: a non-loopback bind without CURVE is allowed */
    char job[FS_PROTO_MAX_JOB + 1]; /* --job-id: the one job served, "" = the one recorded in the run directory */
    uint32_t world;                 /* --world-size, 0 = the one recorded in the run directory */
} coord_opts;

#define COORD_INCS 8 /* incarnations remembered per rank (least recently used replaced) */

typedef struct coord_inc {
    uint64_t inc, seq; /* an incarnation of a rank and the highest sequence number stored */
    uint64_t used;     /* coord.inc_clock when last looked up: the least recently used is replaced */
} coord_inc;

/* Kinds of repeated log lines, each rate-limited on its own (coord_log_limited). */
typedef enum coord_log_kind {
    CL_BAD,        /* a malformed message */
    CL_ZAP,        /* CURVE: a client key that is not the job's */
    CL_NO_CURVE,   /* CURVE: a client without it */
    CL_WRONG_KEYS, /* CURVE: another job's server key */
    CL_HANDSHAKE,  /* CURVE: other handshake failures */
    CL_REGISTER,   /* a rank registers again with a new incarnation */
    CL_OTHER_JOB,  /* a register of another job, or a rank outside the world */
    CL_N_KINDS
} coord_log_kind;

typedef struct coord_limit {
    int logged;          /* lines logged in this window */
    uint64_t suppressed; /* lines not logged in this window */
} coord_limit;

/* Warning kinds of a rank (coord_rank.warn_kinds): each is logged once when it appears and
 * once when it ends, not again while it holds. */
enum { CW_FAILED = 1, CW_SILENT = 2, CW_COLLECTIVE = 4, CW_STRAGGLER = 8, CW_DROPPED = 16 };

typedef struct coord_rank {
    uint32_t rank;
    int known;        /* registered since this daemon started */
    int seen;         /* known, or found in the run directory's files */
    uint8_t rid[256]; /* zmq routing id of its latest message */
    size_t rid_len;
    char host[FS_PROTO_MAX_HOST + 1];
    uint64_t pid, config_hash;
    uint64_t inc, acked;        /* current incarnation, highest stored seq */
    coord_inc incs[COORD_INCS]; /* the incarnations seen last, [n_incs] */
    int n_incs;
    int ack_pending;   /* queued for an ACK at the end of this batch */
    int unflushed;     /* stored a sequenced message since the last flush (a welcome waits for it) */
    uint64_t ack_echo; /* heartbeat t_ns to echo */
    double last_hb;    /* fs_now() of its last message, 0 = never */
    int64_t step;      /* last step (heartbeat or metrics) */
    uint64_t coll_seq; /* its last collective */
    int bucket, coll_state;
    double coll_since;            /* fs_now() when it entered coll_seq */
    double step_ms, images_per_s; /* from its last metrics, 0 = unknown */
    uint64_t dropped;             /* messages its client buffer lost (as it reports) */
    int gone, bye_ok;             /* said goodbye; cleanly? */
    char bye_text[FS_PROTO_MAX_TEXT + 1];
    char warn[2048];      /* current warnings, "" = none */
    unsigned warn_kinds;  /* CW_* logged as holding */
    double silent_from;   /* last_hb when CW_SILENT began */
    int host_lost;        /* its host is logged as lost: every known rank on it silent */
    int64_t metrics_step; /* highest step in metrics.jsonl, -1 = none */
    uint64_t metrics_inc; /* the incarnation that wrote it */
} coord_rank;

/* Replies the state made and the loop has not sent yet, in order: each is an encoded frame
 * (bytes[off .. off+len)) for the peer with that routing id. */
typedef struct coord_reply {
    uint8_t rid[256];
    size_t rid_len;
    size_t off, len; /* bytes, in coord_outbox.bytes */
} coord_reply;

typedef struct coord_outbox {
    coord_reply *q; /* [n], capacity cap */
    int n, cap;
    uint8_t *bytes; /* the frames, [used], capacity bytes_cap */
    size_t used, bytes_cap;
} coord_outbox;

void coord_outbox_clear(coord_outbox *o); /* after the loop sent them all; keeps the memory */
void coord_outbox_free(coord_outbox *o);

typedef struct coord {
    coord_opts o;
    char endpoint[256]; /* the bound endpoint (port resolved; set by the loop) */
    uint64_t boot;      /* random per start; ranks see a restart by its change */
    double t_start;
    coord_rank **ranks;                      /* [world]: a rank's entry, NULL until it is present */
    int n_present;                           /* entries allocated */
    uint64_t inc_clock;                      /* ticks at every incarnation lookup (coord_inc.used) */
    char job[FS_PROTO_MAX_JOB + 1];          /* the job served: from the command line or the run directory */
    uint32_t world;                          /* its world size: ranks >= world are refused */
    char dir[COORD_PATH + 32];               /* <run>/coordinator */
    FILE *metrics, *registry, *events, *log; /* events.jsonl: the other sequenced messages */
    fs_tfevents tb;
    int dirty;    /* metrics or events written since the last flush */
    int *pending; /* ranks with ack_pending, [world] */
    int n_pending;
    uint64_t n_msgs, n_bad, n_oversize, n_refused, n_stored, n_lost;
    coord_limit limits[CL_N_KINDS]; /* rate limits of repeated log lines */
    double log_window;              /* fs_now() when the limits' window began */
    int64_t target_step;            /* the job's last step (rank 0's metrics), -1 = unknown */
    double loss, step_ms;           /* rank 0's last loss and step time, NAN / 0 = unknown */
    int64_t ckpt_step;              /* last registered checkpoint, -1 = none */
    char ckpt_path[FS_PROTO_MAX_PATH + 1], ckpt_time[32];
    double last_cron, last_snapshot;
    double last_alive;          /* fs_now() when some rank was last alive (or the start) */
    fs_jbuf line;               /* scratch for one output line */
    coord_outbox outbox;        /* replies for the loop to send */
    fs_msg msg;                 /* the message being handled */
    int idle_exit;              /* set by the cron: no rank alive for idle_exit_s */
    char hosts_lost[4096];      /* the cron's "host H lost: ..." lines, each ending in '\n'; "" = none */
    struct coord_snapper *snap; /* the status snapshot writer thread (coord_state.c) */
} coord;

/* coord_state.c: the log (<run>/coordinator/coordinator.log, opened by the caller into c->log) */
void coord_log(coord *c, fs_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like coord_log, for lines a client can repeat at will: at most a few per kind (coord_log_kind)
 * in each 10 s window; coord_log_window() then logs "N similar lines suppressed". */
void coord_log_limited(coord *c, coord_log_kind kind, fs_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void coord_log_window(coord *c, double now, int force); /* from the cron; force: at exit */

/* coord_state.c: the state. Every function below may add replies to c->outbox. */
int coord_state_open(coord *c, fs_error *e); /* rebuilds from the run directory, opens files */
/* The rank table for c->world ranks (coord_state_open calls it; the fuzz target too). */
void coord_ranks_alloc(coord *c);
/* One line of the daemon's own files (what a restart rebuilds from); anything malformed is
 * ignored. Exposed for the fuzz target tests/fuzz/fuzz_coord_rebuild.c. */
typedef enum { COORD_FILE_METRICS, COORD_FILE_REGISTRY, COORD_FILE_EVENTS } coord_file;
void coord_rebuild_line(coord *c, const char *line, coord_file kind);
void coord_state_close(coord *c);
/* One received frame from the peer with routing id rid (at most 256 bytes): decoded, checked
 * against its row of FS_MSG_LIST and handed to that row's handler (on_<name>). */
void coord_handle(coord *c, const uint8_t *rid, size_t rid_len, const void *buf, size_t len);
void coord_bad(coord *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void coord_end_batch(coord *c); /* flush files, then queue the ACKs of this batch */
void coord_cron(coord *c);      /* returns via c->idle_exit when the daemon should stop */
void coord_status_text(coord *c, fs_jbuf *b, int json);
int coord_snapshot(coord *c, fs_error *e); /* writes status.txt/json now, in this thread */
/* The cron's snapshot: hands a copy of the state to a writer thread (skipped while that thread
 * is still busy), so the poll loop never waits on formatting N rows or on file I/O. */
void coord_snapshot_async(coord *c);
void coord_snapper_stop(coord *c); /* waits for a snapshot in progress; the thread exits */

#endif
