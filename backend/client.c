/* Session keeping for clients of the controller. Liveness is judged by
 * replies only: a socket that accepts sends proves nothing about a
 * controller that is stopped or wedged. */
#include "client.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct clab_client {
    void *zctx, *sock;
    char id[CLAB_PROTO_MAX_PEER + 1];
    char epoch[64];
    double silence_limit;
    double last_heard, last_sent;
    int connected;
};

int clab_client_new(const clab_conninfo_t *ci, const char *client_id,
                    double silence_limit, clab_client_t **out)
{
    clab_client_t *c = calloc(1, sizeof *c);
    int rc = -ENOMEM, one = 1, ivl = 100, ivl_max = 2000;
    if (!c)
        return rc;
    snprintf(c->id, sizeof c->id, "%s", client_id);
    c->silence_limit = silence_limit > 0 ? silence_limit : 3;
    c->zctx = zmq_ctx_new();
    c->sock = c->zctx ? zmq_socket(c->zctx, ZMQ_DEALER) : NULL;
    if (!c->sock)
        goto fail;
    /* IMMEDIATE: a send while the controller is away fails at once instead
     * of queueing on a pipe that may never deliver. */
    if (zmq_setsockopt(c->sock, ZMQ_ROUTING_ID, c->id, strlen(c->id)) ||
        zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &one, sizeof one) ||
        zmq_setsockopt(c->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) ||
        zmq_setsockopt(c->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max) ||
        (rc = clab_proto_socket_setup(c->sock, 0)) ||
        (rc = clab_conninfo_curve_client(c->sock, ci)) ||
        zmq_connect(c->sock, ci->client_endpoint)) {
        rc = rc ? rc : -zmq_errno();
        goto fail;
    }
    *out = c;
    return 0;
fail:
    clab_client_destroy(&c);
    return rc;
}

void clab_client_destroy(clab_client_t **client)
{
    clab_client_t *c = *client;
    if (!c)
        return;
    if (c->sock)
        zmq_close(c->sock);
    if (c->zctx)
        zmq_ctx_term(c->zctx);
    free(c);
    *client = NULL;
}

void *clab_client_socket(clab_client_t *c)
{
    return c->sock;
}

int clab_client_send(clab_client_t *c, const char *type, const json_t *body)
{
    return clab_proto_send(c->sock, NULL, 0, type, body);
}

int clab_client_recv(clab_client_t *c, clab_msg_t *m)
{
    return clab_proto_recv(c->sock, 0, m);
}

void clab_client_tick(clab_client_t *c)
{
    double now = clab_mono();
    if (c->connected && now - c->last_heard > c->silence_limit) {
        clab_warn("controller silent for %.0f s: disconnected", now - c->last_heard);
        c->connected = 0;
    }
    if (now - c->last_sent < 1.0)
        return;
    if (clab_client_send(c, c->connected ? "ping" : "hello", NULL) == 0)
        c->last_sent = now;
}

int clab_client_observe(clab_client_t *c, const clab_msg_t *m)
{
    c->last_heard = clab_mono();
    const char *epoch = json_string_value(json_object_get(m->body, "epoch"));
    int fresh = 0;
    if (epoch && strcmp(epoch, c->epoch) != 0) {
        /* A restarted controller may have lost what was in flight. */
        fresh = c->epoch[0] != '\0' || strcmp(m->type, "welcome") == 0;
        snprintf(c->epoch, sizeof c->epoch, "%s", epoch);
    }
    if (!c->connected && strcmp(m->type, "welcome") == 0) {
        fresh = 1;
        clab_info("connected to the controller");
    }
    if (strcmp(m->type, "welcome") == 0 || c->connected)
        c->connected = 1;
    return fresh;
}

int clab_client_connected(const clab_client_t *c)
{
    return c->connected;
}
