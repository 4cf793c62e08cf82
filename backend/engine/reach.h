/* How an engine reaches its controller across machines: the reconnection
 * back-off, and a log line that names the endpoint and says why it cannot
 * be reached (no TCP connection and the system's reason for it, or a
 * connection that a CURVE handshake then ends). Linked by clab-engine. */
#ifndef CLAB_REACH_H
#define CLAB_REACH_H

/* libzmq reconnects by itself, doubling the wait after each failed
 * attempt from the first to the cap (milliseconds). */
#define CLAB_REACH_IVL_MS 100
#define CLAB_REACH_IVL_MAX_MS 10000

typedef struct clab_reach clab_reach_t;

/* Sets sock's back-off and watches its connection (call before
 * zmq_connect). 0 or -errno. */
int clab_reach_new(void *zctx, void *sock, const char *endpoint, clab_reach_t **out);
void clab_reach_destroy(clab_reach_t **r);
/* Reads the connection's events, logging failures (each new reason, and
 * each longer wait) and the connection once made. Never blocks more than
 * a probe's second, and only while the controller is unreachable. */
void clab_reach_poll(clab_reach_t *r);

#endif
