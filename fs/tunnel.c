/* The ssh child of clabfs --ssh: its command line, its local end, and
 * the supervisor (child.c) that keeps it up, with ssh's stderr in the log
 * and PR_SET_PDEATHSIG so that it dies with clabfs, even on kill -9. */
#include "tunnel.h"
#include "child.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FIRST_BACKOFF 1.0
#define SUN_PATH_MAX 100

struct clab_tunnel {
    char ssh[4096];     /* the ssh program, found on PATH */
    char host[512];     /* [USER@]HOST */
    char port[16];      /* "" when not given */
    char key[4096];     /* "" when not given */
    char forward[1200]; /* LOCAL:REMOTE for -L */
    char sock[256];     /* the local unix socket, "" for tcp */
    char *argv[32];
    clab_children_t *children;
};

int clab_tunnel_parse_dest(const char *dest, char *host, size_t size, int *port)
{
    const char *at = strrchr(dest, '@');
    const char *h = at ? at + 1 : dest, *hend, *colon;
    int user = (int)(h - dest);
    *port = 0;
    if (!*h || dest[0] == '-' || h[0] == '-')
        return -EINVAL;
    if (h[0] == '[') { /* [v6] or [v6]:PORT; ssh wants the bare address */
        const char *close = strchr(h, ']');
        if (!close || (close[1] && close[1] != ':'))
            return -EINVAL;
        colon = close[1] ? close + 1 : NULL;
        hend = close;
        h++;
    } else {
        colon = strchr(h, ':');
        if (colon && strchr(colon + 1, ':'))
            colon = NULL; /* a bare IPv6 address */
        hend = colon ? colon : h + strlen(h);
    }
    if (hend == h)
        return -EINVAL;
    if (colon) {
        char *end;
        errno = 0;
        long p = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || errno || p < 1 || p > 65535)
            return -EINVAL;
        *port = (int)p;
    }
    return snprintf(host, size, "%.*s%.*s", user, dest, (int)(hend - h), h) < (int)size
               ? 0
               : -ENAMETOOLONG;
}

int clab_tunnel_remote_spec(const char *endpoint, char *out, size_t size)
{
    const char *rest;
    if (strncmp(endpoint, "tcp://", 6) == 0) {
        rest = endpoint + 6;
        const char *colon = strrchr(rest, ':');
        if (!colon || colon == rest || !colon[1] || strchr(rest, '*') ||
            strchr(rest, ';'))
            return -EINVAL;
    } else if (strncmp(endpoint, "ipc://", 6) == 0) {
        rest = endpoint + 6;
        if (rest[0] != '/')
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    return snprintf(out, size, "%s", rest) < (int)size ? 0 : -ENAMETOOLONG;
}

/* A TCP port of 127.0.0.1 nobody listens on now (the kernel's choice). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -errno : 0;
    if (rc == 0 && (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
                    getsockname(fd, (struct sockaddr *)&a, &len) < 0))
        rc = -errno;
    if (fd >= 0)
        close(fd);
    return rc < 0 ? rc : ntohs(a.sin_port);
}

/* The local end: a unix socket in dir (private to us, never taken by
 * another program between restarts), else a free loopback port. */
static int local_end(clab_tunnel_t *t, const clab_tunnel_opts_t *o, const char *remote,
                     char *endpoint, size_t size)
{
    char local[300];
    if (snprintf(t->sock, sizeof t->sock, "%s/tunnel.sock", o->dir) < SUN_PATH_MAX) {
        unlink(t->sock);
        snprintf(local, sizeof local, "%s", t->sock);
        if (snprintf(endpoint, size, "ipc://%s", t->sock) >= (int)size)
            return -ENAMETOOLONG;
    } else {
        int port = free_port();
        if (port < 0)
            return port;
        t->sock[0] = '\0';
        snprintf(local, sizeof local, "127.0.0.1:%d", port);
        if (snprintf(endpoint, size, "tcp://127.0.0.1:%d", port) >= (int)size)
            return -ENAMETOOLONG;
    }
    if (snprintf(t->forward, sizeof t->forward, "%s:%s", local, remote) >=
        (int)sizeof t->forward)
        return -ENAMETOOLONG;
    return 0;
}

static void build_argv(clab_tunnel_t *t)
{
    static const char *const fixed[] = {"ssh", "-N",
                                        "-o",  "BatchMode=yes",
                                        "-o",  "ExitOnForwardFailure=yes",
                                        "-o",  "ServerAliveInterval=5",
                                        "-o",  "ServerAliveCountMax=2",
                                        "-o",  "ConnectTimeout=10",
                                        "-o",  "StreamLocalBindUnlink=yes"};
    int n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        t->argv[n++] = (char *)fixed[i];
    if (t->key[0]) {
        t->argv[n++] = "-i";
        t->argv[n++] = t->key;
    }
    if (t->port[0]) {
        t->argv[n++] = "-p";
        t->argv[n++] = t->port;
    }
    t->argv[n++] = "-L";
    t->argv[n++] = t->forward;
    t->argv[n++] = "--";
    t->argv[n++] = t->host;
    t->argv[n] = NULL;
}

int clab_tunnel_check(const clab_tunnel_opts_t *o, char *why, size_t size)
{
    char buf[4096];
    int port;
    if (clab_tunnel_parse_dest(o->dest, buf, sizeof buf, &port) < 0)
        snprintf(why, size, "--ssh wants [USER@]HOST[:PORT], not '%s'", o->dest);
    else if (clab_tunnel_remote_spec(o->remote, buf, sizeof buf) < 0)
        snprintf(why, size, "cannot tunnel to client endpoint %s (tcp:// or ipc:// only)",
                 o->remote);
    else if (o->key && access(o->key, R_OK) < 0)
        snprintf(why, size, "cannot read --ssh-key %s: %s", o->key, strerror(errno));
    else if (clab_find_on_path("ssh", buf, sizeof buf) < 0)
        snprintf(why, size, "no ssh on PATH (install openssh-client)");
    else
        return 0;
    return -EINVAL;
}

int clab_tunnel_start(const clab_tunnel_opts_t *o, clab_tunnel_t **out, char *endpoint,
                      size_t size)
{
    char remote[600], name[600];
    int port, rc = -ENOMEM;
    clab_tunnel_t *t = calloc(1, sizeof *t);
    if (!t)
        goto fail;
    if ((rc = clab_tunnel_parse_dest(o->dest, t->host, sizeof t->host, &port)) < 0 ||
        (rc = clab_tunnel_remote_spec(o->remote, remote, sizeof remote)) < 0 ||
        (rc = local_end(t, o, remote, endpoint, size)) < 0)
        goto fail;
    /* Found before any fork: the child only execs. */
    if ((rc = clab_find_on_path("ssh", t->ssh, sizeof t->ssh)) < 0)
        goto fail;
    if (port)
        snprintf(t->port, sizeof t->port, "%d", port);
    if (o->key && snprintf(t->key, sizeof t->key, "%s", o->key) >= (int)sizeof t->key) {
        rc = -ENAMETOOLONG;
        goto fail;
    }
    build_argv(t);
    t->argv[0] = t->ssh;
    snprintf(name, sizeof name, "ssh tunnel to %s", t->host);
    /* Its own process group: a terminal's ^C reaches clabfs, which stops
     * ssh. An unreachable HOST is retried, not fatal. */
    clab_child_opts_t co = {.name = name,
                            .argv = t->argv,
                            .pass_fd = -1,
                            .own_group = 1,
                            .backoff = FIRST_BACKOFF,
                            .max_backoff = o->max_backoff,
                            .status_255 = "connection or authentication failed"};
    pid_t pid;
    if ((rc = clab_children_start(&t->children)) < 0 ||
        (rc = pid = clab_children_add(t->children, &co)) < 0)
        goto fail;
    clab_info("ssh tunnel to %s started (pid %d): -L %s", t->host, (int)pid, t->forward);
    *out = t;
    return 0;
fail:
    if (t)
        clab_children_stop(&t->children);
    free(t);
    return rc;
}

void clab_tunnel_stop(clab_tunnel_t **pt)
{
    clab_tunnel_t *t = *pt;
    if (!t)
        return;
    clab_children_stop(&t->children);
    if (t->sock[0])
        unlink(t->sock);
    free(t);
    *pt = NULL;
}
