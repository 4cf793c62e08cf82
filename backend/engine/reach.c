/* The engine's view of its link to the controller (reach.h). libzmq's
 * socket monitor reports connection attempts, retries and handshake
 * failures but not the system's reason for a failed TCP connect; a probe
 * (one plain non-blocking connect to the same address) supplies it, once
 * per logged failure, so that "connection refused", "no route to host" or
 * a silent timeout shows in the log beside the endpoint. */
#include "reach.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#define PROBE_MS 1000

struct clab_reach {
    void *sock; /* the monitored socket */
    void *mon;  /* PAIR socket receiving the monitor's events */
    char endpoint[512];
    int connected;  /* a handshake succeeded since the last failure */
    int logged_ivl; /* the retry wait last logged (ms), 0: none */
    char last_why[512];
    char handshake_why[512]; /* the last handshake failure, "" after success */
};

int clab_reach_new(void *zctx, void *sock, const char *endpoint, clab_reach_t **out)
{
    static int seq;
    char addr[64];
    int ivl = CLAB_REACH_IVL_MS, max = CLAB_REACH_IVL_MAX_MS;
    clab_reach_t *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    snprintf(r->endpoint, sizeof r->endpoint, "%s", endpoint);
    r->sock = sock;
    snprintf(addr, sizeof addr, "inproc://clab-reach-%d", seq++);
    int events = ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |
                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) ||
        zmq_setsockopt(sock, ZMQ_RECONNECT_IVL_MAX, &max, sizeof max) ||
        zmq_socket_monitor(sock, addr, events) ||
        !(r->mon = zmq_socket(zctx, ZMQ_PAIR)) || zmq_connect(r->mon, addr)) {
        int rc = -zmq_errno();
        clab_reach_destroy(&r);
        return rc ? rc : -EIO;
    }
    *out = r;
    return 0;
}

void clab_reach_destroy(clab_reach_t **reach)
{
    clab_reach_t *r = *reach;
    if (!r)
        return;
    if (r->mon) {
        /* Stop the monitor first and drain what it sent: an event left in
         * flight to a closed PAIR is never freed by libzmq (LeakSanitizer
         * saw one, its endpoint frame, at an engine's exit). */
        int linger = 0;
        zmq_msg_t m;
        zmq_socket_monitor(r->sock, NULL, 0);
        for (int i = 0; i < 64; i++) {
            zmq_msg_init(&m);
            int n = zmq_msg_recv(&m, r->mon, ZMQ_DONTWAIT);
            zmq_msg_close(&m);
            if (n < 0)
                break;
        }
        zmq_setsockopt(r->mon, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(r->mon);
    }
    free(r);
    *reach = NULL;
}

/* Splits a tcp:// endpoint into host (brackets of an IPv6 address taken
 * off) and port: 0, or -EINVAL for any other endpoint. */
static int split_tcp(const char *endpoint, char *host, size_t size, const char **port)
{
    const char *p = strncmp(endpoint, "tcp://", 6) == 0 ? endpoint + 6 : NULL;
    const char *colon = p ? strrchr(p, ':') : NULL;
    if (!colon || (size_t)(colon - p) >= size)
        return -EINVAL;
    if (*p == '[' && colon > p + 1 && colon[-1] == ']')
        snprintf(host, size, "%.*s", (int)(colon - p - 2), p + 1);
    else
        snprintf(host, size, "%.*s", (int)(colon - p), p);
    *port = colon + 1;
    return 0;
}

/* The result of one non-blocking connect to ai: 0 or an errno. */
static int try_connect(const struct addrinfo *ai)
{
    int err = 0,
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
        err = errno;
    } else {
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        socklen_t len = sizeof err;
        if (poll(&pf, 1, PROBE_MS) <= 0)
            err = ETIMEDOUT;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
    }
    close(fd);
    return err;
}

/* One plain TCP connect to the endpoint's address: NULL when it connects,
 * else the reason, in why. */
static const char *probe(const char *endpoint, char *why, size_t size)
{
    char host[200];
    const char *port;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (split_tcp(endpoint, host, sizeof host, &port) < 0) {
        snprintf(why, size, "no connection");
        return why;
    }
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g) {
        snprintf(why, size, "cannot resolve %s: %s", host, gai_strerror(g));
        return why;
    }
    int err = try_connect(ai);
    freeaddrinfo(ai);
    if (!err)
        return NULL;
    snprintf(why, size, "%s", strerror(err));
    return why;
}

/* Logs a failure to reach the controller, with the wait before the next
 * attempt (wait_ms; 0: not known here). */
static void failed(clab_reach_t *r, const char *why, int wait_ms)
{
    if (wait_ms > 0)
        clab_warn("cannot reach the controller at %s: %s; retrying in %.1f s",
                  r->endpoint, why, wait_ms / 1000.0);
    else
        clab_warn("cannot reach the controller at %s: %s; retrying", r->endpoint, why);
    snprintf(r->last_why, sizeof r->last_why, "%s", why);
    if (wait_ms > 0)
        r->logged_ivl = wait_ms;
}

/* A retry is logged (and probed: a probe may take a second) only when the
 * wait has doubled since the last line, or reached the cap: a few lines
 * while the back-off grows, then one per capped wait. */
static void on_retry(clab_reach_t *r, int wait_ms)
{
    char buf[512];
    if (r->logged_ivl > 0 && wait_ms < 2 * r->logged_ivl &&
        wait_ms < CLAB_REACH_IVL_MAX_MS)
        return;
    /* TCP got through last time and the handshake failed: say that. */
    const char *why =
        r->handshake_why[0] ? r->handshake_why : probe(r->endpoint, buf, sizeof buf);
    failed(r,
           why ? why
               : "TCP connects, but the connection ends in the CURVE handshake "
                 "(engine.json from another controller's state?)",
           wait_ms);
}

/* Logged the first time; the retries that follow repeat it as they grow. */
static void handshake_failed(clab_reach_t *r, const char *why)
{
    if (strcmp(why, r->handshake_why) != 0)
        failed(r, why, 0);
    snprintf(r->handshake_why, sizeof r->handshake_why, "%s", why);
}

static void on_event(clab_reach_t *r, unsigned event, uint32_t value)
{
    char buf[512];
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        if (r->last_why[0] || !r->connected)
            clab_info("connected to the controller at %s", r->endpoint);
        r->connected = 1;
        r->last_why[0] = r->handshake_why[0] = '\0';
        r->logged_ivl = 0;
        break;
    case ZMQ_EVENT_DISCONNECTED:
        if (r->connected)
            clab_warn("connection to the controller at %s lost; reconnecting",
                      r->endpoint);
        r->connected = 0;
        break;
    case ZMQ_EVENT_CONNECT_RETRIED:
        on_retry(r, (int)value);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        snprintf(buf, sizeof buf,
                 "the controller refused this engine's key (ZAP status %u): use "
                 "the engine.json of that controller's state directory",
                 (unsigned)value);
        handshake_failed(r, buf);
        break;
    default: /* handshake failed: no detail, or protocol (a wrong server key) */
        snprintf(buf, sizeof buf, "%s",
                 "CURVE handshake failed (the controller's key in engine.json is not "
                 "this controller's?)");
        handshake_failed(r, buf);
    }
}

void clab_reach_poll(clab_reach_t *r)
{
    zmq_msg_t m;
    for (;;) {
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, r->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        unsigned event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&m) >= 6) {
            const uint8_t *d = zmq_msg_data(&m);
            uint16_t ev;
            memcpy(&ev, d, 2);
            memcpy(&value, d + 2, 4);
            event = ev;
        }
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) { /* the endpoint frame: ours */
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, r->mon, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (event)
            on_event(r, event, value);
    }
}
