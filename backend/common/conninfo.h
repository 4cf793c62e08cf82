/* The connection files the controller writes in its state directory, each
 * mode 0600 with the endpoints, the controller's public key and ONE key
 * pair: STATE/cluster.json (role "client") for clients (clabfs) and
 * STATE/engine.json (role "engine") for engines, so that an engine host
 * never holds the key that acts for a client, nor a client host the
 * engines'. A file without a role is from before the split: one key pair
 * (client_*) for both. The controller's own secret key stays in
 * STATE/server.key. */
#ifndef CLAB_CONNINFO_H
#define CLAB_CONNINFO_H

#include <stddef.h>

#define CLAB_KEY_LEN 41 /* Z85 key text plus NUL */

#define CLAB_CONN_CLIENT_FILE "cluster.json"
#define CLAB_CONN_ENGINE_FILE "engine.json"

typedef struct {
    char client_endpoint[512]; /* clients (clabfs) connect here */
    char engine_endpoint[512]; /* engines connect here */
    char server_public[CLAB_KEY_LEN];
    char client_public[CLAB_KEY_LEN]; /* the clients' key pair (cluster.json) */
    char client_secret[CLAB_KEY_LEN];
    char engine_public[CLAB_KEY_LEN]; /* the engines' key pair (engine.json) */
    char engine_secret[CLAB_KEY_LEN];
    char server_secret[CLAB_KEY_LEN]; /* only the controller fills this */
} clab_conninfo_t;

/* Reads a client's connection file (cluster.json, or one from before the
 * split): fills the endpoints, server_public and the client key pair.
 * -ENOENT when missing, -EINVAL when malformed, -EPERM when group or
 * others can read it (keys must stay private), -EKEYREJECTED for an
 * engine's file. */
int clab_conninfo_load(const char *path, clab_conninfo_t *ci);
/* Reads an engine's: engine.json, or a file from before the split whose
 * one key pair then serves as the engine's. Fills the endpoints,
 * server_public and the engine key pair; errors as clab_conninfo_load,
 * with -ENOKEY for a client's file (it holds no engine key pair). */
int clab_conninfo_load_engine(const char *path, clab_conninfo_t *ci);
/* The reason to show for an error of the loads (err < 0), after "cannot
 * use connection file PATH: ". Static text. */
const char *clab_conninfo_strerror(int err);
/* Write the client's and the engine's file, atomically and with mode
 * 0600; each holds its own key pair only (never server_secret). */
int clab_conninfo_save(const char *path, const clab_conninfo_t *ci);
int clab_conninfo_save_engine(const char *path, const clab_conninfo_t *ci);
/* Both files in dir: engine.json first, so that whoever waits for
 * cluster.json finds both. */
int clab_conninfo_save_files(const char *dir, const clab_conninfo_t *ci);
/* The controller's key pair file. */
int clab_conninfo_load_server_key(const char *path, clab_conninfo_t *ci);
int clab_conninfo_save_server_key(const char *path, const clab_conninfo_t *ci);
/* Makes fresh server, client and engine key pairs. */
int clab_conninfo_new_keys(clab_conninfo_t *ci);
/* Makes a fresh engine key pair only (a state directory from before the
 * split keeps its server and client keys). */
int clab_conninfo_new_engine_keys(clab_conninfo_t *ci);

/* Makes a zmq socket a CURVE client of the controller described by ci,
 * with the client key pair, or (curve_engine) the engine key pair. */
int clab_conninfo_curve_client(void *sock, const clab_conninfo_t *ci);
int clab_conninfo_curve_engine(void *sock, const clab_conninfo_t *ci);
/* Makes a zmq socket a CURVE server with the controller's key pair. */
int clab_conninfo_curve_server(void *sock, const clab_conninfo_t *ci);

/* The endpoint a peer on another host can use for a socket bound to
 * `bound` (its ZMQ_LAST_ENDPOINT): a wildcard bind (tcp://0.0.0.0:PORT,
 * from a tcp "*" bind) is named by this host's primary IPv4 address, the
 * source of its default route, else its first non-loopback address that
 * is up, else its host name; any other endpoint is kept. 0, or
 * -ENAMETOOLONG. */
int clab_conninfo_public_endpoint(const char *bound, char *out, size_t size);

/* Replaces path by len bytes of data so that a reader sees the old file
 * or the new one, never half of one: written to PATH.tmp (created with
 * mode, never through a link: one planted there is removed first) and
 * renamed over path (a link there is replaced, not followed); fsynced
 * first when sync (state, not a view). 0 or -errno. */
int clab_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
                           int sync);

/* Opens path (flags as open(2)'s, O_CREAT among them) as a file of a state
 * directory: never through a symbolic link (-ELOOP), never anything but a
 * regular file (-EINVAL: a FIFO would block, a device is no log), and
 * made mode 0600 whatever the umask when this open creates it. A file
 * there already keeps its mode. The descriptor is O_CLOEXEC. fd or
 * -errno. */
int clab_open_private(const char *path, int flags);

/* Creates dir (and parents) with the given mode if missing. */
int clab_mkdir_p(const char *dir, unsigned mode);

#endif
