/* The ssh child of clabfs --ssh and the thread that keeps it up. ssh is
 * forked here rather than spawned: only a forked child can ask for
 * PR_SET_PDEATHSIG before exec, and that is what ends it when clabfs is
 * killed with -9. The signal follows the death of the forking thread, so
 * the watcher thread both forks and outlives every child it forks. */
#include "tunnel.h"
#include "cluster.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIRST_BACKOFF 1.0
#define STEADY_UP 10.0 /* seconds up after which a failure starts the back-off anew */
#define SUN_PATH_MAX 100

struct clab_tunnel {
    char ssh[4096];     /* the ssh program, found on PATH */
    char host[512];     /* [USER@]HOST */
    char port[16];      /* "" when not given */
    char key[4096];     /* "" when not given */
    char forward[1200]; /* LOCAL:REMOTE for -L */
    char sock[256];     /* the local unix socket, "" for tcp */
    char *argv[32];
    double max_backoff, backoff, started, restart_at;
    pid_t pid;  /* 0 when not running */
    int err_fd; /* ssh's stderr, -1 when closed */
    char line[1024];
    size_t line_len;
    pthread_t thread;
    atomic_int stopping;
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

/* In the child, between fork and exec: async-signal-safe calls only. */
static void exec_ssh(const clab_tunnel_t *t, pid_t parent, int err_fd)
{
    sigset_t none;
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) /* clabfs died before the prctl */
        _exit(127);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < 32; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    /* Its own group: a terminal's ^C reaches clabfs, which stops ssh. */
    setpgid(0, 0);
    execv(t->ssh, t->argv);
    _exit(127);
}

static int spawn_ssh(clab_tunnel_t *t)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        exec_ssh(t, parent, fds[1]);
    int err = errno;
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -err;
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    t->err_fd = fds[0];
    t->pid = pid;
    t->line_len = 0;
    t->started = clab_mono();
    clab_info("ssh tunnel to %s started (pid %d): -L %s", t->host, (int)pid, t->forward);
    return 0;
}

/* Logs the line of ssh's stderr gathered so far, if any. */
static void flush_line(clab_tunnel_t *t)
{
    if (!t->line_len)
        return;
    t->line[t->line_len] = '\0';
    clab_warn("ssh %s: %s", t->host, t->line);
    t->line_len = 0;
}

/* Logs what ssh wrote on stderr, a line at a time; at EOF, or when final
 * (ssh has exited: a descendant may still hold the pipe), closes it. */
static void read_stderr(clab_tunnel_t *t, int final)
{
    char buf[512];
    ssize_t n;
    while (t->err_fd >= 0 && (n = read(t->err_fd, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN && !final)
                return;
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            int end = buf[i] == '\n' || t->line_len + 1 >= sizeof t->line;
            if (buf[i] != '\n' && buf[i] != '\r')
                t->line[t->line_len++] = buf[i];
            if (end)
                flush_line(t);
        }
    }
    flush_line(t);
    if (t->err_fd >= 0)
        close(t->err_fd);
    t->err_fd = -1;
}

/* ssh exited: say how, and when the next try is. */
static void on_exit_status(clab_tunnel_t *t, int status)
{
    double now = clab_mono(), up = now - t->started;
    read_stderr(t, 1); /* its last words */
    t->pid = 0;
    if (up >= STEADY_UP)
        t->backoff = FIRST_BACKOFF;
    t->restart_at = now + t->backoff;
    if (WIFEXITED(status))
        clab_warn("ssh tunnel to %s lost after %.0f s: ssh exited with status %d%s; "
                  "restarting it in %.0f s",
                  t->host, up, WEXITSTATUS(status),
                  WEXITSTATUS(status) == 255 ? " (connection or authentication failed)"
                                             : "",
                  t->backoff);
    else
        clab_warn("ssh tunnel to %s lost after %.0f s: ssh killed by signal %d; "
                  "restarting it in %.0f s",
                  t->host, up, WIFSIGNALED(status) ? WTERMSIG(status) : 0, t->backoff);
    if ((t->backoff *= 2) > t->max_backoff) /* for the next failure */
        t->backoff = t->max_backoff;
}

static void end_child(clab_tunnel_t *t)
{
    if (t->pid <= 0)
        return;
    pid_t r = 0;
    kill(t->pid, SIGTERM);
    for (int i = 0; i < 60 && (r = waitpid(t->pid, NULL, WNOHANG)) == 0; i++)
        usleep(50000);
    if (r == 0) {
        kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
    }
    t->pid = 0;
    if (t->err_fd >= 0)
        read_stderr(t, 1);
}

static void *watch(void *ud)
{
    clab_tunnel_t *t = ud;
    while (!atomic_load(&t->stopping)) {
        if (t->pid == 0 && clab_mono() >= t->restart_at) {
            int rc = spawn_ssh(t);
            if (rc < 0) {
                clab_err("cannot start ssh: %s", strerror(-rc));
                t->restart_at = clab_mono() + t->max_backoff;
            }
        }
        struct pollfd p = {.fd = t->err_fd, .events = POLLIN};
        if (poll(&p, 1, 200) > 0 && t->err_fd >= 0)
            read_stderr(t, 0);
        int status;
        if (t->pid > 0 && waitpid(t->pid, &status, WNOHANG) == t->pid)
            on_exit_status(t, status);
    }
    end_child(t);
    return NULL;
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
    char remote[600];
    int port, rc = -ENOMEM;
    clab_tunnel_t *t = calloc(1, sizeof *t);
    if (!t)
        goto fail;
    t->err_fd = -1;
    t->backoff = FIRST_BACKOFF;
    t->max_backoff = o->max_backoff < FIRST_BACKOFF ? FIRST_BACKOFF : o->max_backoff;
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
    if ((rc = -pthread_create(&t->thread, NULL, watch, t)) < 0)
        goto fail;
    *out = t;
    return 0;
fail:
    free(t);
    return rc;
}

void clab_tunnel_stop(clab_tunnel_t **pt)
{
    clab_tunnel_t *t = *pt;
    if (!t)
        return;
    atomic_store(&t->stopping, 1);
    pthread_join(t->thread, NULL);
    if (t->sock[0])
        unlink(t->sock);
    free(t);
    *pt = NULL;
}
