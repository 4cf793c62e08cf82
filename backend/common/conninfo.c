/* Reading and writing the connection files (one per role) and applying
 * their CURVE keys to sockets. Writes go through a temporary file and
 * rename so that a reader never sees half a file. */
#include "conninfo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static int copy_field(json_t *o, const char *key, char *out, size_t size, int required)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return required ? -EINVAL : 0;
    if (!json_is_string(v) || json_string_length(v) >= size)
        return -EINVAL;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static json_t *load_private_json(const char *path, int *rc)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        *rc = -errno;
        return NULL;
    }
    if (st.st_mode & 077) {
        *rc = -EPERM;
        return NULL;
    }
    json_error_t jerr;
    json_t *o = json_load_file(path, 0, &jerr);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        *rc = -EINVAL;
        return NULL;
    }
    *rc = 0;
    return o;
}

/* Whose file it is: the "role" field, absent in a file from before the
 * split (one key pair for both roles). */
enum role { ROLE_UNKNOWN, ROLE_BOTH, ROLE_CLIENT, ROLE_ENGINE };

/* The parts every connection file has, and its role. */
static json_t *load_common(const char *path, clab_conninfo_t *ci, enum role *role,
                           int *rc)
{
    memset(ci, 0, sizeof *ci);
    json_t *o = load_private_json(path, rc);
    if (!o)
        return NULL;
    json_t *r = json_object_get(o, "role");
    *role = !r                                            ? ROLE_BOTH
            : !json_is_string(r)                          ? ROLE_UNKNOWN
            : strcmp(json_string_value(r), "client") == 0 ? ROLE_CLIENT
            : strcmp(json_string_value(r), "engine") == 0 ? ROLE_ENGINE
                                                          : ROLE_UNKNOWN;
    if (*role == ROLE_UNKNOWN ||
        copy_field(o, "client_endpoint", ci->client_endpoint, sizeof ci->client_endpoint,
                   1) ||
        copy_field(o, "engine_endpoint", ci->engine_endpoint, sizeof ci->engine_endpoint,
                   1) ||
        copy_field(o, "server_public", ci->server_public, CLAB_KEY_LEN, 1)) {
        json_decref(o);
        *rc = -EINVAL;
        return NULL;
    }
    return o;
}

int clab_conninfo_load(const char *path, clab_conninfo_t *ci)
{
    enum role role;
    int rc;
    json_t *o = load_common(path, ci, &role, &rc);
    if (!o)
        return rc;
    if (role == ROLE_ENGINE)
        rc = -EKEYREJECTED;
    else if (copy_field(o, "client_public", ci->client_public, CLAB_KEY_LEN, 1) ||
             copy_field(o, "client_secret", ci->client_secret, CLAB_KEY_LEN, 1))
        rc = -EINVAL;
    json_decref(o);
    return rc;
}

int clab_conninfo_load_engine(const char *path, clab_conninfo_t *ci)
{
    enum role role;
    int rc;
    json_t *o = load_common(path, ci, &role, &rc);
    if (!o)
        return rc;
    /* Before the split the one key pair was called the client's. */
    const char *pub = role == ROLE_BOTH ? "client_public" : "engine_public";
    const char *sec = role == ROLE_BOTH ? "client_secret" : "engine_secret";
    if (role == ROLE_CLIENT)
        rc = -ENOKEY;
    else if (copy_field(o, pub, ci->engine_public, CLAB_KEY_LEN, 1) ||
             copy_field(o, sec, ci->engine_secret, CLAB_KEY_LEN, 1))
        rc = -EINVAL;
    json_decref(o);
    return rc;
}

/* Says what to do about it: the errors of our own making are about the
 * file, not the system call. */
const char *clab_conninfo_strerror(int err)
{
    switch (err) {
    case -EPERM:
        return "group or others can read it (chmod 600 it)";
    case -EINVAL:
        return "not a clabfs connection file";
    case -ENOKEY:
        return "this is a client connection file; engines use " CLAB_CONN_ENGINE_FILE;
    case -EKEYREJECTED:
        return "this is an engine connection file; clients use " CLAB_CONN_CLIENT_FILE;
    default:
        return strerror(-err);
    }
}

int clab_conninfo_load_server_key(const char *path, clab_conninfo_t *ci)
{
    int rc;
    json_t *o = load_private_json(path, &rc);
    if (!o)
        return rc;
    if (copy_field(o, "server_public", ci->server_public, CLAB_KEY_LEN, 1) ||
        copy_field(o, "server_secret", ci->server_secret, CLAB_KEY_LEN, 1))
        rc = -EINVAL;
    json_decref(o);
    return rc;
}

/* Opens path as clab_open_private says, O_NONBLOCK so that a FIFO does not
 * block the open; *created says whether this open made it. */
static int open_regular(const char *path, int flags, int *created)
{
    int fl = flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, fd = -1;
    *created = 0;
    /* Made by this open, or there already: tried in turn, since another
     * process may make or remove it in between. */
    for (int tries = 0; fd < 0 && tries < 4; tries++) {
        if (flags & O_CREAT) {
            fd = open(path, fl | O_EXCL, 0600);
            *created = fd >= 0;
            if (fd >= 0 || errno != EEXIST || (flags & O_EXCL))
                break;
        }
        fd = open(path, fl & ~O_CREAT);
        if (fd >= 0 || errno != ENOENT || !(flags & O_CREAT))
            break;
    }
    /* ENXIO: a FIFO without a reader, a socket, a device without one. */
    return fd >= 0 ? fd : errno == ENXIO ? -EINVAL : -errno;
}

int clab_open_private(const char *path, int flags)
{
    int created, fd = open_regular(path, flags, &created);
    struct stat st;
    if (fd < 0)
        return fd;
    int rc = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
    /* The umask may have taken the owner's bits too: exactly 0600. */
    if (!rc && created && fchmod(fd, 0600) < 0)
        rc = -errno;
    if (!rc && !(flags & O_NONBLOCK) &&
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
        rc = -errno;
    if (rc) {
        close(fd);
        return rc;
    }
    return fd;
}

int clab_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
                           int sync)
{
    char tmp[4096];
    int rc = 0;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    /* PATH.tmp is made by this write, never opened through a link someone
     * planted there: one left by a crash, or a link, is removed (the link
     * itself, not its target) and the file made again. */
    int fd =
        open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
        fd =
            open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return -errno;
    for (size_t done = 0; !rc && done < len;) {
        ssize_t n = write(fd, (const char *)data + done, len - done);
        if (n < 0 && errno != EINTR)
            rc = -errno;
        done += n > 0 ? (size_t)n : 0;
    }
    if (!rc && sync && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) < 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
    return rc;
}

static int save_private_json(const char *path, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    int rc = -ENOMEM;
    if (text) {
        size_t len = strlen(text);
        char *line = realloc(text, len + 2);
        if (line) {
            text = line;
            memcpy(text + len, "\n", 2);
            rc = clab_write_file_atomic(path, text, len + 1, 0600, 1);
        }
    }
    free(text);
    json_decref(o);
    return rc;
}

int clab_conninfo_save(const char *path, const clab_conninfo_t *ci)
{
    return save_private_json(
        path, json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "version", 2, "role",
                        "client", "client_endpoint", ci->client_endpoint,
                        "engine_endpoint", ci->engine_endpoint, "server_public",
                        ci->server_public, "client_public", ci->client_public,
                        "client_secret", ci->client_secret));
}

int clab_conninfo_save_engine(const char *path, const clab_conninfo_t *ci)
{
    return save_private_json(
        path, json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "version", 2, "role",
                        "engine", "client_endpoint", ci->client_endpoint,
                        "engine_endpoint", ci->engine_endpoint, "server_public",
                        ci->server_public, "engine_public", ci->engine_public,
                        "engine_secret", ci->engine_secret));
}

int clab_conninfo_save_files(const char *dir, const clab_conninfo_t *ci)
{
    char path[4096];
    int rc;
    if (snprintf(path, sizeof path, "%s/" CLAB_CONN_ENGINE_FILE, dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    if ((rc = clab_conninfo_save_engine(path, ci)) < 0)
        return rc;
    snprintf(path, sizeof path, "%s/" CLAB_CONN_CLIENT_FILE, dir);
    return clab_conninfo_save(path, ci);
}

int clab_conninfo_save_server_key(const char *path, const clab_conninfo_t *ci)
{
    return save_private_json(path,
                             json_pack("{s:s, s:s}", "server_public", ci->server_public,
                                       "server_secret", ci->server_secret));
}

int clab_conninfo_new_keys(clab_conninfo_t *ci)
{
    if (zmq_curve_keypair(ci->server_public, ci->server_secret) ||
        zmq_curve_keypair(ci->client_public, ci->client_secret))
        return zmq_errno() == ENOTSUP ? -ENOTSUP : -EIO;
    return clab_conninfo_new_engine_keys(ci);
}

int clab_conninfo_new_engine_keys(clab_conninfo_t *ci)
{
    if (zmq_curve_keypair(ci->engine_public, ci->engine_secret))
        return zmq_errno() == ENOTSUP ? -ENOTSUP : -EIO;
    return 0;
}

static int curve_client(void *sock, const char *server, const char *pub, const char *sec)
{
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, 40) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40))
        return -zmq_errno();
    return 0;
}

int clab_conninfo_curve_client(void *sock, const clab_conninfo_t *ci)
{
    return curve_client(sock, ci->server_public, ci->client_public, ci->client_secret);
}

int clab_conninfo_curve_engine(void *sock, const clab_conninfo_t *ci)
{
    return curve_client(sock, ci->server_public, ci->engine_public, ci->engine_secret);
}

int clab_conninfo_curve_server(void *sock, const clab_conninfo_t *ci)
{
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, ci->server_secret, 40))
        return -zmq_errno();
    return 0;
}

/* The source address of this host's default route: a UDP socket
 * "connected" to a public address sends nothing, but the kernel picks the
 * route and the address. 0, or -errno (no default route). */
static int default_route_address(char *out, size_t size)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)}, me;
    socklen_t len = sizeof me;
    int rc = 0, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    inet_pton(AF_INET, "192.0.2.1", &to.sin_addr); /* TEST-NET-1: never reached */
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0 ||
        getsockname(fd, (struct sockaddr *)&me, &len) < 0)
        rc = -errno;
    else if (me.sin_addr.s_addr == htonl(INADDR_ANY) ||
             !inet_ntop(AF_INET, &me.sin_addr, out, (socklen_t)size))
        rc = -EADDRNOTAVAIL;
    close(fd);
    return rc;
}

/* The first IPv4 address of an interface that is up and not loopback. */
static int interface_address(char *out, size_t size)
{
    struct ifaddrs *all, *i;
    int rc = -EADDRNOTAVAIL;
    if (getifaddrs(&all) < 0)
        return -errno;
    for (i = all; i && rc; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
            !(i->ifa_flags & IFF_LOOPBACK) &&
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out,
                      (socklen_t)size))
            rc = 0;
    }
    freeifaddrs(all);
    return rc;
}

int clab_conninfo_public_endpoint(const char *bound, char *out, size_t size)
{
    const char *any = "tcp://0.0.0.0:";
    char host[256] = "localhost";
    int n;
    if (strncmp(bound, any, strlen(any)) != 0) {
        n = snprintf(out, size, "%s", bound);
    } else {
        /* A wildcard address is no use to a peer on another machine. */
        if (default_route_address(host, sizeof host) < 0 &&
            interface_address(host, sizeof host) < 0)
            gethostname(host, sizeof host - 1);
        n = snprintf(out, size, "tcp://%s:%s", host, bound + strlen(any));
    }
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int clab_mkdir_p(const char *dir, unsigned mode)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}
