/* protocol.h — the coordinator wire protocol, version 1 (docs/protocol.md is the reference).
 *
 * Every message is one ZeroMQ frame: a 28-byte header (magic "FSCP", version, type, flags,
 * rank, incarnation, sequence number; little-endian) and a type-specific body of fixed-width
 * integers and length-prefixed strings. The decoder checks every length and range before it
 * uses a field and refuses trailing bytes; a refused message is dropped and counted by the
 * daemon, never trusted. Inbound messages above FS_PROTO_MAX_MSG bytes are dropped unread. */
#ifndef FACESWARM_PROTOCOL_H
#define FACESWARM_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define FS_PROTO_MAGIC "FSCP"
#define FS_PROTO_VERSION 1
#define FS_PROTO_HEADER 28
#define FS_PROTO_MAX_MSG 65536     /* bytes; bigger rank→daemon messages are dropped and counted */
#define FS_PROTO_MAX_WORLD 65536   /* ranks */
#define FS_PROTO_MAX_JOB 128       /* job id characters */
#define FS_PROTO_MAX_HOST 255
#define FS_PROTO_MAX_JSON 8192     /* metrics object, bytes */
#define FS_PROTO_MAX_METRICS 64    /* scalars per metrics message */
#define FS_PROTO_MAX_KEY 64        /* characters of a metric or checksum name */
#define FS_PROTO_MAX_PATH 1024
#define FS_PROTO_MAX_FILES 16      /* checksummed datasets per checkpoint */
#define FS_PROTO_MAX_HEX 128       /* hex digits per checksum */
#define FS_PROTO_MAX_TEXT 1024     /* goodbye text */
#define FS_PROTO_NO_RANK 0xffffffffu

typedef enum fs_msg_type {
    /* rank → daemon */
    FS_MSG_REGISTER = 1,
    FS_MSG_HEARTBEAT = 2,
    FS_MSG_METRICS = 3,    /* sequenced */
    FS_MSG_CHECKPOINT = 4, /* sequenced */
    FS_MSG_PREVIEW = 5,    /* sequenced */
    FS_MSG_GOODBYE = 6,    /* sequenced */
    FS_MSG_STATUS_REQ = 7, /* from `faceswarm status`, rank = FS_PROTO_NO_RANK */
    /* daemon → rank */
    FS_MSG_WELCOME = 32,
    FS_MSG_ACK = 33,
    FS_MSG_REREGISTER = 34,
    FS_MSG_STATUS = 35,
} fs_msg_type;

typedef struct fs_msg {
    int type;      /* fs_msg_type */
    uint32_t rank; /* sender's rank (rank → daemon), addressee's rank (daemon → rank) */
    uint64_t inc;  /* client incarnation: random per client start, so a restarted rank's seq 1 is new */
    uint64_t seq;  /* sequenced messages: 1, 2, ... per incarnation; 0 otherwise */
    union {
        struct {
            uint32_t world;
            uint64_t pid, config_hash;
            char job_id[FS_PROTO_MAX_JOB + 1], host[FS_PROTO_MAX_HOST + 1];
        } reg;
        struct {
            int64_t step;      /* -1 = not started */
            uint64_t coll_seq; /* sequence number of the rank's last collective */
            int32_t bucket;    /* all-reduce bucket of that collective, -1 = none */
            uint8_t coll_state; /* 0 idle, 1 inside it */
            uint64_t t_ns;     /* sender's clock, echoed in the ACK (round-trip time) */
            uint64_t dropped;  /* messages the rank's buffer lost so far */
        } hb;
        struct {
            int64_t step;
            uint64_t dropped;
            char json[FS_PROTO_MAX_JSON + 1]; /* flat object of finite numbers */
            int n;                            /* filled by the decoder */
            char keys[FS_PROTO_MAX_METRICS][FS_PROTO_MAX_KEY + 1];
            double vals[FS_PROTO_MAX_METRICS];
        } metrics;
        struct {
            int64_t step;
            char path[FS_PROTO_MAX_PATH + 1]; /* relative to the run directory */
            int n;
            char names[FS_PROTO_MAX_FILES][FS_PROTO_MAX_KEY + 1];
            char hex[FS_PROTO_MAX_FILES][FS_PROTO_MAX_HEX + 1];
        } ckpt;
        struct {
            int64_t step;
            char path[FS_PROTO_MAX_PATH + 1]; /* PNG, relative to the run directory */
            char tag[FS_PROTO_MAX_KEY + 1];
        } preview;
        struct {
            uint8_t ok;
            uint64_t dropped;
            char text[FS_PROTO_MAX_TEXT + 1];
        } bye;
        struct {
            uint8_t json; /* 1 = JSON reply, 0 = text table */
        } sreq;
        struct {
            uint64_t boot;  /* daemon start id: a change means the daemon restarted */
            uint64_t acked; /* highest sequence number stored for this incarnation */
        } welcome;
        struct {
            uint64_t acked;
            uint64_t t_echo_ns; /* heartbeat's t_ns, 0 if the ACK is for data */
        } ack;
        struct {
            const char *text; /* points into the decoded buffer */
            uint32_t len;
        } status;
    } u;
} fs_msg;

/* Encodes m into buf (cap bytes). Returns the length, or -1 if it does not fit or a field is
 * out of range (why says which). FS_MSG_STATUS may exceed FS_PROTO_MAX_MSG (daemon → client). */
long fs_proto_encode(const fs_msg *m, uint8_t *buf, size_t cap, char *why, size_t whylen);
/* Decodes and validates one frame. Returns 0; -1 with the field and value in why; or -2 when
 * the header (type, rank, inc, seq) is valid and filled in but the body is refused, so that
 * the daemon can skip that sequence number instead of stalling the rank's stream. */
int fs_proto_decode(const void *buf, size_t len, fs_msg *m, char *why, size_t whylen);
const char *fs_proto_type_name(int type);

/* Checks a path from a message: relative, no "..", no NUL or control characters, no
 * backslash, at most FS_PROTO_MAX_PATH bytes. Returns 0 if acceptable. */
int fs_proto_path_ok(const char *p, size_t len, char *why, size_t whylen);

#endif
