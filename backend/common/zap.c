/* The ZAP handler: one thread answering libzmq's authentication requests
 * (RFC 27) on inproc://zeromq.zap.01 with 200 for the CURVE key of the
 * role whose socket (ZAP domain) it knocks on, and 400 for anything else.
 * It is stopped through an inproc PAIR so that destroy never waits on a
 * poll timeout. */
#include "zap.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 7 /* version, id, domain, address, identity, mechanism, key */
#define MAX_FRAMES 16
#define LOG_WINDOW 10.0 /* seconds; at most LOG_BURST refusals logged per window */
#define LOG_BURST 10

struct clab_zap {
    void *handler; /* REP, bound to ZAP_ENDPOINT */
    void *ctl_tx, *ctl_rx;
    pthread_t thread;
    int started;
    uint8_t client_key[32], engine_key[32];
    atomic_ulong admitted, refused;
    double window_start;
    unsigned long window_logged, window_quiet;
};

typedef struct {
    zmq_msg_t part[MAX_FRAMES];
    size_t n;
} request_t;

static void request_close(request_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        zmq_msg_close(&r->part[i]);
    r->n = 0;
}

/* Reads one whole request; parts beyond MAX_FRAMES are read and dropped so
 * that the REP socket stays in step. Returns 0 or -errno. */
static int request_recv(void *sock, request_t *r)
{
    int more = 1;
    r->n = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&m);
            request_close(r);
            return -e;
        }
        more = zmq_msg_more(&m);
        if (r->n < MAX_FRAMES)
            r->part[r->n++] = m;
        else
            zmq_msg_close(&m);
    }
    return 0;
}

static int frame_is(request_t *r, size_t i, const char *text)
{
    size_t len = strlen(text);
    return i < r->n && zmq_msg_size(&r->part[i]) == len &&
           memcmp(zmq_msg_data(&r->part[i]), text, len) == 0;
}

/* A frame as printable text for the log. */
static void frame_text(request_t *r, size_t i, char *out, size_t cap)
{
    size_t k = 0;
    if (i < r->n) {
        const unsigned char *p = zmq_msg_data(&r->part[i]);
        for (size_t j = 0; j < zmq_msg_size(&r->part[i]) && k + 1 < cap; j++)
            out[k++] = p[j] >= 0x20 && p[j] < 0x7f ? (char)p[j] : '?';
    }
    out[k] = '\0';
}

/* Compares in time independent of where the keys differ. */
static int same_key(const uint8_t *a, const uint8_t *b)
{
    uint8_t diff = 0;
    for (int i = 0; i < 32; i++)
        diff |= a[i] ^ b[i];
    return diff == 0;
}

/* REP demands a reply to every request, even one we cannot make sense of;
 * an empty request id then is the best we can echo. */
static void reply(void *sock, request_t *r, const char *code, const char *text)
{
    const void *id = r->n > 1 ? zmq_msg_data(&r->part[1]) : "";
    size_t idlen = r->n > 1 ? zmq_msg_size(&r->part[1]) : 0;
    if (zmq_send(sock, "1.0", 3, ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, id, idlen, ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, code, strlen(code), ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, text, strlen(text), ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(sock, "", 0, 0) < 0)
        clab_warn("zap: cannot reply: %s", zmq_strerror(zmq_errno()));
}

/* A peer that keeps retrying with a wrong key must not flood the log. */
static void log_refusal(clab_zap_t *z, const char *address, const char *mechanism,
                        const char *why)
{
    double now = clab_mono();
    if (now - z->window_start >= LOG_WINDOW) {
        if (z->window_quiet)
            clab_warn("zap: %lu more connection(s) refused in the last %.0f s",
                      z->window_quiet, LOG_WINDOW);
        z->window_start = now;
        z->window_logged = z->window_quiet = 0;
    }
    if (z->window_logged++ < LOG_BURST)
        clab_warn("zap: refused a %s connection from %s: %s", mechanism, address, why);
    else
        z->window_quiet++;
}

/* NULL when `client` may use the socket of the request's domain, else why
 * not (after "client key KEY "). Both keys are compared every time, so the
 * time taken says nothing about which one is near. */
static const char *admits(clab_zap_t *z, request_t *r, const uint8_t *client)
{
    int is_client = same_key(client, z->client_key);
    int is_engine = same_key(client, z->engine_key);
    if (frame_is(r, 2, CLAB_ZAP_DOMAIN_CLIENTS))
        return is_client   ? NULL
               : is_engine ? "is the engines' key, refused on the client socket"
                           : "is not the cluster's";
    if (frame_is(r, 2, CLAB_ZAP_DOMAIN_ENGINES))
        return is_engine   ? NULL
               : is_client ? "is the clients' key, refused on the engine socket"
                           : "is not the cluster's";
    return "knocked on a socket outside the cluster's ZAP domains";
}

static void handle(clab_zap_t *z, request_t *r)
{
    char address[64], mechanism[16], key[41] = "?";
    frame_text(r, 3, address, sizeof address);
    frame_text(r, 5, mechanism, sizeof mechanism);
    if (r->n < 6 || !frame_is(r, 0, "1.0")) {
        atomic_fetch_add(&z->refused, 1);
        log_refusal(z, address, mechanism, "malformed ZAP request");
        reply(z->handler, r, "500", "malformed request");
        return;
    }
    if (!frame_is(r, 5, "CURVE")) {
        atomic_fetch_add(&z->refused, 1);
        log_refusal(z, address, mechanism,
                    "only CURVE with the cluster's key is allowed");
        reply(z->handler, r, "400", "CURVE required");
        return;
    }
    if (r->n != ZAP_FRAMES || zmq_msg_size(&r->part[6]) != 32) {
        atomic_fetch_add(&z->refused, 1);
        log_refusal(z, address, mechanism, "malformed CURVE credentials");
        reply(z->handler, r, "500", "malformed request");
        return;
    }
    const uint8_t *client = zmq_msg_data(&r->part[6]);
    const char *why = admits(z, r, client);
    if (why) {
        char text[160];
        atomic_fetch_add(&z->refused, 1);
        if (!zmq_z85_encode(key, client, 32))
            snprintf(key, sizeof key, "?");
        snprintf(text, sizeof text, "client key %s %s", key, why);
        log_refusal(z, address, mechanism, text);
        reply(z->handler, r, "400", "key not allowed on this socket");
        return;
    }
    atomic_fetch_add(&z->admitted, 1);
    clab_debug("zap: admitted a CURVE connection from %s", address);
    reply(z->handler, r, "200", "OK");
}

static void *run(void *arg)
{
    clab_zap_t *z = arg;
    zmq_pollitem_t items[] = {{z->handler, 0, ZMQ_POLLIN, 0},
                              {z->ctl_rx, 0, ZMQ_POLLIN, 0}};
    for (;;) {
        if (zmq_poll(items, 2, -1) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            clab_err("zap: poll: %s; no more connections will be admitted",
                     zmq_strerror(zmq_errno()));
            break;
        }
        if (items[1].revents & ZMQ_POLLIN)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            request_t r;
            int rc = request_recv(z->handler, &r);
            if (rc == -ETERM)
                break;
            if (rc)
                continue;
            handle(z, &r);
            request_close(&r);
        }
    }
    return NULL;
}

int clab_zap_start(void *zctx, const char *client_public_z85,
                   const char *engine_public_z85, clab_zap_t **out)
{
    char ctl[64];
    int rc, zero = 0;
    *out = NULL;
    if (!zctx || !client_public_z85 || strlen(client_public_z85) != 40 ||
        !engine_public_z85 || strlen(engine_public_z85) != 40)
        return -EINVAL;
    clab_zap_t *z = calloc(1, sizeof *z);
    if (!z)
        return -ENOMEM;
    if (!zmq_z85_decode(z->client_key, client_public_z85) ||
        !zmq_z85_decode(z->engine_key, engine_public_z85) ||
        same_key(z->client_key, z->engine_key)) {
        rc = -EINVAL;
        goto fail;
    }
    atomic_init(&z->admitted, 0);
    atomic_init(&z->refused, 0);
    z->window_start = clab_mono();
    z->handler = zmq_socket(zctx, ZMQ_REP);
    z->ctl_tx = zmq_socket(zctx, ZMQ_PAIR);
    z->ctl_rx = zmq_socket(zctx, ZMQ_PAIR);
    if (!z->handler || !z->ctl_tx || !z->ctl_rx) {
        rc = -zmq_errno();
        goto fail;
    }
    snprintf(ctl, sizeof ctl, "inproc://clab-zap-ctl-%p", (void *)z);
    if (zmq_setsockopt(z->handler, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(z->ctl_tx, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(z->ctl_rx, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_bind(z->handler, ZAP_ENDPOINT) || zmq_bind(z->ctl_rx, ctl) ||
        zmq_connect(z->ctl_tx, ctl)) {
        rc = -zmq_errno();
        goto fail;
    }
    /* The sockets move to the thread; pthread_create is the full barrier
     * libzmq asks for when a socket changes threads. The thread blocks
     * every signal, so SIGTERM and SIGINT still reach the program's own
     * loop. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&z->thread, NULL, run, z);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        rc = -rc;
        goto fail;
    }
    z->started = 1;
    *out = z;
    return 0;
fail:
    clab_zap_destroy(&z);
    return rc;
}

void clab_zap_destroy(clab_zap_t **pz)
{
    clab_zap_t *z = pz ? *pz : NULL;
    if (!z)
        return;
    if (z->started) {
        /* Blocking send: the PAIR is connected in-process, so it cannot hang. */
        zmq_send(z->ctl_tx, "stop", 4, 0);
        pthread_join(z->thread, NULL);
    }
    if (z->handler)
        zmq_close(z->handler);
    if (z->ctl_tx)
        zmq_close(z->ctl_tx);
    if (z->ctl_rx)
        zmq_close(z->ctl_rx);
    free(z);
    *pz = NULL;
}

unsigned long clab_zap_admitted(const clab_zap_t *z)
{
    return atomic_load(&((clab_zap_t *)z)->admitted);
}

unsigned long clab_zap_refused(const clab_zap_t *z)
{
    return atomic_load(&((clab_zap_t *)z)->refused);
}
