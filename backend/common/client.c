/* Session keeping for clients of the controller. Liveness is judged by
 * replies only: a socket that accepts sends proves nothing about a
 * controller that is stopped or wedged. */
#include "client.h"
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define SILENCE_LIMIT 5.0 /* seconds without a reply: disconnected */

struct clab_client {
    void *zctx, *sock, *monitor;
    char id[CLAB_PROTO_MAX_PEER + 1];
    char epoch[64];
    char endpoint[512];
    double waiting_time;
    int reconnections;
    int failed_attempts; /* connection attempts since the link was last up */
    int link_up;         /* the transport (with its CURVE handshake) is up */
    double last_heard, last_sent;
    int connected;
};

int clab_client_new(const clab_conninfo_t *ci, const char *client_id, double waiting_time,
                    int reconnections, clab_client_t **out)
{
    clab_client_t *c = calloc(1, sizeof *c);
    int rc = -ENOMEM, one = 1, ivl = 100;
    char mon[64];
    if (!c)
        return rc;
    snprintf(c->id, sizeof c->id, "%s", client_id);
    snprintf(c->endpoint, sizeof c->endpoint, "%s", ci->client_endpoint);
    c->waiting_time = waiting_time > 0 ? waiting_time : 30;
    c->reconnections = reconnections;
    /* Back off from 0.1 s to the waiting time between attempts. */
    int ivl_max = (int)(c->waiting_time * 1000);
    c->zctx = zmq_ctx_new();
    c->sock = c->zctx ? zmq_socket(c->zctx, ZMQ_DEALER) : NULL;
    if (!c->sock)
        goto fail;
    /* Transport events tell at once when the controller goes away, long
     * before a missed reply would. */
    snprintf(mon, sizeof mon, "inproc://clab-client-monitor-%p", (void *)c);
    if (zmq_socket_monitor(c->sock, mon,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_CONNECT_RETRIED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) < 0 ||
        !(c->monitor = zmq_socket(c->zctx, ZMQ_PAIR)) ||
        zmq_connect(c->monitor, mon) < 0) {
        rc = -zmq_errno();
        goto fail;
    }
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
    if (c->monitor)
        zmq_close(c->monitor);
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

/* Reads the transport events the monitor collected. */
static void read_events(clab_client_t *c)
{
    for (;;) {
        zmq_msg_t head, addr;
        zmq_msg_init(&head);
        if (zmq_msg_recv(&head, c->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&head);
            return;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&head) >= 2)
            memcpy(&event, zmq_msg_data(&head), 2);
        zmq_msg_close(&head);
        zmq_msg_init(&addr);
        zmq_msg_recv(&addr, c->monitor, 0);
        zmq_msg_close(&addr);
        switch (event) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            c->link_up = 1;
            c->failed_attempts = 0;
            break;
        case ZMQ_EVENT_DISCONNECTED:
            if (c->connected)
                clab_warn("lost the controller at %s; reconnecting", c->endpoint);
            c->link_up = 0;
            c->connected = 0;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            clab_err(
                "the controller at %s refused our keys: is the connection file current?",
                c->endpoint);
            break;
        case ZMQ_EVENT_CONNECT_RETRIED:
            if (++c->failed_attempts == c->reconnections)
                clab_warn("controller at %s unreachable after %d attempts; still trying "
                          "every %.0f s, jobs wait in the notebook",
                          c->endpoint, c->failed_attempts, c->waiting_time);
            break;
        default:
            break;
        }
    }
}

void clab_client_tick(clab_client_t *c)
{
    read_events(c);
    double now = clab_mono();
    if (c->connected && now - c->last_heard > SILENCE_LIMIT) {
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
    if (strcmp(m->type, "welcome") == 0)
        c->connected = 1;
    return fresh;
}

int clab_client_connected(const clab_client_t *c)
{
    return c->connected;
}
