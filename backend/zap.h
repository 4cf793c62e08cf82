/* Access control for the controller's CURVE sockets: a ZAP handler (ZeroMQ
 * RFC 27) that admits only the client public key of the connection file.
 * CURVE alone encrypts and proves the server to the client; without a ZAP
 * handler libzmq admits ANY client key pair, so anyone who can reach a TCP
 * port would get in. With one running in the same context, every CURVE
 * handshake on every socket of that context is decided here. */
#ifndef CLAB_ZAP_H
#define CLAB_ZAP_H

typedef struct clab_zap clab_zap_t;

/* The ZAP domain the controller's server sockets may set (ZMQ_ZAP_DOMAIN);
 * CURVE consults the handler with or without one. */
#define CLAB_ZAP_DOMAIN "clab"

/* Binds inproc://zeromq.zap.01 in zctx and starts the handler thread.
 * Call it before binding any CURVE server socket of zctx: a handshake that
 * finds no handler is admitted unchecked. allowed_public_z85 is the
 * 40-character Z85 text of the one client key to admit. Returns 0, -EINVAL
 * for a malformed key, -EADDRINUSE when zctx already has a handler, or
 * another -errno. */
int clab_zap_start(void *zctx, const char *allowed_public_z85, clab_zap_t **out);

/* Stops the thread and closes its socket; *z becomes NULL. Call it after
 * closing the server sockets (so that no handshake runs unchecked) and
 * before zmq_ctx_term (which would otherwise wait for ever). */
void clab_zap_destroy(clab_zap_t **z);

/* Handshakes admitted and refused so far (for tests and logs). */
unsigned long clab_zap_admitted(const clab_zap_t *z);
unsigned long clab_zap_refused(const clab_zap_t *z);

#endif
