/* The wire protocol every program speaks: a message is the frames
 *   [routing id]  (ROUTER side only)
 *   "clab/1"      version
 *   TYPE          short ASCII word
 *   BODY          one JSON object
 * Decoding checks each frame and drops (with a reason) what does not fit,
 * so that no byte sequence from the network can crash a daemon. */
#ifndef CLAB_PROTOCOL_H
#define CLAB_PROTOCOL_H

#include <jansson.h>
#include <stddef.h>

#define CLAB_PROTO_VERSION "clab/1"
#define CLAB_PROTO_MAX_TYPE 31
#define CLAB_PROTO_MAX_PEER 255
#define CLAB_PROTO_MAX_MSG (64 * 1024 * 1024) /* ZMQ_MAXMSGSIZE of every socket */
/* The most tasks an engine may hold (--prefetch), known to clabfs too so
 * that it refuses a bad value before it starts the embedded controller. */
#define CLAB_PROTO_MAX_PREFETCH 16

typedef struct {
    char type[CLAB_PROTO_MAX_TYPE + 1];
    json_t *body; /* a JSON object, owned by the message */
    unsigned char peer[CLAB_PROTO_MAX_PEER];
    size_t peer_len; /* 0 on the DEALER side */
    /* The network address the message came from (ZeroMQ's Peer-Address:
     * the TCP peer's IP), "" when the transport has none (ipc://) or on
     * the DEALER side. Known from the connection, not from the sender's
     * word. */
    char peer_addr[64];
} clab_msg_t;

/* Decodes frames (from a ROUTER when has_peer) into msg. Returns 0, or
 * -EPROTO with a static reason in *why. */
int clab_proto_decode(const void *const *frames, const size_t *lens, size_t nframes,
                      int has_peer, clab_msg_t *msg, const char **why);
/* Receives one whole multipart message without blocking. Returns 0, -EAGAIN
 * when none is waiting, -EPROTO when one was read and dropped (logged). */
int clab_proto_recv(void *sock, int has_peer, clab_msg_t *msg);
/* Sends one message; peer NULL on a DEALER. Never blocks: -EAGAIN when the
 * peer's queue is full or (ZMQ_IMMEDIATE) there is no connection,
 * -EHOSTUNREACH when a ROUTER does not know the peer. */
int clab_proto_send(void *sock, const void *peer, size_t peer_len, const char *type,
                    const json_t *body);
void clab_msg_clear(clab_msg_t *msg);

/* Sets the limits every clab socket gets (max message size, high-water
 * marks, linger) and, for ROUTERs, mandatory routing so that a message to
 * an unknown peer is an error instead of silently dropped. */
int clab_proto_socket_setup(void *sock, int is_router);

/* As clab_proto_send, with a body that is already JSON text. */
int clab_proto_send_text(void *sock, const void *peer, size_t peer_len, const char *type,
                         const char *body, size_t body_len);

#endif
