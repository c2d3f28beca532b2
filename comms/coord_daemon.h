/* coord_daemon.h — the coordinator daemon's state, shared by coordinator.c (sockets, poll
 * loop, CURVE/ZAP, signals) and coord_state.c (messages, files, rebuild, cron, status). */
#ifndef FACESWARM_COORD_DAEMON_H
#define FACESWARM_COORD_DAEMON_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "comms/coord_json.h"
#include "comms/protocol.h"
#include "comms/tfevents.h"
#include "trainer/common.h"

#define COORD_PATH 4096

typedef struct coord_opts {
    char bind[256];            /* zmq endpoint; "tcp://127.0.0.1:*" picks a free port */
    char state_dir[COORD_PATH]; /* the run directory */
    char keys[COORD_PATH];      /* CURVE key file, "" = none */
    double timeout_s;           /* heartbeat / collective timeout */
    double straggler_k;         /* step time above k x median flags a straggler */
    double idle_exit_s;         /* > 0: exit once no rank has been alive this long */
    int verbose;                /* info lines to stderr too (warnings always) */
} coord_opts;

typedef struct coord_inc {
    uint64_t inc, seq; /* an incarnation of a rank and the highest sequence number stored */
} coord_inc;

typedef struct coord_rank {
    int known;                      /* registered since this daemon started */
    int seen;                       /* known, or found in the run directory's files */
    uint8_t rid[256];               /* zmq routing id of its latest message */
    size_t rid_len;
    char host[FS_PROTO_MAX_HOST + 1];
    uint64_t pid, config_hash;
    uint64_t inc, acked;            /* current incarnation, highest stored seq */
    coord_inc *incs;                /* every incarnation seen, [n_incs] */
    int n_incs;
    int ack_pending;                /* queued for an ACK at the end of this batch */
    int unflushed;                  /* stored a sequenced message since the last flush (a welcome waits for it) */
    uint64_t ack_echo;              /* heartbeat t_ns to echo */
    double last_hb;                 /* fs_now() of its last message, 0 = never */
    int64_t step;                   /* last step (heartbeat or metrics) */
    uint64_t coll_seq;              /* its last collective */
    int bucket, coll_state;
    double coll_since;              /* fs_now() when it entered coll_seq */
    double step_ms, images_per_s;   /* from its last metrics, 0 = unknown */
    uint64_t dropped;               /* messages its client buffer lost (as it reports) */
    int gone, bye_ok;               /* said goodbye; cleanly? */
    char bye_text[FS_PROTO_MAX_TEXT + 1];
    char warn[1024];                /* current warnings, "" = none */
} coord_rank;

typedef struct coord {
    coord_opts o;
    void *ctx, *router, *zap, *monitor;
    char endpoint[256];             /* the bound endpoint (port resolved) */
    uint64_t boot;                  /* random per start; ranks see a restart by its change */
    double t_start;
    coord_rank *ranks;              /* [cap_ranks] */
    int cap_ranks;
    char job[FS_PROTO_MAX_JOB + 1];
    uint32_t world;
    char dir[COORD_PATH + 32];      /* <run>/coordinator */
    FILE *metrics, *registry, *log;
    fs_tfevents tb;
    int dirty;                      /* metrics or events written since the last flush */
    int *pending;                   /* ranks with ack_pending, [cap_ranks] */
    int n_pending;
    uint64_t n_msgs, n_bad, n_oversize, n_refused, n_stored;
    int bad_logged;                 /* bad-message log lines in this window */
    uint64_t bad_suppressed;
    int refused_logged[4];          /* refusal log lines in this window, per kind */
    uint64_t refused_suppressed;
    double bad_window;
    int64_t ckpt_step;              /* last registered checkpoint, -1 = none */
    char ckpt_path[FS_PROTO_MAX_PATH + 1], ckpt_time[32];
    double last_cron, last_snapshot;
    double last_alive;              /* fs_now() when some rank was last alive (or the start) */
    fs_jbuf line;                   /* scratch for one output line */
    uint8_t *out;                   /* scratch for one outgoing frame, [FS_PROTO_MAX_MSG] */
    fs_msg msg;                     /* the message being handled */
    int idle_exit;                  /* set by the cron: no rank alive for idle_exit_s */
    struct coord_snapper *snap;     /* the status snapshot writer thread (coord_state.c) */
} coord;

/* coordinator.c */
void coord_log(coord *c, fs_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void coord_send(coord *c, const uint8_t *rid, size_t rid_len, const fs_msg *m);
int coord_daemon_run(const coord_opts *o, volatile sig_atomic_t *stop, fs_error *e);

/* coord_state.c */
int coord_state_open(coord *c, fs_error *e);   /* rebuilds from the run directory, opens files */
void coord_state_close(coord *c);
void coord_handle(coord *c, const uint8_t *rid, size_t rid_len, const void *buf, size_t len);
void coord_bad(coord *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void coord_end_batch(coord *c); /* flush files, then send the ACKs of this batch */
void coord_cron(coord *c); /* returns via c->idle_exit when the daemon should stop */
void coord_status_text(coord *c, fs_jbuf *b, int json);
int coord_snapshot(coord *c, fs_error *e); /* writes status.txt/json now, in this thread */
/* The cron's snapshot: hands a copy of the state to a writer thread (skipped while that thread
 * is still busy), so the poll loop never waits on formatting N rows or on file I/O. */
void coord_snapshot_async(coord *c);
void coord_snapper_stop(coord *c); /* waits for a snapshot in progress; the thread exits */

#endif
