/* The ssh tunnel of clabfs --ssh: an `ssh -N -L` child that carries the
 * client link to a controller only a login node can reach. The supervisor
 * of child.h logs what ssh says, restarts it with a capped back-off when
 * it exits, and stops it with the mount; the local end keeps its address
 * across restarts, so the client socket's own reconnection heals the link.
 * The child gets PR_SET_PDEATHSIG: it dies with clabfs, even on kill -9. */
#ifndef CLAB_TUNNEL_H
#define CLAB_TUNNEL_H

#include <stddef.h>

typedef struct clab_tunnel clab_tunnel_t;

typedef struct {
    const char *dest;   /* [USER@]HOST[:PORT] */
    const char *key;    /* ssh -i FILE; NULL: ssh's own choice */
    const char *remote; /* the client endpoint as HOST sees it: tcp://H:P, ipc://PATH */
    const char *dir;    /* where the local end (a unix socket) is made */
    double max_backoff; /* longest wait between restarts, seconds */
} clab_tunnel_opts_t;

/* Splits [USER@]HOST[:PORT] into "[USER@]HOST" and the port (0: none).
 * "[v6]:PORT" keeps the brackets off; a bare IPv6 address has no port.
 * -EINVAL for an empty host, a leading '-', or a bad port. */
int clab_tunnel_parse_dest(const char *dest, char *host, size_t size, int *port);
/* The remote half of ssh -L for a zmq endpoint: "H:P" for tcp://H:P, the
 * path for ipc://PATH. -EINVAL for any other endpoint. */
int clab_tunnel_remote_spec(const char *endpoint, char *out, size_t size);
/* What start would refuse, checked before the mount so that the user sees
 * it: -EINVAL with the reason in why. */
int clab_tunnel_check(const clab_tunnel_opts_t *opts, char *why, size_t size);
/* Starts the ssh child and its supervisor; endpoint gets the local end to
 * connect the client socket to (ipc:// in dir, or tcp://127.0.0.1:PORT when
 * dir's path is too long for a unix socket). Returns once ssh is spawned,
 * not once it is connected: an unreachable HOST is retried, not fatal. */
int clab_tunnel_start(const clab_tunnel_opts_t *opts, clab_tunnel_t **out, char *endpoint,
                      size_t size);
/* Ends ssh (SIGTERM, then SIGKILL), reaped, and its supervisor. */
void clab_tunnel_stop(clab_tunnel_t **tunnel);

#endif
