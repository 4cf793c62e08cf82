/* The client side of the protocol, as clabfs uses it: one DEALER socket to
 * the controller's client endpoint, and the session on top of it (hello
 * until welcomed, pings while connected, "disconnected" after a silence).
 * Not thread-safe: one thread owns a client. */
#ifndef CLAB_CLIENT_H
#define CLAB_CLIENT_H

#include "conninfo.h"
#include "protocol.h"

#include <jansson.h>

typedef struct clab_client clab_client_t;

/* client_id is this client's stable name (the routing id): the controller
 * keeps each client's results under it across restarts of either side.
 * Reconnection attempts back off up to waiting_time seconds apart; after
 * `reconnections` failed ones the log says so (attempts go on: jobs are
 * never given up). */
int clab_client_new(const clab_conninfo_t *ci, const char *client_id, double waiting_time,
                    int reconnections, clab_client_t **out);
void clab_client_destroy(clab_client_t **client);

/* For zmq_poll. */
void *clab_client_socket(clab_client_t *c);
/* Sends without blocking; -EAGAIN while there is no connection. */
int clab_client_send(clab_client_t *c, const char *type, const json_t *body);
/* Receives one message without blocking: 0, -EAGAIN or -EPROTO. */
int clab_client_recv(clab_client_t *c, clab_msg_t *m);

/* Keeps the session alive; call at least a few times a second. */
void clab_client_tick(clab_client_t *c);
/* Feed it every message received. Returns 1 when the message starts a new
 * session (first welcome, or a controller with a new epoch): the caller
 * must then send again everything the controller may not have. */
int clab_client_observe(clab_client_t *c, const clab_msg_t *m);
int clab_client_connected(const clab_client_t *c);

#endif
