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
#define FS_PROTO_MAX_MSG 65536   /* bytes; bigger rank→daemon messages are dropped and counted */
#define FS_PROTO_MAX_WORLD 65536 /* ranks */
#define FS_PROTO_MAX_JOB 128     /* job id characters */
#define FS_PROTO_MAX_HOST 255
#define FS_PROTO_MAX_JSON 8192  /* metrics object, bytes */
#define FS_PROTO_MAX_METRICS 64 /* scalars per metrics message */
#define FS_PROTO_MAX_KEY 64     /* characters of a metric or checksum name */
#define FS_PROTO_MAX_PATH 1024
#define FS_PROTO_MAX_FILES 16  /* checksummed datasets per checkpoint */
#define FS_PROTO_MAX_HEX 128   /* hex digits per checksum */
#define FS_PROTO_MAX_TEXT 1024 /* goodbye text */
#define FS_PROTO_NO_RANK 0xffffffffu

/* The message table: one row per message type, the only place a type is declared.
 *   X(number, name, NAME, FROM, flags)
 * number: the header's type byte (1..255, unique: fs_proto_type_known's switch refuses a
 * duplicate at build time). FROM: who sends it, RANK (a trainer rank), TOOL (`faceswarm
 * status`, rank = FS_PROTO_NO_RANK) or DAEMON (a reply). flags: FS_MF_* below.
 * protocol.c expands it into the codec table (encode_<name>, decode_<name>), coord_state.c
 * into the daemon's handler table (on_<name>), so a row without its codec or its handler
 * does not build. Adding a message: a row here, its body in fs_msg.u, its encode_/decode_
 * pair in protocol.c and its handler in coord_state.c (docs/protocol.md, "Adding a message"). */
#define FS_MSG_LIST(X)                                                                                                 \
    X(1, register, REGISTER, RANK, FS_MF_RESUME_SEQ)                                                                   \
    X(2, heartbeat, HEARTBEAT, RANK, FS_MF_SESSION | FS_MF_ACKED)                                                      \
    X(3, metrics, METRICS, RANK, FS_MF_SESSION | FS_MF_ACKED | FS_MF_SEQUENCED)                                        \
    X(4, checkpoint, CHECKPOINT, RANK, FS_MF_SESSION | FS_MF_ACKED | FS_MF_SEQUENCED)                                  \
    X(5, preview, PREVIEW, RANK, FS_MF_SESSION | FS_MF_ACKED | FS_MF_SEQUENCED)                                        \
    X(6, goodbye, GOODBYE, RANK, FS_MF_SESSION | FS_MF_ACKED | FS_MF_SEQUENCED)                                        \
    X(7, status_req, STATUS_REQ, TOOL, 0)                                                                              \
    X(32, welcome, WELCOME, DAEMON, 0)                                                                                 \
    X(33, ack, ACK, DAEMON, 0)                                                                                         \
    X(34, reregister, REREGISTER, DAEMON, 0)                                                                           \
    X(35, status, STATUS, DAEMON, FS_MF_UNCAPPED)

/* Flags of a row. The direction flags come from its FROM column. */
enum {
    FS_MF_FROM_RANK = 1 << 0,   /* header rank < FS_PROTO_MAX_WORLD */
    FS_MF_FROM_TOOL = 1 << 1,   /* rank = FS_PROTO_NO_RANK; answered at once, no session */
    FS_MF_FROM_DAEMON = 1 << 2, /* a reply: the daemon drops it when a client sends it */
    FS_MF_SEQUENCED = 1 << 3,   /* seq 1..2^52 per incarnation; stored once, in order; a refused
                                   body still consumes its seq (docs/protocol.md, "Delivery") */
    FS_MF_SESSION = 1 << 4,     /* needs a registered incarnation, else the daemon answers reregister */
    FS_MF_ACKED = 1 << 5,       /* answered by the batch's ACK */
    FS_MF_RESUME_SEQ = 1 << 6,  /* seq carries the highest seq the client has had acknowledged (0..2^52) */
    FS_MF_UNCAPPED = 1 << 7,    /* may exceed FS_PROTO_MAX_MSG (daemon → client only) */
};
#define FS_MSG_FROM_FLAG(from) FS_MF_FROM_##from

typedef enum fs_msg_type {
#define FS_MSG_ENUM_(num, name, NAME, from, flags) FS_MSG_##NAME = num,
    FS_MSG_LIST(FS_MSG_ENUM_)
#undef FS_MSG_ENUM_
} fs_msg_type;

#define FS_MSG_COUNT_(num, name, NAME, from, flags) +1
enum { FS_MSG_N_TYPES = 0 FS_MSG_LIST(FS_MSG_COUNT_) }; /* rows in the table */
#undef FS_MSG_COUNT_

/* Each row, checked at build time: a type fits the header's byte; exactly one direction; a
 * sequenced (or acknowledged, or session) message comes from a rank; only a reply is uncapped. */
#define FS_MSG_CHECK_(num, name, NAME, from, flags)                                                                    \
    _Static_assert((num) >= 1 && (num) <= 255, "message " #name ": type must fit the header's type byte");             \
    _Static_assert(!((flags) & (FS_MF_FROM_RANK | FS_MF_FROM_TOOL | FS_MF_FROM_DAEMON)),                               \
                   "message " #name ": the direction comes from the FROM column, not the flags");                      \
    _Static_assert(!((flags) & (FS_MF_SEQUENCED | FS_MF_SESSION | FS_MF_ACKED | FS_MF_RESUME_SEQ)) ||                  \
                       FS_MSG_FROM_FLAG(from) == FS_MF_FROM_RANK,                                                      \
                   "message " #name ": only a rank's messages are sequenced, acknowledged or in a session");           \
    _Static_assert(!((flags)&FS_MF_SEQUENCED) || ((flags)&FS_MF_SESSION && (flags)&FS_MF_ACKED),                       \
                   "message " #name ": a sequenced message is in a session and acknowledged");                         \
    _Static_assert(!((flags)&FS_MF_UNCAPPED) || FS_MSG_FROM_FLAG(from) == FS_MF_FROM_DAEMON,                           \
                   "message " #name ": only a reply may exceed FS_PROTO_MAX_MSG");
FS_MSG_LIST(FS_MSG_CHECK_)
#undef FS_MSG_CHECK_
_Static_assert(FS_MSG_N_TYPES == 11, "a row was added to FS_MSG_LIST: add its test case to tests/coord/test_protocol.c "
                                     "and its seed to tests/fuzz/corpus/protocol, then update this count");

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
            int64_t step;       /* -1 = not started */
            uint64_t coll_seq;  /* sequence number of the rank's last collective */
            int32_t bucket;     /* all-reduce bucket of that collective, -1 = none */
            uint8_t coll_state; /* 0 idle, 1 inside it */
            uint64_t t_ns;      /* sender's clock, echoed in the ACK (round-trip time) */
            uint64_t dropped;   /* messages the rank's buffer lost so far */
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
const char *fs_proto_type_name(int type); /* the row's name, "unknown" for none */
/* The row's flags (FS_MF_*, its direction included), 0 for a type not in the table. */
unsigned fs_proto_type_flags(int type);
int fs_proto_type_known(int type);

/* Checks a path from a message: relative, no "..", no NUL or control characters, no
 * backslash, at most FS_PROTO_MAX_PATH bytes. Returns 0 if acceptable. */
int fs_proto_path_ok(const char *p, size_t len, char *why, size_t whylen);

#endif
