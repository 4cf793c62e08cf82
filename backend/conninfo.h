/* The connection file, STATE/cluster.json (mode 0600): where the
 * controller listens and the CURVE keys to get in. Engines and clients need
 * nothing else. The controller's own secret key stays in STATE/server.key. */
#ifndef CLAB_CONNINFO_H
#define CLAB_CONNINFO_H

#include <stddef.h>

#define CLAB_KEY_LEN 41 /* Z85 key text plus NUL */

typedef struct {
    char client_endpoint[512]; /* clients (clabfs) connect here */
    char engine_endpoint[512]; /* engines connect here */
    char server_public[CLAB_KEY_LEN];
    char client_public[CLAB_KEY_LEN];
    char client_secret[CLAB_KEY_LEN];
    char server_secret[CLAB_KEY_LEN]; /* only the controller fills this */
} clab_conninfo_t;

/* Reads a connection file. -ENOENT when missing, -EINVAL when malformed,
 * -EPERM when group or others can read it (keys must stay private). */
int clab_conninfo_load(const char *path, clab_conninfo_t *ci);
/* The reason to show for an error of clab_conninfo_load (err < 0), after
 * "cannot use connection file PATH: ". Static text. */
const char *clab_conninfo_strerror(int err);
/* Writes it atomically with mode 0600 (server_secret is not written). */
int clab_conninfo_save(const char *path, const clab_conninfo_t *ci);
/* The controller's key pair file. */
int clab_conninfo_load_server_key(const char *path, clab_conninfo_t *ci);
int clab_conninfo_save_server_key(const char *path, const clab_conninfo_t *ci);
/* Makes fresh server and client key pairs. */
int clab_conninfo_new_keys(clab_conninfo_t *ci);

/* Makes a zmq socket a CURVE client of the controller described by ci. */
int clab_conninfo_curve_client(void *sock, const clab_conninfo_t *ci);
/* Makes a zmq socket a CURVE server with the controller's key pair. */
int clab_conninfo_curve_server(void *sock, const clab_conninfo_t *ci);

/* Creates dir (and parents) with the given mode if missing. */
int clab_mkdir_p(const char *dir, unsigned mode);

#endif
