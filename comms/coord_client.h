/* coord_client.h — what a rank calls to talk to the coordinator. Nothing here blocks
 * training: a background thread owns the DEALER socket, sends a heartbeat every heartbeat_s
 * (each rank at its own phase of the period, fs_coord_heartbeat_next),
 * re-registers when the daemon restarted, and re-sends unacknowledged messages in order.
 * Metrics, checkpoints and previews wait in a bounded buffer (FS_COORD_BUFFER messages)
 * until the daemon acknowledges them; when it is full, new messages are dropped and counted,
 * and the count travels in the next heartbeat, metrics and goodbye. */
#ifndef FACESWARM_COORD_CLIENT_H
#define FACESWARM_COORD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

#define FS_COORD_BUFFER 10000  /* messages buffered per rank while unacknowledged */
#define FS_COORD_SPREAD_S 0.05 /* s: sequenced messages of a job's ranks are spread over this (fs_coord_send_delay) */

typedef struct fs_coord_client fs_coord_client;
typedef struct fs_coord_identity {
    const char *job_id; /* [A-Za-z0-9_./-]{1,128} */
    int rank, world;
    const char *host;
    long pid;
    uint64_t config_hash;
} fs_coord_identity;

/* Starts the client thread; connecting is asynchronous (the daemon may start later).
 * keyfile NULL or "" = no CURVE. */
int fs_coord_connect(fs_coord_client **c, const char *address, const char *keyfile, const fs_coord_identity *id,
                     double heartbeat_s, fs_error *e);
void fs_coord_set_step(fs_coord_client *c, long step); /* for heartbeats */
void fs_coord_set_collective(fs_coord_client *c, uint64_t seq, int bucket, int state /* 0 idle, 1 in */);
/* json_object: a flat object of finite numbers, e.g. {"loss":0.12,"images_per_s":310,"step_ms":52}.
 * An invalid object is refused with a warning (once) and counted as dropped. */
void fs_coord_metrics(fs_coord_client *c, long step, const char *json_object);
/* Written by rank 0 after the checkpoint's rename; relpath is relative to the run directory. */
void fs_coord_checkpoint(fs_coord_client *c, long step, const char *relpath, const char *const *names,
                         const char *const *checksums_hex, int n);
/* A preview PNG (relative to the run directory) for TensorBoard's image tab. */
void fs_coord_preview(fs_coord_client *c, long step, const char *relpath, const char *tag);
/* Says goodbye and flushes what is buffered (bounded wait, 2 s). ok = clean exit. */
void fs_coord_goodbye(fs_coord_client *c, int ok, const char *text);
void fs_coord_close(fs_coord_client *c); /* stops the thread; NULL is allowed */
long fs_coord_dropped(const fs_coord_client *c);

/* The heartbeat schedule (docs/protocol.md), shared by the client and `bench coordinator`:
 * rank r of a world of w heartbeats at the times t with t mod period = r/w x period on the
 * wall clock, so that a job's ranks are spread evenly over the period by construction, however
 * they connected, and a rank keeps its slot across reconnects. _phase returns r/w x period
 * (s, in [0, period)); _next the first slot strictly after now (now on the same clock). */
double fs_coord_heartbeat_phase(int rank, int world, double period_s);
double fs_coord_heartbeat_next(double now, int rank, int world, double period_s);
/* Every rank queues its metrics right after the same step (trainer/train.c), so a job would
 * send them in one burst: the client holds a queued metrics, checkpoint or preview message for
 * rank/world x FS_COORD_SPREAD_S (s, in [0, 0.05)) before its first send, which spreads that
 * burst over 50 ms. Resends are not held; the goodbye releases everything held. */
double fs_coord_send_delay(int rank, int world);

/* For tests and the benchmark: messages buffered and not yet acknowledged, whether the
 * daemon has welcomed this client, and the last heartbeat round trip in ms (-1 = none). */
long fs_coord_pending(fs_coord_client *c);
int fs_coord_registered(fs_coord_client *c);
double fs_coord_last_rtt_ms(fs_coord_client *c);

/* A local coordinator: `faceswarm coordinator` (exe = path of the faceswarm binary,
 * /proc/self/exe) as a child on 127.0.0.1 with a free port, state dir run_dir, serving job
 * job_id of world ranks; address_out gets tcp://127.0.0.1:PORT. The child exits by itself once
 * no rank has been alive for 60 s (or on SIGTERM). A supervisor thread warns at once when the
 * child dies and starts it again on the same address (at most FS_COORD_LOCAL_RESTARTS times,
 * 0.5 s, 1 s, 2 s ... apart), so that the ranks reconnect on their own. */
#define FS_COORD_LOCAL_RESTARTS 5
typedef struct fs_coord_local fs_coord_local;
typedef struct fs_coord_local_opts {
    const char *exe, *run_dir, *keyfile; /* keyfile NULL or "" = no CURVE */
    const char *job_id;
    int world;
    double timeout_s; /* the daemon's --timeout, <= 0 = its default */
} fs_coord_local_opts;
int fs_coord_local_start(fs_coord_local **out, const fs_coord_local_opts *o, char *address_out, size_t len,
                         fs_error *e);
long fs_coord_local_pid(fs_coord_local *l); /* the child running now, 0 = none */
int fs_coord_local_restarts(fs_coord_local *l);
void fs_coord_local_stop(fs_coord_local *l); /* SIGTERM, waits for it, no restart; NULL is allowed */

/* Reads <run>/coordinator/registry.jsonl: newest-first list of registered checkpoint paths (for
   --resume auto). Returns count, fills paths (caller frees with free()). Returns -1 on error
   and 0 when there is no registry. */
int fs_coord_registry_read(const char *run_dir, char ***paths_out, long **steps_out, fs_error *e);

#endif
