/* Access control for the controller's CURVE sockets: a ZAP handler (ZeroMQ
 * RFC 27) that admits the clients' public key (cluster.json) only on the
 * client socket and the engines' (engine.json) only on the engine socket.
 * CURVE alone encrypts and proves the server to the client; without a ZAP
 * handler libzmq admits ANY client key pair, so anyone who can reach a TCP
 * port would get in. With one running in the same context, every CURVE
 * handshake on every socket of that context is decided here; the socket
 * is told apart by the ZAP domain it sets (ZMQ_ZAP_DOMAIN), which the
 * request carries. */
#ifndef CLAB_ZAP_H
#define CLAB_ZAP_H

typedef struct clab_zap clab_zap_t;

/* The ZAP domains of the controller's two server sockets. CURVE consults
 * the handler with or without a domain; a socket with any other domain,
 * or none, admits nobody. */
#define CLAB_ZAP_DOMAIN_CLIENTS "clab-clients"
#define CLAB_ZAP_DOMAIN_ENGINES "clab-engines"

/* Binds inproc://zeromq.zap.01 in zctx and starts the handler thread.
 * Call it before binding any CURVE server socket of zctx: a handshake that
 * finds no handler is admitted unchecked. client_public_z85 is admitted in
 * CLAB_ZAP_DOMAIN_CLIENTS only, engine_public_z85 in
 * CLAB_ZAP_DOMAIN_ENGINES only (40-character Z85 texts, and two different
 * keys). Returns 0, -EINVAL for a malformed key or the same key twice,
 * -EADDRINUSE when zctx already has a handler, or another -errno. */
int clab_zap_start(void *zctx, const char *client_public_z85,
                   const char *engine_public_z85, clab_zap_t **out);

/* Stops the thread and closes its socket; *z becomes NULL. Call it after
 * closing the server sockets (so that no handshake runs unchecked) and
 * before zmq_ctx_term (which would otherwise wait for ever). */
void clab_zap_destroy(clab_zap_t **z);

/* Handshakes admitted and refused so far (for tests and logs). */
unsigned long clab_zap_admitted(const clab_zap_t *z);
unsigned long clab_zap_refused(const clab_zap_t *z);

#endif
